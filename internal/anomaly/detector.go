// Package anomaly is streaming anomaly detection for one series at a time, with constant memory per series: an
// ensemble of a robust baseline, a daily and weekly baseline, change detection, an extreme-value threshold, the range
// of the values seen and a memory of how the series moves (sequence novelty), combined into one score in [0, 1]; and
// an alarm held to a budget of false alarms a day (alarm.go). The anomaly processor runs one Detector per watched
// series; `make nab` scores the score over the Numenta Anomaly Benchmark, `make detect-bench` the alarm over the
// detection suite (internal/detectbench).
package anomaly // import "github.com/otelstrata/strata/internal/anomaly"

import (
	"encoding/binary"
	"errors"
	"fmt"
	"math"
	"time"
)

// Config is a detector's parameters. The defaults (DefaultConfig) are the ones scored on NAB (`make nab`), chosen by
// a sweep over the whole corpus with one configuration for every file, as NAB's rules allow.
type Config struct {
	// WarmUp is how many points a series sees before it may be scored anomalous.
	WarmUp int
	// Adapt is the step of the robust baseline's location and scale, as a share of the scale (per point).
	Adapt float64
	// Seasonal turns the daily/weekly profile on.
	Seasonal bool
	// SeasonalRate is how fast each bin of the profile follows its points (EWMA weight).
	SeasonalRate float64
	// CUSUMSlack and CUSUMLimit: the drift allowed per point, and the sum that is a change, in robust sigmas.
	CUSUMSlack, CUSUMLimit float64
	// Risk is the probability of a normal point scoring above the extreme-value threshold (SPOT's q).
	Risk float64
	// TailQuantile is the level from which the tail is modelled (SPOT's initial threshold).
	TailQuantile float64
	// Holdoff is how many points after a detection (a score at or above 1 - Risk) score half, unless they are
	// stranger than the detection, in score or in value alone: an anomaly is reported when it starts and when it
	// gets worse, not at every point it lasts, and an alarm of the sequence memory never hides a far value after it.
	// After an alarm beyond every tail the model knew, a new record of the series strange by the tail is reported
	// too (a climb goes on).
	Holdoff int
	// DiffWeight is how much the strangeness of the first difference counts against the value's; a point closer to
	// the expected value than the one before has none (its move is the previous point's strangeness ending).
	DiffWeight float64
	// RangeMargin is by how much of the range of the values seen a value beyond it is anomalous (once the range has
	// seen 200 points; see extent). 0 turns that view off.
	RangeMargin float64
	// Sequence turns the sequence memory on: which level of the range seen followed each pair of levels; a move
	// never seen is new.
	Sequence bool
	// SequenceSmoothing is the count a move never seen is given (additive smoothing): the smaller, the newer such
	// a move after a context seen a few times.
	SequenceSmoothing float64
	// AlarmBudget is how many false alarms a series may raise a day: the alarm's risk per point is the budget
	// over the points a day the series has.
	AlarmBudget float64
	// AlarmAfter is how long after its first point a series may raise the alarm: the time its daily profile, its
	// tail and its days' largest values take to be learned. The views learn from the first point after the warm-up.
	AlarmAfter time.Duration
}

// DefaultConfig returns the configuration used everywhere unless the user sets another.
func DefaultConfig() Config {
	return Config{
		WarmUp:       64,
		Adapt:        0.05,
		Seasonal:     true,
		SeasonalRate: 0.1,
		CUSUMSlack:   0.5,
		CUSUMLimit:   6.5,
		Risk:         3e-3,
		TailQuantile: 0.98,
		Holdoff:      200,
		DiffWeight:   0.9,
		RangeMargin:  0.02,

		Sequence:          true,
		SequenceSmoothing: 0.02,
		AlarmBudget:       0.01,
		AlarmAfter:        48 * time.Hour,
	}
}

// Result is what a detector says of one point.
type Result struct {
	Score    float64 // 0: normal … 1: certainly anomalous
	Expected float64 // the value the baselines expected
	Lower    float64 // the band of normal values
	Upper    float64
	Warm     bool   // false during warm-up: the score is 0
	Alarm    bool   // the point is an anomaly at the risk the alarm budget allows
	View     string // the view that raised the alarm (ViewValue, ViewLevel, ViewVariance, ViewFlatline)
}

