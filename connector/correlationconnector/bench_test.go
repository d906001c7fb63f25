package correlationconnector

import (
	"context"
	"encoding/binary"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/connector/spanmetricsconnector"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/servicegraph"
)

// benchTraces are 125 checkouts of the shop (8 spans each: 1,000 spans), with trace ids of round n.
func benchTraces(n uint64) ptrace.Traces {
	var spans []sp
	for i := range uint64(125) {
		spans = append(spans, shop(n*125+i+1, i%50 == 0)...)
	}
	return traces(spans...)
}

// BenchmarkGraphVersusSpanmetrics is spans per second through the graph builder and through contrib's spanmetrics
// connector (default configuration) on the same requests of 1,000 spans.
func BenchmarkGraphVersusSpanmetrics(b *testing.B) {
	requests := make([]ptrace.Traces, 100)
	for i := range requests {
		requests[i] = benchTraces(uint64(i))
	}
	// Every request gets trace ids of its own (outside the timing), so that halves pair as they do in real traffic.
	run := func(b *testing.B, consume func(ptrace.Traces) error) {
		i := 0
		for b.Loop() {
			b.StopTimer()
			td := requests[i%len(requests)]
			for _, rs := range td.ResourceSpans().All() {
				for _, span := range rs.ScopeSpans().At(0).Spans().All() {
					id := span.TraceID()
					binary.BigEndian.PutUint64(id[:8], uint64(i))
					span.SetTraceID(id)
				}
			}
			b.StartTimer()
			if err := consume(td); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.N*1000)/b.Elapsed().Seconds(), "spans/s")
	}
	b.Run("correlation", func(b *testing.B) {
		h := newHarness(b)
		n := 0
		run(b, func(td ptrace.Traces) error {
			if n++; n%10 == 0 { // the expiry that the connector's loop runs, every 10,000 spans
				h.clock.Advance(time.Second)
				h.c.expire(context.Background())
			}
			return h.c.ConsumeTraces(context.Background(), td)
		})
	})
	b.Run("spanmetrics", func(b *testing.B) {
		f := spanmetricsconnector.NewFactory()
		c, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), consumertest.NewNop())
		if err != nil {
			b.Fatal(err)
		}
		if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
			b.Fatal(err)
		}
		defer func() { _ = c.Shutdown(context.Background()) }()
		run(b, func(td ptrace.Traces) error { return c.ConsumeTraces(context.Background(), td) })
	})
}

// BenchmarkMemoryPerEdge measures the heap taken by 10,000 edges between 1,000 services.
func BenchmarkMemoryPerEdge(b *testing.B) {
	for b.Loop() {
		h := newHarness(b)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for e := range 10000 {
			client, server := fmt.Sprintf("service-%03d", e%1000), fmt.Sprintf("service-%03d", (e/1000+e%1000+1)%1000)
			h.c.graph.Record(servicegraph.EdgeKey{Client: client, Server: server}, 0.01, 0.009, false, h.clock.Now())
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		if h.c.graph.Len() != 10000 {
			b.Fatalf("%d edges", h.c.graph.Len())
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/10000, "B/edge")
	}
}

var _ component.Component = (*correlationConnector)(nil)
