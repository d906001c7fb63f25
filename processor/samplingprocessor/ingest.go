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

// traceBatch is the spans of one trace in one ConsumeTraces call, with what the rules need to know of them.
type traceBatch struct {
	id          pcommon.TraceID
	spans       int
	hasError    bool
	root        *rootInfo
	matches     uint64 // per condition or attribute rule (by index): a span matched
	rootMatches uint64 // per condition or attribute rule: the root span matched
	spanIDs     []pcommon.SpanID
	ordinals    [][2]int32 // per span: its scope's and its own position in the request
	refs        []spanRef  // per span, once the request is encoded
	skewed      int        // root spans that end before they start
}

// splitByTrace groups the spans of td by trace id, in the order the traces first appear, without moving them, and
// returns the positions of the spans without a trace id apart (they belong to no trace: they are passed on).
func (p *sampler) splitByTrace(ctx context.Context, td ptrace.Traces) ([]*traceBatch, [][2]int32) {
	byID := map[pcommon.TraceID]*traceBatch{}
	var batches []*traceBatch
	var orphans [][2]int32
	scopeOrd, spanOrd := int32(0), int32(0)
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
					orphans = append(orphans, [2]int32{scopeOrd, spanOrd})
					spanOrd++
					continue
				}
				b := byID[id]
				if b == nil {
					b = &traceBatch{id: id}
					byID[id] = b
					batches = append(batches, b)
				}
				p.inspect(ctx, b, rs, ss, span, service)
				b.ordinals = append(b.ordinals, [2]int32{scopeOrd, spanOrd})
				b.spans++
				spanOrd++
			}
			scopeOrd++
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
	for k, v := range span.Attributes().All() {
		if (k == "http.response.status_code" || k == "http.status_code") && v.Int() >= 500 {
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