// Detector is the model of one series.
type Detector struct {
	cfg Config
	n   int

	// robust baseline of the values: location and scale by stochastic approximation of the median and of the
	// median absolute deviation (each step moves by a share of the scale towards the point: an outlier moves them by
	// one step, whatever its size)
	loc, scale float32
	// robust baseline of the first differences (catches changes of slope and spikes on trending series)
	prev             float32
	dloc, dscale     float32
	cusumHi, cusumLo float32
	tail             spot
	seasonal         *seasonalProfile
	// moving averages of the absolute error of the level and of the profile: the better predictor is used
	errLevel, errSeason float32
	quiet               int     // points left in the holdoff after a detection
	quietAbove          float64 // the score of that detection
	quietTail           float64 // and its extreme-value part: a value stranger than that detection's is never held off
	extent              extent
	sequence            *sequence
	alarm               alarm
}

// New returns a detector.
func New(cfg Config) *Detector {
	d := &Detector{cfg: cfg, tail: newSPOT(cfg.TailQuantile, cfg.Risk), alarm: newAlarm()}
	if cfg.Seasonal {
		d.seasonal = &seasonalProfile{}
	}
	if cfg.Sequence {
		d.sequence = &sequence{}
	}
	return d
}

const eps = 1e-9

// MaxValue is the largest magnitude a detector learns: a value beyond ±MaxValue is taken as ±MaxValue. The model
// keeps float32s (about ±3.4e38), and the range and moves between values must stay finite too.
const MaxValue = 1e30

// maxStrangeness bounds a point's strangeness (in robust sigmas): a value far from a series that never moved is
// certainly anomalous, and its excess must stay a finite float32 in the tail.
const maxStrangeness = 1e30

// Update takes the next point of the series and scores it. Points must come in time order; the caller drops
// duplicates and points out of order (and counts them). A NaN or an infinity is not learned and scores 0; a value
// beyond ±MaxValue is learned as ±MaxValue.
func (d *Detector) Update(t time.Time, x float64) Result {
	if math.IsNaN(x) || math.IsInf(x, 0) {
		return Result{Expected: float64(d.loc)}
	}
	x = clamp(x, -MaxValue, MaxValue)
	xf := float32(x)
	d.n++
	pointsPerDay := d.alarm.pace(t)
	if d.n == 1 {
		return d.start(t, x, xf)
	}
	expected, scale, base := d.expect(t, x)
	z := d.alarm.residual(x, base, d.n)
	repeat := xf == d.prev
	prob, tail, record, change := d.score(x, xf, expected, scale)

	// Learn, after scoring (a point never vouches for itself).
	d.learn(xf)
	if d.seasonal != nil {
		slowRate := 1.0
		if pointsPerDay > 0 {
			slowRate = min(1, 0.1*48/pointsPerDay) // a tenth a day: each knot is near about a 48th of the points
		}
		d.seasonal.update(t, x, d.cfg.SeasonalRate, slowRate)
	}
	if change >= 1 { // a change was found: the level moves to the point, and accumulating starts again
		d.cusumHi, d.cusumLo = 0, 0
		d.loc = xf
	}
	r := Result{Expected: expected, Lower: expected - 3*1.4826*scale, Upper: expected + 3*1.4826*scale}
	warm := d.n > d.cfg.WarmUp
	armed := warm && t.UnixNano()-d.alarm.since >= int64(d.cfg.AlarmAfter)
	r.View = d.alarm.decide(z, repeat, warm, armed, riskPerPoint(d.cfg.AlarmBudget, pointsPerDay, d.cfg.Risk), d.cfg.AlarmBudget)
	r.Alarm = r.View != ""
	if d.n <= d.cfg.WarmUp {
		return r
	}
	r.Warm = true
	r.Score = d.holdoff(prob, tail, record)
	return r
}

// start learns the first point of the series.
func (d *Detector) start(t time.Time, x float64, xf float32) Result {
	d.loc, d.scale, d.prev = xf, float32(math.Max(math.Abs(x)*0.01, eps)), xf
	d.dscale = d.scale
	if d.seasonal != nil {
		d.seasonal.update(t, x, 1, 1)
	}
	d.extent.update(xf, d.cfg.RangeMargin, 0)
	if d.sequence != nil {
		d.sequence.update(0, false, d.cfg.SequenceSmoothing)
	}
	return Result{Expected: x, Lower: x, Upper: x}
}

