package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/confcheck"
	"github.com/otelstrata/strata/internal/jsonpath"
	"github.com/otelstrata/strata/receiver/authlogreceiver/internal/metadata"
)

// Config is the authlog receiver's configuration. The file options (include, exclude, start_at, poll_interval,
// max_log_size, encoding, ...) are those of contrib's filelog receiver, which reads the files the same way.
type Config struct {
	fileconsumer.Config `mapstructure:",squash"`

	// Storage is the ID of a storage extension (file_storage) that keeps the read offsets, so that a restart
	// neither loses nor repeats a line.
	Storage *component.ID `mapstructure:"storage"`
	// Format of the lines: auto (per line), raw, syslog, iso8601, rfc5424 or json. Default auto.
	Format string `mapstructure:"format"`
	// Timezone of timestamps that carry none (RFC 3164 syslog), as an IANA name. Default Local.
	Timezone string `mapstructure:"timezone"`
	// RawProcess is the program raw lines come from (sshd -E writes no program name). Default sshd.
	RawProcess string `mapstructure:"raw_process"`
	// JSON maps the fields of JSON lines.
	JSON JSONConfig `mapstructure:"json"`
	// Emit is which records are sent: all (a record per authentication line, and the detections) or detections.
	// Default all.
	Emit string `mapstructure:"emit"`
	// Unrecognized lines are counted and dropped, or sent on as plain log records with passthrough.
	Unrecognized string `mapstructure:"unrecognized"`
	// IPv6Prefix is the prefix length IPv6 sources are counted by (an attacker controls a whole /64). Default 64.
	IPv6Prefix int `mapstructure:"ipv6_prefix"`
	// Ignore sources and users in detections (their events are still emitted).
	Ignore IgnoreConfig `mapstructure:"ignore"`
	// MaxTrackedKeys bounds the sources, users, ... each rule keeps state for; the least recently seen is evicted.
	MaxTrackedKeys int `mapstructure:"max_tracked_keys"`
	// Rules are the detection rules: the defaults, changed by rules of the same name, plus new ones.
	Rules []RuleConfig `mapstructure:"rules"`
	// MetricsInterval is how often the attempt and detection counters are sent. Default 10s.
	MetricsInterval time.Duration `mapstructure:"metrics_interval"`

	metadata.MetricsBuilderConfig `mapstructure:",squash"`
}

// JSONConfig maps the fields of JSON lines; each is a dot-separated path. An empty path is not read.
type JSONConfig struct {
	Timestamp     string `mapstructure:"timestamp"`
	Message       string `mapstructure:"message"`
	Event         string `mapstructure:"event"`
	Outcome       string `mapstructure:"outcome"`
	Method        string `mapstructure:"method"`
	User          string `mapstructure:"user"`
	SourceAddress string `mapstructure:"source_address"`
	SourcePort    string `mapstructure:"source_port"`
	Host          string `mapstructure:"host"`
	Process       string `mapstructure:"process"`
	// DefaultProcess is the process of lines whose process field is absent. Default app.
	DefaultProcess string `mapstructure:"default_process"`
	// SuccessValues and FailureValues are the outcome field's values (compared without case).
	SuccessValues []string `mapstructure:"success_values"`
	FailureValues []string `mapstructure:"failure_values"`
}

// IgnoreConfig lists what detections leave out.
type IgnoreConfig struct {
	// Sources are IP addresses or CIDR prefixes.
	Sources []string `mapstructure:"sources"`
	// Users are user names.
	Users []string `mapstructure:"users"`
}

var (
	_ component.Config    = (*Config)(nil)
	_ xconfmap.Validator  = (*Config)(nil)
	_ confmap.Unmarshaler = (*Config)(nil)
)

const (
	emitAll                 = "all"
	emitDetections          = "detections"
	unrecognizedDrop        = "drop"
	unrecognizedPassthrough = "passthrough"
)

// Unmarshal reads the configuration, merging each rule into the default rule of the same name when there is one.
func (cfg *Config) Unmarshal(conf *confmap.Conf) error {
	defaults := cfg.Rules
	cfg.Rules = nil // decoded afresh (unknown keys are caught there), then merged below
	userRules := conf.Get("rules")
	if err := conf.Unmarshal(cfg); err != nil {
		return err
	}
	cfg.Rules = defaults
	if userRules == nil {
		return nil
	}
	list, ok := userRules.([]any)
	if !ok {
		return fmt.Errorf("rules: must be a list of rules")
	}
	for i, item := range list {
		m, ok := item.(map[string]any)
		if !ok {
			return fmt.Errorf("rules[%d]: must be a rule", i)
		}
		name, _ := m["name"].(string)
		j := slices.IndexFunc(cfg.Rules, func(r RuleConfig) bool { return r.Name == name })
		rule := newRule()
		if j >= 0 {
			rule = cfg.Rules[j]
			rule.Match, rule.After = MatchConfig{}, MatchConfig{} // a rule that says what it matches says all of it
			if _, set := m["match"]; !set {
				rule.Match = cfg.Rules[j].Match
			}
			if _, set := m["after"]; !set {
				rule.After = cfg.Rules[j].After
			}
		}
		if err := confmap.NewFromStringMap(m).Unmarshal(&rule); err != nil {
			return fmt.Errorf("rules[%d]: %w", i, err)
		}
		if j >= 0 {
			cfg.Rules[j] = rule
		} else {
			cfg.Rules = append(cfg.Rules, rule)
		}
	}
	return nil
}

