package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"errors"
	"fmt"
	"math"
	"net/url"
	"slices"
	"strings"
	"text/template"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/exporter/exporterhelper"

	"github.com/otelstrata/strata/internal/confcheck"
	"github.com/otelstrata/strata/internal/semconv"
)

// Config is the alert exporter's configuration.
type Config struct {
	// EvaluationInterval is how often rules are evaluated. Default 10s.
	EvaluationInterval time.Duration `mapstructure:"evaluation_interval"`
	// ExternalURL is the base of every alert's generatorURL (the collector's, or a dashboard's).
	ExternalURL string `mapstructure:"external_url"`
	// MaxSeries bounds the series (and log groups) the rules track; more are not tracked, and counted.
	MaxSeries int `mapstructure:"max_series"`
	// Rules are the alert rules.
	Rules []RuleConfig `mapstructure:"rules"`
	// Receivers are where alerts go, by name.
	Receivers map[string]*ReceiverConfig `mapstructure:"receivers"`
	// Receiver is the receiver of rules that name none.
	Receiver string `mapstructure:"receiver"`
	// ResendInterval is how often a firing alert is sent again (Alertmanager forgets alerts not resent). Default 1m.
	ResendInterval time.Duration `mapstructure:"resend_interval"`
	// GroupBy labels split each receiver's notifications: one per combination of their values.
	GroupBy []string `mapstructure:"group_by"`
	// GroupWait is how long a new group waits before its first notification; GroupInterval how long between two
	// notifications of a group. Default 0: at once.
	GroupWait     time.Duration `mapstructure:"group_wait"`
	GroupInterval time.Duration `mapstructure:"group_interval"`
	// InhibitRules suppress target alerts while source alerts fire (Alertmanager's inhibit rules).
	InhibitRules []InhibitRuleConfig `mapstructure:"inhibit_rules"`
	// InhibitByIncident suppresses the alerts of services and hosts inside an incident whose alert fires, but the
	// alert of its root cause.
	InhibitByIncident bool `mapstructure:"inhibit_by_incident"`
	// Flapping detects alerts that fire and resolve again and again, and holds their notifications.
	Flapping FlappingConfig `mapstructure:"flapping"`
	// RateLimit bounds each receiver's notifications, folding the excess into a digest.
	RateLimit RateLimitConfig `mapstructure:"rate_limit"`
	// Storage is a storage extension that keeps the alerts' states across restarts.
	Storage *component.ID `mapstructure:"storage"`
	// QueueSettings and BackOffConfig are the delivery's queue (persistent with a storage extension) and retry.
	QueueSettings configoptional.Optional[exporterhelper.QueueBatchConfig] `mapstructure:"sending_queue"`
	BackOffConfig configretry.BackOffConfig                                `mapstructure:"retry_on_failure"`
}

// Rule kinds.
const (
	kindThreshold  = "threshold"
	kindAnomaly    = "anomaly"
	kindAbsent     = "absent"
	kindIncident   = "incident"
	kindPredictive = "predictive"
	kindLog        = "log"
	kindComposite  = "composite"
)

var ruleKinds = []string{kindThreshold, kindAnomaly, kindAbsent, kindIncident, kindPredictive, kindLog, kindComposite}