// expect returns the value expected at t and its scale: the robust level's or, where the daily profile knows this
// time of day and has predicted better so far, the profile's. It updates the two predictors' errors with x.
// plain is what the alarm's predictor starts from: the slow profile where there is one at this time of day, else the
// level.
func (d *Detector) expect(t time.Time, x float64) (expected, scale, plain float64) {
	expected = float64(d.loc)
	scale = float64(d.scale) + eps
	plain = expected
	d.errLevel += 0.05 * (float32(math.Abs(x-expected)) - d.errLevel)
	if d.seasonal == nil {
		return expected, scale, plain
	}
	m, s, ok := d.seasonal.expect(t)
	if !ok {
		d.errSeason = d.errLevel * 2 // no profile yet at this time of day: not a better predictor
		return expected, scale, plain
	}
	if m, ok := d.seasonal.expectSlow(t); ok {
		plain = m
	}
	// Of the two profiles (interpolated, and per half hour), the one closer to this point explains it.
	if mb, sb, ok := d.seasonal.expectBin(t); ok && math.Abs(x-mb)/math.Max(sb, eps) < math.Abs(x-m)/math.Max(s, eps) {
		m, s = mb, sb
	}
	d.errSeason += 0.05 * (float32(math.Abs(x-m)) - d.errSeason)
	if d.errSeason < d.errLevel {
		expected, scale = m, math.Max(s, eps)
	}
	return expected, scale, plain
}

// score returns the probability that the point is not normal, the tail's part of it, whether the point is beyond
// every value seen, and the change detector's level (1: a change). It advances the change detector, the tail, the
// range and the sequence memory with the point.
func (d *Detector) score(x float64, xf float32, expected, scale float64) (prob, tail float64, record bool, change float64) {
	z := (x - expected) / (1.4826 * scale)
	dz := (float64(xf-d.prev) - float64(d.dloc)) / (1.4826*float64(d.dscale) + eps)
	if math.Abs(x-expected) < math.Abs(float64(d.prev)-expected) {
		// Closer to the expected value than the point before: the move is that point's strangeness ending (it
		// was scored when it came), not a new one. A spike's way back down is not a second anomaly.
		dz = 0
	}

	// Change detection on the standardised residual: a level shift accumulates, a single spike does not.
	zc := clamp(z, -6, 6)
	d.cusumHi = float32(math.Max(0, float64(d.cusumHi)+zc-d.cfg.CUSUMSlack))
	d.cusumLo = float32(math.Max(0, float64(d.cusumLo)-zc-d.cfg.CUSUMSlack))
	change = math.Max(float64(d.cusumHi), float64(d.cusumLo)) / d.cfg.CUSUMLimit

	// The point's strangeness: the largest of the three views, in robust sigmas.
	strangeness := min(math.Max(math.Abs(z), math.Max(math.Abs(dz)*d.cfg.DiffWeight, change*4)), maxStrangeness)
	tail = d.tail.update(strangeness, d.n > d.cfg.WarmUp)
	// How new the point is: beyond the range seen, or a move never seen.
	record = d.extent.n > 0 && (xf > d.extent.hi || xf < d.extent.lo) // beyond every value seen
	beyond, doubled := d.extent.update(xf, d.cfg.RangeMargin, 1.4826*float64(d.dscale))
	novelty := beyond
	if d.sequence != nil {
		novelty = max(novelty, d.sequence.update(d.extent.level(xf, seqLevels), doubled, d.cfg.SequenceSmoothing))
	}
	// Two views of the point, each the probability that it is not normal: it is normal only if neither says
	// otherwise (noisy-OR).
	return 1 - (1-tail)*(1-novelty), tail, record, change
}

// holdoff returns the score reported for a point of probability prob: halved while a detection's holdoff lasts and
// the point says no more than the detection did, whole otherwise. It starts, counts down and restarts the holdoff.
func (d *Detector) holdoff(prob, tail float64, record bool) float64 {
	switch {
	case d.quiet > 0 && d.quietTail >= 1 && record && tail >= 1-d.cfg.Risk:
		// The detection was beyond every tail the model knew (1, which no later point can pass): a new record of
		// the series that is strange by the tail too is reported again, and the holdoff starts again, as a climb
		// to values never seen (a leak) goes on.
		d.quiet, d.quietAbove = d.cfg.Holdoff, prob
	case d.quiet > 0 && prob <= d.quietAbove && tail <= d.quietTail:
		d.quiet--
		return prob * 0.5
	case prob >= 1-d.cfg.Risk:
		d.quiet, d.quietAbove, d.quietTail = d.cfg.Holdoff, prob, tail
	}
	return prob
}

