package authlogreceiver

import (
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelstrata/strata/internal/conftest"
	"github.com/otelstrata/strata/receiver/authlogreceiver/internal/metadata"
)

func TestLoadDefaultConfig(t *testing.T) {
	cfg := conftest.Named(t, component.NewID(metadata.Type).String(), createDefaultConfig().(*Config))
	assert.Equal(t, createDefaultConfig(), cfg)
	assert.NoError(t, xconfmap.Validate(cfg))
	assert.Equal(t, []string{"/var/log/auth.log", "/var/log/secure"}, cfg.Include)
	assert.Equal(t, "end", cfg.StartAt)
	assert.Len(t, cfg.Rules, len(defaultRules()))
}

func TestLoadCustomConfig(t *testing.T) {
	cfg := conftest.Named(t, component.NewIDWithName(metadata.Type, "custom").String(), createDefaultConfig().(*Config))
	require.NoError(t, xconfmap.Validate(cfg))

	storage := component.MustNewID("file_storage")
	assert.Equal(t, []string{"/var/log/remote/*/auth.log"}, cfg.Include)
	assert.Equal(t, []string{"/var/log/remote/bastion/auth.log"}, cfg.Exclude)
	assert.Equal(t, "beginning", cfg.StartAt)
	assert.Equal(t, &storage, cfg.Storage)
	assert.Equal(t, "syslog", cfg.Format)
	assert.Equal(t, "Europe/Berlin", cfg.Timezone)
	assert.Equal(t, "detections", cfg.Emit)
	assert.Equal(t, "passthrough", cfg.Unrecognized)
	assert.Equal(t, 56, cfg.IPv6Prefix)
	assert.Equal(t, 5000, cfg.MaxTrackedKeys)
	assert.Equal(t, 30*time.Second, cfg.MetricsInterval)
	assert.Equal(t, IgnoreConfig{Sources: []string{"10.0.0.0/8", "192.0.2.1"}, Users: []string{"ansible"}}, cfg.Ignore)

	require.Len(t, cfg.Rules, len(defaultRules())+1, "two defaults changed in place, one rule added")
	byName := map[string]RuleConfig{}
	for _, r := range cfg.Rules {
		byName[r.Name] = r
	}
	bf := defaultRules()[0]
	bf.Threshold, bf.Window = 3, 5*time.Minute
	assert.Equal(t, bf, byName["brute_force"], "only the options the user set change")
	assert.False(t, byName["sudo_first_root"].Enabled)
	assert.Equal(t, RuleConfig{
		Name: "vpn_login_burst", Enabled: true, Description: "Many VPN logins for one user.", Category: "authentication",
		Technique: "T1078", Severity: "low", Kind: kindThreshold,
		Match:   MatchConfig{Events: []string{"accepted"}, Processes: []string{"openvpn"}},
		GroupBy: []string{"user"}, Threshold: 20, Window: time.Minute,
	}, byName["vpn_login_burst"])
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		raw     map[string]any
		wantErr []string
	}{
		{"no files", map[string]any{"include": []any{}}, []string{"include: must list at least one file or glob"}},
		{"bad start_at", map[string]any{"start_at": "middle"}, []string{"start_at"}},
		{"bad format", map[string]any{"format": "xml"}, []string{`format: "xml" is not one of auto, raw, syslog, iso8601, rfc5424, json`}},
		{"bad timezone", map[string]any{"timezone": "Mars/Olympus"}, []string{"timezone: unknown time zone Mars/Olympus"}},
		{"bad emit", map[string]any{"emit": "events"}, []string{`emit: "events" is not all or detections`}},
		{"bad unrecognized", map[string]any{"unrecognized": "keep"}, []string{`unrecognized: "keep" is not drop or passthrough`}},
		{"bad ipv6 prefix", map[string]any{"ipv6_prefix": 0}, []string{"ipv6_prefix: 0 is not between 1 and 128"}},
		{"bounds", map[string]any{"max_tracked_keys": 1e12, "metrics_interval": "1ns"},
			[]string{"max_tracked_keys: must be from 1 to 10000000", "metrics_interval: must be at least 100ms, not 1ns"}},
		{"bad ignore CIDR", map[string]any{"ignore": map[string]any{"sources": []any{"10.0.0.0/33"}}},
			[]string{`ignore: sources[0]: "10.0.0.0/33" is not an IP address or CIDR prefix`}},
		{"bad json path", map[string]any{"json": map[string]any{"user": "a..b"}}, []string{`json: user: "a..b" is not a dot-separated path`}},
		{"json without outcome", map[string]any{"format": "json", "json": map[string]any{"outcome": "", "event": ""}},
			[]string{"json: outcome or event must name a field"}},
		{"rule: unknown event", map[string]any{"rules": []any{map[string]any{"name": "brute_force", "match": map[string]any{"events": []any{"failed_pasword"}}}}},
			[]string{`rules[0] (brute_force): match: events: "failed_pasword" is not an event this receiver emits`}},
		{"rule: bad window", map[string]any{"rules": []any{map[string]any{"name": "brute_force", "window": "0s"}}},
			[]string{"rules[0] (brute_force): window: must be positive"}},
		{"rule: bad kind and severity", map[string]any{"rules": []any{map[string]any{"name": "x", "kind": "ratio", "severity": "urgent",
			"match": map[string]any{"events": []any{"accepted"}}, "group_by": []any{"source"}, "threshold": 1, "window": "1m"}}},
			[]string{`kind: "ratio" is not one of threshold, distinct, sequence, first_seen`, `severity: "urgent" is not one of`}},
		{"rule: group by nothing known", map[string]any{"rules": []any{map[string]any{"name": "x", "group_by": []any{"ip"},
			"match": map[string]any{"events": []any{"accepted"}}, "threshold": 1, "window": "1m"}}},
			[]string{`group_by: "ip" is not one of source, user, target_user, host, group`}},
		{"rule: sequence without after", map[string]any{"rules": []any{map[string]any{"name": "x", "kind": "sequence", "group_by": []any{"source"},
			"match": map[string]any{"events": []any{"accepted"}}, "threshold": 1, "window": "1m"}}},
			[]string{"after: a sequence rule must say which events come first"}},
		{"rule: no name", map[string]any{"rules": []any{map[string]any{"group_by": []any{"source"},
			"match": map[string]any{"events": []any{"accepted"}}, "threshold": 1, "window": "1m"}}},
			[]string{"name: must be set"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(tc.raw).Unmarshal(cfg))
			err := xconfmap.Validate(cfg)
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestConfigUnknownKeys(t *testing.T) {
	for _, raw := range []map[string]any{
		{"includ": []any{"/var/log/auth.log"}},
		{"rules": []any{map[string]any{"name": "brute_force", "treshold": 3}}},
		{"rules": []any{map[string]any{"name": "brute_force", "match": map[string]any{"event": []any{"accepted"}}}}},
	} {
		cfg := createDefaultConfig().(*Config)
		err := confmap.NewFromStringMap(raw).Unmarshal(cfg)
		require.Error(t, err, "%v", raw)
	}
}

// TestDefaultRulesAreDocumented: every rule of rules.yaml is valid and has its row in the README's table.
func TestDefaultRulesAreDocumented(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	rules := defaultRules()
	require.NotEmpty(t, rules)
	for i := range rules {
		assert.NoError(t, rules[i].validate(), rules[i].Name)
		assert.Contains(t, string(readme), "| `"+rules[i].Name+"` |", "README.md has no row of the default rule")
	}
	_, err = decodeRules([]byte("rules: [{name: x, window: soon}]"))
	assert.ErrorContains(t, err, "rules[0]")
}