// RuleConfig is one alert rule.
type RuleConfig struct {
	// Name is the alertname.
	Name string `mapstructure:"name"`
	// Kind is threshold, anomaly, absent or incident.
	Kind string `mapstructure:"kind"`
	// Metric is the metric a threshold, anomaly or absent rule watches (for anomaly rules: the watched metric, whose
	// strata.anomaly.alarm, or strata.anomaly.score with Score, is read).
	Metric string `mapstructure:"metric"`
	// Match restricts the series by attribute values.
	Match map[string]string `mapstructure:"match"`
	// Op and Value: the condition of a threshold rule (value op threshold): >, >=, <, <=, ==, !=.
	Op    string  `mapstructure:"op"`
	Value float64 `mapstructure:"value"`
	// Recovery is the value the series must cross back to resolve (hysteresis); default: the threshold itself.
	Recovery *float64 `mapstructure:"recovery"`
	// Score is the anomaly score from which an anomaly rule's condition holds; unset, the condition is the anomaly
	// processor's alarm (strata.anomaly.alarm, held to its alarm_budget).
	Score float64 `mapstructure:"score"`
	// For is how long the condition must hold before the alert fires (pending until then).
	For time.Duration `mapstructure:"for"`
	// KeepFiringFor is how long a firing alert keeps firing after its condition stopped holding.
	KeepFiringFor time.Duration `mapstructure:"keep_firing_for"`
	// AbsentFor is how long without a point an absent rule waits. Default 5m.
	AbsentFor time.Duration `mapstructure:"absent_for"`
	// Severity is the severity label. Default warning.
	Severity string `mapstructure:"severity"`
	// Labels are added to the alert's (templated: {{ .Labels.name }}, {{ .Value }}).
	Labels map[string]string `mapstructure:"labels"`
	// Annotations (summary, description, ...), templated.
	Annotations map[string]string `mapstructure:"annotations"`
	// Receiver of the rule's alerts. Default: the exporter's receiver.
	Receiver string `mapstructure:"receiver"`

	// Predictive rules: the value the series is predicted to have Horizon from now (by least squares over Window,
	// as Prometheus's predict_linear, or by Holt's double exponential smoothing) meets the condition op value.
	Horizon time.Duration `mapstructure:"horizon"`
	Window  time.Duration `mapstructure:"window"`
	Method  string        `mapstructure:"method"`
	// Log rules: records with this event name (any when empty), at least this severity (TRACE ... FATAL), and the
	// attribute values of match; at least Count of them within Window (per the values of GroupBy attributes).
	EventName   string   `mapstructure:"event_name"`
	MinSeverity string   `mapstructure:"min_severity"`
	Count       int      `mapstructure:"count"`
	GroupBy     []string `mapstructure:"group_by"`
	// Composite rules: a boolean expression over other rules' names (and, or, not, parentheses), true where those
	// rules have firing alerts; On are the labels the alerts are joined on (none: anywhere).
	Expr string   `mapstructure:"expr"`
	On   []string `mapstructure:"on"`
}

// Receiver kinds.
const (
	receiverAlertmanager = "alertmanager"
	receiverWebhook      = "webhook"
	receiverFile         = "file"
	receiverSlack        = "slack"
	receiverPagerDuty    = "pagerduty"
)

var receiverKinds = []string{receiverAlertmanager, receiverWebhook, receiverFile, receiverSlack, receiverPagerDuty}

// InhibitRuleConfig suppresses the notifications of target alerts while a source alert fires, as Alertmanager's
// inhibit rules do.
type InhibitRuleConfig struct {
	// SourceMatch and TargetMatch are label values the source and target alerts have.
	SourceMatch map[string]string `mapstructure:"source_match"`
	TargetMatch map[string]string `mapstructure:"target_match"`
	// Equal are labels the source and the target must have the same values of.
	Equal []string `mapstructure:"equal"`
}

// FlappingConfig detects alerts that fire and resolve again and again.
type FlappingConfig struct {
	// Transitions within Window make an alert flapping: its notifications stop until it has been stable for Window.
	// 0 turns detection off. Default 4 in 10m.
	Transitions int           `mapstructure:"transitions"`
	Window      time.Duration `mapstructure:"window"`
}

// RateLimitConfig bounds the notifications a receiver gets: a token bucket; notifications beyond it are folded
// into one digest, sent as soon as a token is there again, instead of being dropped.
type RateLimitConfig struct {
	// PerMinute notifications, with bursts of Burst. 0 (default): no limit.
	PerMinute float64 `mapstructure:"per_minute"`
	Burst     int     `mapstructure:"burst"`
}

// pagerDutyEvents is PagerDuty's Events API v2.
const pagerDutyEvents = "https://events.pagerduty.com/v2/enqueue"

