// Package detectbench is the anomaly detector's detection suite: a seeded generator of the series production
// monitoring sees, at three resolutions, with faults injected into them, each faulty series beside a fault-free twin
// with the same noise, and fault-free controls; and the scoring of a detector's alarms on them — per fault kind how
// many were found within the fault's deadline and how many twins alarmed in the same window by chance, and on the
// controls the false alarms per series-day. `make detect-bench` runs it (internal/detectbench/cmd/detect-bench).
package detectbench // import "github.com/otelstrata/strata/internal/detectbench"

import (
	"math"
	"math/rand/v2"
	"sort"
	"time"
)

// Kind is a shape of series.
type Kind string

// The kinds of series the suite generates.
const (
	Requests Kind = "requests" // a request rate with daily and weekly seasonality, Poisson and load noise
	CPU      Kind = "cpu"      // a utilisation in percent following the load, with short cron-job bumps
	Latency  Kind = "latency"  // a latency quantile in seconds, log-normal noise, slower at the peak
	Memory   Kind = "memory"   // a heap in bytes: a garbage collector's sawtooth
	Queue    Kind = "queue"    // a queue depth: small integers with bursts
	LowCount Kind = "lowcount" // a count of rare events: mostly zero
	Bursty   Kind = "bursty"   // a heavy-tailed figure (Pareto noise), such as bytes per request
	Steps    Kind = "steps"    // an instance count that an autoscaler moves in steps
	Counter  Kind = "counter"  // a request counter that restarts every day or two, watched as a rate
	Gappy    Kind = "gappy"    // a request rate whose scrapes fail for 10 minutes to 2 hours twice a day
)

// Kinds are every kind, in the order of the reports.
var Kinds = []Kind{Requests, CPU, Latency, Memory, Queue, LowCount, Bursty, Steps, Counter, Gappy}

// Fault is what is injected into a series.
type Fault string

// The faults.
const (
	Spike       Fault = "spike"        // one point 6 robust deviations of the noise up
	Dip         Fault = "dip"          // one point 6 deviations down
	ShiftUp     Fault = "shift_up"     // the level 4 deviations up for 6 hours
	ShiftDown   Fault = "shift_down"   // 4 deviations down for 6 hours
	DropToZero  Fault = "drop_to_zero" // 0 for 30 minutes (6 points at least)
	Variance    Fault = "variance"     // the noise 4 times as wide for an hour (12 points at least)
	Ramp        Fault = "ramp"         // away from the profile, reaching 3 daily deviations in 6 hours
	Flatline    Fault = "flatline"     // the value stuck for 3 hours (36 points at least)
	MissingPeak Fault = "missing_peak" // the daily peak stays at its shoulder for 3 hours around it
	PhaseShift  Fault = "phase_shift"  // the day's pattern 4 hours late, for a day
	Drift       Fault = "drift"        // a slow climb reaching one daily deviation in 2 days
)

// Faults are every fault, in the order of the reports.
var Faults = []Fault{Spike, Dip, ShiftUp, ShiftDown, DropToZero, Variance, Ramp, Flatline, MissingPeak, PhaseShift, Drift}

// Resolutions are the intervals between points the suite generates.
var Resolutions = []time.Duration{10 * time.Second, time.Minute, 5 * time.Minute}

// Days is how long a control series is.
const Days = 14

// Deadline returns how long after a fault starts a detection counts (in points for the abrupt faults and the
// flatline, in time for the others), and whether it is counted in points.
func Deadline(f Fault) (points int, d time.Duration) {
	switch f {
	case Spike, Dip, ShiftUp, ShiftDown, DropToZero, Variance:
		return 5, 0
	case Flatline:
		return 30, 0
	case Ramp:
		return 0, 3 * time.Hour
	case MissingPeak:
		return 0, 2 * time.Hour // the fault starts 1.5 hours before the peak: the end of the peak's hour
	case PhaseShift:
		return 0, 24 * time.Hour
	case Drift:
		return 0, 48 * time.Hour
	}
	return 0, 0
}

// Applies reports whether a fault can be injected into a kind of series: a flatline only where the series normally
// moves, a missing peak and a shifted phase only where there is a daily peak, nothing below zero where the series
// sits at zero.
func Applies(k Kind, f Fault) bool {
	switch f {
	case MissingPeak, PhaseShift:
		return k == Requests || k == CPU || k == Latency || k == Counter || k == Gappy
	case Flatline:
		return k != Queue && k != LowCount && k != Steps
	case Dip, ShiftDown, DropToZero, Ramp, Drift:
		return k != LowCount
	}
	return true
}

