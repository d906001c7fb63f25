package netprobereceiver

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestICMPProbe pings 127.0.0.1. Where neither unprivileged ping sockets nor raw sockets are permitted, the probe
// must fail with error.type permission and say what to change, and that is what is checked.
func TestICMPProbe(t *testing.T) {
	r := probeOne(t, map[string]any{"type": "icmp", "endpoint": "127.0.0.1", "icmp": map[string]any{"count": 3, "packet_interval": "20ms"}})
	if errType(r) == "permission" {
		assert.Contains(t, r.err.Error(), "ping_group_range")
		assert.Contains(t, r.err.Error(), "CAP_NET_RAW")
		t.Logf("ICMP is not permitted here: %v", r.err)
		return
	}
	require.NoError(t, r.err)
	require.NotNil(t, r.icmp)
	assert.Zero(t, r.icmp.loss)
	assert.Positive(t, r.icmp.min)
	assert.LessOrEqual(t, r.icmp.min, r.icmp.avg)
	assert.LessOrEqual(t, r.icmp.avg, r.icmp.max)
	assert.Equal(t, "127.0.0.1", r.peer)
}

func TestICMPProbeNoReply(t *testing.T) {
	// 203.0.113.0/24 (TEST-NET-3) is reserved for documentation: nothing answers it.
	r := probeOne(t, map[string]any{"type": "icmp", "endpoint": "203.0.113.1", "timeout": "300ms",
		"icmp": map[string]any{"count": 2, "packet_interval": "20ms"}})
	require.Error(t, r.err)
	if errType(r) == "permission" {
		return
	}
	assert.Contains(t, []string{"timeout", "unreachable"}, errType(r), "error: %v", r.err)
	if r.icmp != nil {
		assert.Equal(t, 1.0, r.icmp.loss)
	}
}
