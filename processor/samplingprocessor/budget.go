package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"sort"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
)

// overflowKey is where the traffic of keys beyond max_keys is counted.
const overflowKey = "\x00overflow"

// budget samples what the rules leave to chance to a target throughput with a probability per key, in the spirit of
// Refinery's EMA throughput sampler: each key's traffic is a moving average over adjustment intervals, and the
// target is shared out so that every key gets an equal share, keys that need less than their share keep everything,
// and what they leave goes to the others (water-filling). Rare keys are kept whole; frequent ones are thinned.
// It is used by the decision loop only (no lock).
type budget struct {
	cfg      *BudgetConfig
	keys     []string
	perSpans bool    // the target counts spans, not traces
	target   float64 // per second

	counts map[string]float64 // this interval's traffic per key
	ema    map[string]float64 // moving average of the traffic per key, per interval
	rates  map[string]float64 // the probability of each key
	start  time.Time          // of the current interval

	offered, keptNow float64 // this interval's traffic and what was kept of it
	// Of the last complete interval, per second, for the telemetry.
	lastOffered, lastAchieved float64
	// The last intervals' kept traffic and length: what was kept above the target (after a burst that came
	// faster than the averages could follow) is taken off the next intervals' goal, and what was kept below is
	// given back, so that the throughput meets the target over time.
	history []interval
}

type interval struct{ kept, seconds float64 }

// historyLength is how many intervals the correction looks back over.
const historyLength = 8

func newBudget(cfg *BudgetConfig, now time.Time) *budget {
	b := &budget{cfg: cfg, keys: cfg.Keys, perSpans: cfg.SpansPerSecond > 0, target: cfg.TracesPerSecond + cfg.SpansPerSecond,
		counts: map[string]float64{}, ema: map[string]float64{}, rates: map[string]float64{}, start: now}
	return b
}

// threshold returns the sampling threshold of a trace of key (weight: 1, or its span count) and counts the trace as
// the key's traffic. A key not seen in an earlier interval is kept whole until the next adjustment.
func (b *budget) threshold(key string, weight float64) sampling.Threshold {
	if _, ok := b.counts[key]; !ok && len(b.counts) >= b.cfg.MaxKeys {
		key = overflowKey
	}
	b.counts[key] += weight
	b.offered += weight
	rate, ok := b.rates[key]
	if !ok {
		rate = 1
	}
	th, err := sampling.ProbabilityToThreshold(rate)
	if err != nil { // a rate below 2^-56: as good as never
		return sampling.NeverSampleThreshold
	}
	return th
}

func (b *budget) kept(weight float64, keep bool) {
	if keep {
		b.keptNow += weight
	}
}

// adjust closes the interval when it has lasted adjustment_interval: the moving averages move and the rates are
// shared out again. It reports whether it did, and whether the last interval met the target (within 10 %, or kept
// everything offered when that was below the target).
func (b *budget) adjust(now time.Time) (adjusted, met bool) {
	elapsed := now.Sub(b.start)
	if elapsed < b.cfg.AdjustmentInterval {
		return false, false
	}
	seconds := elapsed.Seconds()
	b.lastOffered, b.lastAchieved = b.offered/seconds, b.keptNow/seconds
	w := b.cfg.Weight
	for k, avg := range b.ema {
		b.ema[k] = (1 - w) * avg // keys without traffic this interval fade
	}
	for k, c := range b.counts {
		// per interval of adjustment_interval, whatever this one lasted
		b.ema[k] += w * c * b.cfg.AdjustmentInterval.Seconds() / seconds
	}
	for k, avg := range b.ema {
		if avg < 0.01 {
			delete(b.ema, k)
		}
	}
	b.history = append(b.history, interval{b.keptNow, seconds})
	if len(b.history) > historyLength {
		b.history = b.history[1:]
	}
	goal := b.target * b.cfg.AdjustmentInterval.Seconds()
	if b.lastOffered >= b.target { // with less traffic than the target there is nothing to correct
		debt := 0.0
		for _, h := range b.history {
			debt += b.target*h.seconds - h.kept
		}
		goal = min(max(goal+debt/2, goal/4), goal*4)
	}
	b.rates = waterFill(b.ema, goal)
	b.counts = make(map[string]float64, len(b.counts))
	b.offered, b.keptNow, b.start = 0, 0, now
	met = b.lastOffered < b.target && b.lastAchieved >= 0.9*b.lastOffered ||
		b.lastAchieved >= 0.9*b.target && b.lastAchieved <= 1.1*b.target
	return true, met
}

// waterFill shares goal out over the keys' traffic: each key gets an equal share; one that needs less keeps all of
// its traffic (rate 1) and leaves the rest to the others.
func waterFill(traffic map[string]float64, goal float64) map[string]float64 {
	keys := make([]string, 0, len(traffic))
	for k := range traffic {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return traffic[keys[i]] < traffic[keys[j]] })
	rates := make(map[string]float64, len(keys))
	remaining := goal
	for i, k := range keys {
		share := remaining / float64(len(keys)-i)
		if t := traffic[k]; t <= share {
			rates[k] = 1
			remaining -= t
		} else {
			rates[k] = share / t
			remaining -= share
		}
	}
	return rates
}
