package authlogreceiver

import (
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestJSONLines(t *testing.T) {
	cfg := createDefaultConfig().(*Config).JSON
	// The README's mapping.
	cfg.Timestamp, cfg.User, cfg.SourceAddress, cfg.Outcome, cfg.DefaultProcess = "ts", "user.email", "client.ip", "result", "shop"
	j := jsonLines{cfg: &cfg}
	for _, tc := range []struct {
		line       string
		recognized bool
		want       event
		wantTime   time.Time
	}{
		{`{"ts":"2026-11-24T10:00:00Z","user":{"email":"a@shop.test"},"client":{"ip":"203.0.113.7"},"result":"FAILURE","method":"password"}`, true,
			event{kind: kindFailedAuth, outcome: "failure", method: "password", user: "a@shop.test", source: netip.MustParseAddr("203.0.113.7"), count: 1},
			time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
		{`{"ts":1795600000,"user":{"email":"b@shop.test"},"client":{"ip":"2001:db8::1"},"result":"ok"}`, true,
			event{kind: kindAccepted, outcome: "success", user: "b@shop.test", source: netip.MustParseAddr("2001:db8::1"), count: 1},
			time.Unix(1795600000, 0)},
		{`{"ts":1795600000123,"user":{"email":"c@shop.test"},"result":"denied","event":"invalid_user"}`, true,
			event{kind: kindInvalidUser, outcome: "failure", user: "c@shop.test", invalidUser: true, count: 1},
			time.UnixMilli(1795600000123)},
		{`{"ts":"2026-11-24T10:00:00Z","msg":"cache warmed"}`, false, event{count: 1}, time.Date(2026, 11, 24, 10, 0, 0, 0, time.UTC)},
	} {
		var ev event
		env, ok, recognized := j.parse(tc.line, &ev)
		require.True(t, ok, tc.line)
		assert.Equal(t, tc.recognized, recognized, tc.line)
		assert.Equal(t, tc.want, ev, tc.line)
		assert.True(t, tc.wantTime.Equal(env.time), "%s: time %s", tc.line, env.time)
		assert.Equal(t, "shop", env.process)
	}
	var ev event
	_, ok, _ := j.parse(`{"not json`, &ev)
	assert.False(t, ok)
}
