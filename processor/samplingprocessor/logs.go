package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
)

// logBatch is the records of one trace in one ConsumeLogs call.
type logBatch struct {
	id           pcommon.TraceID
	ld           plog.Logs
	records      int
	maxSeverity  int32
	rlIdx, slIdx int
	dest         plog.LogRecordSlice
}

// ConsumeLogs makes records follow their trace: those of a decided trace follow its decision, those of a trace
// still buffered (or not seen yet) wait with it for its decision. Records without a trace id are kept at or above
// keep_severity, and below it at the configured rate.
// The records of a logs pipeline (an index of nextLogs) go on in that pipeline.
func (p *sampler) ConsumeLogs(ctx context.Context, ld plog.Logs, pipeline int) error {
	out := plog.NewLogs()
	batches := p.splitLogs(ctx, ld, out)
	toStore, over := p.placeLogs(ctx, batches, out)
	if err := p.storeLogs(toStore, out, pipeline); err != nil {
		return err
	}
	p.wakeIfOver(over)
	if out.LogRecordCount() > 0 {
		return p.logsOf(pipeline).ConsumeLogs(ctx, out)
	}
	return nil
}

// logsOf returns the next consumer of a logs pipeline.
func (p *sampler) logsOf(pipeline int) consumer.Logs {
	p.mu.Lock()
	defer p.mu.Unlock()
	return p.nextLogs[pipeline]
}

// splitLogs moves the records of ld into one batch per trace, in the order the traces first appear; records
// without a trace are decided at once, and those kept move to out.
func (p *sampler) splitLogs(ctx context.Context, ld, out plog.Logs) []*logBatch {
	byID := map[pcommon.TraceID]*logBatch{}
	var batches []*logBatch
	var kept, dropped, incidents int
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			var outDest plog.LogRecordSlice
			sl.LogRecords().RemoveIf(func(r plog.LogRecord) bool {
				if isIncident(r) { // always passed on; followed by the incident rule
					p.followIncident(r)
					if outDest == (plog.LogRecordSlice{}) {
						outDest = appendLogScope(out, rl, sl)
					}
					r.MoveTo(outDest.AppendEmpty())
					incidents++
					return true
				}
				id := r.TraceID()
				if id.IsEmpty() {
					if p.keepRecord(int32(r.SeverityNumber()), id) {
						if outDest == (plog.LogRecordSlice{}) {
							outDest = appendLogScope(out, rl, sl)
						}
						r.MoveTo(outDest.AppendEmpty())
						kept++
					} else {
						dropped++
					}
					return true
				}
				b := byID[id]
				if b == nil {
					b = &logBatch{id: id, ld: plog.NewLogs(), rlIdx: -1}
					byID[id] = b
					batches = append(batches, b)
				}
				if b.rlIdx != i || b.slIdx != j {
					b.dest = appendLogScope(b.ld, rl, sl)
					b.rlIdx, b.slIdx = i, j
				}
				b.maxSeverity = max(b.maxSeverity, int32(r.SeverityNumber()))
				r.MoveTo(b.dest.AppendEmpty())
				b.records++
				return true
			})
		}
	}
	p.countRecords(ctx, "keep", "severity_or_rate", kept)
	p.countRecords(ctx, "drop", "severity_or_rate", dropped)
	p.countRecords(ctx, "keep", "incident", incidents)
	return batches
}

// pendingLogs is a batch of records that waits with its trace for the trace's decision.
type pendingLogs struct {
	t *trace
	b *logBatch
}

// placeLogs sends the batches of decided traces after their decision (kept ones move to out), decides those of
// traces that would hold too many records as records without a trace, and returns the batches that wait with their
// trace, and whether the buffer is now over its bounds.
func (p *sampler) placeLogs(ctx context.Context, batches []*logBatch, out plog.Logs) ([]pendingLogs, bool) {
	now := p.clock.Now()
	var toStore []pendingLogs
	var followKept, followDropped, keptAlone, droppedAlone int
	p.mu.Lock()
	for _, b := range batches {
		id := b.id
		if d, ok := p.decisions.get(id); ok {
			if d.keep || p.cfg.DryRun {
				b.ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
				followKept += b.records
			} else {
				followDropped += b.records
			}
			continue
		}
		t := p.traces[id]
		if t == nil {
			t = &trace{id: id, arrived: now}
			p.traces[id] = t
			p.arrivals.push(id, now)
			p.telemetry.ProcessorSamplingBufferedTraces.Add(ctx, 1)
		}
		if t.logs+b.records > p.cfg.Logs.MaxPerTrace { // too many to hold: decided as records without a trace
			if p.keepRecord(b.maxSeverity, id) {
				b.ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
				keptAlone += b.records
			} else {
				droppedAlone += b.records
			}
			continue
		}
		t.logs += b.records
		p.items += b.records
		t.maxSeverity = max(t.maxSeverity, b.maxSeverity)
		toStore = append(toStore, pendingLogs{t, b})
	}
	over := len(p.traces) > p.cfg.MaxTraces || p.items > p.cfg.MaxSpans
	p.mu.Unlock()
	p.countRecords(ctx, "keep", "severity_or_rate", keptAlone)
	p.countRecords(ctx, "drop", "severity_or_rate", droppedAlone)
	p.countRecords(ctx, "keep", "late", followKept)
	p.countRecords(ctx, "drop", "late", followDropped)
	return toStore, over
}

// storeLogs encodes each waiting batch (outside the lock) and buffers it with its trace; a batch whose trace was
// decided meanwhile follows the decision (it is counted with the trace).
func (p *sampler) storeLogs(toStore []pendingLogs, out plog.Logs, pipeline int) error {
	chunks := make([][]byte, len(toStore))
	for i, s := range toStore {
		data, err := (&plog.ProtoMarshaler{}).MarshalLogs(s.b.ld)
		if err != nil {
			return err
		}
		chunks[i] = data
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	for i, s := range toStore {
		if p.traces[s.t.id] == s.t {
			s.t.logChunks = append(s.t.logChunks, logChunk{chunks[i], pipeline})
		} else if d, _ := p.decisions.get(s.t.id); d.keep || p.cfg.DryRun {
			s.b.ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs())
		}
	}
	return nil
}

func (p *sampler) countRecords(ctx context.Context, decision, reason string, n int) {
	if n > 0 {
		p.telemetry.ProcessorSamplingLogRecords.Add(ctx, int64(n), metric.WithAttributes(
			attribute.String("decision", decision), attribute.String("reason", reason)))
	}
}

func appendLogScope(ld plog.Logs, rl plog.ResourceLogs, sl plog.ScopeLogs) plog.LogRecordSlice {
	out := ld.ResourceLogs().AppendEmpty()
	rl.Resource().CopyTo(out.Resource())
	out.SetSchemaUrl(rl.SchemaUrl())
	scope := out.ScopeLogs().AppendEmpty()
	sl.Scope().CopyTo(scope.Scope())
	scope.SetSchemaUrl(sl.SchemaUrl())
	return scope.LogRecords()
}
