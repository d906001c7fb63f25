package anomaly // import "github.com/otelstrata/strata/internal/anomaly"

import (
	"math"
	"time"
)

// spot turns a strangeness into a probability of seeing something as strange, with extreme-value theory as SPOT
// (Siffer et al., KDD 2017) does: above a high quantile of the strangeness the excesses follow a generalised
// Pareto distribution, fitted here by the method of moments on the last excesses; the score of a point is one minus
// its tail probability, so that a point scores 1 - risk exactly at SPOT's threshold for that risk.
type spot struct {
	level   float64 // the quantile modelled from (the initial threshold of SPOT)
	risk    float64
	t       float32 // running estimate of the level-quantile of the strangeness
	peaks   [32]float32
	nPeaks  uint8
	next    uint8
	started bool
}

func newSPOT(level, risk float64) spot { return spot{level: level, risk: risk} }

// update scores x (when score is set) and learns it.
func (s *spot) update(x float64, score bool) float64 {
	if !s.started {
		s.t, s.started = float32(x), true
	}
	p := s.tailProbability(x)
	// Learn: the quantile estimate moves up by level·η when x is above it, down by (1-level)·η otherwise.
	eta := 0.05 * (math.Abs(float64(s.t)) + 0.1)
	if x > float64(s.t) {
		s.peaks[s.next] = float32(x) - s.t
		s.next = (s.next + 1) % uint8(len(s.peaks))
		if s.nPeaks < uint8(len(s.peaks)) {
			s.nPeaks++
		}
		s.t += float32(s.level * eta)
	} else {
		s.t = max(0, s.t-float32((1-s.level)*eta)) // strangeness is never negative, nor its quantiles
	}
	if !score {
		return 0
	}
	return 1 - clamp(p, 0, 1)
}

// tailProbability returns P(strangeness >= x): from the fitted GPD above the level, and linear below it.
func (s *spot) tailProbability(x float64) float64 {
	t := float64(s.t)
	switch {
	case x <= t && t <= 0:
		return 1
	case x <= t:
		return 1 - s.level*math.Max(0, x)/t
	case s.nPeaks < 8 || t <= 0: // too few excesses to fit: an exponential tail (GPD with ξ = 0), of scale t
		return (1 - s.level) * math.Exp(-(x-t)/math.Max(t, eps))
	}
	var mean, sq float64
	n := float64(s.nPeaks)
	for _, p := range s.peaks[:s.nPeaks] {
		mean += float64(p)
		sq += float64(p) * float64(p)
	}
	mean /= n
	variance := sq/n - mean*mean
	if mean <= 0 || variance <= 0 {
		return (1 - s.level) * math.Exp(-(x-t)/math.Max(mean, eps))
	}
	xi := 0.5 * (1 - mean*mean/variance)
	sigma := 0.5 * mean * (mean*mean/variance + 1)
	excess := x - t
	if math.Abs(xi) < 1e-6 {
		return (1 - s.level) * math.Exp(-excess/sigma)
	}
	base := 1 + xi*excess/sigma
	if base <= 0 { // beyond the end of a bounded tail
		return 0
	}
	return (1 - s.level) * math.Pow(base, -1/xi)
}

// seasonalProfile is the daily and weekly profile of a series: 48 knots, one per half hour of the day, between
// which the expected value is interpolated linearly, learned online by a step of each point's error onto its two
// knots; per knot a moving average of the absolute error, the profile's spread; and per day of the week an offset
// from the daily profile, so that a quiet Sunday is not measured against a busy Friday.
type seasonalProfile struct {
	mean, dev [48]float32
	count     [48]uint16
	// slow is a daily profile that learns about a tenth of the way a day whatever the step: the alarm's, which a
	// ramp or a drift does not carry along as the profile above (fast, for a score) does
	slow [48]float32
	// and per half hour a moving average of the values in it and of their absolute deviation: a step pattern (a
	// square wave) is followed by these where the interpolation smooths its edges
	binMean, binDev [48]float32
	// week is, per day of the week, the mean residual of the daily profile on that day, learned when a day ends
	// (30 % of the way to the day that ended: over about three weeks, a third of the way after the first): the
	// daily profile learns the values less this offset, and expects them plus it. weekSeen has a bit per day
	// learned.
	week     [7]float32
	weekSeen uint8
	day      int32   // the day being summed (days since 1970-01-01)
	daySum   float32 // its residuals
	dayCount uint16
}

// dayOf returns the day of t (days since 1970-01-01) and its day of the week (0 for a Thursday, as that day was).
func dayOf(t time.Time) (int32, int) {
	d := t.Unix() / 86400
	if t.Unix()%86400 < 0 {
		d--
	}
	return int32(d), int((d%7 + 7) % 7)
}

