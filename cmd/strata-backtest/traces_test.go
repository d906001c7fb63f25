package main

import (
	"encoding/binary"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// traceLines returns twenty minutes of a request a second from frontend to checkout, as the file exporter writes
// them (a request of spans a second); from minute 12 to 15 every checkout span fails.
func traceLines(t *testing.T, start time.Time) []string {
	var lines []string
	for i := range 20 * 60 {
		at := start.Add(time.Duration(i) * time.Second)
		failing := i >= 12*60 && i < 15*60
		td := ptrace.NewTraces()
		var tid pcommon.TraceID
		binary.BigEndian.PutUint64(tid[8:], uint64(i+1))
		span := func(service string, kind ptrace.SpanKind, id, parent uint64, d time.Duration, failed bool) {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", service)
			s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
			s.SetTraceID(tid)
			var sid, pid pcommon.SpanID
			binary.BigEndian.PutUint64(sid[:], id)
			s.SetSpanID(sid)
			if parent != 0 {
				binary.BigEndian.PutUint64(pid[:], parent)
				s.SetParentSpanID(pid)
			}
			s.SetName(service + " call")
			s.SetKind(kind)
			s.SetStartTimestamp(pcommon.NewTimestampFromTime(at))
			s.SetEndTimestamp(pcommon.NewTimestampFromTime(at.Add(d)))
			if failed {
				s.Status().SetCode(ptrace.StatusCodeError)
			}
		}
		base := uint64(i) * 10
		span("frontend", ptrace.SpanKindServer, base+1, 0, 40*time.Millisecond, failing)
		span("frontend", ptrace.SpanKindClient, base+2, base+1, 30*time.Millisecond, failing)
		span("checkout", ptrace.SpanKindServer, base+3, base+2, 25*time.Millisecond, failing)
		data, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		lines = append(lines, string(data))
	}
	return lines
}

// TestTracesReplay: recorded traces build the connector's service graph and open an incident at checkout's
// failures, rooted at checkout; the sampling processor decides them in simulated time.
func TestTracesReplay(t *testing.T) {
	start := day0
	path := filepath.Join(t.TempDir(), "traces.json")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(traceLines(t, start), "\n")+"\n"), 0o644))
	res := replay(t, options{config: "testdata/traces.yaml", otlp: []string{path}})
	assert.Equal(t, 3*20*60, res.Input.Spans)
	opened := summarize(res).Incidents
	require.NotEmpty(t, opened, "an incident at the failures")
	first := opened[0]
	assert.Equal(t, "service checkout", first.RootCause)
	assert.WithinDuration(t, start.Add(12*time.Minute), first.Opened, 2*time.Minute)
}