func (d *Detector) learn(x float32) {
	step := float32(d.cfg.Adapt)
	if x > d.loc {
		d.loc += step * d.scale
	} else if x < d.loc {
		d.loc -= step * d.scale
	}
	dev := x - d.loc
	if dev < 0 {
		dev = -dev
	}
	if dev > d.scale {
		d.scale += step * d.scale
	} else {
		d.scale -= step * d.scale
	}
	if d.scale < eps {
		d.scale = eps
	}
	diff := x - d.prev
	if diff > d.dloc {
		d.dloc += step * d.dscale
	} else if diff < d.dloc {
		d.dloc -= step * d.dscale
	}
	ddev := diff - d.dloc
	if ddev < 0 {
		ddev = -ddev
	}
	if ddev > d.dscale {
		d.dscale += step * d.dscale
	} else {
		d.dscale -= step * d.dscale
	}
	if d.dscale < eps {
		d.dscale = eps
	}
	d.prev = x
}

func clamp(x, lo, hi float64) float64 { return math.Min(hi, math.Max(lo, x)) }

// stateVersion is the layout of MarshalBinary. A state of version 1 (before the weekly profile and the sequence
// memory) is read, those starting empty; of version 2 (the range kept by the sequence memory, if it was on, of 6
// levels), the range restored from it and the memory starting empty; of version 3 (before the alarm), the alarm
// starting empty; of version 4 (before the days' largest values of the alarm's views and its arming), those
// starting empty and the alarm armed; of version 5 (before the mean square residual of the alarm), that starting
// from the alarm's scale; any other version is refused.
const stateVersion = 6

// MarshalBinary returns the detector's model, to be kept across restarts (its configuration is not part of it).
func (d *Detector) MarshalBinary() ([]byte, error) {
	w := &stateWriter{}
	w.u32(stateVersion)
	w.u32(uint32(d.n))
	w.f32s(d.loc, d.scale, d.prev, d.dloc, d.dscale, d.cusumHi, d.cusumLo, d.errLevel, d.errSeason)
	w.u32(uint32(d.quiet))
	w.f64(d.quietAbove)
	w.f32s(d.tail.t)
	w.f32s(d.tail.peaks[:]...)
	w.u32(uint32(d.tail.nPeaks)<<8 | uint32(d.tail.next))
	if d.seasonal == nil {
		w.u32(0)
	} else {
		w.u32(1)
		w.f32s(d.seasonal.mean[:]...)
		w.f32s(d.seasonal.dev[:]...)
		w.f32s(d.seasonal.binMean[:]...)
		w.f32s(d.seasonal.binDev[:]...)
		for _, c := range d.seasonal.count {
			w.u32(uint32(c))
		}
	}
	// version 2
	w.f64(d.quietTail)
	if p := d.seasonal; p != nil {
		w.f32s(p.week[:]...)
		w.f32s(p.daySum)
		w.u32(uint32(p.weekSeen)<<16 | uint32(p.dayCount))
		w.u32(uint32(p.day))
	}
	// version 3
	w.f32s(d.extent.lo, d.extent.hi)
	w.u32(d.extent.n)
	if q := d.sequence; q == nil || !q.seen {
		w.u32(0)
	} else {
		w.u32(1)
		w.f32s(q.newRate)
		w.u32(uint32(q.ctx))
		for _, c := range q.count {
			w.u16(c)
		}
		for _, m := range q.moves {
			w.u64(m)
		}
	}
	// version 4
	a := &d.alarm
	w.u64(uint64(a.last))
	w.f32s(a.interval, a.hi, a.lo, a.wide, a.repeats, a.zq, a.excess, a.bias, a.mae, a.prevU, a.lag, a.sq)
	w.f32s(a.peak[:]...)
	w.u32(uint32(a.run) | flag(a.held)<<16 | flag(a.raised)<<17 | flag(a.fractional)<<18)
	if d.seasonal != nil {
		w.f32s(d.seasonal.slow[:]...)
	}
	// version 5
	for i := range a.dayMax {
		w.f32s(a.dayMax[i], a.maxMean[i], a.maxDev[i])
	}
	w.u32(uint32(a.days) | uint32(a.dayPoints)<<8)
	w.u64(uint64(a.since))
	// version 6
	w.f32s(a.ms)
	return w.b, nil
}

