package servicegraph

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

var t0 = time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)

func settings() Settings {
	return Settings{TTL: 2 * time.Second, MaxPending: 100, MaxEdges: 100,
		LatencyBuckets: []time.Duration{10 * time.Millisecond, time.Second}, VirtualNodeAttributes: []string{"peer.service"}}
}

// span returns a span of a trace with the given ids (parent 0: none), lasting ms milliseconds.
func span(kind ptrace.SpanKind, id, parent byte, ms int) ptrace.Span {
	s := ptrace.NewSpan()
	s.SetKind(kind)
	s.SetTraceID(pcommon.TraceID{1})
	s.SetSpanID(pcommon.SpanID{id})
	if parent != 0 {
		s.SetParentSpanID(pcommon.SpanID{parent})
	}
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(time.Duration(ms) * time.Millisecond)))
	return s
}

// histogram returns the bucket counts of metric name on the edge client -> server.
func histogram(t *testing.T, g *Graph, name, client, server string) []uint64 {
	t.Helper()
	ms := pmetric.NewMetricSlice()
	g.AppendMetrics(ms, t0, t0)
	for _, m := range ms.All() {
		if m.Name() != name {
			continue
		}
		for _, dp := range m.Histogram().DataPoints().All() {
			c, _ := dp.Attributes().Get("client")
			s, _ := dp.Attributes().Get("server")
			if c.Str() == client && s.Str() == server {
				return dp.BucketCounts().AsRaw()
			}
		}
	}
	return nil
}

func TestPairsHalvesIntoAnEdge(t *testing.T) {
	g := New(settings())
	g.AddSpan(span(ptrace.SpanKindClient, 1, 0, -5), "a", t0) // ends before it starts: lasts nothing
	g.AddSpan(span(ptrace.SpanKindServer, 2, 1, 500), "b", t0)
	assert.Equal(t, Counts{Paired: 2}, g.TakeCounts())
	assert.Equal(t, []uint64{1, 0, 0}, histogram(t, g, MetricClientLatency, "a", "b"))
	assert.Equal(t, []uint64{0, 1, 0}, histogram(t, g, MetricServerLatency, "a", "b"))
	var calls [][2]string
	g.Dependencies(func(c, s string) { calls = append(calls, [2]string{c, s}) }, func(string, string) {})
	assert.Equal(t, [][2]string{{"a", "b"}}, calls)
	calls = nil
	g.Dependencies(func(c, s string) { calls = append(calls, [2]string{c, s}) }, func(string, string) {})
	assert.Empty(t, calls, "nothing recorded since")
	g.AddSpan(span(ptrace.SpanKindClient, 3, 0, 5), "a", t0)
	g.AddSpan(span(ptrace.SpanKindServer, 4, 3, 5), "b", t0)
	g.Dependencies(func(c, s string) { calls = append(calls, [2]string{c, s}) }, func(string, string) {})
	assert.Equal(t, [][2]string{{"a", "b"}}, calls, "the edge again, once")
}

func TestEdgesAreBoundedLeastRecentFirst(t *testing.T) {
	cfg := settings()
	cfg.MaxEdges = 2
	g := New(cfg)
	for i, s := range []string{"a", "b", "c"} {
		g.Record(EdgeKey{Client: UserNode, Server: s, Conn: ConnectionVirtualNode}, -1, 0.001, false, t0.Add(time.Duration(i)*time.Second))
	}
	require.Equal(t, 2, g.Len())
	assert.Nil(t, histogram(t, g, MetricServerLatency, UserNode, "a"), "the least recently updated edge went")
	assert.NotNil(t, histogram(t, g, MetricServerLatency, UserNode, "c"))
	assert.Equal(t, 1, g.TakeCounts().Evicted)
}

func TestExpiredClientHalfBecomesAVirtualNode(t *testing.T) {
	g := New(settings())
	client := span(ptrace.SpanKindClient, 1, 0, 20)
	client.Attributes().PutStr("peer.service", "payments-api")
	g.AddSpan(client, "a", t0)
	g.AddSpan(span(ptrace.SpanKindServer, 9, 8, 1), "b", t0) // its client never comes
	g.Expire(t0.Add(3 * time.Second))
	assert.Equal(t, Counts{Virtual: 1, Expired: 1}, g.TakeCounts())
	assert.Equal(t, []uint64{0, 1, 0}, histogram(t, g, MetricClientLatency, "a", "payments-api"))
}