// ReceiverConfig is a destination of alerts.
type ReceiverConfig struct {
	// Kind is alertmanager (the API v2: POST /api/v2/alerts), webhook (Alertmanager's webhook JSON), file (the
	// same JSON, one notification a line, appended to Path), slack (an incoming webhook) or pagerduty (the Events
	// API v2: trigger and resolve, with the alert's fingerprint as dedup_key).
	Kind string `mapstructure:"kind"`
	// Path of a file receiver.
	Path string `mapstructure:"path"`
	// RoutingKey of a PagerDuty service's integration (a secret).
	RoutingKey configopaque.String `mapstructure:"routing_key"`
	// URL is where a slack, webhook or alertmanager receiver sends, when the URL itself is a secret (a Slack
	// incoming webhook's always is): kept out of logs, errors and print-config. A slack receiver takes only this; a
	// pagerduty receiver takes it as its endpoint.
	URL configopaque.String `mapstructure:"url"`
	// ClientConfig is the HTTP client: endpoint, TLS, headers, auth.
	confighttp.ClientConfig `mapstructure:",squash"`
}

// target returns where the receiver sends: its url, or its endpoint.
func (r *ReceiverConfig) target() string {
	if r.URL != "" {
		return string(r.URL)
	}
	return r.Endpoint
}

// checkURL returns an error when target is not an http or https URL with a host; the error never shows the URL,
// which may be a secret.
func checkURL(target string) error {
	u, err := url.Parse(target)
	switch {
	case err != nil:
		return errors.New("url: is not a URL")
	case u.Scheme != "http" && u.Scheme != "https":
		return fmt.Errorf("url: must be an http:// or https:// URL, not %s://", u.Scheme)
	case u.Host == "":
		return errors.New("url: has no host")
	}
	return nil
}

// Unmarshal fills a receiver's HTTP client defaults before its keys.
func (r *ReceiverConfig) Unmarshal(conf *confmap.Conf) error {
	*r = ReceiverConfig{ClientConfig: confighttp.NewDefaultClientConfig()}
	return conf.Unmarshal(r)
}

var (
	_ component.Config   = (*Config)(nil)
	_ xconfmap.Validator = (*Config)(nil)
)

var ops = []string{">", ">=", "<", "<=", "==", "!="}

// Validate reports every mistake at once, naming the rule or receiver.
func (cfg *Config) Validate() error {
	errs := []error{
		confcheck.Duration("evaluation_interval", cfg.EvaluationInterval, confcheck.MinInterval, 0),
		confcheck.Duration("resend_interval", cfg.ResendInterval, confcheck.MinInterval, 0),
		confcheck.Int("max_series", cfg.MaxSeries, 1, 10_000_000),
	}
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if cfg.GroupWait < 0 || cfg.GroupInterval < 0 {
		add("group_wait, group_interval: must not be negative")
	}
	if cfg.Flapping.Transitions < 0 || cfg.Flapping.Transitions > 0 && cfg.Flapping.Window <= 0 {
		add("flapping: transitions must not be negative, and window positive when they are set")
	}
	if cfg.RateLimit.PerMinute < 0 || cfg.RateLimit.Burst < 0 {
		add("rate_limit: per_minute and burst must not be negative")
	}
	for i, ir := range cfg.InhibitRules {
		if len(ir.SourceMatch) == 0 || len(ir.TargetMatch) == 0 {
			add("inhibit_rules[%d]: source_match and target_match must be set", i)
		}
	}
	if len(cfg.Receivers) == 0 {
		add("receivers: must contain at least one receiver")
	}
	for name, r := range cfg.Receivers {
		if err := r.validate(); err != nil {
			add("receivers::%s: %w", name, err)
		}
	}
	if cfg.Receiver != "" && cfg.Receivers[cfg.Receiver] == nil {
		add("receiver: %q is not one of the receivers", cfg.Receiver)
	}
	names := map[string]bool{}
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		where := fmt.Sprintf("rules[%d] (%s)", i, r.Name)
		if r.Name == "" || names[r.Name] {
			add("%s: name: must be set and unique", where)
		}
		names[r.Name] = true
		for _, err := range r.validate(cfg) {
			add("%s: %w", where, err)
		}
	}
	return errors.Join(errs...)
}

// defaultReceiver returns the receiver of rules that name none: the configured one, or the only one.
func (cfg *Config) defaultReceiver() string {
	if cfg.Receiver != "" {
		return cfg.Receiver
	}
	for name := range cfg.Receivers {
		if len(cfg.Receivers) == 1 {
			return name
		}
	}
	return ""
}

