package test

import (
	"bytes"
	byteorder "encoding/binary"
	"fmt"
	"net/http"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelstrata/strata/internal/e2e"
)

// TestSamplingDecidesAsTailSampling runs the built binary twice on the same 300 traces (30 with a failing span,
// 30 with a slow root, 240 ordinary), once with the sampling processor and once with contrib's tail_sampling, with
// equivalent policies (keep errors, keep roots slower than 500 ms, keep 10 % of the rest): both keep every error and
// every slow trace, whole, and a share of the rest near 10 %.
func TestSamplingDecidesAsTailSampling(t *testing.T) {
	policies := map[string]map[string]any{
		"sampling": {"sampling": map[string]any{"decision_wait": "1s", "rules": []any{
			map[string]any{"name": "errors", "type": "error"},
			map[string]any{"name": "slow", "type": "latency", "threshold": "500ms"},
			map[string]any{"name": "rest", "type": "probability", "probability": 0.1},
		}}},
		"tail_sampling": {"tail_sampling": map[string]any{"decision_wait": "1s", "policies": []any{
			map[string]any{"name": "errors", "type": "status_code", "status_code": map[string]any{"status_codes": []any{"ERROR"}}},
			map[string]any{"name": "slow", "type": "latency", "latency": map[string]any{"threshold_ms": 500}},
			map[string]any{"name": "rest", "type": "probabilistic", "probabilistic": map[string]any{"sampling_percentage": 10}},
		}}},
	}
	td, must := samplingTraces()
	body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
	require.NoError(t, err)
	for name, processor := range policies {
		t.Run(name, func(t *testing.T) {
			sink := e2e.NewOTLPSink(t)
			otlp := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
			var id string
			for id = range processor {
			}
			config := writeYAML(t, name+".yaml", map[string]any{
				"receivers":  map[string]any{"otlp": map[string]any{"protocols": map[string]any{"http": map[string]any{"endpoint": otlp}}}},
				"processors": processor,
				"exporters":  map[string]any{"otlp_http": map[string]any{"endpoint": sink.URL}},
				"service": map[string]any{
					"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
					"pipelines": map[string]any{"traces": map[string]any{"receivers": []any{"otlp"}, "processors": []any{id}, "exporters": []any{"otlp_http"}}},
				},
			})
			c := startCollector(t, config)
			c.WaitFor(t, "OTLP/HTTP", 30*time.Second, func() error {
				resp, err := http.Post("http://"+otlp+"/v1/traces", "application/x-protobuf", bytes.NewReader(body))
				if err != nil {
					return err
				}
				resp.Body.Close()
				if resp.StatusCode != http.StatusOK {
					return fmt.Errorf("status %d", resp.StatusCode)
				}
				return nil
			})
			c.WaitFor(t, "the error and slow traces", 30*time.Second, func() error {
				got := sink.SpansByTrace()
				for id, spans := range must {
					if got[id] != spans {
						return fmt.Errorf("trace %s: %d of its %d spans", id, got[id], spans)
					}
				}
				return nil
			})
			time.Sleep(2 * time.Second) // every decision taken
			rest := len(sink.SpansByTrace()) - len(must)
			assert.InDelta(t, 24, rest, 16, "about 10 %% of the 240 ordinary traces")
			t.Logf("%s kept %d of the 240 ordinary traces", name, rest)
		})
	}
}

// samplingTraces is 300 traces of 5 spans over 2 services, and the traces that must be kept with their span counts.
func samplingTraces() (ptrace.Traces, map[pcommon.TraceID]int) {
	td := ptrace.NewTraces()
	spans := []ptrace.SpanSlice{}
	for _, service := range []string{"frontend", "backend"} {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		spans = append(spans, rs.ScopeSpans().AppendEmpty().Spans())
	}
	must := map[pcommon.TraceID]int{}
	start := time.Now().Add(-time.Second)
	for n := range uint64(300) {
		var id pcommon.TraceID
		byteorder.BigEndian.PutUint64(id[:8], n*0x9e3779b97f4a7c15)
		byteorder.BigEndian.PutUint64(id[8:], (n+1)*0xbf58476d1ce4e5b9)
		for s := range uint64(5) {
			span := spans[s%2].AppendEmpty()
			span.SetTraceID(id)
			var sid, parent pcommon.SpanID
			byteorder.BigEndian.PutUint64(sid[:], s+1)
			span.SetSpanID(sid)
			duration := 50 * time.Millisecond
			if s > 0 {
				byteorder.BigEndian.PutUint64(parent[:], 1)
				span.SetParentSpanID(parent)
				duration = 10 * time.Millisecond
			} else if n%10 == 1 {
				duration = 800 * time.Millisecond // slow
			}
			if s == 3 && n%10 == 2 {
				span.Status().SetCode(ptrace.StatusCodeError)
			}
			span.SetName(fmt.Sprintf("op-%d", s))
			span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(duration)))
		}
		if n%10 == 1 || n%10 == 2 {
			must[id] = 5
		}
	}
	return td, must
}
