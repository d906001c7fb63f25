package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"errors"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"

	"github.com/otelstrata/strata/internal/clock"
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
	clock     clock.Clock // the pipeline's, from Start

	rules        []*rule
	matchers     []*matcher
	incidents    *incidentWatch // the incident rule's (nil without one); guarded by mu
	keepSeverity int32
	logRate      sampling.Threshold

	nextTraces consumer.Traces
	// the next consumers of the logs pipelines that name the processor (an incident pipeline beside the logs one):
	// a record goes on in the pipeline it came in, and a buffered record remembers which
	nextLogs    []consumer.Logs
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
	ticks  *clock.Loop // decides the due traces every tick, on the pipeline's clock
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

func newSampler(cfg *Config, set processor.Settings) (*sampler, error) {
	lat := newLatencies(10000)
	rules, matchers, watch, err := compileRules(cfg.Rules, lat, set.TelemetrySettings)
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
		cfg: cfg, set: set, clock: clock.Real{}, rules: rules, matchers: matchers, incidents: watch,
		keepSeverity: int32(semconv.LogSeverities[strings.ToUpper(cfg.Logs.KeepSeverity)]), logRate: logRate,
		traces: map[pcommon.TraceID]*trace{}, decisions: newDecisionCache(cfg.DecisionCache),
		latency: lat, wake: make(chan struct{}, 1), budgetMet: true,
	}
	return p, nil
}

// Start starts deciding on the pipeline's clock every tick, and at once when the buffer is over its bounds (and
// starts the downsampler).
func (p *sampler) Start(_ context.Context, host component.Host) error {
	p.clock = clock.FromHost(host, p.clock)
	if err := p.prepare(); err != nil {
		return err
	}
	p.ticks = clock.Start(p.clock, clock.Task{Every: p.tick(), Run: func(ctx context.Context, _ time.Time) { p.decideDue(ctx) }})
	ctx, cancel := context.WithCancel(context.Background())
	p.cancel = cancel
	p.wg.Add(1)
	go func() {
		defer p.wg.Done()
		p.wakeLoop(ctx)
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
	now := p.clock.Now()
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
	p.ticks.Stop()
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

// tick returns how often the loop looks for due traces: a tenth of decision_wait, between 10 ms and 100 ms.
func (p *sampler) tick() time.Duration {
	return min(max(p.cfg.DecisionWait/10, 10*time.Millisecond), 100*time.Millisecond)
}

// wakeLoop decides at once when the buffer is over its bounds (wakeIfOver), between the ticks.
func (p *sampler) wakeLoop(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case <-p.wake:
			p.decideDue(ctx)
		}
	}
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

// wakeIfOver wakes the decision loop when the buffer is over its bounds, so that it decides the oldest traces now.
func (p *sampler) wakeIfOver(over bool) {
	if !over {
		return
	}
	select {
	case p.wake <- struct{}{}:
	default:
	}
}
