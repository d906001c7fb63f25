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
)

// benchTraces are 125 checkouts of the shop (8 spans each: 1,000 spans), with trace ids of round n.
func benchTraces(n uint64) ptrace.Traces {
	var spans []sp
	for i := range uint64(125) {
		spans = append(spans, shop(n*125+i+1, i%50 == 0)...)
	}
	return traces(spans...)
}

// estate returns requests of 1,000 spans that make a graph of edges client/server pairs between 1,000 services
// (service-000 …), each pair a trace of its own: edge e goes from service e mod 1,000 to the service e/1,000 + 1
// further on, its client span named after the call.
func estate(edges int) []ptrace.Traces {
	var out []ptrace.Traces
	var spans []sp
	for e := range uint64(edges) {
		client, server := fmt.Sprintf("service-%03d", e%1000), fmt.Sprintf("service-%03d", (e/1000+e%1000+1)%1000)
		spans = append(spans,
			sp{trace: 1<<40 + e, id: 1, service: client, name: "call " + server, kind: ptrace.SpanKindClient, ms: 10},
			sp{trace: 1<<40 + e, id: 2, parent: 1, service: server, name: "handle", kind: ptrace.SpanKindServer, ms: 9})
		if len(spans) == 1000 {
			out, spans = append(out, traces(spans...)), nil
		}
	}
	if len(spans) > 0 {
		out = append(out, traces(spans...))
	}
	return out
}

// BenchmarkGraphVersusSpanmetrics is spans per second through the connector (the graph builder and the incident
// engine's figures) and through contrib's spanmetrics connector (default configuration) on the same requests of
// 1,000 spans, on a graph of the shop's three services and after both have seen an estate of 10,000 edges between
// 1,000 services (as spans, outside the timing).
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
	for _, size := range []struct {
		name  string
		edges int
	}{{"3-services", 0}, {"10000-edges", 10000}} {
		seen := estate(size.edges)
		b.Run(size.name+"/correlation", func(b *testing.B) {
			h := newHarnessWith(b, func(c *Config) { c.MaxEdges = 2 * max(size.edges, 10000) })
			for _, td := range seen {
				if err := h.c.ConsumeTraces(context.Background(), td); err != nil {
					b.Fatal(err)
				}
			}
			if h.c.graph.Len() < size.edges {
				b.Fatalf("%d edges", h.c.graph.Len())
			}
			n := 0
			run(b, func(td ptrace.Traces) error {
				if n++; n%10 == 0 { // the expiry that the connector's loop runs, every 10,000 spans
					h.clock.Advance(time.Second)
					h.c.expire(context.Background())
				}
				return h.c.ConsumeTraces(context.Background(), td)
			})
		})
		b.Run(size.name+"/spanmetrics", func(b *testing.B) {
			f := spanmetricsconnector.NewFactory()
			c, err := f.CreateTracesToMetrics(context.Background(), connectortest.NewNopSettings(f.Type()), f.CreateDefaultConfig(), consumertest.NewNop())
			if err != nil {
				b.Fatal(err)
			}
			if err := c.Start(context.Background(), componenttest.NewNopHost()); err != nil {
				b.Fatal(err)
			}
			defer func() { _ = c.Shutdown(context.Background()) }()
			for _, td := range seen {
				if err := c.ConsumeTraces(context.Background(), td); err != nil {
					b.Fatal(err)
				}
			}
			run(b, func(td ptrace.Traces) error { return c.ConsumeTraces(context.Background(), td) })
		})
	}
}

// BenchmarkMemoryPerEdge measures the heap taken by 10,000 edges between 1,000 services, sent as spans: the graph's
// edges and their histograms, the incident engine's topology and its per-service figures, once the span halves have
// expired.
func BenchmarkMemoryPerEdge(b *testing.B) {
	seen := estate(10000)
	for b.Loop() {
		h := newHarnessWith(b, func(c *Config) { c.MaxEdges = 20000 })
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		for _, td := range seen {
			if err := h.c.ConsumeTraces(context.Background(), td); err != nil {
				b.Fatal(err)
			}
		}
		h.clock.Advance(time.Minute)
		h.c.expire(context.Background())
		runtime.GC()
		runtime.ReadMemStats(&after)
		if h.c.graph.Len() != 10000 {
			b.Fatalf("%d edges", h.c.graph.Len())
		}
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/10000, "B/edge")
		runtime.KeepAlive(h)
	}
}

var _ component.Component = (*correlationConnector)(nil)