// UnmarshalBinary restores a model saved by MarshalBinary into a detector made by New.
func (d *Detector) UnmarshalBinary(data []byte) error {
	r := &stateReader{b: data}
	version := r.u32()
	if version < 1 || version > stateVersion {
		return fmt.Errorf("anomaly model of version %d, want %d", version, stateVersion)
	}
	d.n = int(r.u32())
	for _, f := range []*float32{&d.loc, &d.scale, &d.prev, &d.dloc, &d.dscale, &d.cusumHi, &d.cusumLo, &d.errLevel, &d.errSeason} {
		*f = r.f32()
	}
	d.quiet = int(r.u32())
	d.quietAbove = r.f64()
	d.tail.t = r.f32()
	for i := range d.tail.peaks {
		d.tail.peaks[i] = r.f32()
	}
	np := r.u32()
	d.tail.nPeaks, d.tail.next, d.tail.started = uint8(np>>8), uint8(np), d.n > 0
	var p *seasonalProfile // the profile saved, if any
	if r.u32() == 1 {
		p = readProfile(r)
	}
	d.quietTail = d.quietAbove // version 1: the score was the extreme-value part
	if version >= 2 {
		d.quietTail = r.f64()
		if p != nil {
			p.readWeek(r)
		}
	}
	if p != nil && d.cfg.Seasonal {
		d.seasonal = p
	}
	if version >= 3 {
		d.extent.lo, d.extent.hi, d.extent.n = r.f32(), r.f32(), r.u32()
	}
	switch {
	case version < 2 || r.u32() == 0: // no sequence memory saved
	case version == 2:
		// The range, as the sequence memory kept it, over every point; the memory itself had 6 levels, not 7: it
		// starts again.
		d.extent.lo, d.extent.hi, d.extent.n = r.f32(), r.f32(), uint32(d.n)
		r.skip(4 + 4 + 36*2 + 4*8) // its rate of new moves, context, counts and moves
	default:
		q := readSequence(r)
		if q.ctx >= seqContexts {
			return errors.New("anomaly model: sequence context out of range")
		}
		if d.cfg.Sequence {
			d.sequence = q
		}
	}
	if version >= 4 {
		a := &d.alarm
		a.last = int64(r.u64())
		for _, f := range []*float32{&a.interval, &a.hi, &a.lo, &a.wide, &a.repeats, &a.zq, &a.excess, &a.bias, &a.mae, &a.prevU, &a.lag, &a.sq, &a.peak[0], &a.peak[1], &a.peak[2]} {
			*f = r.f32()
		}
		v := r.u32()
		a.run, a.held, a.raised, a.fractional = uint16(v), v&(1<<16) != 0, v&(1<<17) != 0, v&(1<<18) != 0
		if p != nil {
			for i := range p.slow {
				p.slow[i] = r.f32()
			}
		}
	} else if p != nil {
		p.slow = p.mean // saved before the slow profile: it starts from the profile
	}
	if version >= 5 {
		a := &d.alarm
		for i := range a.dayMax {
			a.dayMax[i], a.maxMean[i], a.maxDev[i] = r.f32(), r.f32(), r.f32()
		}
		v := r.u32()
		a.days, a.dayPoints = uint8(v), uint16(v>>8)
		a.since = int64(r.u64())
	} else if version == 4 {
		d.alarm.since = 1 // an alarm saved before it waited to be armed: armed long ago
	}
	if a := &d.alarm; version >= 6 {
		a.ms = r.f32()
	} else {
		a.ms = float32(math.Pow(1.2533*float64(a.mae), 2)) // as a normal residual's of that scale
	}
	if r.err != nil {
		return r.err
	}
	if len(r.b) > 0 {
		return fmt.Errorf("anomaly model: %d bytes too many", len(r.b))
	}
	if int(d.tail.nPeaks) > len(d.tail.peaks) || int(d.tail.next) >= len(d.tail.peaks) {
		return errors.New("anomaly model: peaks out of range")
	}
	return d.checkBounds()
}

// readProfile reads the daily profile of a saved model (its weekly part follows later: readWeek).
func readProfile(r *stateReader) *seasonalProfile {
	p := &seasonalProfile{}
	for i := range p.mean {
		p.mean[i] = r.f32()
	}
	for i := range p.dev {
		p.dev[i] = r.f32()
	}
	for i := range p.binMean {
		p.binMean[i] = r.f32()
	}
	for i := range p.binDev {
		p.binDev[i] = r.f32()
	}
	for i := range p.count {
		p.count[i] = uint16(r.u32())
	}
	return p
}

// readWeek reads the weekly part of a saved profile (version 2 on).
func (p *seasonalProfile) readWeek(r *stateReader) {
	for i := range p.week {
		p.week[i] = r.f32()
	}
	p.daySum = r.f32()
	v := r.u32()
	p.weekSeen, p.dayCount = uint8(v>>16), uint16(v)
	p.day = int32(r.u32())
}

