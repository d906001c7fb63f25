package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/ottlfuncs"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/confcheck"
	"github.com/otelstrata/strata/internal/semconv"
)

// Config is the sampling processor's configuration.
type Config struct {
	// DecisionWait is how long after its root span arrived a trace waits for late children. Default 2s.
	DecisionWait time.Duration `mapstructure:"decision_wait"`
	// TraceTimeout is how long after its first span a trace without a root span (or whose root never ends) waits.
	// Default 30s.
	TraceTimeout time.Duration `mapstructure:"trace_timeout"`
	// MaxTraces and MaxSpans bound the buffer; past them the oldest traces are decided early. Defaults 50000, 1000000.
	MaxTraces int `mapstructure:"max_traces"`
	MaxSpans  int `mapstructure:"max_spans"`
	// DecisionCache is how many decided trace ids are remembered (kept and dropped), so that late spans and logs
	// follow their trace's decision. Default 200000.
	DecisionCache int `mapstructure:"decision_cache"`
	// DryRun decides but drops nothing: every span is passed on with its decision and rule as attributes.
	DryRun bool `mapstructure:"dry_run"`
	// Rules are evaluated in order; the first that matches decides.
	Rules []RuleConfig `mapstructure:"rules"`
	// Budget samples what no rule decided to a target throughput. Without it such traces are kept.
	Budget *BudgetConfig `mapstructure:"budget"`
	// Logs says how log records without a trace id are sampled.
	Logs LogsConfig `mapstructure:"logs"`
	// Metrics is interval downsampling of metrics.
	Metrics MetricsConfig `mapstructure:"metrics"`
}

// Rule types.
const (
	ruleError       = "error"
	ruleLatency     = "latency"
	ruleCondition   = "condition"
	ruleAttribute   = "attribute"
	ruleProbability = "probability"
	ruleAlways      = "always"
	ruleIncident    = "incident"
)

var ruleTypes = []string{ruleError, ruleLatency, ruleCondition, ruleAttribute, ruleProbability, ruleAlways, ruleIncident}

// Defaults of an incident rule.
const (
	defaultKeepAfter          = 2 * time.Minute
	defaultIncidentTracesRate = 100.0
)

// RuleConfig is one rule.
type RuleConfig struct {
	// Name is recorded on kept spans (strata.sampling.rule) and in the processor's telemetry.
	Name string `mapstructure:"name"`
	// Type is error, latency, condition, attribute, probability, always or incident.
	Type string `mapstructure:"type"`
	// Action is keep (default) or drop.
	Action string `mapstructure:"action"`
	// Latency: keep traces whose root span lasts longer than Threshold, or longer than Factor times the Quantile
	// of its service and operation's root spans (learned online, once MinSamples were seen).
	Threshold  time.Duration `mapstructure:"threshold"`
	Quantile   float64       `mapstructure:"quantile"`
	Factor     float64       `mapstructure:"factor"`
	MinSamples int           `mapstructure:"min_samples"`
	// Conditions (condition rules): OTTL span conditions; the rule matches when any span of the trace meets any
	// of them (or, with RootOnly, the root span does).
	Conditions []string `mapstructure:"conditions"`
	RootOnly   bool     `mapstructure:"root_only"`
	// Key and Values (attribute rules): a span (or resource) attribute with one of these values.
	Key    string   `mapstructure:"key"`
	Values []string `mapstructure:"values"`
	// Probability (probability rules): the share of traces kept, consistently by trace id.
	Probability float64 `mapstructure:"probability"`
	// KeepAfter and TracesPerSecond (incident rules): a trace touching a service, host or endpoint of an open
	// incident of the correlation connector (whose records reach this processor in a logs pipeline) is kept until
	// KeepAfter after the incident resolves (default 2m), at most TracesPerSecond a second (default 100); past that,
	// the next rules decide.
	KeepAfter       time.Duration `mapstructure:"keep_after"`
	TracesPerSecond float64       `mapstructure:"traces_per_second"`
	// AlarmMetrics (incident rules): a service one of whose series of these metrics raised the anomaly processor's
	// alarm (read in a metrics pipeline that names this processor after the anomaly processor) has its traces kept
	// for KeepAfter after the alarm, before any incident is confirmed. Default: the semantic conventions' server and
	// client request durations.
	AlarmMetrics []string `mapstructure:"alarm_metrics"`
}

