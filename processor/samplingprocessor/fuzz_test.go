package samplingprocessor

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pcommon"
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
