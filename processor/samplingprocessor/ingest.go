package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// rootInfo is what the rules need of a trace's root span.
type rootInfo struct {
	latencyKey string        // service.name and span name
	budgetKey  string        // the budget's key attributes, joined
	duration   time.Duration // end - start (0 when the clock went backwards)
}

// traceBatch is the spans of one trace in one ConsumeTraces call, moved out of the request, with what the rules
// need to know of them.
type traceBatch struct {
	td          ptrace.Traces
	spans       int
	hasError    bool
	root        *rootInfo
	matches     uint64 // per condition or attribute rule (by index): a span matched
	rootMatches uint64 // per condition or attribute rule: the root span matched
	spanIDs     []pcommon.SpanID
	skewed      int // spans that end before they start

	// where the next span goes: the last resource and scope copied, by their position in the request
	rsIdx, ssIdx int
	dest         ptrace.SpanSlice
}

// splitByTrace moves the spans of td into one batch per trace id, and returns the spans without a trace id apart
// (they belong to no trace: they are passed on, never buffered).
func (p *sampler) splitByTrace(ctx context.Context, td ptrace.Traces) (map[pcommon.TraceID]*traceBatch, ptrace.Traces) {
	batches := map[pcommon.TraceID]*traceBatch{}
	orphans := ptrace.NewTraces()
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		rs := rss.At(i)
		service := ""
		if v, ok := rs.Resource().Attributes().Get("service.name"); ok {
			service = v.AsString()
		}
		sss := rs.ScopeSpans()
		for j := range sss.Len() {
			ss := sss.At(j)
			spans := ss.Spans()
			for k := range spans.Len() {
				span := spans.At(k)
				id := span.TraceID()
				if id.IsEmpty() {
					span.MoveTo(appendSpan(orphans, rs, ss))
					continue
				}
				b := batches[id]
				if b == nil {
					b = &traceBatch{td: ptrace.NewTraces(), rsIdx: -1}
					batches[id] = b
				}
				p.inspect(ctx, b, rs, ss, span, service)
				if b.rsIdx != i || b.ssIdx != j {
					b.dest = appendScope(b.td, rs, ss)
					b.rsIdx, b.ssIdx = i, j
				}
				span.MoveTo(b.dest.AppendEmpty())
				b.spans++
			}
		}
	}
	return batches, orphans
}

// inspect records what the rules need of a span: errors, the root span, condition and attribute matches.
func (p *sampler) inspect(ctx context.Context, b *traceBatch, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans, span ptrace.Span, service string) {
	b.spanIDs = append(b.spanIDs, span.SpanID())
	if isError(span) {
		b.hasError = true
	}
	isRoot := span.ParentSpanID().IsEmpty()
	if len(p.matchers) > 0 {
		var tCtx *ottlspan.TransformContext
		for i, m := range p.matchers {
			var ok bool
			switch {
			case m.conditions != nil:
				if tCtx == nil {
					tCtx = ottlspan.NewTransformContextPtr(rs, ss, span)
				}
				ok, _ = m.conditions.Eval(ctx, tCtx) // errors are ignored by the sequence's error mode: no match
			default:
				ok = m.matchAttribute(span.Attributes(), rs.Resource().Attributes())
			}
			if ok {
				b.matches |= 1 << i
				if isRoot {
					b.rootMatches |= 1 << i
				}
			}
		}
		if tCtx != nil {
			tCtx.Close()
		}
	}
	if !isRoot {
		return
	}
	d := span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime())
	if d < 0 {
		b.skewed++
		d = 0
	}
	b.root = &rootInfo{latencyKey: service + " " + span.Name(), duration: d}
	if p.budget != nil {
		values := make([]string, len(p.budget.keys))
		for i, k := range p.budget.keys {
			values[i] = attributeText(k, span.Attributes(), rs.Resource().Attributes())
		}
		b.root.budgetKey = strings.Join(values, "\x00")
	}
}

// isError says a span failed: its status is Error, its HTTP response is a 5xx, or it recorded an exception.
func isError(span ptrace.Span) bool {
	if span.Status().Code() == ptrace.StatusCodeError {
		return true
	}
	for _, k := range []string{"http.response.status_code", "http.status_code"} {
		if v, ok := span.Attributes().Get(k); ok && v.Int() >= 500 {
			return true
		}
	}
	events := span.Events()
	for i := range events.Len() {
		if events.At(i).Name() == "exception" {
			return true
		}
	}
	return false
}

// attributeText is an attribute of the span, or else of its resource, as text ("" when neither has it).
func attributeText(key string, span, resource pcommon.Map) string {
	if v, ok := span.Get(key); ok {
		return v.AsString()
	}
	if v, ok := resource.Get(key); ok {
		return v.AsString()
	}
	return ""
}

// appendScope adds a copy of rs's resource and ss's scope to td and returns the scope's span slice.
func appendScope(td ptrace.Traces, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans) ptrace.SpanSlice {
	out := td.ResourceSpans().AppendEmpty()
	rs.Resource().CopyTo(out.Resource())
	out.SetSchemaUrl(rs.SchemaUrl())
	scope := out.ScopeSpans().AppendEmpty()
	ss.Scope().CopyTo(scope.Scope())
	scope.SetSchemaUrl(ss.SchemaUrl())
	return scope.Spans()
}

func appendSpan(td ptrace.Traces, rs ptrace.ResourceSpans, ss ptrace.ScopeSpans) ptrace.Span {
	return appendScope(td, rs, ss).AppendEmpty()
}