// weekOffset returns the offset of t's day of the week, 0 until one such day was learned.
func (p *seasonalProfile) weekOffset(t time.Time) float64 {
	if _, wd := dayOf(t); p.weekSeen&(1<<wd) != 0 {
		return float64(p.week[wd])
	}
	return 0
}

// learnDay closes the day being summed: its day of the week's offset moves towards its mean residual. A day with
// fewer than 12 points says too little.
func (p *seasonalProfile) learnDay() {
	if p.dayCount >= 12 {
		wd := int((p.day%7 + 7) % 7)
		mean := p.daySum / float32(p.dayCount)
		p.week[wd] += 0.3 * (mean - p.week[wd])
		p.weekSeen |= 1 << wd
	}
	p.daySum, p.dayCount = 0, 0
}

// knots returns the two knots around t and the weight of the second.
func knots(t time.Time) (int, int, float64) {
	pos := float64((t.Unix()%86400+86400)%86400) / 1800
	a := int(pos) % 48
	return a, (a + 1) % 48, pos - math.Floor(pos)
}

// expect returns what the profile expects at t, and its spread, once both knots around t have seen a few points.
func (p *seasonalProfile) expect(t time.Time) (float64, float64, bool) {
	mean, dev, ok := p.daily(t)
	return mean + p.weekOffset(t), dev, ok
}

// daily returns what the daily profile alone expects at t, and its spread.
func (p *seasonalProfile) daily(t time.Time) (float64, float64, bool) {
	a, b, w := knots(t)
	if p.count[a] < 3 || p.count[b] < 3 {
		return 0, 0, false
	}
	mean := (1-w)*float64(p.mean[a]) + w*float64(p.mean[b])
	dev := (1-w)*float64(p.dev[a]) + w*float64(p.dev[b])
	return mean, dev, true
}

// expectBin returns what the half hour of t expects, and its spread.
func (p *seasonalProfile) expectBin(t time.Time) (float64, float64, bool) {
	a, _, _ := knots(t)
	if p.count[a] < 3 {
		return 0, 0, false
	}
	return float64(p.binMean[a]) + p.weekOffset(t), float64(p.binDev[a]), true
}

// expectSlow returns what the slow daily profile expects at t, with its day of the week's offset.
func (p *seasonalProfile) expectSlow(t time.Time) (float64, bool) {
	a, b, w := knots(t)
	if p.count[a] < 3 || p.count[b] < 3 {
		return 0, false
	}
	return (1-w)*float64(p.slow[a]) + w*float64(p.slow[b]) + p.weekOffset(t), true
}

// update learns x at t: the profile by a step of rate (at least the mean of the points so far), the slow profile
// by a step of slowRate.
func (p *seasonalProfile) update(t time.Time, x float64, rate, slowRate float64) {
	if day, _ := dayOf(t); day != p.day {
		p.learnDay()
		p.day = day
	}
	if m, _, ok := p.daily(t); ok && p.dayCount < math.MaxUint16 {
		p.daySum += float32(x - m)
		p.dayCount++
	}
	x -= p.weekOffset(t) // the daily profile learns the values of an average day of the week
	a, b, w := knots(t)
	// A knot of the slow profile (the alarm's predictor) met for the first time starts from its neighbour's value
	// where that one is known: the point may be far from the knot (half an hour) and an outlier, and the knot
	// learns slowly.
	for _, k := range [2][2]int{{a, b}, {b, a}} {
		switch i, other := k[0], k[1]; {
		case p.count[i] > 0:
		case p.count[other] > 0:
			p.mean[i], p.slow[i] = float32(x), p.slow[other]
		default:
			p.mean[i], p.slow[i] = float32(x), float32(x)
		}
	}
	if p.count[a] == 0 {
		p.binMean[a] = float32(x)
	} else {
		r := float32(math.Max(rate, 1/float64(p.count[a]+1)))
		dev := float32(math.Abs(x - float64(p.binMean[a])))
		p.binMean[a] += r * (float32(x) - p.binMean[a])
		p.binDev[a] += r * (dev - p.binDev[a])
	}
	for _, k := range [2]struct {
		i int
		w float64
	}{{a, 1 - w}, {b, w}} {
		if p.count[k.i] < math.MaxUint16 {
			p.count[k.i]++
		}
	}
	err := x - ((1-w)*float64(p.mean[a]) + w*float64(p.mean[b]))
	slowErr := x - ((1-w)*float64(p.slow[a]) + w*float64(p.slow[b]))
	for _, k := range [2]struct {
		i int
		w float64
	}{{a, 1 - w}, {b, w}} {
		first := 1 / float64(p.count[k.i])
		r := math.Max(rate, first)
		p.mean[k.i] += float32(r * k.w * err)
		p.dev[k.i] += float32(r * k.w * (math.Abs(err) - float64(p.dev[k.i])))
		p.slow[k.i] += float32(math.Max(slowRate, first) * k.w * slowErr)
	}
}

