package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"math"
	"slices"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Names of what decides when no rule does.
const (
	ruleBudget  = "budget"
	ruleDefault = "default"
)

// rule is a compiled rule.
type rule struct {
	cfg     *RuleConfig
	keep    bool
	matcher int // index of its matcher (condition and attribute rules), -1 otherwise
	th      sampling.Threshold
	factor  float64 // latency rules: the multiple of the quantile (default 1)
}

// matcher is what a condition or attribute rule checks on each span as it arrives.
type matcher struct {
	conditions *ottl.ConditionSequence[*ottlspan.TransformContext]
	key        string
	values     []string
}

func (m *matcher) matchAttribute(span, resource pcommon.Map) bool {
	v, ok := span.Get(m.key)
	if !ok {
		if v, ok = resource.Get(m.key); !ok {
			return false
		}
	}
	return slices.Contains(m.values, v.AsString())
}

// maxMatchers is how many condition and attribute rules a processor may have (one bit each per trace).
const maxMatchers = 64

func compileRules(cfgs []RuleConfig, set component.TelemetrySettings) ([]*rule, []*matcher, error) {
	var rules []*rule
	var matchers []*matcher
	for i := range cfgs {
		c := &cfgs[i]
		r := &rule{cfg: c, keep: c.Action != "drop", matcher: -1, th: sampling.AlwaysSampleThreshold, factor: c.Factor}
		if r.factor == 0 {
			r.factor = 1
		}
		switch c.Type {
		case ruleCondition:
			seq, err := parseConditions(c.Conditions, set)
			if err != nil {
				return nil, nil, err
			}
			r.matcher = len(matchers)
			matchers = append(matchers, &matcher{conditions: seq})
		case ruleAttribute:
			r.matcher = len(matchers)
			matchers = append(matchers, &matcher{key: c.Key, values: c.Values})
		case ruleProbability:
			th, err := sampling.ProbabilityToThreshold(c.Probability)
			if err != nil {
				return nil, nil, err
			}
			r.th = th
		}
		rules = append(rules, r)
	}
	return rules, matchers, nil
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
		if !p.ruleMatches(r, t) {
			continue
		}
		if r.cfg.Type == ruleProbability && !r.th.ShouldSample(rnd) {
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

func (p *sampler) ruleMatches(r *rule, t *trace) bool {
	switch r.cfg.Type {
	case ruleError:
		return t.hasError
	case ruleLatency:
		if t.root == nil {
			return false
		}
		d := t.root.duration
		if r.cfg.Threshold > 0 && d > r.cfg.Threshold {
			return true
		}
		if r.cfg.Quantile > 0 {
			q, ok := p.latency.quantile(t.root.latencyKey, r.cfg.Quantile, r.cfg.MinSamples)
			return ok && float64(d) > q*r.factor
		}
		return false
	case ruleCondition, ruleAttribute:
		if r.cfg.RootOnly {
			return t.rootMatches&(1<<r.matcher) != 0
		}
		return t.matches&(1<<r.matcher) != 0
	}
	return true // probability, always
}

// latencies learns the distribution of root span durations per service and operation, online: a histogram of
// 8 buckets per octave (9 % apart) from 1 µs to about 1 hour, whose counts halve at every decay, so that the
// quantiles follow the recent traffic. Keys are bounded; past the bound the least recently used one is forgotten.
type latencies struct {
	maxKeys int
	byKey   map[string]*latencyHistogram
	clock   uint64 // a counter of observations, for least-recently-used eviction
}

const (
	latencyBucketsPerOctave = 8
	latencyBuckets          = 32 * latencyBucketsPerOctave // 1 µs · 2^32 ≈ 71 minutes
)

type latencyHistogram struct {
	counts   [latencyBuckets]float32
	total    float64
	lastUsed uint64
}

func newLatencies(maxKeys int) *latencies {
	return &latencies{maxKeys: maxKeys, byKey: map[string]*latencyHistogram{}}
}

func latencyBucket(d time.Duration) int {
	us := float64(d) / float64(time.Microsecond)
	if us <= 1 {
		return 0
	}
	return min(int(math.Log2(us)*latencyBucketsPerOctave), latencyBuckets-1)
}

// observe adds a root span's duration to its key's histogram.
func (l *latencies) observe(key string, d time.Duration) {
	h := l.byKey[key]
	if h == nil {
		if len(l.byKey) >= l.maxKeys {
			l.evict()
		}
		h = &latencyHistogram{}
		l.byKey[key] = h
	}
	l.clock++
	h.lastUsed = l.clock
	h.counts[latencyBucket(d)]++
	h.total++
}

// evict forgets the least recently used tenth of the keys (at least one), in one pass.
func (l *latencies) evict() {
	used := make([]uint64, 0, len(l.byKey))
	for _, h := range l.byKey {
		used = append(used, h.lastUsed)
	}
	slices.Sort(used)
	cut := used[len(used)/10]
	for k, h := range l.byKey {
		if h.lastUsed <= cut {
			delete(l.byKey, k)
		}
	}
}

// quantile is the q-quantile of key's durations in nanoseconds (the upper bound of its bucket), once minSamples
// (weighted by decay) were seen.
func (l *latencies) quantile(key string, q float64, minSamples int) (float64, bool) {
	h := l.byKey[key]
	if h == nil || h.total < float64(max(minSamples, 1)) {
		return 0, false
	}
	rank := q * h.total
	cum := 0.0
	for i, c := range h.counts {
		if cum += float64(c); cum >= rank {
			return math.Exp2(float64(i+1)/latencyBucketsPerOctave) * float64(time.Microsecond), true
		}
	}
	return math.Exp2(latencyBuckets/latencyBucketsPerOctave) * float64(time.Microsecond), true
}

// decay halves every count, so that old traffic weighs half as much as new at each step.
func (l *latencies) decay() {
	for k, h := range l.byKey {
		h.total = 0
		for i := range h.counts {
			h.counts[i] /= 2
			h.total += float64(h.counts[i])
		}
		if h.total < 0.5 {
			delete(l.byKey, k)
		}
	}
}