// defaultAlarmMetrics are the metrics whose alarms an incident rule follows unless it names others: the request
// durations of the semantic conventions, whose series (by route, status and error.type) carry latency and errors.
var defaultAlarmMetrics = []string{"http.server.request.duration", "rpc.server.duration", "http.client.request.duration", "rpc.client.duration"}

// BudgetConfig is a target throughput for the traces no rule decided.
type BudgetConfig struct {
	// TracesPerSecond or SpansPerSecond: the target (exactly one).
	TracesPerSecond float64 `mapstructure:"traces_per_second"`
	SpansPerSecond  float64 `mapstructure:"spans_per_second"`
	// Keys are the attributes of the root span (or its resource) that make a trace's key: rare keys are kept,
	// frequent ones thinned. Default [service.name, http.route, http.response.status_code].
	Keys []string `mapstructure:"keys"`
	// AdjustmentInterval is how often the rates are recomputed from the traffic seen. Default 15s.
	AdjustmentInterval time.Duration `mapstructure:"adjustment_interval"`
	// Weight of the last interval in the moving average of each key's traffic. Default 0.5.
	Weight float64 `mapstructure:"weight"`
	// MaxKeys bounds the keys tracked; traffic of further keys counts under one overflow key. Default 10000.
	MaxKeys int `mapstructure:"max_keys"`
}

// LogsConfig samples log records that belong to no trace.
type LogsConfig struct {
	// KeepSeverity: records at or above it (TRACE, DEBUG, INFO, WARN, ERROR, FATAL) are always kept. Default WARN.
	KeepSeverity string `mapstructure:"keep_severity"`
	// Rate is the share of records below it kept. Default 1 (all).
	Rate float64 `mapstructure:"rate"`
	// MaxPerTrace bounds the records buffered with one undecided trace; more are decided with the rate. Default 1000.
	MaxPerTrace int `mapstructure:"max_per_trace"`
}

// MetricsConfig downsamples metrics per series.
type MetricsConfig struct {
	// Interval of downsampling; 0 (default) passes metrics through.
	Interval time.Duration `mapstructure:"interval"`
	// Mode is last (default: the last point of each series in each interval) or aggregate (gauges averaged, delta
	// sums and histograms added up, cumulative ones their last point).
	Mode string `mapstructure:"mode"`
	// MaxSeries bounds the series held; points of further series pass through unsampled. Default 100000.
	MaxSeries int `mapstructure:"max_series"`
}

// Unmarshal fills the defaults of a budget before its keys.
func (b *BudgetConfig) Unmarshal(conf *confmap.Conf) error {
	*b = BudgetConfig{
		Keys:               []string{"service.name", "http.route", "http.response.status_code"},
		AdjustmentInterval: 15 * time.Second,
		Weight:             0.5,
		MaxKeys:            10000,
	}
	return conf.Unmarshal(b)
}

var (
	_ component.Config   = (*Config)(nil)
	_ xconfmap.Validator = (*Config)(nil)
)

