package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"errors"
	"math/rand/v2"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/processor/samplingprocessor/internal/metadata"
)

// Attributes set on the spans the processor passes on.
const (
	attrRule     = "strata.sampling.rule"
	attrDecision = "strata.sampling.decision" // dry run only
)

// What made a trace ready for its decision.
const (
	triggerRootEnded = "root_ended"
	triggerTimeout   = "timeout"
	triggerCapacity  = "capacity"
	triggerShutdown  = "shutdown"
)

// sampler is one sampling processor, shared by the traces, logs and metrics pipelines of one configuration, so that
// logs follow the decisions of their traces.
type sampler struct {
	cfg       *Config
	set       processor.Settings
	telemetry *metadata.TelemetryBuilder
	now       func() time.Time

	rules        []*rule
	matchers     []*matcher
	keepSeverity int32
	logRate      sampling.Threshold

	nextTraces  consumer.Traces
	nextLogs    consumer.Logs
	downsampler *downsampler

	mu        sync.Mutex
	traces    map[pcommon.TraceID]*trace
	items     int // spans and log records buffered
	roots     fifo
	arrivals  fifo
	decisions *decisionCache
	budget    *budget
	latency   *latencies
	lastDecay time.Time
	budgetMet bool

	wake   chan struct{}
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newSampler(cfg *Config, set processor.Settings) (*sampler, error) {
	rules, matchers, err := compileRules(cfg.Rules, set.TelemetrySettings)
	if err != nil {
		return nil, err
	}
	logRate, err := sampling.ProbabilityToThreshold(max(cfg.Logs.Rate, 1e-16))
	if err != nil {
		return nil, err
	}
	if cfg.Logs.Rate == 0 {
		logRate = sampling.NeverSampleThreshold
	}
	p := &sampler{
		cfg: cfg, set: set, now: time.Now, rules: rules, matchers: matchers,
		keepSeverity: severities[strings.ToUpper(cfg.Logs.KeepSeverity)], logRate: logRate,
		traces: map[pcommon.TraceID]*trace{}, decisions: newDecisionCache(cfg.DecisionCache),
		latency: newLatencies(10000), wake: make(chan struct{}, 1), budgetMet: true,
	}
	return p, nil
}

// Start starts the decision loop (and the downsampler's).
func (p *sampler) Start(context.Context, component.Host) error {
	if err := p.prepare(); err != nil {
		return err
	}
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.loop(ctx)
	}()
	if p.downsampler != nil {
		p.downsampler.start(p)
	}
	return nil
}

// prepare sets up the telemetry and the budget.
func (p *sampler) prepare() error {
	var err error
	if p.telemetry, err = metadata.NewTelemetryBuilder(p.set.TelemetrySettings); err != nil {
		return err
	}
	now := p.now()
	p.lastDecay = now
	if p.cfg.Budget != nil {
		p.budget = newBudget(p.cfg.Budget, now)
		gauge := func(f func() float64) metric.Float64Callback {
			return func(_ context.Context, o metric.Float64Observer) error {
				p.mu.Lock()
				defer p.mu.Unlock()
				o.Observe(f())
				return nil
			}
		}
		err = errors.Join(
			p.telemetry.RegisterProcessorSamplingBudgetTargetCallback(gauge(func() float64 { return p.budget.target })),
			p.telemetry.RegisterProcessorSamplingBudgetOfferedCallback(gauge(func() float64 { return p.budget.lastOffered })),
			p.telemetry.RegisterProcessorSamplingBudgetAchievedCallback(gauge(func() float64 { return p.budget.lastAchieved })),
		)
		if err != nil {
			return err
		}
	}
	return nil
}

// Shutdown stops the loop and decides every buffered trace now (nothing accepted is lost: what the rules keep is
// sent before the pipeline closes).
func (p *sampler) Shutdown(ctx context.Context) error {
	if p.cancel == nil {
		return nil
	}
	p.cancel()
	p.wg.Wait()
	p.cancel = nil
	p.mu.Lock()
	var ready []*trace
	for _, t := range p.traces {
		ready = append(ready, t)
	}
	p.mu.Unlock()
	p.release(ctx, p.decideAll(ready, triggerShutdown))
	if p.downsampler != nil {
		p.downsampler.stop(ctx)
	}
	p.telemetry.Shutdown()
	return nil
}

