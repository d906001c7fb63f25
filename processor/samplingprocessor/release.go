package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"strings"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"
)

// release sends the kept traces (spans and their logs) down their pipelines, and counts every decision.
func (p *sampler) release(ctx context.Context, ds []decided) {
	if len(ds) == 0 {
		return
	}
	out := newStitcher()
	logs := map[int]plog.Logs{} // by logs pipeline
	for _, x := range ds {
		if x.t.spans > 0 && x.t.root == nil {
			p.countBadInput(ctx, "no_root", 1)
		}
		if x.t.overIncidentBudget {
			p.telemetry.ProcessorSamplingIncidentOverBudget.Add(ctx, 1)
		}
		decisionName := decisionOf(x.d.keep)
		p.telemetry.ProcessorSamplingDecisions.Add(ctx, 1, metric.WithAttributes(attribute.String("rule", x.d.rule),
			attribute.String("decision", decisionName), attribute.String("trigger", x.trigger)))
		p.telemetry.ProcessorSamplingSpans.Add(ctx, int64(x.t.spans), metric.WithAttributes(
			attribute.String("decision", decisionName), attribute.String("reason", "")))
		p.telemetry.ProcessorSamplingLogRecords.Add(ctx, int64(x.t.logs), metric.WithAttributes(
			attribute.String("decision", decisionName), attribute.String("reason", "trace")))
		p.telemetry.ProcessorSamplingBufferedTraces.Add(ctx, -1)
		p.telemetry.ProcessorSamplingBufferedSpans.Add(ctx, -int64(x.t.spans))
		if !x.d.keep && !p.cfg.DryRun {
			continue
		}
		for _, part := range x.t.parts {
			out.add(part, x.d, true)
		}
		for _, chunk := range x.t.logChunks {
			ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(chunk.data)
			if err != nil {
				p.set.Logger.Error("a buffered chunk of log records could not be read back", zap.Error(err))
				continue
			}
			dest, ok := logs[chunk.pipeline]
			if !ok {
				dest = plog.NewLogs()
				logs[chunk.pipeline] = dest
			}
			ld.ResourceLogs().MoveAndAppendTo(dest.ResourceLogs())
		}
	}
	if !out.empty() && p.nextTraces != nil {
		traces, err := out.traces(p)
		if err != nil {
			p.set.Logger.Error("buffered spans could not be read back", zap.Error(err))
		} else if err := p.nextTraces.ConsumeTraces(ctx, traces); err != nil {
			p.set.Logger.Warn("the next consumer refused sampled traces", zap.Int("spans", traces.SpanCount()), zap.Error(err))
		}
	}
	for pipeline, ld := range logs {
		if err := p.logsOf(pipeline).ConsumeLogs(ctx, ld); err != nil {
			p.set.Logger.Warn("the next consumer refused the logs of sampled traces", zap.Int("records", ld.LogRecordCount()), zap.Error(err))
		}
	}
}

func decisionOf(keep bool) string {
	if keep {
		return "keep"
	}
	return "drop"
}

// annotateResourceSpans records the rule on every span and, for a trace kept with a probability below 1, the
// sampling threshold in its tracestate (OTEP 235: ot=th:...), raised to the threshold a head sampler already set,
// if higher, so that the adjusted count of every kept span is right downstream.
func (p *sampler) annotateResourceSpans(rs ptrace.ResourceSpans, d decision) {
	sss := rs.ScopeSpans()
	for j := range sss.Len() {
		spans := sss.At(j).Spans()
		for k := range spans.Len() {
			span := spans.At(k)
			span.Attributes().PutStr(attrRule, d.rule)
			if p.cfg.DryRun {
				span.Attributes().PutStr(attrDecision, decisionOf(d.keep))
				continue
			}
			if d.th != sampling.AlwaysSampleThreshold {
				setThreshold(span, d.th)
			}
		}
	}
}

func setThreshold(span ptrace.Span, th sampling.Threshold) {
	ts, err := sampling.NewW3CTraceState(span.TraceState().AsRaw())
	if err != nil { // an invalid tracestate is replaced: the threshold matters more downstream
		ts, _ = sampling.NewW3CTraceState("")
	}
	otts := ts.OTelValue()
	if old, ok := otts.TValueThreshold(); ok && sampling.ThresholdGreater(old, th) {
		return // a head sampler already kept it with a lower probability
	}
	if err := otts.UpdateTValueWithSampling(th); err != nil {
		return
	}
	var b strings.Builder
	if err := ts.Serialize(&b); err == nil {
		span.TraceState().FromRaw(b.String())
	}
}
