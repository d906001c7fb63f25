package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"errors"
	"fmt"
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

	"github.com/otelstrata/strata/internal/semconv"
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
	lat := newLatencies(10000)
	rules, matchers, err := compileRules(cfg.Rules, lat, set.TelemetrySettings)
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
		keepSeverity: int32(semconv.LogSeverities[strings.ToUpper(cfg.Logs.KeepSeverity)]), logRate: logRate,
		traces: map[pcommon.TraceID]*trace{}, decisions: newDecisionCache(cfg.DecisionCache),
		latency: lat, wake: make(chan struct{}, 1), budgetMet: true,
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
	out := newStitcher()
	logs := plog.NewLogs()
	records := 0
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
		for _, part := range x.t.parts {
			out.add(part, x.d, true)
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
	if !out.empty() && p.nextTraces != nil {
		traces, err := out.traces(p)
		if err != nil {
			p.set.Logger.Error("buffered spans could not be read back", zap.Error(err))
		} else if err := p.nextTraces.ConsumeTraces(ctx, traces); err != nil {
			p.set.Logger.Warn("the next consumer refused sampled traces", zap.Int("spans", traces.SpanCount()), zap.Error(err))
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
// dropped ones. The request is encoded once, outside the lock; traces keep ranges of it.
func (p *sampler) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	batches, orphans := p.splitByTrace(ctx, td)
	data, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		return err
	}
	req, err := parseRequest(data)
	if err != nil || len(req.spans) != td.SpanCount() {
		return fmt.Errorf("encoding the request for the buffer: %d spans found of %d: %w", len(req.spans), td.SpanCount(), err)
	}
	for _, b := range batches {
		b.refs = make([]spanRef, len(b.ordinals))
		for i, o := range b.ordinals {
			b.refs[i] = spanRef{scope: o[0], field: req.spans[o[1]]}
		}
	}
	out := newStitcher()
	if len(orphans) > 0 {
		refs := make([]spanRef, len(orphans))
		for i, o := range orphans {
			refs[i] = spanRef{scope: o[0], field: req.spans[o[1]]}
		}
		out.add(tracePart{req, refs}, decision{keep: true, rule: "", th: sampling.AlwaysSampleThreshold}, false)
		p.countBadInput(ctx, "no_trace_id", len(orphans))
	}

	now := p.now()
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
	if over {
		select {
		case p.wake <- struct{}{}:
		default:
		}
	}
	if out.empty() {
		return nil
	}
	traces, err := out.traces(p)
	if err != nil {
		return err
	}
	return p.nextTraces.ConsumeTraces(ctx, traces)
}

// stitcher builds one TracesData message from the spans of several traces (each with the resource and scope it
// came with), decodes it once, and annotates each trace's spans with its decision.
type stitcher struct {
	buf      []byte
	counts   []int // ResourceSpans per added part
	ds       []decision
	annotate []bool
}

func newStitcher() *stitcher { return &stitcher{} }

func (s *stitcher) empty() bool { return len(s.counts) == 0 }

// add appends a part's spans, one ResourceSpans per run of spans of the same scope.
func (s *stitcher) add(part tracePart, d decision, annotate bool) {
	n := 0
	var fields []span32
	for i, r := range part.refs {
		fields = append(fields, r.field)
		if i == len(part.refs)-1 || part.refs[i+1].scope != r.scope {
			s.buf = appendResourceSpans(s.buf, part.req, r.scope, fields)
			fields = fields[:0]
			n++
		}
	}
	s.counts = append(s.counts, n)
	s.ds = append(s.ds, d)
	s.annotate = append(s.annotate, annotate)
}

// traces decodes what was added and annotates it.
func (s *stitcher) traces(p *sampler) (ptrace.Traces, error) {
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(s.buf)
	if err != nil { // our own encoding of pdata's encoding: cannot happen unless memory is corrupt
		return td, fmt.Errorf("reading buffered spans back: %w", err)
	}
	rss := td.ResourceSpans()
	i := 0
	for k, n := range s.counts {
		if s.annotate[k] {
			for j := i; j < i+n; j++ {
				p.annotateResourceSpans(rss.At(j), s.ds[k])
			}
		}
		i += n
	}
	return td, nil
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
