package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
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
	touched     []entity   // with an incident rule: the services, hosts and endpoints its spans touch
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
	if p.incidents != nil {
		b.touched = touchedBy(b.touched, service, span.Attributes(), rs.Resource().Attributes())
	}
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

// isError reports whether a span failed: its status is Error, its HTTP response is a 5xx, or it recorded an exception.
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

// attributeText returns an attribute of the span, or else of its resource, as text ("" when neither has it).
func attributeText(key string, span, resource pcommon.Map) string {
	if v, ok := span.Get(key); ok {
		return v.AsString()
	}
	if v, ok := resource.Get(key); ok {
		return v.AsString()
	}
	return ""
}

// ConsumeTraces buffers the spans of undecided traces, passes on the late spans of kept ones, and drops those of
// dropped ones. The request is encoded once, outside the lock; traces keep ranges of it.
func (p *sampler) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	batches, orphans := p.splitByTrace(ctx, td)
	req, err := encodeRequest(td)
	if err != nil {
		return err
	}
	for _, b := range batches {
		b.refs = req.refs(b.ordinals)
	}
	out := newStitcher()
	if len(orphans) > 0 {
		out.add(tracePart{req, req.refs(orphans)}, decision{keep: true, rule: "", th: sampling.AlwaysSampleThreshold}, false)
		p.countBadInput(ctx, "no_trace_id", len(orphans))
	}

	now := p.clock.Now()
	var lateKept, lateDropped, duplicates, skewed int
	p.mu.Lock()
	for _, b := range batches {
		skewed += b.skewed
		if d, ok := p.decisions.get(b.id); ok {
			if d.keep || p.cfg.DryRun {
				out.add(tracePart{req, b.refs}, d, true)
				lateKept += b.spans
			} else {
				lateDropped += b.spans
			}
			continue
		}
		t := p.traces[b.id]
		if t == nil {
			t = &trace{id: b.id, arrived: now}
			p.traces[b.id] = t
			p.arrivals.push(b.id, now)
			p.telemetry.ProcessorSamplingBufferedTraces.Add(ctx, 1)
		}
		refs, dup := removeDuplicates(t, b)
		duplicates += dup
		if len(refs) == 0 {
			continue
		}
		t.parts = append(t.parts, tracePart{req, refs})
		t.spans += len(refs)
		p.items += len(refs)
		p.telemetry.ProcessorSamplingBufferedSpans.Add(ctx, int64(len(refs)))
		t.hasError = t.hasError || b.hasError
		t.matches |= b.matches
		t.rootMatches |= b.rootMatches
		for _, e := range b.touched {
			t.touched = touch(t.touched, e)
		}
		if b.root != nil && t.root == nil {
			t.root = b.root
			p.roots.push(b.id, now)
		}
	}
	over := len(p.traces) > p.cfg.MaxTraces || p.items > p.cfg.MaxSpans
	p.mu.Unlock()

	p.countSpans(ctx, "keep", "late", lateKept)
	p.countSpans(ctx, "drop", "late", lateDropped)
	p.countBadInput(ctx, "duplicate", duplicates)
	p.countBadInput(ctx, "clock_skew", skewed)
	p.wakeIfOver(over)
	if out.empty() {
		return nil
	}
	traces, err := out.traces(p)
	if err != nil {
		return err
	}
	return p.nextTraces.ConsumeTraces(ctx, traces)
}

// removeDuplicates returns the batch's spans whose ids the trace does not have yet (buffered before, or earlier in
// the batch), records their ids on the trace, and counts the others.
func removeDuplicates(t *trace, b *traceBatch) ([]spanRef, int) {
	refs := b.refs[:0:0]
	dup := 0
	for i, id := range b.spanIDs {
		if t.hasSpan(id) {
			dup++
			continue
		}
		t.spanIDs = append(t.spanIDs, id)
		refs = append(refs, b.refs[i])
	}
	if dup == 0 {
		return b.refs, 0
	}
	return refs, dup
}
