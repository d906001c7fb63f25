package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"math"
	"slices"
	"time"
)

// latencyRule matches a trace whose root span lasted longer than threshold, or than factor times the quantile of
// its route's recent root spans (once min_samples were seen).
type latencyRule struct {
	threshold  time.Duration
	quantile   float64
	minSamples int
	factor     float64
	lat        *latencies
}

func newLatencyRule(c *RuleConfig, lat *latencies) latencyRule {
	r := latencyRule{threshold: c.Threshold, quantile: c.Quantile, minSamples: c.MinSamples, factor: c.Factor, lat: lat}
	if r.factor == 0 {
		r.factor = 1
	}
	return r
}

func (r latencyRule) matches(t *trace) bool {
	if t.root == nil {
		return false
	}
	d := t.root.duration
	if r.threshold > 0 && d > r.threshold {
		return true
	}
	if r.quantile > 0 {
		q, ok := r.lat.quantile(t.root.latencyKey, r.quantile, r.minSamples)
		return ok && float64(d) > q*r.factor
	}
	return false
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

// quantile returns the q-quantile of key's durations in nanoseconds (the upper bound of its bucket), once minSamples
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
