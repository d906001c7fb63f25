package anomalyprocessor // import "github.com/otelstrata/strata/processor/anomalyprocessor"

import (
	"errors"
	"fmt"
	"math"
	"path"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottldatapoint"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/anomaly"
	"github.com/otelstrata/strata/internal/semconv"
)

// Config is the anomaly processor's configuration.
type Config struct {
	// Include and Exclude are metric name patterns (path.Match: `system.cpu.*`); a metric is watched when it
	// matches an include pattern and no exclude pattern. Default: every metric.
	Include []string `mapstructure:"include"`
	Exclude []string `mapstructure:"exclude"`
	// Conditions are OTTL data point conditions; when set, a point of a watched metric is watched only if it meets
	// one of them (`resource.attributes["service.name"] == "checkout"`, `attributes["state"] == "used"`).
	Conditions []string `mapstructure:"conditions"`
	// Quantile of histograms and summaries that is watched, beside a histogram's mean. Default 0.95.
	Quantile float64 `mapstructure:"quantile"`
	// Emit is all (the score, value, band and alarm of every watched point) or anomalous (only of points at or above
	// Threshold or with the alarm raised, to bound the cardinality added). Default all.
	Emit string `mapstructure:"emit"`
	// Threshold is the score from which a point is anomalous. Default 1 - risk (0.997).
	Threshold float64 `mapstructure:"threshold"`
	// AlarmBudget is how many false alarms a series may raise a day (strata.anomaly.alarm): the alarm's risk per
	// point is the budget over the points a day the series has. Default 0.01.
	AlarmBudget float64 `mapstructure:"alarm_budget"`
	// AlarmAfter is how long after its first point a series may raise the alarm: its daily profile and what its
	// alarm's views reach in a day are learned first. 0: from the end of the warm-up. Default 48h.
	AlarmAfter time.Duration `mapstructure:"alarm_after"`
	// MaxSeries bounds the series watched; the least recently seen is forgotten first. Default 10000.
	MaxSeries int `mapstructure:"max_series"`
	// MaxClockSkew is how far ahead of the collector's clock a point may be stamped; a later point is skipped
	// (reason future) and never moves its series' clock. Default 10m.
	MaxClockSkew time.Duration `mapstructure:"max_clock_skew"`
	// KeepForeignScores keeps the strata.anomaly.* metrics that arrive with the data (from another collector's
	// anomaly processor). By default they are removed and counted (reason foreign_score): a score a client sends
	// must not open incidents or fire alerts. Default false.
	KeepForeignScores bool `mapstructure:"keep_foreign_scores"`
	// Storage is a storage extension that keeps the models across restarts, saved every SaveInterval and at
	// shutdown.
	Storage      *component.ID `mapstructure:"storage"`
	SaveInterval time.Duration `mapstructure:"save_interval"`
	// Detector parameters (internal/anomaly); the defaults are the ones scored on NAB.
	WarmUp   int     `mapstructure:"warm_up"`
	Risk     float64 `mapstructure:"risk"`
	Holdoff  int     `mapstructure:"holdoff"`
	Seasonal bool    `mapstructure:"seasonal"`
	// RangeMargin: a value beyond the range of the values seen by more than this share of it is anomalous (0: off).
	RangeMargin float64 `mapstructure:"range_margin"`
	Sequence    bool    `mapstructure:"sequence"`
}

var (
	_ component.Config   = (*Config)(nil)
	_ xconfmap.Validator = (*Config)(nil)
)

// Validate reports every mistake at once.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	for _, p := range append(append([]string{}, cfg.Include...), cfg.Exclude...) {
		if _, err := path.Match(p, ""); err != nil {
			add("include, exclude: %q is not a pattern: %w", p, err)
		}
	}
	if len(cfg.Conditions) > 0 {
		if _, err := parseConditions(cfg.Conditions, component.TelemetrySettings{
			Logger: zap.NewNop(), MeterProvider: metricnoop.NewMeterProvider(), TracerProvider: tracenoop.NewTracerProvider(),
		}); err != nil {
			add("conditions: %w", err)
		}
	}
	if !(cfg.Quantile > 0 && cfg.Quantile < 1) { // NaN too
		add("quantile: %v is not in (0, 1)", cfg.Quantile)
	}
	if cfg.Emit != "all" && cfg.Emit != "anomalous" {
		add("emit: %q is not all or anomalous", cfg.Emit)
	}
	if !(cfg.Threshold > 0 && cfg.Threshold < 1) {
		add("threshold: %v is not in (0, 1)", cfg.Threshold)
	}
	if !(cfg.AlarmBudget > 0 && cfg.AlarmBudget <= 1000) {
		add("alarm_budget: %v is not in (0, 1000] false alarms a day", cfg.AlarmBudget)
	}
	if cfg.AlarmAfter < 0 {
		add("alarm_after: %v is negative", cfg.AlarmAfter)
	}
	if cfg.MaxSeries < 1 {
		add("max_series: must be positive")
	}
	if cfg.MaxClockSkew <= 0 {
		add("max_clock_skew: must be positive")
	}
	if cfg.Storage != nil && cfg.SaveInterval <= 0 {
		add("save_interval: must be positive when storage is set")
	}
	if cfg.WarmUp < 1 || !(cfg.Risk > 0 && cfg.Risk < 0.5) || cfg.Holdoff < 0 {
		add("warm_up must be positive, risk in (0, 0.5), holdoff not negative")
	}
	if cfg.RangeMargin < 0 || math.IsNaN(cfg.RangeMargin) {
		add("range_margin: %v is not 0 or more", cfg.RangeMargin)
	}
	return errors.Join(errs...)
}

// parseConditions parses OTTL data point conditions with the standard converters, as the filter processor does.
func parseConditions(conditions []string, set component.TelemetrySettings) (*ottl.ConditionSequence[*ottldatapoint.TransformContext], error) {
	parser, err := ottldatapoint.NewParser(ottlfuncs.StandardConverters[*ottldatapoint.TransformContext](), set)
	if err != nil {
		return nil, err
	}
	parsed, err := parser.ParseConditions(conditions)
	if err != nil {
		return nil, err
	}
	seq := ottldatapoint.NewConditionSequence(parsed, set, ottldatapoint.WithConditionSequenceErrorMode(ottl.IgnoreError))
	return &seq, nil
}

// detectorConfig returns the detector's configuration: the defaults, with what the user set.
func (cfg *Config) detectorConfig() anomaly.Config {
	d := anomaly.DefaultConfig()
	d.WarmUp, d.Risk, d.Holdoff, d.Seasonal, d.Sequence = cfg.WarmUp, cfg.Risk, cfg.Holdoff, cfg.Seasonal, cfg.Sequence
	d.RangeMargin, d.AlarmBudget, d.AlarmAfter = cfg.RangeMargin, cfg.AlarmBudget, cfg.AlarmAfter
	return d
}

// watches reports whether a metric is watched; scores and bands (another processor's) never are.
func (cfg *Config) watches(name string) bool {
	if strings.HasPrefix(name, semconv.PrefixAnomaly) {
		return false
	}
	match := func(patterns []string) bool {
		for _, p := range patterns {
			if ok, _ := path.Match(p, name); ok {
				return true
			}
		}
		return false
	}
	return match(cfg.Include) && !match(cfg.Exclude)
}