// tick is how often the loop looks for due traces: a tenth of decision_wait, between 10 ms and 100 ms.
func (p *sampler) tick() time.Duration {
	return min(max(p.cfg.DecisionWait/10, 10*time.Millisecond), 100*time.Millisecond)
}

func (p *sampler) loop(ctx context.Context) {
	ticker := time.NewTicker(p.tick())
	defer ticker.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-ticker.C:
		case <-p.wake:
		}
		p.decideDue(ctx)
	}
}

// decided is a trace with its decision and what made it ready.
type decided struct {
	t       *trace
	d       decision
	trigger string
}

// decideDue decides the traces whose wait is over, and the oldest ones while the buffer is over its bounds, and
// sends what is kept.
func (p *sampler) decideDue(ctx context.Context) {
	now := p.now()
	var out []decided
	p.mu.Lock()
	take := func(trigger string) func(pcommon.TraceID) {
		return func(id pcommon.TraceID) {
			if t := p.traces[id]; t != nil {
				out = append(out, p.decideLocked(t, trigger))
			}
		}
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

// release sends the kept traces (spans and their logs) down their pipelines, and counts every decision.
func (p *sampler) release(ctx context.Context, ds []decided) {
	if len(ds) == 0 {
		return
	}
	traces, logs := ptrace.NewTraces(), plog.NewLogs()
	var spans, records int
	for _, x := range ds {
		if x.t.spans > 0 && x.t.root == nil {
			p.countBadInput(ctx, "no_root", 1)
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
		for _, chunk := range x.t.spanChunks {
			td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(chunk)
			if err != nil { // our own serialization: cannot happen unless memory is corrupt
				p.set.Logger.Error("a buffered chunk of spans could not be read back", zap.Error(err))
				continue
			}
			p.annotate(td, x.d)
			spans += td.SpanCount()
			td.ResourceSpans().MoveAndAppendTo(traces.ResourceSpans())
		}
		for _, chunk := range x.t.logChunks {
			ld, err := (&plog.ProtoUnmarshaler{}).UnmarshalLogs(chunk)
			if err != nil {
				p.set.Logger.Error("a buffered chunk of log records could not be read back", zap.Error(err))
				continue
			}
			records += ld.LogRecordCount()
			ld.ResourceLogs().MoveAndAppendTo(logs.ResourceLogs())
		}
	}
	if spans > 0 && p.nextTraces != nil {
		if err := p.nextTraces.ConsumeTraces(ctx, traces); err != nil {
			p.set.Logger.Warn("the next consumer refused sampled traces", zap.Int("spans", spans), zap.Error(err))
		}
	}
	if records > 0 && p.nextLogs != nil {
		if err := p.nextLogs.ConsumeLogs(ctx, logs); err != nil {
			p.set.Logger.Warn("the next consumer refused the logs of sampled traces", zap.Int("records", records), zap.Error(err))
		}
	}
}

func decisionOf(keep bool) string {
	if keep {
		return "keep"
	}
	return "drop"
}

// annotate records the rule on every span and, for a trace kept with a probability below 1, the sampling threshold
// in its tracestate (OTEP 235: ot=th:...), raised to the threshold a head sampler already set, if higher, so that
// the adjusted count of every kept span is right downstream.
func (p *sampler) annotate(td ptrace.Traces, d decision) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
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

// ConsumeTraces buffers the spans of undecided traces, passes on the late spans of kept ones, and drops those of
// dropped ones.
func (p *sampler) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	batches, orphans := p.splitByTrace(ctx, td)
	if n := orphans.SpanCount(); n > 0 {
		p.countBadInput(ctx, "no_trace_id", n)
		if err := p.nextTraces.ConsumeTraces(ctx, orphans); err != nil {
			return err
		}
	}
	now := p.now()
	late := ptrace.NewTraces()
	type pending struct {
		t *trace
		b *traceBatch
	}
	var toStore []pending
	var lateKept, lateDropped, duplicates, skewed int
	forward := false

	p.mu.Lock()
	for id, b := range batches {
		skewed += b.skewed
		if d, ok := p.decisions.get(id); ok {
			if d.keep || p.cfg.DryRun {
				p.annotate(b.td, d)
				b.td.ResourceSpans().MoveAndAppendTo(late.ResourceSpans())
				lateKept += b.spans
			} else {
				lateDropped += b.spans
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
		dup := removeDuplicates(t, b)
		duplicates += dup
		n := b.spans - dup
		t.spans += n
		p.items += n
		p.telemetry.ProcessorSamplingBufferedSpans.Add(ctx, int64(n))
		t.hasError = t.hasError || b.hasError
		t.matches |= b.matches
		t.rootMatches |= b.rootMatches
		if b.root != nil && t.root == nil {
			t.root = b.root
			t.rootArrived = now
			p.roots.push(id, now)
		}
		if n > 0 {
			toStore = append(toStore, pending{t, b})
		}
	}
	over := len(p.traces) > p.cfg.MaxTraces || p.items > p.cfg.MaxSpans
	p.mu.Unlock()

	// Serialize outside the lock: this is the costly part, and it runs on the receivers' goroutines.
	chunks := make([][]byte, len(toStore))
	for i, s := range toStore {
		data, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(s.b.td)
		if err != nil {
			return err
		}
		chunks[i] = data
	}
	p.mu.Lock()
	for i, s := range toStore {
		if p.traces[s.t.id] == s.t {
			s.t.spanChunks = append(s.t.spanChunks, chunks[i])
			s.t.bytes += len(chunks[i])
			continue
		}
		// Decided between the two locks, while its spans were being serialized: they follow the decision (and were
		// counted with it).
		if d, _ := p.decisions.get(s.t.id); d.keep || p.cfg.DryRun {
			p.annotate(s.b.td, d)
			s.b.td.ResourceSpans().MoveAndAppendTo(late.ResourceSpans())
			forward = true
		}
	}
	p.mu.Unlock()

	p.countSpans(ctx, "keep", "late", lateKept)
	p.countSpans(ctx, "drop", "late", lateDropped)
	p.countBadInput(ctx, "duplicate", duplicates)
	p.countBadInput(ctx, "clock_skew", skewed)
	if over {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	if lateKept > 0 || forward {
		return p.nextTraces.ConsumeTraces(ctx, late)
	}
	return nil
}

func (p *sampler) countBadInput(ctx context.Context, reason string, n int) {
	if n > 0 {
		p.telemetry.ProcessorSamplingBadInput.Add(ctx, int64(n), metric.WithAttributes(attribute.String("reason", reason)))
	}
}

func (p *sampler) countSpans(ctx context.Context, decision, reason string, n int) {
	if n > 0 {
		p.telemetry.ProcessorSamplingSpans.Add(ctx, int64(n), metric.WithAttributes(
			attribute.String("decision", decision), attribute.String("reason", reason)))
	}
}

// removeDuplicates drops from the batch the spans whose ids the trace already has (buffered before, or earlier in
// the batch), records the others' ids on the trace, and returns how many it dropped.
func removeDuplicates(t *trace, b *traceBatch) int {
	var drop []bool
	dup := 0
	for i, id := range b.spanIDs {
		if !t.hasSpan(id) {
			t.spanIDs = append(t.spanIDs, id)
			continue
		}
		if drop == nil {
			drop = make([]bool, len(b.spanIDs))
		}
		drop[i] = true
		dup++
	}
	if dup == 0 {
		return 0
	}
	i := 0 // the spans of the batch are in the order of its ids
	rss := b.td.ResourceSpans()
	for r := range rss.Len() {
		sss := rss.At(r).ScopeSpans()
		for j := range sss.Len() {
			sss.At(j).Spans().RemoveIf(func(ptrace.Span) bool {
				i++
				return drop[i-1]
			})
		}
	}
	return dup
}
