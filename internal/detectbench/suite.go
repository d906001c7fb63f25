package detectbench

import (
	"hash/fnv"
	"math"
	"math/rand/v2"
	"time"
)

// DevSeeds are the seeds parameters are chosen on; EvalSeeds the ones results are reported on.
var (
	DevSeeds  = []uint64{1, 2, 3}
	EvalSeeds = []uint64{101, 102, 103, 104, 105}
)

// rngOf returns a generator of its own for one series of a seed.
func rngOf(seed uint64, parts ...string) *rand.Rand {
	h := fnv.New64a()
	for _, p := range parts {
		h.Write([]byte(p))
		h.Write([]byte{0})
	}
	return rand.New(rand.NewPCG(seed, h.Sum64()))
}

// startOf returns when a series of the seed starts: any day of the week, any time of day, on its step.
func startOf(rng *rand.Rand, step time.Duration) time.Time {
	return epoch.Add(time.Duration(rng.Int64N(int64(7*24*time.Hour/step))) * step)
}

// Controls returns a fault-free series of each kind at each resolution, 14 days long.
func Controls(seed uint64) []Series {
	var out []Series
	for _, step := range Resolutions {
		for _, k := range Kinds {
			rng := rngOf(seed, "control", string(k), step.String())
			s := generate(k, step, startOf(rng, step), int(Days*24*time.Hour/step), rng)
			out = append(out, s.series())
		}
	}
	return out
}

// Cases returns a faulty series and its twin for each kind, fault that applies to it and resolution. The fault
// starts in the second week (days 8 to 12; a missing peak on a weekday's peak), on a point that is not in a gap; a
// series ends an hour after the fault and its detection window. A fault that cannot be placed (a dip below zero
// wherever it goes) is left out.
func Cases(seed uint64) []Case {
	var out []Case
	for _, step := range Resolutions {
		for _, k := range Kinds {
			for _, f := range Faults {
				if !Applies(k, f) {
					continue
				}
				if c, ok := makeCase(seed, k, f, step); ok {
					out = append(out, c)
				}
			}
		}
	}
	return out
}

// makeCase returns the case of a kind, fault and step of a seed, and false when the fault cannot be placed.
func makeCase(seed uint64, k Kind, f Fault, step time.Duration) (Case, bool) {
	rng := rngOf(seed, "case", string(k), string(f), step.String())
	start := startOf(rng, step)
	n := int(Days * 24 * time.Hour / step)
	s := generate(k, step, start, n, rng)
	perHour := int(time.Hour / step)
	for try := 0; try < 200; try++ {
		fs := 8*24*perHour + rng.IntN(4*24*perHour)
		if f == MissingPeak {
			day := start.Truncate(24*time.Hour).AddDate(0, 0, 9+rng.IntN(3))
			for day.Weekday() == time.Saturday || day.Weekday() == time.Sunday {
				day = day.AddDate(0, 0, 1)
			}
			peak := day.Add(time.Duration((15 + s.phase - 1.5) * float64(time.Hour)))
			fs = int(peak.Sub(start) / step)
		}
		if fs <= 2*perHour || fs >= n || !s.keep[fs] {
			continue
		}
		mod, length, ok := s.fault(f, fs)
		if !ok {
			continue
		}
		points, d := Deadline(f)
		fe := fs + max(length, points)
		if d > 0 {
			fe = max(fe, fs+int(d/step))
		}
		end := min(n, fe+perHour)
		twin := s.series()
		s.compose(mod)
		faulty := s.series()
		faulty.Fault = f
		cut := func(x *Series) {
			last := start.Add(time.Duration(end) * step)
			for len(x.Times) > 0 && !x.Times[len(x.Times)-1].Before(last) {
				x.Times, x.Values = x.Times[:len(x.Times)-1], x.Values[:len(x.Values)-1]
			}
		}
		cut(&twin)
		cut(&faulty)
		from := start.Add(time.Duration(fs) * step)
		faulty.Start = index(faulty.Times, from)
		if points > 0 {
			faulty.End = min(len(faulty.Times), faulty.Start+points)
		} else {
			faulty.End = index(faulty.Times, from.Add(d))
		}
		twin.Start, twin.End = faulty.Start, faulty.End
		return Case{Faulty: faulty, Twin: twin}, true
	}
	return Case{}, false
}

// index returns the index of the first time at or after t.
func index(times []time.Time, t time.Time) int {
	for i, x := range times {
		if !x.Before(t) {
			return i
		}
	}
	return len(times)
}

// fault returns how a fault starting at point fs changes the series (the value of point i from its base and
// noise), how many points it lasts, and false when it cannot be placed there (it would go below zero).
func (s *shape) fault(f Fault, fs int) (func(i int, base, noise float64) float64, int, bool) {
	sigma := s.deviation(fs)
	day := s.dailyDeviation(fs)
	pts := func(d time.Duration, least int) int { return max(least, int(d/s.step)) }
	in := func(i, length int) bool { return i >= fs && i < fs+length }
	switch f {
	case Spike, Dip:
		sign := 1.0
		if f == Dip {
			sign = -1
			if s.value[fs]-6*sigma < 0 {
				return nil, 0, false
			}
		}
		return func(i int, b, e float64) float64 {
			if i == fs {
				return b + e + sign*6*sigma
			}
			return b + e
		}, 1, true
	case ShiftUp, ShiftDown:
		length, sign := pts(6*time.Hour, 1), 1.0
		if f == ShiftDown {
			sign = -1
			if s.base[fs]-4*sigma < 0 {
				return nil, 0, false
			}
		}
		return func(i int, b, e float64) float64 {
			if in(i, length) {
				return b + e + sign*4*sigma
			}
			return b + e
		}, length, true
	case DropToZero:
		length := pts(30*time.Minute, 6)
		if s.base[fs] < 6*sigma { // zero is not far from where the series is
			return nil, 0, false
		}
		return func(i int, b, e float64) float64 {
			if in(i, length) {
				return 0
			}
			return b + e
		}, length, true
	case Variance:
		length := pts(time.Hour, 12)
		if sigma == 0 || s.kind == Steps {
			return nil, 0, false
		}
		return func(i int, b, e float64) float64 {
			if in(i, length) {
				return b + 4*e
			}
			return b + e
		}, length, true
	case Ramp:
		length := pts(6*time.Hour, 1)
		return func(i int, b, e float64) float64 {
			if in(i, length) {
				return b + e + 3*day*float64(i-fs+1)/float64(length)
			}
			return b + e
		}, length, true
	case Flatline:
		length, stuck := pts(3*time.Hour, 36), s.value[fs-1]
		return func(i int, b, e float64) float64 {
			if in(i, length) {
				return stuck
			}
			return b + e
		}, length, true
	case MissingPeak:
		length, typical := pts(3*time.Hour, 1), s.dailyMean(fs)
		return func(i int, b, e float64) float64 {
			if in(i, length) {
				return math.Min(b, typical) + e
			}
			return b + e
		}, length, true
	case PhaseShift:
		length, late := pts(24*time.Hour, 1), int(4*time.Hour/s.step)
		return func(i int, b, e float64) float64 {
			if in(i, length) {
				return s.base[i-late] + e
			}
			return b + e
		}, length, true
	case Drift:
		length := pts(48*time.Hour, 1)
		return func(i int, b, e float64) float64 {
			if in(i, length) {
				return b + e + day*float64(i-fs+1)/float64(length)
			}
			return b + e
		}, length, true
	}
	return nil, 0, false
}
