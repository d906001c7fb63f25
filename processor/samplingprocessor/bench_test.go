package samplingprocessor

import (
	"context"
	"encoding/binary"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// benchRequest is a request of 100 traces of 10 spans over 3 services (as bench/sampling_test.go sends), with the
// trace ids of request n.
func benchRequest(n uint64) ptrace.Traces {
	td := ptrace.NewTraces()
	services := []string{"frontend", "checkout", "payments"}
	scopes := make([]ptrace.SpanSlice, len(services))
	for i, s := range services {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s)
		rs.Resource().Attributes().PutStr("host.name", "bench-host")
		scopes[i] = rs.ScopeSpans().AppendEmpty().Spans()
	}
	start := time.Now()
	for tr := range uint64(100) {
		id := traceIDOf(n*100 + tr)
		for sp := range uint64(10) {
			span := scopes[sp%3].AppendEmpty()
			span.SetTraceID(id)
			var sid, parent pcommon.SpanID
			binary.BigEndian.PutUint64(sid[:], tr*10+sp+1)
			span.SetSpanID(sid)
			duration := 10 * time.Millisecond
			if sp > 0 {
				binary.BigEndian.PutUint64(parent[:], tr*10+1)
				span.SetParentSpanID(parent)
			}
			span.SetName("GET /checkout")
			span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(duration)))
			attrs := span.Attributes()
			attrs.PutStr("http.request.method", "GET")
			attrs.PutStr("http.route", "/checkout")
			attrs.PutInt("http.response.status_code", 200)
			attrs.PutStr("db.system", "postgresql")
			attrs.PutStr("server.address", "10.0.0.12")
		}
	}
	return td
}

// BenchmarkConsumeTraces is the processor's cost per span: requests of 1,000 spans buffered, then decided (10 %
// kept) every 20 requests, as in the load run. Building the requests is outside the timing.
func BenchmarkConsumeTraces(b *testing.B) {
	h := newHarness(b, `
decision_wait: 1s
max_spans: 10000000
rules:
  - {name: errors, type: error}
  - {name: slow, type: latency, threshold: 500ms}
  - {name: rest, type: probability, probability: 0.1}
`)
	reqs := make([]ptrace.Traces, 200)
	n := uint64(0)
	ctx := context.Background()
	for b.Loop() {
		b.StopTimer()
		if n%uint64(len(reqs)) == 0 {
			for i := range reqs {
				reqs[i] = benchRequest(n + uint64(i))
			}
		}
		td := reqs[n%uint64(len(reqs))]
		b.StartTimer()
		if err := h.p.ConsumeTraces(ctx, td); err != nil {
			b.Fatal(err)
		}
		n++
		if n%20 == 0 {
			h.decideAfter(2 * time.Second)
			h.traces.Reset()
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*1000), "ns/span")
}
