package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"

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
func (p *sampler) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	byID := map[pcommon.TraceID]*logBatch{}
	var batches []*logBatch // in the order the traces first appear
	out := plog.NewLogs()
	var keptAlone, droppedAlone int
	rls := ld.ResourceLogs()
	for i := range rls.Len() {
		rl := rls.At(i)
		sls := rl.ScopeLogs()
		for j := range sls.Len() {
			sl := sls.At(j)
			var outDest plog.LogRecordSlice
			sl.LogRecords().RemoveIf(func(r plog.LogRecord) bool {
				id := r.TraceID()
				if id.IsEmpty() {
					if p.keepRecord(int32(r.SeverityNumber()), id) {
						if outDest == (plog.LogRecordSlice{}) {
							outDest = appendLogScope(out, rl, sl)
						}
						r.MoveTo(outDest.AppendEmpty())
						keptAlone++
					} else {
						droppedAlone++
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
	p.countRecords(ctx, "keep", "severity_or_rate", keptAlone)
	p.countRecords(ctx, "drop", "severity_or_rate", droppedAlone)

	now := p.now()
	type pending struct {
		t *trace
		b *logBatch
	}
	var toStore []pending
	var followKept, followDropped int
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
		toStore = append(toStore, pending{t, b})
	}
	over := len(p.traces) > p.cfg.MaxTraces || p.items > p.cfg.MaxSpans
	p.mu.Unlock()

	chunks := make([][]byte, len(toStore))
	for i, s := range toStore {
		data, err := (&plog.ProtoMarshaler{}).MarshalLogs(s.b.ld)
		if err != nil {
			return err
		}
		chunks[i] = data
	}
	p.mu.Lock()
	for i, s := range toStore {
		if p.traces[s.t.id] == s.t {
			s.t.logChunks = append(s.t.logChunks, chunks[i])
		} else if d, _ := p.decisions.get(s.t.id); d.keep || p.cfg.DryRun {
			s.b.ld.ResourceLogs().MoveAndAppendTo(out.ResourceLogs()) // decided meanwhile, and counted with it
		}
	}
	p.mu.Unlock()

	p.countRecords(ctx, "keep", "late", followKept)
	p.countRecords(ctx, "drop", "late", followDropped)
	if over {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	if out.LogRecordCount() > 0 {
		return p.nextLogs.ConsumeLogs(ctx, out)
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