// readSequence reads the sequence memory of a saved model (version 3 on).
func readSequence(r *stateReader) *sequence {
	q := &sequence{seen: true}
	q.newRate = r.f32()
	q.ctx = uint8(r.u32())
	for i := range q.count {
		q.count[i] = r.u16()
	}
	for i := range q.moves {
		q.moves[i] = r.u64()
	}
	return q
}

// checkBounds returns an error when a restored model holds a NaN or an infinity, and clamps its finite values to
// the bounds Update keeps (a model saved before those bounds may hold larger ones).
func (d *Detector) checkBounds() error {
	a := &d.alarm
	values := []*float32{&d.loc, &d.scale, &d.prev, &d.dloc, &d.dscale, &d.cusumHi, &d.cusumLo, &d.errLevel,
		&d.errSeason, &d.extent.lo, &d.extent.hi, &a.interval, &a.hi, &a.lo, &a.wide, &a.repeats, &a.zq, &a.excess,
		&a.bias, &a.mae, &a.prevU, &a.lag, &a.sq, &a.peak[0], &a.peak[1], &a.peak[2]}
	for i := range a.dayMax {
		values = append(values, &a.dayMax[i], &a.maxMean[i], &a.maxDev[i])
	}
	if p := d.seasonal; p != nil {
		for i := range p.mean {
			values = append(values, &p.mean[i], &p.dev[i], &p.binMean[i], &p.binDev[i])
		}
		for i := range p.week {
			values = append(values, &p.week[i])
		}
		for i := range p.slow {
			values = append(values, &p.slow[i])
		}
		values = append(values, &p.daySum)
	}
	strangeness := []*float32{&d.tail.t}
	for i := range d.tail.peaks {
		strangeness = append(strangeness, &d.tail.peaks[i])
	}
	finite := func(v float64) bool { return !math.IsNaN(v) && !math.IsInf(v, 0) }
	for _, v := range append(values, strangeness...) {
		if !finite(float64(*v)) {
			return errors.New("anomaly model: holds a value that is not finite")
		}
	}
	if !finite(d.quietAbove) || !finite(d.quietTail) || (d.sequence != nil && !finite(float64(d.sequence.newRate))) {
		return errors.New("anomaly model: holds a score that is not finite")
	}
	for _, v := range values {
		*v = float32(clamp(float64(*v), -MaxValue, MaxValue))
	}
	for _, v := range strangeness {
		*v = float32(clamp(float64(*v), -maxStrangeness, maxStrangeness))
	}
	return nil
}

func flag(b bool) uint32 {
	if b {
		return 1
	}
	return 0
}

type stateWriter struct{ b []byte }

func (w *stateWriter) u16(v uint16)  { w.b = binary.LittleEndian.AppendUint16(w.b, v) }
func (w *stateWriter) u32(v uint32)  { w.b = binary.LittleEndian.AppendUint32(w.b, v) }
func (w *stateWriter) u64(v uint64)  { w.u32(uint32(v)); w.u32(uint32(v >> 32)) }
func (w *stateWriter) f64(v float64) { w.u64(math.Float64bits(v)) }
func (w *stateWriter) f32s(vs ...float32) {
	for _, v := range vs {
		w.u32(math.Float32bits(v))
	}
}

type stateReader struct {
	b   []byte
	err error
}

// next returns the next n bytes, or nil (and an error) when fewer are left.
func (r *stateReader) next(n int) []byte {
	if len(r.b) < n {
		r.err, r.b = errors.New("anomaly model: truncated"), nil
		return nil
	}
	v := r.b[:n]
	r.b = r.b[n:]
	return v
}

func (r *stateReader) skip(n int) { r.next(n) }

func (r *stateReader) u16() uint16 {
	if b := r.next(2); b != nil {
		return binary.LittleEndian.Uint16(b)
	}
	return 0
}

func (r *stateReader) u32() uint32 {
	if b := r.next(4); b != nil {
		return binary.LittleEndian.Uint32(b)
	}
	return 0
}

func (r *stateReader) f32() float32 { return math.Float32frombits(r.u32()) }

func (r *stateReader) u64() uint64 {
	lo, hi := r.u32(), r.u32()
	return uint64(hi)<<32 | uint64(lo)
}

func (r *stateReader) f64() float64 { return math.Float64frombits(r.u64()) }
