package samplingprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// FuzzParseRequest reads any bytes as an encoded request, and stitches what it found back into requests that are
// decoded: neither may panic, whatever the bytes (pdata's encoding is what the processor reads, but a buffer
// restored or corrupted must not crash it either).
func FuzzParseRequest(f *testing.F) {
	td := ptrace.NewTraces()
	rs := td.ResourceSpans().AppendEmpty()
	rs.Resource().Attributes().PutStr("service.name", "checkout")
	rs.SetSchemaUrl("https://opentelemetry.io/schemas/1.26.0")
	ss := rs.ScopeSpans().AppendEmpty()
	ss.Scope().SetName("shop")
	for i := range 3 {
		span := ss.Spans().AppendEmpty()
		span.SetName("GET /cart")
		span.SetTraceID(pcommon.TraceID{byte(i + 1)})
		span.SetSpanID(pcommon.SpanID{byte(i + 1)})
		span.Attributes().PutInt("http.response.status_code", 200)
	}
	data, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		f.Fatal(err)
	}
	f.Add(data)
	f.Add(data[:len(data)/2])
	f.Add([]byte{0x0a, 0xff, 0xff, 0xff, 0xff, 0x0f})
	f.Fuzz(func(t *testing.T, data []byte) {
		req, err := parseRequest(data)
		if err != nil {
			return
		}
		var b []byte
		for scope := range req.scopes {
			var spans []span32
			if scope == 0 {
				spans = req.spans
			}
			b = appendResourceSpans(b, req, int32(scope), spans)
		}
		_, _ = (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(b)
	})
}

// FuzzIncidentRecords reads any OTLP/JSON logs as the correlation connector's records, and any OTLP/JSON metrics as
// the anomaly processor's alarms — any attribute missing or of another type — and the incident rule follows them and
// decides without a panic, within its bounds.
func FuzzIncidentRecords(f *testing.F) {
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"strata.incident","attributes":[`+
		`{"key":"strata.incident.id","value":{"stringValue":"i-1"}},{"key":"strata.incident.state","value":{"stringValue":"open"}},`+
		`{"key":"strata.incident.services","value":{"arrayValue":{"values":[{"stringValue":"payment"}]}}},`+
		`{"key":"strata.incident.root_cause","value":{"stringValue":"endpoint db:5432"}}]}]}]}]}`),
		[]byte(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"payment"}}]},`+
			`"scopeMetrics":[{"scope":{"name":"github.com/otelstrata/strata/processor/anomalyprocessor"},"metrics":[`+
			`{"name":"strata.anomaly.alarm","gauge":{"dataPoints":[{"asDouble":1,"attributes":[`+
			`{"key":"strata.anomaly.metric","value":{"stringValue":"http.server.request.duration"}}]}]}}]}]}]}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"strata.incident","attributes":[`+
		`{"key":"strata.incident.id","value":{"intValue":"7"}},{"key":"strata.incident.services","value":{"intValue":"3"}}]}]}]}]}`),
		[]byte(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"x"}}]},`+
			`"scopeMetrics":[{"scope":{"name":"github.com/otelstrata/strata/processor/anomalyprocessor"},"metrics":[`+
			`{"name":"strata.anomaly.alarm","gauge":{"dataPoints":[{"asInt":"1"}]}}]}]}]}`))
	f.Fuzz(func(t *testing.T, logs, metrics []byte) {
		h := newHarness(t, `
rules:
  - {name: incident, type: incident}
`)
		if ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(logs); err == nil {
			require.NoError(t, h.p.ConsumeLogs(context.Background(), ld, 0))
		}
		if md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(metrics); err == nil {
			h.p.followAlarms(md)
		}
		h.send(t, span{trace: 1, id: 1, service: "payment", name: "GET"})
		h.decideAfter(3 * time.Second)
		h.p.mu.Lock()
		defer h.p.mu.Unlock()
		require.LessOrEqual(t, len(h.p.incidents.incidents), maxWatched)
		require.LessOrEqual(t, len(h.p.incidents.alarmed), maxAlarmed)
	})
}
