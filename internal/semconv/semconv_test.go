package semconv

import (
	"testing"

	"github.com/stretchr/testify/assert"
	"go.opentelemetry.io/collector/pdata/plog"
)

func TestEventNameFallsBackToTheAttribute(t *testing.T) {
	r := plog.NewLogRecord()
	assert.Empty(t, EventName(r))
	r.Attributes().PutStr(AttrEventName, EventDetection)
	assert.Equal(t, EventDetection, EventName(r))
	r.SetEventName(EventIncident)
	assert.Equal(t, EventIncident, EventName(r), "the field comes first")
}

func TestDetectionSeverity(t *testing.T) {
	n, ok := DetectionSeverity("high")
	assert.True(t, ok)
	assert.Equal(t, plog.SeverityNumberError, n)
	_, ok = DetectionSeverity("HIGH")
	assert.False(t, ok)
	for i := 1; i < len(DetectionSeverities); i++ {
		assert.Less(t, DetectionSeverities[i-1].Number, DetectionSeverities[i].Number, "lowest first")
	}
}

func TestPromLabel(t *testing.T) {
	for in, want := range map[string]string{
		"host.name": "host_name", "http_route": "http_route", "k8s.pod-name": "k8s_pod_name", "3xx": "_3xx",
		"région": "r_gion", "日本": "__", "": "", "a/b c": "a_b_c",
	} {
		assert.Equal(t, want, PromLabel(in), in)
	}
}