// Series is a generated series: its points (a gap is a point left out) and, for a faulty one, the fault's first
// point and the end of its detection window.
type Series struct {
	Kind   Kind
	Fault  Fault // "" for a control and a twin
	Step   time.Duration
	Times  []time.Time
	Values []float64
	// Start is the index of the fault's first point; End the index past the last point of the detection window.
	Start, End int
}

// Case is a faulty series and its fault-free twin: the same times and noise, without the fault.
type Case struct {
	Faulty, Twin Series
}

// epoch is a Monday.
var epoch = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// shape is a series before its fault: the value without noise, the noise, and the fault-free value.
type shape struct {
	kind   Kind
	step   time.Duration
	times  []time.Time
	base   []float64
	noise  []float64
	value  []float64 // what is reported: base + noise, bounded as the kind is (zero and up, integers)
	keep   []bool    // false: a gap
	phase  float64   // hours the daily peak is moved from 15:00
	level  float64
	floor0 bool
	round  bool
	params kindParams
}

type kindParams struct {
	sawPeriod float64 // minutes (memory)
	bursts    []bool  // per point: in a burst (queue)
	restarts  []int   // counter restarts (indices)
}

// load returns the daily and weekly shape of a series at t, in [0, 1], peaking at 15:00 plus the series' phase on
// weekdays and at 60 % of that on weekends.
func load(t time.Time, phase float64) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60 + float64(t.Second())/3600 - phase
	s := math.Pow(0.5-0.5*math.Cos(2*math.Pi*(h-3)/24), 1.5)
	if wd := t.Weekday(); wd == time.Saturday || wd == time.Sunday {
		s *= 0.6
	}
	return s
}

// generate returns a fault-free series of a kind from rng, of n points of step from start.
func generate(kind Kind, step time.Duration, start time.Time, n int, rng *rand.Rand) *shape {
	s := &shape{kind: kind, step: step, phase: rng.Float64()*4 - 2}
	s.times = make([]time.Time, n)
	s.base, s.noise, s.value, s.keep = make([]float64, n), make([]float64, n), make([]float64, n), make([]bool, n)
	for i := range s.times {
		s.times[i] = start.Add(time.Duration(i) * step)
		s.keep[i] = true
	}
	sec := step.Seconds()
	switch kind {
	case Requests, Counter, Gappy:
		s.level, s.floor0 = math.Exp(math.Log(20)+rng.Float64()*math.Log(100)), true // 20 to 2,000 a second
	case CPU:
		s.level, s.floor0 = 10+rng.Float64()*50, true
	case Latency:
		s.level = 0.03 + rng.Float64()*0.3
	case Memory:
		s.level, s.params.sawPeriod = 1e9*(1+rng.Float64()*4), 20+rng.Float64()*70
	case Queue, LowCount, Steps:
		s.floor0, s.round = true, true
		s.level = 1 + rng.Float64()*4
	case Bursty:
		s.level = 2e4 + rng.Float64()*8e4
	}
	if kind == Queue {
		s.params.bursts = make([]bool, n)
		perPoint := 0.2 * sec / 3600 // 0.2 bursts an hour
		for i := 0; i < n; i++ {
			if rng.Float64() < perPoint {
				length := int((2 + rng.Float64()*8) * 60 / sec)
				for j := i; j < min(n, i+max(length, 1)); j++ {
					s.params.bursts[j] = true
				}
			}
		}
	}
	instances := 0.0
	// the load of each day differs from the day before's by about 5 %, drifting as a random walk held near 1
	daily, today := 1.0, s.times[0].YearDay()
	for i, t := range s.times {
		if t.YearDay() != today {
			today, daily = t.YearDay(), 1+0.7*(daily-1)+0.05*rng.NormFloat64()
		}
		l := load(t, s.phase) * daily
		switch kind {
		case Requests, Counter, Gappy:
			rate := s.level * (0.25 + 0.75*l)
			s.base[i] = rate
			s.noise[i] = rng.NormFloat64() * math.Sqrt(rate/sec+math.Pow(0.03*rate, 2))
		case CPU:
			s.base[i] = s.level * (0.2 + 0.8*l)
			s.noise[i] = rng.NormFloat64() * 2.5
			if rng.Float64() < 0.002*math.Max(1, 60/sec) { // a cron job: a short bump, more often seen at a coarse step
				s.noise[i] += 3 + rng.Float64()*5
			}
		case Latency:
			s.base[i] = s.level * (1 + 0.8*l)
			s.noise[i] = s.base[i] * (math.Exp(0.12*rng.NormFloat64()) - 1)
		case Memory:
			phase := math.Mod(t.Sub(epoch).Minutes(), s.params.sawPeriod) / s.params.sawPeriod
			s.base[i] = s.level * (1 + 0.05*l)
			s.noise[i] = s.level*0.3*phase + rng.NormFloat64()*s.level*0.002
		case Queue:
			lambda := s.level * (0.5 + l)
			if s.params.bursts[i] {
				lambda *= 8
			}
			s.base[i] = s.level * (0.5 + l)
			s.noise[i] = poisson(rng, lambda) - s.base[i]
		case LowCount:
			lambda := 0.05 * sec / 60 // 0.05 a minute
			s.base[i] = 0
			s.noise[i] = poisson(rng, lambda)
		case Bursty:
			s.base[i] = s.level * (1 + 0.3*l)
			s.noise[i] = s.base[i] * 0.3 * (math.Pow(1-rng.Float64(), -1/2.2) - 1.37)
		case Steps:
			want := math.Ceil(s.level * (0.5 + 2*l))
			if instances == 0 || want > instances || want < instances-1 { // scale out at once, in with hysteresis
				instances = want
			}
			s.base[i] = instances
		}
	}
	switch kind {
	case Counter:
		for i := int(24 * time.Hour / step); i < n; i += int((24 + rng.Float64()*48) * float64(time.Hour) / float64(step)) {
			s.params.restarts = append(s.params.restarts, i)
		}
	case Gappy:
		perPoint := 2 * sec / 86400
		for i := 0; i < n; i++ {
			if rng.Float64() < perPoint {
				length := int((10 + rng.Float64()*110) * 60 / sec)
				for j := i; j < min(n, i+max(length, 1)); j++ {
					s.keep[j] = false
				}
			}
		}
	}
	s.compose(nil)
	return s
}

