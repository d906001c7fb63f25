package samplingprocessor

import (
	"context"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelstrata/strata/internal/e2e"
)

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
				reqs[i] = e2e.LoadTraces(n + uint64(i))
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