// Validate reports every problem at once. The file options are checked as the file consumer checks them.
func (cfg *Config) Validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if len(cfg.Include) == 0 {
		add("include: must list at least one file or glob")
	}
	if _, err := cfg.Config.Build(nopTelemetry(), func(context.Context, [][]byte, map[string]any, int64, []int64) error { return nil }); err != nil {
		errs = append(errs, err)
	}
	if !slices.Contains(formats, cfg.Format) {
		add("format: %q is not one of %s", cfg.Format, strings.Join(formats, ", "))
	}
	if _, err := time.LoadLocation(cfg.Timezone); err != nil {
		add("timezone: %w", err)
	}
	if cfg.RawProcess == "" {
		add("raw_process: must be set")
	}
	if cfg.Emit != emitAll && cfg.Emit != emitDetections {
		add("emit: %q is not all or detections", cfg.Emit)
	}
	if cfg.Unrecognized != unrecognizedDrop && cfg.Unrecognized != unrecognizedPassthrough {
		add("unrecognized: %q is not drop or passthrough", cfg.Unrecognized)
	}
	if cfg.IPv6Prefix < 1 || cfg.IPv6Prefix > 128 {
		add("ipv6_prefix: %d is not between 1 and 128", cfg.IPv6Prefix)
	}
	for _, err := range []error{
		confcheck.Int("max_tracked_keys", cfg.MaxTrackedKeys, 1, 10_000_000),
		confcheck.Duration("metrics_interval", cfg.MetricsInterval, confcheck.MinInterval, 0),
	} {
		if err != nil {
			errs = append(errs, err)
		}
	}
	for i, s := range cfg.Ignore.Sources {
		if _, err := parsePrefix(s); err != nil {
			add("ignore: sources[%d]: %q is not an IP address or CIDR prefix", i, s)
		}
	}
	for key, path := range map[string]string{
		"timestamp": cfg.JSON.Timestamp, "message": cfg.JSON.Message, "event": cfg.JSON.Event, "outcome": cfg.JSON.Outcome,
		"method": cfg.JSON.Method, "user": cfg.JSON.User, "source_address": cfg.JSON.SourceAddress,
		"source_port": cfg.JSON.SourcePort, "host": cfg.JSON.Host, "process": cfg.JSON.Process,
	} {
		if path != "" && !jsonpath.Valid(path) {
			add("json: %s: %q is not a dot-separated path", key, path)
		}
	}
	if cfg.Format == formatJSON && cfg.JSON.Outcome == "" && cfg.JSON.Event == "" {
		add("json: outcome or event must name a field: without either, no line is an authentication")
	}
	names := map[string]int{}
	enabled := 0
	for i := range cfg.Rules {
		if cfg.Rules[i].Enabled {
			enabled++
		}
		r := &cfg.Rules[i]
		if err := r.validate(); err != nil {
			add("rules[%d] (%s): %w", i, r.Name, err)
		}
		if j, dup := names[r.Name]; dup {
			add("rules[%d]: name %q is already used by rules[%d]", i, r.Name, j)
		}
		names[r.Name] = i
	}
	if enabled > maxRules {
		add("rules: %d are enabled, more than %d", enabled, maxRules)
	}
	return errors.Join(errs...)
}

// parsePrefix reads an IP address (a prefix of its full length) or a CIDR prefix.
func parsePrefix(s string) (netip.Prefix, error) {
	if addr, err := netip.ParseAddr(s); err == nil {
		return netip.PrefixFrom(addr.Unmap(), addr.Unmap().BitLen()), nil
	}
	p, err := netip.ParsePrefix(s)
	return p.Masked(), err
}

func nopTelemetry() component.TelemetrySettings {
	return component.TelemetrySettings{
		Logger:         zap.NewNop(),
		MeterProvider:  metricnoop.NewMeterProvider(),
		TracerProvider: tracenoop.NewTracerProvider(),
	}
}
