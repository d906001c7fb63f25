package samplingprocessor

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/internal/conftest"
)

func TestLoadConfig(t *testing.T) {
	assert.Equal(t, createDefaultConfig(), conftest.Named(t, "sampling", createDefaultConfig()))
	cfg := conftest.Named(t, "sampling/full", createDefaultConfig())
	assert.Equal(t, &Config{
		DecisionWait: 5 * time.Second, TraceTimeout: time.Minute, MaxTraces: 1000, MaxSpans: 20000, DecisionCache: 5000, DryRun: true,
		Rules: []RuleConfig{
			{Name: "errors", Type: "error"},
			{Name: "checkout", Type: "condition", RootOnly: true, Conditions: []string{`name == "checkout"`, `attributes["vip"] == true`}},
		},
		Budget:  &BudgetConfig{SpansPerSecond: 2000, Keys: []string{"service.name"}, AdjustmentInterval: 15 * time.Second, Weight: 0.5, MaxKeys: 10000},
		Logs:    LogsConfig{KeepSeverity: "error", Rate: 0.5, MaxPerTrace: 10},
		Metrics: MetricsConfig{Interval: 30 * time.Second, Mode: "aggregate", MaxSeries: 50},
	}, cfg)
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct{ yaml, want string }{
		{`rules: [{name: x, type: sometimes}]`, `rules[0] (x): type: "sometimes" is not one of error, latency, condition, attribute, probability, always, incident`},
		{`rules: [{name: x, type: incident}, {name: y, type: incident}]`, "rules: at most one incident rule"},
		{`rules: [{name: x, type: incident, keep_after: -1s}]`, "keep_after and traces_per_second must not be negative"},
		{`rules: [{name: x, type: incident, traces_per_second: .nan}]`, "keep_after and traces_per_second must not be negative"},
		{`rules: [{name: x, type: incident, action: drop}]`, "action: an incident rule keeps"},
		{`rules: [{name: x, type: condition, conditions: ['name == ']}]`, `rules[0] (x): conditions: `},
		{`rules: [{name: x, type: condition, conditions: ['Nope(1) == true']}]`, `undefined function "Nope"`},
		{`rules: [{name: x, type: condition}]`, "a condition rule needs at least one"},
		{`rules: [{name: x, type: probability, probability: 1.5}]`, "probability: 1.5 is not in (0, 1]"},
		{`rules: [{name: x, type: latency}]`, "a latency rule needs a threshold or a quantile"},
		{`rules: [{name: x, type: latency, quantile: 1.2}]`, "quantile must be in (0, 1)"},
		{`rules: [{name: x, type: attribute, key: k}]`, "an attribute rule needs key and values"},
		{`rules: [{name: x, type: error, action: maybe}]`, `action: "maybe" is not keep or drop`},
		{`rules: [{name: x, type: error}, {name: x, type: error}]`, "rules[1] (x): name: must be set, unique"},
		{`rules: [{name: budget, type: error}]`, "neither budget nor default"},
		{`budget: {traces_per_second: -5}`, "exactly one of traces_per_second and spans_per_second must be set, and positive"},
		{`budget: {traces_per_second: 5, spans_per_second: 5}`, "exactly one of"},
		{`budget: {traces_per_second: 5, weight: 2}`, "weight in (0, 1]"},
		{`budget: {traces_per_second: 5, weight: .nan}`, "weight in (0, 1]"},
		{`budget: {traces_per_second: .nan, spans_per_second: 5}`, "exactly one of"},
		{`budget: {traces_per_second: 5, adjustment_interval: 1ns}`, "adjustment_interval must be at least 100ms"},
		{`rules: [{name: x, type: probability, probability: .nan}]`, "probability: NaN is not in (0, 1]"},
		{`rules: [{name: x, type: latency, quantile: .nan}]`, "quantile must be in (0, 1)"},
		{`rules: [{name: x, type: latency, threshold: 1s, factor: .nan}]`, "factor and min_samples not negative"},
		{`logs: {rate: .nan}`, "logs: rate must be between 0 and 1"},
		{`metrics: {interval: 1ns}`, "metrics: interval: must be at least 100ms"},
		{`decision_wait: 40s`, "trace_timeout at least decision_wait"},
		{`max_traces: 0`, "max_traces, max_spans and decision_cache must be positive"},
		{`logs: {keep_severity: LOUD}`, `logs: keep_severity: "LOUD" is not one of`},
		{`logs: {rate: 2}`, "logs: rate must be between 0 and 1"},
		{`metrics: {mode: median}`, "metrics: interval must not be negative, max_series positive, mode last or aggregate"},
	} {
		var raw map[string]any
		require.NoError(t, yaml.Unmarshal([]byte(tc.yaml), &raw))
		cfg := createDefaultConfig().(*Config)
		require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg), tc.yaml)
		err := xconfmap.Validate(cfg)
		require.Error(t, err, tc.yaml)
		assert.Contains(t, err.Error(), tc.want, tc.yaml)
	}
}

func TestValidateTooManyMatchers(t *testing.T) {
	var rules []string
	for i := range maxMatchers + 1 {
		rules = append(rules, "{name: r"+strings.Repeat("x", i)+", type: attribute, key: k, values: [v]}")
	}
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte("rules: ["+strings.Join(rules, ", ")+"]"), &raw))
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	assert.ErrorContains(t, xconfmap.Validate(cfg), "at most 64 condition and attribute rules")
}
