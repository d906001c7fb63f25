package anomaly

import (
	"math"
	"time"
)

// The views that raise an alarm (Result.View).
const (
	ViewValue    = "value"    // one point far beyond what the tail of the series' residuals allows
	ViewLevel    = "level"    // the residual has kept to one side: a level shift, a ramp, a missing peak
	ViewVariance = "variance" // the noise has widened
	ViewFlatline = "flatline" // the value has stopped moving where the series normally moves
)

// alarm is the detector's decision, held to a budget of false alarms a day: the risk per point is the budget over
// the points a day the series has, measured as it goes; each view's threshold is the one a normal series passes
// with that risk, and, once the alarm has seen a day, the one the view's largest value in a day passes with the
// budget's chance: a series whose habits the model of its noise does not know (a queue's bursts, an autoscaler's
// steps) is held to the budget too. 128 bytes.
type alarm struct {
	since    int64   // the time of the first point, Unix nanoseconds
	last     int64   // the time of the point before
	interval float32 // seconds between points: a moving average, which a gap moves by at most 4 times its value
	// CUSUMs of the residual up and down (slack cusumSlack), and of the log-likelihood ratio that the noise is four
	// times as wide (of a Laplace distribution's, which a heavy tail does not fool as much as a normal's)
	hi, lo, wide float32
	run          uint16  // points in a row equal to the one before
	repeats      float32 // how often a point equals the one before (a moving average over about 100 points)
	// the tail of |z|: its 98 % quantile, tracked as SPOT tracks its level, and the mean excess above it
	zq, excess float32
	// the alarm's predictor is the slow daily profile (or the level, where there is none) plus bias, the recent mean
	// of its residuals (over about half an hour), which takes out a day busier than the profile; mae is the mean
	// absolute residual of that (over about an hour), the alarm's scale
	bias, mae float32
	// ms is the mean square residual (over about an hour): where most residuals are nil and a few large (the
	// share answered of a service with few requests, 1 but for a failed request now and then), the mean absolute
	// residual is far smaller than the residuals that matter, and the alarm's scale is held to a quarter of its root
	ms float32
	// the residual before (in deviations), and moving averages of its product with the next and of its square:
	// how much of a residual the one before foretells
	prevU, lag, sq float32
	// the largest |z|, shift CUSUM and variance CUSUM lately, halving in three days
	peak [3]float32
	// per view: the largest value of the day so far, and the mean and mean absolute deviation of the largest of the
	// days before (a day weighs at least a quarter): from them, as if a day's largest were spread as a Gumbel's, the
	// value a view passes with the budget's chance in a day
	dayMax, maxMean, maxDev [3]float32
	days                    uint8  // days learned, at most 255
	dayPoints               uint16 // warm points of the day so far
	// held: the residual keeps to one side or has widened (a CUSUM past half its limit) and has raised no alarm yet
	// (raised)
	held, raised bool
	// fractional: a value with a fraction has been seen; until then the series counts whole things, and a residual
	// is measured in deviations of at least half a unit
	fractional bool
}

// newAlarm returns an alarm that has seen nothing: its tail starts as a normal's (98 % quantile 2.33, mean excess
// 0.4) and a repeat as likely, until the series shows otherwise.
func newAlarm() alarm { return alarm{zq: 2.33, excess: 0.4, repeats: 1} }

// residual returns x's residual against base plus the recent bias, in deviations (a normal's, from the mean absolute
// residual), and learns both; n is how many points the series has had (the second has no scale to be measured by).
func (a *alarm) residual(x, base float64, n int) float64 {
	r := x - base - float64(a.bias)
	a.fractional = a.fractional || x != math.Trunc(x)
	sigma := math.Max(1.2533*float64(a.mae), 0.25*math.Sqrt(float64(a.ms))) + eps
	if !a.fractional {
		sigma = math.Max(sigma, 0.5)
	}
	z := r / sigma
	if n <= 2 {
		z = 0 // no scale yet
	}
	step := math.Max(float64(a.interval), 1)
	a.bias += float32(math.Min(0.5, step/1800) * clamp(r, -6*sigma, 6*sigma))
	if a.mae == 0 {
		a.mae = float32(math.Abs(r))
		a.ms = float32(math.Min(r*r, MaxValue))
	} else if !a.held {
		a.mae += float32(math.Min(0.5, step/3600) * (math.Min(math.Abs(r), 6*sigma) - float64(a.mae)))
		a.ms += float32(math.Min(0.5, step/3600) * (math.Min(r*r, MaxValue) - float64(a.ms)))
	}
	return z
}

