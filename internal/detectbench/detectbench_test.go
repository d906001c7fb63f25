package detectbench

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestTwinDiffersOnlyByItsFault: a faulty series and its twin have the same times and the same values outside the
// fault, and differ inside it; the detection window starts at the fault.
func TestTwinDiffersOnlyByItsFault(t *testing.T) {
	for _, f := range []Fault{Spike, ShiftUp, DropToZero, Flatline, MissingPeak} {
		c, ok := makeCase(7, Requests, f, 5*time.Minute)
		require.True(t, ok, f)
		require.Equal(t, c.Faulty.Times, c.Twin.Times, f)
		differ := 0
		for i := range c.Faulty.Values {
			if c.Faulty.Values[i] != c.Twin.Values[i] {
				differ++
				assert.GreaterOrEqual(t, i, c.Faulty.Start, f)
			}
		}
		assert.Positive(t, differ, f)
		assert.Less(t, c.Faulty.Start, c.Faulty.End, f)
		assert.GreaterOrEqual(t, c.Faulty.Times[c.Faulty.Start].Sub(c.Faulty.Times[0]), 8*24*time.Hour, f)
	}
}

// TestSeedsAreReproducible: a seed gives the same series every time, another seed others.
func TestSeedsAreReproducible(t *testing.T) {
	a, _ := makeCase(1, CPU, Spike, 5*time.Minute)
	b, _ := makeCase(1, CPU, Spike, 5*time.Minute)
	c, _ := makeCase(2, CPU, Spike, 5*time.Minute)
	assert.Equal(t, a.Faulty.Values, b.Faulty.Values)
	assert.NotEqual(t, a.Faulty.Values[:100], c.Faulty.Values[:100])
}

// TestGapsAndRestartsLeavePointsOut: a gappy series misses points, a counter misses the point of each restart.
func TestGapsAndRestartsLeavePointsOut(t *testing.T) {
	n := int(Days * 24 * time.Hour / time.Minute)
	for _, k := range []Kind{Gappy, Counter} {
		s := generate(k, time.Minute, epoch, n, rngOf(3, string(k))).series()
		assert.Less(t, len(s.Times), n, k)
		assert.Greater(t, len(s.Times), n*9/10, k)
	}
}

// TestRunCountsDetectionsChanceAndFalseAlarms: an alarm at each fault's first point is a detection in no time and
// no chance; alarms on every seventh point (35 minutes apart) are every twin by chance and, on the controls, 288/7
// false alarms a day.
func TestRunCountsDetectionsChanceAndFalseAlarms(t *testing.T) {
	var cases []Case
	for _, f := range []Fault{Spike, Ramp} {
		c, ok := makeCase(1, Latency, f, 5*time.Minute)
		require.True(t, ok)
		cases = append(cases, c)
	}
	controls := []Series{generate(CPU, 5*time.Minute, epoch, int(Days*24*time.Hour/(5*time.Minute)), rngOf(1, "c")).series()}
	atStart := Run(cases, controls, func(s *Series) []string {
		out := make([]string, len(s.Times))
		if s.Fault != "" {
			out[s.Start] = "value"
		}
		return out
	})
	assert.Equal(t, 1.0, rate(atStart, Spike, func(o Outcome) bool { return o.Detected && o.Points == 0 }))
	assert.Equal(t, 0.0, rate(atStart, Ramp, func(o Outcome) bool { return o.Chance }))
	week1, late, n := atStart.FalseAlarms(func(ControlOutcome) bool { return true })
	assert.Equal(t, []float64{0, 0}, []float64{week1, late})
	assert.Equal(t, 1, n)

	always := Run(cases, controls, func(s *Series) []string {
		out := make([]string, len(s.Times))
		for i := 0; i < len(out); i += 7 {
			out[i] = "level"
		}
		return out
	})
	assert.Equal(t, 1.0, rate(always, Ramp, func(o Outcome) bool { return o.Chance }))
	week1, late, _ = always.FalseAlarms(func(ControlOutcome) bool { return true })
	assert.InDelta(t, 288.0/7, week1, 0.5)
	assert.InDelta(t, 288.0/7, late, 0.5)
	assert.Contains(t, always.Markdown(), "| spike | 5 points | 1 |")
	sweep := Sweep("alarm_budget", []string{"a", "b"}, []Report{atStart, always})
	assert.Contains(t, sweep, "| a | 0.000 | **0.000** | 100 % | – | – | – | – | – | 100 % | – |")
	assert.Contains(t, sweep, "| b | 41.143 | **41.163** |")
}

// TestEpisodesMergeCloseAlarms: alarms within Merge of the last alarm point are the same alarm.
func TestEpisodesMergeCloseAlarms(t *testing.T) {
	times := make([]time.Time, 10)
	for i := range times {
		times[i] = epoch.Add(time.Duration(i) * 20 * time.Minute)
	}
	alarms := []string{"value", "", "value", "", "", "level", "level", "level", "", ""}
	assert.Equal(t, []int{0, 2, 5}, Episodes(times, alarms))
}

// rate returns the share of the cases of a fault that keep selects.
func rate(r Report, f Fault, keep func(Outcome) bool) float64 {
	var of []Outcome
	for _, o := range r.Cases {
		if o.Fault == f {
			of = append(of, o)
		}
	}
	if len(of) == 0 {
		return 0
	}
	return float64(count(of, keep)) / float64(len(of))
}