// Validate reports every mistake at once, naming the rule or section.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.DecisionWait <= 0 || cfg.TraceTimeout < cfg.DecisionWait {
		add("decision_wait must be positive and trace_timeout at least decision_wait")
	}
	if cfg.MaxTraces < 1 || cfg.MaxSpans < 1 || cfg.DecisionCache < 1 {
		add("max_traces, max_spans and decision_cache must be positive")
	}
	names := map[string]bool{}
	matchers, incidentRules := 0, 0
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		where := fmt.Sprintf("rules[%d] (%s)", i, r.Name)
		if r.Name == "" || names[r.Name] || r.Name == ruleBudget || r.Name == ruleDefault {
			add("%s: name: must be set, unique, and neither %s nor %s", where, ruleBudget, ruleDefault)
		}
		names[r.Name] = true
		if err := r.validate(); err != nil {
			add("%s: %w", where, err)
		}
		if r.Type == ruleCondition || r.Type == ruleAttribute {
			matchers++
		}
		if r.Type == ruleIncident {
			incidentRules++
		}
	}
	if incidentRules > 1 {
		add("rules: at most one incident rule")
	}
	if matchers > maxMatchers {
		add("rules: at most %d condition and attribute rules", maxMatchers)
	}
	if b := cfg.Budget; b != nil {
		if (b.TracesPerSecond > 0) == (b.SpansPerSecond > 0) || !finite(b.TracesPerSecond) || !finite(b.SpansPerSecond) ||
			b.TracesPerSecond < 0 || b.SpansPerSecond < 0 {
			add("budget: exactly one of traces_per_second and spans_per_second must be set, and positive")
		}
		if b.AdjustmentInterval < confcheck.MinInterval || !(b.Weight > 0 && b.Weight <= 1) || b.MaxKeys < 1 {
			add("budget: adjustment_interval must be at least %s, max_keys positive, weight in (0, 1]", confcheck.MinInterval)
		}
	}
	if _, ok := semconv.LogSeverities[strings.ToUpper(cfg.Logs.KeepSeverity)]; !ok {
		add("logs: keep_severity: %q is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL", cfg.Logs.KeepSeverity)
	}
	if !(cfg.Logs.Rate >= 0 && cfg.Logs.Rate <= 1) || cfg.Logs.MaxPerTrace < 1 {
		add("logs: rate must be between 0 and 1 and max_per_trace positive")
	}
	if cfg.Metrics.Interval < 0 || cfg.Metrics.MaxSeries < 1 || cfg.Metrics.Mode != "last" && cfg.Metrics.Mode != "aggregate" {
		add("metrics: interval must not be negative, max_series positive, mode last or aggregate")
	}
	if cfg.Metrics.Interval > 0 && cfg.Metrics.Interval < confcheck.MinInterval {
		add("metrics: interval: must be at least %s, not %s", confcheck.MinInterval, cfg.Metrics.Interval)
	}
	return errors.Join(errs...)
}

func (r *RuleConfig) validate() error {
	if !slices.Contains(ruleTypes, r.Type) {
		return fmt.Errorf("type: %q is not one of %s", r.Type, strings.Join(ruleTypes, ", "))
	}
	if r.Action != "" && r.Action != "keep" && r.Action != "drop" {
		return fmt.Errorf("action: %q is not keep or drop", r.Action)
	}
	switch r.Type {
	case ruleLatency:
		if r.Threshold <= 0 && r.Quantile == 0 {
			return errors.New("a latency rule needs a threshold or a quantile")
		}
		if r.Threshold < 0 || !(r.Quantile >= 0 && r.Quantile < 1) || !(r.Factor >= 0) || math.IsInf(r.Factor, 0) || r.MinSamples < 0 {
			return errors.New("threshold must not be negative, quantile must be in (0, 1), factor and min_samples not negative")
		}
	case ruleCondition:
		if len(r.Conditions) == 0 {
			return errors.New("conditions: a condition rule needs at least one")
		}
		if _, err := parseConditions(r.Conditions, component.TelemetrySettings{
			Logger: zap.NewNop(), MeterProvider: metricnoop.NewMeterProvider(), TracerProvider: tracenoop.NewTracerProvider(),
		}); err != nil {
			return fmt.Errorf("conditions: %w", err)
		}
	case ruleAttribute:
		if r.Key == "" || len(r.Values) == 0 {
			return errors.New("an attribute rule needs key and values")
		}
	case ruleProbability:
		if !(r.Probability > 0 && r.Probability <= 1) {
			return fmt.Errorf("probability: %v is not in (0, 1]", r.Probability)
		}
	case ruleIncident:
		if r.KeepAfter < 0 || !(r.TracesPerSecond >= 0) || math.IsInf(r.TracesPerSecond, 0) {
			return errors.New("keep_after and traces_per_second must not be negative")
		}
		if r.Action == "drop" {
			return errors.New("action: an incident rule keeps")
		}
	}
	return nil
}

// finite reports whether x is neither NaN nor infinite.
func finite(x float64) bool { return !math.IsNaN(x) && !math.IsInf(x, 0) }

// parseConditions parses OTTL span conditions with the standard converters, as the filter processor does.
func parseConditions(conditions []string, set component.TelemetrySettings) (*ottl.ConditionSequence[*ottlspan.TransformContext], error) {
	parser, err := ottlspan.NewParser(ottlfuncs.StandardConverters[*ottlspan.TransformContext](), set)
	if err != nil {
		return nil, err
	}
	statements, err := parser.ParseConditions(conditions)
	if err != nil {
		return nil, err
	}
	seq := ottlspan.NewConditionSequence(statements, set, ottlspan.WithConditionSequenceErrorMode(ottl.IgnoreError))
	return &seq, nil
}
