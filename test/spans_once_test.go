package test

import (
	"bytes"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelstrata/strata/internal/e2e"
)

// TestEachSpanCountsOnce runs the built binary in the layout of the demo and the gateway — one traces pipeline into
// the correlation connector, which feeds a metrics pipeline (the service graph) and a logs pipeline (incidents) —
// sends 1,000 traces of a client and a server span, and reads the service graph: 1,000 requests, not 2,000.
func TestEachSpanCountsOnce(t *testing.T) {
	sink := e2e.NewOTLPSink(t)
	otlp := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	config := writeYAML(t, "graph.yaml", map[string]any{
		"receivers":  map[string]any{"otlp": map[string]any{"protocols": map[string]any{"http": map[string]any{"endpoint": otlp}}}},
		"connectors": map[string]any{"correlation": map[string]any{"metrics_flush_interval": "1s"}},
		"exporters":  map[string]any{"otlp_http": map[string]any{"endpoint": sink.URL}, "debug": map[string]any{}},
		"service": map[string]any{
			"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
			"pipelines": map[string]any{
				"traces":         map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"correlation"}},
				"metrics":        map[string]any{"receivers": []any{"correlation"}, "exporters": []any{"otlp_http"}},
				"logs/incidents": map[string]any{"receivers": []any{"correlation"}, "exporters": []any{"debug"}},
			},
		},
	})
	c := startCollector(t, config)
	const traces = 1000
	body, err := ptraceotlp.NewExportRequestFromTraces(clientServerTraces(traces)).MarshalProto()
	require.NoError(t, err)
	c.WaitFor(t, "OTLP/HTTP", 30*time.Second, func() error {
		resp, err := http.Post("http://"+otlp+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			return err
		}
		return resp.Body.Close()
	})
	c.WaitFor(t, "the service graph of every trace", 30*time.Second, func() error {
		if n := lastRequests(sink, "frontend", "checkout"); n != traces {
			return fmt.Errorf("frontend -> checkout: %d requests, want %d", n, traces)
		}
		return nil
	})
	time.Sleep(1500 * time.Millisecond) // another flush: still the same count
	require.Equal(t, int64(traces), lastRequests(sink, "frontend", "checkout"))
}

// clientServerTraces returns n traces of a frontend client span and the checkout server span it calls.
func clientServerTraces(n int) ptrace.Traces {
	td := ptrace.NewTraces()
	start := time.Now()
	spans := map[string]ptrace.SpanSlice{}
	for _, service := range []string{"frontend", "checkout"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		spans[service] = rs.ScopeSpans().AppendEmpty().Spans()
	}
	for i := range n {
		tid := pcommon.TraceID{byte(i >> 8), byte(i), 1}
		client := spans["frontend"].AppendEmpty()
		client.SetTraceID(tid)
		client.SetSpanID(pcommon.SpanID{1})
		client.SetKind(ptrace.SpanKindClient)
		client.SetName("POST /checkout")
		client.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		client.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(20 * time.Millisecond)))
		server := spans["checkout"].AppendEmpty()
		server.SetTraceID(tid)
		server.SetSpanID(pcommon.SpanID{2})
		server.SetParentSpanID(pcommon.SpanID{1})
		server.SetKind(ptrace.SpanKindServer)
		server.SetName("POST /checkout")
		server.SetStartTimestamp(pcommon.NewTimestampFromTime(start.Add(time.Millisecond)))
		server.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(19 * time.Millisecond)))
	}
	return td
}

// lastRequests is the latest traces_service_graph_request_total of an edge the sink received, -1 before any.
func lastRequests(sink *e2e.OTLPSink, client, server string) int64 {
	last := int64(-1)
	for _, md := range sink.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != "traces_service_graph_request_total" || m.Type() != pmetric.MetricTypeSum {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						c, _ := dp.Attributes().Get("client")
						s, _ := dp.Attributes().Get("server")
						if c.Str() == client && s.Str() == server {
							last = dp.IntValue()
						}
					}
				}
			}
		}
	}
	return last
}