// repeatFloor is the least chance of a repeat a flatline is measured against: a series seen to repeat less often
// (one that always moves) is stuck only after a run that chance would give once in the budget's points.
const repeatFloor = 0.05

// cusumSlack is the CUSUMs' slack, in deviations: a shift of twice that is found fastest, and a bias of the residual
// of less (a profile a little off) does not add up.
const cusumSlack = 1.0

// pace learns the interval before t and returns the points a day the series has.
func (a *alarm) pace(t time.Time) float64 {
	now := t.UnixNano()
	if a.since == 0 {
		a.since = now
	}
	if a.last != 0 && now > a.last {
		gap := float64(now-a.last) / 1e9
		if a.interval == 0 {
			a.interval = float32(gap)
		} else {
			a.interval += 0.05 * (float32(math.Min(gap, 4*float64(a.interval))) - a.interval)
		}
	}
	if a.last != 0 && now/86400e9 != a.last/86400e9 {
		a.closeDay()
	}
	a.last = now
	if a.interval <= 0 {
		return 0
	}
	return 86400 / float64(a.interval)
}

// closeDay learns the day's largest value of each view, if the views ran for at least a quarter of a day's points
// (the first day of a series is often short), and starts the next day.
func (a *alarm) closeDay() {
	if a.interval > 0 && float64(a.dayPoints) >= math.Min(0.25*86400/float64(a.interval), math.MaxUint16) {
		r := float32(math.Max(0.25, 1/float64(int(a.days)+1)))
		for i, m := range a.dayMax {
			if a.days >= 3 { // a fault's day moves them by at most as far as the usual spread
				m = min(m, a.maxMean[i]+4*a.maxDev[i])
			}
			if a.days == 0 {
				a.maxMean[i] = m
				continue
			}
			a.maxDev[i] += r * (float32(math.Abs(float64(m-a.maxMean[i]))) - a.maxDev[i])
			a.maxMean[i] += r * (m - a.maxMean[i])
		}
		a.days = min(a.days+1, math.MaxUint8)
	}
	a.dayMax = [3]float32{}
	a.dayPoints = 0
}

// usual returns the value of view i that the view's largest in a day passes with chance budget.
func (a *alarm) usual(i int, budget float64) float64 {
	if a.days == 0 {
		return 0
	}
	// a Gumbel's quantile: the mean plus (−ln(−ln(1−b)) − γ)·√6/π standard deviations, 1.2533 mean absolute ones
	c := (-math.Log(-math.Log1p(-math.Min(budget, 0.5))) - 0.5772) * 0.7797 * 1.2533
	return float64(a.maxMean[i]) + c*float64(a.maxDev[i])
}

// riskPerPoint returns the alarm's risk per point: the budget over the points a day, at most risk (the detector's
// own level) and at least 1e-12.
func riskPerPoint(budget, pointsPerDay, risk float64) float64 {
	if pointsPerDay <= 0 {
		return risk
	}
	return clamp(budget/pointsPerDay, 1e-12, risk)
}

// tailLevel is the quantile of |z| from which its tail is modelled.
const tailLevel = 0.98

// tail returns the probability of a residual at least as large as z, and learns it.
func (a *alarm) tail(z float64) float64 {
	x, t := math.Abs(z), float64(a.zq)
	p := 1.0
	if x > t && t > 0 && a.excess > 0 {
		// A Weibull tail, P(|z| ≥ x) = exp(-(x/λ)^k), through the quantile and the one ten times rarer that the
		// mean excess gives (exact for an exponential tail): k near 1.5 for a normal's, smaller (more cautious) for
		// heavier tails, at most 2
		k := clamp(math.Log(math.Log(10/(1-tailLevel))/math.Log(1/(1-tailLevel)))/math.Log1p(float64(a.excess)*math.Ln10/t), 0.5, 2)
		p = math.Exp(math.Log(1-tailLevel) * math.Pow(x/t, k))
	}
	eta := 0.05 * (t + 0.1)
	if a.held {
		return p
	}
	if x > t {
		a.excess += 0.05 * (float32(math.Min(x-t, 10*math.Max(float64(a.excess), 0.1))) - a.excess)
		a.zq += float32(tailLevel * eta)
	} else {
		a.zq = float32(math.Max(0, t-(1-tailLevel)*eta))
	}
	return p
}