// extent is the range of the values seen so far, and how many points it has seen. After n points of a series
// whose order says nothing (exchangeable), the next one is a record (beyond every one before it, on either side)
// with probability 2/(n+1). So, once a chance record has become a 1-in-100 event (n ≥ 200), a value beyond the range
// by more than the margin scores 1 - 2/(n+1), and, if it is beyond by more than a typical move of the series too,
// 1 - 0.02/(n+1): it is what the detectors at the top of NAB flag outright (HTM's "spatial anomaly", on the range
// seen so far), and what a drift to a level never reached looks like, though no point of it is far from the one
// before; a new high by less than a typical move (a near-idle process's CPU one clock tick above its highest) is
// the noise reaching a little further. Noise records new extremes about 2·ln(n) times in n points, fewer beyond the
// margin; a steady trend none (after 50 points each step is under 2 % of the range it has made). 12 bytes.
type extent struct {
	lo, hi float32
	n      uint32
}

// extentAfter is how many points the range must have seen before a value beyond it is news (2/(n+1) ≤ 1 %).
const extentAfter = 200

// update learns x and returns the probability that it is not normal by this view (0 within the range), and
// whether the range more than doubled with it; move is the typical size of the series' moves.
func (e *extent) update(x float32, margin, move float64) (score float64, doubled bool) {
	if e.n == 0 {
		e.lo, e.hi = x, x
	}
	width := float64(e.hi - e.lo) // finite: values are within ±MaxValue
	beyond := max(float64(x)-float64(e.hi), float64(e.lo)-float64(x))
	switch {
	case width == 0 || e.n < extentAfter || margin == 0 || beyond <= margin*width:
	case beyond <= move:
		score = 1 - 2/float64(e.n+1)
	default:
		score = 1 - 0.02/float64(e.n+1)
	}
	e.lo, e.hi = min(e.lo, x), max(e.hi, x)
	if e.n < math.MaxUint32 {
		e.n++
	}
	return score, width > 0 && float64(e.hi-e.lo) > 2*width
}

// level returns which of n equal levels of the range x is in.
func (e *extent) level(x float32, n int) int {
	if r := e.hi - e.lo; r > 0 {
		if l := float64(x-e.lo) / float64(r) * float64(n); l > 0 { // false for NaN too
			return min(int(l), n-1)
		}
	}
	return 0
}

// seqLevels is how many levels the sequence memory cuts the range of a series into; the last two levels are the
// context of a move.
const (
	seqLevels   = 7
	seqContexts = seqLevels * seqLevels
)

// sequence is how a series moves, in the manner of the contextual detectors of NAB (CAD OSE) but of a constant
// size: the range of the values seen so far (the extent) is cut into seqLevels levels; for each context (the levels
// of the last two points) it counts how often the context came and remembers which levels followed it — an order-2
// Markov chain that keeps only whether a move was seen. A move seen before is not new; a move never seen after a
// context seen n times is new with probability 1 - s/(n + seqLevels·s), s the smoothing — a level never reached
// from there, a rhythm broken — but no more than 1 - 0.3·r, r how often moves have been new lately. r starts at 1:
// a series has not shown a rhythm until it has been seen to keep one, and noise, which keeps finding new moves,
// never does. When the range more than doubles (a value far outside it), the levels mean something else: the memory
// starts again rather than finding every move new. 160 bytes.
type sequence struct {
	seen bool
	ctx  uint8
	// newRate is how often a move is new (a moving average over about 100 points): while new moves keep coming,
	// as in noise, one more is no great news
	newRate float32
	count   [seqContexts]uint16
	moves   [(seqContexts*seqLevels + 63) / 64]uint64 // a bit per context and next level
}

// update returns how new a point at level (of the range) is after the last two points, and learns it; restart says
// the range has just more than doubled.
func (s *sequence) update(level int, restart bool, smoothing float64) float64 {
	if !s.seen {
		s.seen, s.newRate = true, 1
	}
	if restart {
		s.count, s.moves = [seqContexts]uint16{}, [len(s.moves)]uint64{}
	}
	novelty, found := 0.0, float32(0)
	move := int(s.ctx)*seqLevels + level
	if s.moves[move/64]&(1<<(move%64)) == 0 {
		novelty = 1 - max(smoothing/(float64(s.count[s.ctx])+smoothing*seqLevels), 0.3*float64(s.newRate))
		s.moves[move/64] |= 1 << (move % 64)
		found = 1
	}
	s.newRate += 0.01 * (found - s.newRate)
	if s.count[s.ctx] < math.MaxUint16 {
		s.count[s.ctx]++
	}
	s.ctx = uint8(move % seqContexts) // the last level and this one
	return novelty
}