// poisson returns a Poisson draw of mean lambda (Knuth's method below 30, a normal approximation above).
func poisson(rng *rand.Rand, lambda float64) float64 {
	if lambda > 30 {
		return math.Max(0, math.Round(lambda+rng.NormFloat64()*math.Sqrt(lambda)))
	}
	limit, k, p := math.Exp(-lambda), 0.0, 1.0
	for {
		p *= rng.Float64()
		if p <= limit {
			return k
		}
		k++
	}
}

// compose sets the values from base and noise (with a fault's changes, if any: mod changes base, noise and value of
// one point) and bounds them as the kind is.
func (s *shape) compose(mod func(i int, base, noise float64) float64) {
	for i := range s.value {
		v := s.base[i] + s.noise[i]
		if mod != nil {
			v = mod(i, s.base[i], s.noise[i])
		}
		if s.floor0 {
			v = math.Max(0, v)
		}
		if s.round {
			v = math.Round(v)
		}
		s.value[i] = v
	}
}

// series returns the points kept: for a counter, the rate between successive totals as the anomaly processor
// computes it, with no rate at a restart.
func (s *shape) series() Series {
	out := Series{Kind: s.kind, Step: s.step}
	restarts := map[int]bool{}
	for _, r := range s.params.restarts {
		restarts[r] = true
	}
	for i, t := range s.times {
		if !s.keep[i] || restarts[i] {
			continue
		}
		out.Times = append(out.Times, t)
		out.Values = append(out.Values, s.value[i])
	}
	return out
}

// deviation returns the robust deviation of the noise (1.4826 times its median absolute deviation) over the two
// hours before i, at least 1 for a series of integers.
func (s *shape) deviation(i int) float64 {
	from := max(0, i-int(2*time.Hour/s.step))
	window := append([]float64(nil), s.noise[from:i]...)
	med := median(window)
	for j := range window {
		window[j] = math.Abs(window[j] - med)
	}
	d := 1.4826 * median(window)
	if s.round {
		d = math.Max(d, 1)
	}
	return d
}

// dailyMean returns the mean of the values without noise over the day before i.
func (s *shape) dailyMean(i int) float64 {
	from := max(0, i-int(24*time.Hour/s.step))
	sum := 0.0
	for _, v := range s.base[from:i] {
		sum += v
	}
	return sum / float64(i-from)
}

// dailyDeviation returns the standard deviation of the values over the day before i.
func (s *shape) dailyDeviation(i int) float64 {
	from := max(0, i-int(24*time.Hour/s.step))
	var sum, sq float64
	n := float64(i - from)
	for _, v := range s.value[from:i] {
		sum += v
		sq += v * v
	}
	return math.Sqrt(math.Max(0, sq/n-sum*sum/n/n))
}

func median(xs []float64) float64 {
	if len(xs) == 0 {
		return 0
	}
	sort.Float64s(xs)
	return xs[len(xs)/2]
}