// decide returns the view that raises an alarm on a point of residual z (in robust deviations), or "" for none;
// repeat says the point equals the one before, warm that the views may run, armed that they may raise the alarm.
// It advances the CUSUMs and the peaks.
func (a *alarm) decide(z float64, repeat, warm, armed bool, risk, budget float64) string {
	if repeat {
		a.run = min(a.run+1, math.MaxUint16)
		a.repeats += 0.01 * (1 - a.repeats)
	} else {
		a.run = 0
		a.repeats -= 0.01 * a.repeats
	}
	z = clamp(z, -maxStrangeness, maxStrangeness)
	p := a.tail(z)
	// the residual in a normal's deviations, or fewer where this series' residuals are wider in the tail, and
	// less what the residual before foretells of it (a sawtooth, a wandering series): the CUSUMs add only what is
	// new
	u := clamp(z/math.Max(1, float64(a.zq)/2.33), -6, 6)
	phi := clamp(float64(a.lag)/math.Max(float64(a.sq), eps), 0, 0.95)
	e := clamp((u-phi*float64(a.prevU))/math.Sqrt(1-phi*phi), -6, 6)
	if !a.held {
		a.lag += 0.01 * (float32(u*float64(a.prevU)) - a.lag)
		a.sq += 0.01 * (float32(u*u) - a.sq)
	}
	a.prevU = float32(u)
	if !warm {
		return ""
	}
	// Siegmund's approximation of the CUSUM's run length, 1/(2k²)·e^(2k(h+1.166)), for a run of 2/risk points (two
	// sides)
	level := math.Max(2, math.Log(2*cusumSlack*cusumSlack*2/risk)/(2*cusumSlack)-1.166)
	a.hi = float32(math.Max(0, float64(a.hi)+e-cusumSlack))
	a.lo = float32(math.Max(0, float64(a.lo)-e-cusumSlack))
	a.wide = float32(math.Max(0, float64(a.wide)+0.9375*math.Abs(e)-math.Log(4)))
	shift := math.Max(float64(a.hi), float64(a.lo))
	// each view alarms only beyond the largest the series has shown lately, too: what the series does every day or
	// two (a queue's bursts, an autoscaler's steps, a rare count's events) is an alarm once, not every time, whatever
	// the model of its noise says
	view := ""
	switch {
	case p < risk && math.Abs(z) > math.Max(float64(a.peak[0]), a.usual(0, budget)):
		view = ViewValue
	case shift >= level && shift > math.Max(float64(a.peak[1]), a.usual(1, budget)):
		view = ViewLevel
	case float64(a.wide) >= -math.Log(risk) && float64(a.wide) > math.Max(float64(a.peak[2]), a.usual(2, budget)):
		view = ViewVariance
	case a.run > 0 && float64(a.run)*math.Log(math.Max(float64(a.repeats), repeatFloor)) < math.Log(risk):
		view = ViewFlatline
	}
	switch {
	case !armed:
		view = ""
	case view == ViewFlatline:
		a.run = 0
	}
	// the peaks halve in three days
	fade := float32(1 - math.Ln2*math.Min(float64(a.interval), 86400)/(3*86400))
	for i, x := range [3]float64{math.Abs(z), shift, float64(a.wide)} {
		a.peak[i] = max(a.peak[i]*fade, float32(x))
		a.dayMax[i] = max(a.dayMax[i], float32(x))
	}
	a.dayPoints = min(a.dayPoints+1, math.MaxUint16)
	// While the residual keeps to one side, or is wider than it was, and has raised no alarm yet, the scale, the
	// tail and how much of a residual the one before foretells are not learned: a slow climb or a widening would
	// teach them that it is normal.
	a.raised = (a.raised || view != "") && (shift > 0 || a.wide > 0)
	a.held = (shift > level/2 || float64(a.wide) > -math.Log(risk)/2) && !a.raised
	return view
}
