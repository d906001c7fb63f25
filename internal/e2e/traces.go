package e2e

import (
	"encoding/binary"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// LoadTraces returns the trace load of the sampling benchmarks: 100 traces of 10 spans over 3 services (a root of
// 100 ms and 9 children of 10 ms, with HTTP and database attributes); trace 3 has a failing span and trace 7 a root
// of 800 ms. Trace ids are random-looking and depend on request, so that every request brings new traces.
func LoadTraces(request uint64) ptrace.Traces {
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
		var id pcommon.TraceID
		binary.BigEndian.PutUint64(id[:8], 0x5ca1ab1e00000000^(request<<20)|tr)
		binary.BigEndian.PutUint64(id[8:], (request*100+tr+1)*0x9e3779b97f4a7c15)
		for sp := range uint64(10) {
			span := scopes[sp%3].AppendEmpty()
			span.SetTraceID(id)
			var sid, parent pcommon.SpanID
			binary.BigEndian.PutUint64(sid[:], tr*10+sp+1)
			span.SetSpanID(sid)
			duration := 100 * time.Millisecond
			if sp > 0 {
				binary.BigEndian.PutUint64(parent[:], tr*10+1)
				span.SetParentSpanID(parent)
				duration = 10 * time.Millisecond
			} else if tr == 7 {
				duration = 800 * time.Millisecond
			}
			span.SetName([]string{"GET /checkout", "SELECT orders", "POST /charge"}[sp%3])
			span.SetKind(ptrace.SpanKindServer)
			span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
			span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(duration)))
			attrs := span.Attributes()
			attrs.PutStr("http.request.method", "GET")
			attrs.PutStr("http.route", "/checkout")
			attrs.PutInt("http.response.status_code", 200)
			attrs.PutStr("db.system", "postgresql")
			attrs.PutStr("server.address", "10.0.0.12")
			if tr == 3 && sp == 5 {
				span.Status().SetCode(ptrace.StatusCodeError)
			}
		}
	}
	return td
}
