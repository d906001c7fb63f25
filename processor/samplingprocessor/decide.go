package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"math/rand/v2"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.uber.org/zap"
)

// decided is a trace with its decision and what made it ready.
type decided struct {
	t       *trace
	d       decision
	trigger string
}

// decideDue decides the traces whose wait is over, and the oldest ones while the buffer is over its bounds, and
// sends what is kept.
func (p *sampler) decideDue(ctx context.Context) {
	now := p.clock.Now()
	var out []decided
	p.mu.Lock()
	take := func(trigger string) func(pcommon.TraceID) {
		return func(id pcommon.TraceID) {
			if t := p.traces[id]; t != nil {
				out = append(out, p.decideLocked(t, trigger))
			}
		}
	}
	if p.incidents != nil {
		p.incidents.advance(now)
	}
	p.roots.popDue(now.Add(-p.cfg.DecisionWait), take(triggerRootEnded))
	p.arrivals.popDue(now.Add(-p.cfg.TraceTimeout), take(triggerTimeout))
	capacity := take(triggerCapacity)
	for len(p.traces) > p.cfg.MaxTraces || p.items > p.cfg.MaxSpans {
		id, ok := p.arrivals.pop()
		if !ok {
			break
		}
		capacity(id)
	}
	if p.budget != nil {
		if adjusted, met := p.budget.adjust(now); adjusted {
			if !met && p.budgetMet {
				p.set.Logger.Warn("the sampling budget is not met",
					zap.Float64("target_per_second", p.budget.target), zap.Float64("offered_per_second", p.budget.lastOffered),
					zap.Float64("kept_per_second", p.budget.lastAchieved))
			}
			p.budgetMet = met
		}
	}
	if now.Sub(p.lastDecay) >= time.Minute {
		p.latency.decay()
		p.lastDecay = now
	}
	p.mu.Unlock()
	p.release(ctx, out)
}

// decideAll decides the given traces (still buffered ones only).
func (p *sampler) decideAll(ts []*trace, trigger string) []decided {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.incidents != nil {
		p.incidents.advance(p.clock.Now())
	}
	out := make([]decided, 0, len(ts))
	for _, t := range ts {
		if p.traces[t.id] == t {
			out = append(out, p.decideLocked(t, trigger))
		}
	}
	return out
}

// decideLocked takes a trace out of the buffer, decides it and remembers the decision. The caller holds mu.
func (p *sampler) decideLocked(t *trace, trigger string) decided {
	delete(p.traces, t.id)
	p.items -= t.spans + t.logs
	d := p.decide(t)
	if t.root != nil {
		p.latency.observe(t.root.latencyKey, t.root.duration)
	}
	p.decisions.put(t.id, d)
	return decided{t: t, d: d, trigger: trigger}
}

// keepRecord decides a log record that belongs to no trace (or to a trace of logs only): kept at or above
// keep_severity, below it with the configured rate (consistently by trace id when it has one).
func (p *sampler) keepRecord(severity int32, id pcommon.TraceID) bool {
	if severity >= p.keepSeverity {
		return true
	}
	rnd := sampling.TraceIDToRandomness(id)
	if id.IsEmpty() {
		rnd, _ = sampling.UnsignedToRandomness(rand.Uint64() & (1<<56 - 1))
	}
	return p.logRate.ShouldSample(rnd)
}

// decision is what was decided for a trace; it is remembered for the trace's late spans and logs.
type decision struct {
	keep bool
	rule string
	th   sampling.Threshold // the sampling threshold of a kept trace (AlwaysSampleThreshold: kept for certain)
}

// decide runs the rules in order on a buffered trace; the first that matches decides. What none decides goes to
// the budget, or is kept.
func (p *sampler) decide(t *trace) decision {
	rnd := sampling.TraceIDToRandomness(t.id)
	if t.spans == 0 { // only logs (their spans never came): they are sampled as logs without a trace
		return decision{keep: p.keepRecord(t.maxSeverity, t.id), rule: ruleDefault, th: sampling.AlwaysSampleThreshold}
	}
	for _, r := range p.rules {
		if !r.eval.matches(t) {
			continue
		}
		if !r.th.ShouldSample(rnd) { // a probability rule's share; the others' threshold keeps every trace
			return decision{keep: false, rule: r.cfg.Name}
		}
		return decision{keep: r.keep, rule: r.cfg.Name, th: r.th}
	}
	if p.budget != nil {
		key := ""
		if t.root != nil {
			key = t.root.budgetKey
		}
		weight := 1.0
		if p.budget.perSpans {
			weight = float64(t.spans)
		}
		th := p.budget.threshold(key, weight)
		keep := th.ShouldSample(rnd)
		p.budget.kept(weight, keep)
		return decision{keep: keep, rule: ruleBudget, th: th}
	}
	return decision{keep: true, rule: ruleDefault, th: sampling.AlwaysSampleThreshold}
}
