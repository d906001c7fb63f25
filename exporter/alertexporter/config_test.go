package alertexporter

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/internal/conftest"
)

func TestLoadConfig(t *testing.T) {
	minimal := conftest.Named(t, "alert/minimal", createDefaultConfig().(*Config))
	assert.Equal(t, "/var/lib/strata/alerts.jsonl", minimal.Receivers["file"].Path)
	assert.Equal(t, []RuleConfig{{Name: "HighLoad", Kind: kindThreshold, Metric: "system.cpu.load_average.1m", Op: ">", Value: 4, For: time.Minute}},
		minimal.Rules)
	assert.Equal(t, createDefaultConfig().(*Config).EvaluationInterval, minimal.EvaluationInterval)

	full := conftest.Named(t, "alert/full", createDefaultConfig().(*Config))
	storage := component.MustNewID("file_storage")
	assert.Equal(t, 15*time.Second, full.EvaluationInterval)
	assert.Equal(t, "https://strata.example/alerts", full.ExternalURL)
	assert.Equal(t, 2000, full.MaxSeries)
	assert.Equal(t, "am", full.Receiver)
	assert.Equal(t, 2*time.Minute, full.ResendInterval)
	assert.Equal(t, []string{"alertname", "service.name"}, full.GroupBy)
	assert.Equal(t, 30*time.Second, full.GroupWait)
	assert.Equal(t, 5*time.Minute, full.GroupInterval)
	assert.True(t, full.InhibitByIncident)
	assert.Equal(t, &storage, full.Storage)
	assert.Equal(t, []InhibitRuleConfig{{SourceMatch: map[string]string{"severity": "critical"},
		TargetMatch: map[string]string{"severity": "warning"}, Equal: []string{"service.name"}}}, full.InhibitRules)
	assert.Equal(t, FlappingConfig{Transitions: 6, Window: 15 * time.Minute}, full.Flapping)
	assert.Equal(t, RateLimitConfig{PerMinute: 30, Burst: 10}, full.RateLimit)
	assert.Equal(t, "http://127.0.0.1:9093", full.Receivers["am"].Endpoint)
	assert.Equal(t, "r0utingkey", string(full.Receivers["pager"].RoutingKey))
	recovery := 0.4
	assert.Equal(t, RuleConfig{
		Name: "HighLatency", Kind: kindThreshold, Metric: "http.server.request.duration", Match: map[string]string{"service.name": "checkout"},
		Op: ">", Value: 0.5, Recovery: &recovery, For: 2 * time.Minute, KeepFiringFor: time.Minute, Severity: "critical",
		Labels: map[string]string{"team": "payments"}, Annotations: map[string]string{"summary": "{{ .Labels.service_name }} is slow"},
		Receiver: "pager",
	}, full.Rules[0])
	assert.Equal(t, RuleConfig{Name: "DiskFull", Kind: kindPredictive, Metric: "system.filesystem.utilization", Op: ">", Value: 0.95,
		Horizon: 4 * time.Hour, Window: time.Hour, Method: "holt"}, full.Rules[1])
	assert.Equal(t, RuleConfig{Name: "BruteForce", Kind: kindLog, EventName: "strata.security.detection", MinSeverity: "ERROR",
		Count: 1, Window: 5 * time.Minute, GroupBy: []string{"source.address"}}, full.Rules[2])
}

func TestValidate(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(`
receiver: nowhere
receivers: {am: {kind: smoke-signal}}
rules:
  - {name: A, kind: guess, metric: m}
  - {name: B, kind: threshold, op: "~", value: 1}
  - {name: C, kind: absent, metric: m, absent_for: 1s}
  - {name: D, kind: threshold, metric: m, op: ">", value: 1, annotations: {summary: "{{ .Labels.x "}}
`), &raw))
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"receivers::am: kind must be one of alertmanager, webhook, file, slack, pagerduty",
		`receiver: "nowhere" is not one of the receivers`,
		`rules[0] (A): kind: "guess" is not one of threshold, anomaly, absent, incident`,
		"rules[1] (B): metric: must be set",
		`rules[1] (B): op: "~" is not one of`,
		"rules[2] (C): absent_for: 1s is shorter than evaluation_interval 10s",
		"rules[3] (D): template of annotations::summary",
	} {
		assert.ErrorContains(t, err, want)
	}
}

// TestValidateCatchesWhatCannotWork: what passed validate before and failed at send, or never fired.
func TestValidateCatchesWhatCannotWork(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(`
evaluation_interval: 1ns
receivers:
  ftp: {kind: webhook, endpoint: "ftp://files.example/alerts"}
  slack: {kind: slack, endpoint: "https://hooks.slack.com/services/T0/B0/s3cret"}
  both: {kind: webhook, endpoint: "http://a/", url: "http://b/"}
  bad: {kind: alertmanager, url: "http://user:s3cret@am:port/"}
rules:
  - {name: A, kind: threshold, metric: m, op: ">", value: .nan, receiver: ftp}
  - {name: B, kind: anomaly, metric: m, score: 2, receiver: ftp}
`), &raw))
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	err := cfg.Validate()
	require.Error(t, err)
	for _, want := range []string{
		"evaluation_interval: must be at least 100ms, not 1ns",
		"receivers::ftp: url: must be an http:// or https:// URL, not ftp://",
		"receivers::slack: endpoint: a Slack webhook URL is a secret: set it as url",
		"receivers::both: endpoint or url: exactly one must be set",
		"receivers::bad: url: is not a URL",
		"rules[0] (A): value, recovery: must be numbers, not NaN",
		"rules[1] (B): score: 2 is not in (0, 1]",
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.NotContains(t, err.Error(), "s3cret")
}