// validate checks a receiver's kind and where it sends.
func (r *ReceiverConfig) validate() error {
	if r == nil || !slices.Contains(receiverKinds, r.Kind) {
		return fmt.Errorf("kind must be one of %s", strings.Join(receiverKinds, ", "))
	}
	var errs []error
	switch r.Kind {
	case receiverFile:
		if r.Path == "" {
			errs = append(errs, errors.New("path: must be set"))
		}
		return errors.Join(errs...)
	case receiverPagerDuty:
		if r.RoutingKey == "" {
			errs = append(errs, errors.New("routing_key: must be set"))
		}
	case receiverSlack:
		if r.Endpoint != "" {
			errs = append(errs, errors.New("endpoint: a Slack webhook URL is a secret: set it as url, which is kept out of logs and print-config"))
		} else if r.URL == "" {
			errs = append(errs, errors.New("url: must be set"))
		}
	default:
		if (r.Endpoint == "") == (r.URL == "") {
			errs = append(errs, errors.New("endpoint or url: exactly one must be set"))
		}
	}
	if target := r.target(); target != "" {
		errs = append(errs, checkURL(target))
	}
	return errors.Join(errs...)
}

// validate returns what is wrong with a rule of cfg.
func (r *RuleConfig) validate(cfg *Config) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if !slices.Contains(ruleKinds, r.Kind) {
		add("kind: %q is not one of %s", r.Kind, strings.Join(ruleKinds, ", "))
	}
	if (r.Kind == kindThreshold || r.Kind == kindAnomaly || r.Kind == kindAbsent || r.Kind == kindPredictive) && r.Metric == "" {
		add("metric: must be set")
	}
	if (r.Kind == kindThreshold || r.Kind == kindPredictive) && !slices.Contains(ops, r.Op) {
		add("op: %q is not one of %s", r.Op, strings.Join(ops, " "))
	}
	if math.IsNaN(r.Value) || r.Recovery != nil && math.IsNaN(*r.Recovery) {
		add("value, recovery: must be numbers, not NaN")
	}
	if r.Kind == kindAnomaly && r.Score != 0 && !(r.Score > 0 && r.Score <= 1) {
		add("score: %v is not in (0, 1]", r.Score)
	}
	switch r.Kind {
	case kindPredictive:
		if r.Horizon <= 0 || r.Window <= 0 {
			add("horizon, window: must be positive")
		}
		if r.Method != "" && r.Method != "linear" && r.Method != "holt" {
			add("method: %q is not linear or holt", r.Method)
		}
	case kindLog:
		if r.Count < 1 || r.Window <= 0 {
			add("count, window: must be positive")
		}
		if _, ok := semconv.LogSeverities[strings.ToUpper(r.MinSeverity)]; r.MinSeverity != "" && !ok {
			add("min_severity: %q is not one of TRACE, DEBUG, INFO, WARN, ERROR, FATAL", r.MinSeverity)
		}
	case kindComposite:
		if _, err := compileComposite(r.Expr, cfg.Rules); err != nil {
			add("expr: %w", err)
		}
	}
	if r.For < 0 || r.KeepFiringFor < 0 || r.AbsentFor < 0 {
		add("for, keep_firing_for, absent_for: must not be negative")
	}
	if r.Kind == kindAbsent && r.AbsentFor > 0 && r.AbsentFor < cfg.EvaluationInterval {
		add("absent_for: %s is shorter than evaluation_interval %s: the rule could not tell a gap from a wait", r.AbsentFor, cfg.EvaluationInterval)
	}
	receiver := r.Receiver
	if receiver == "" {
		receiver = cfg.defaultReceiver()
	}
	if cfg.Receivers[receiver] == nil {
		add("receiver: %q is not one of the receivers (and no default receiver is set)", receiver)
	}
	for k, v := range mergeMaps(r.Labels, r.Annotations) {
		if _, err := template.New(k).Option("missingkey=zero").Parse(v); err != nil {
			add("template of %s: %w", k, err)
		}
	}
	return errs
}

func mergeMaps(a, b map[string]string) map[string]string {
	out := map[string]string{}
	for k, v := range a {
		out["labels::"+k] = v
	}
	for k, v := range b {
		out["annotations::"+k] = v
	}
	return out
}
