package anomaly

import (
	"math"
	"math/rand/v2"
	"slices"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// daily returns n points a minute apart of a daily pattern (100 to 300) with normal noise of deviation 5.
func daily(n int, seed uint64) []float64 {
	v := noise(n, 0, 5, seed)
	for i := range v {
		v[i] += 200 - 100*math.Cos(2*math.Pi*float64(i%1440)/1440)
	}
	return v
}

// alarms returns the view of each point's alarm ("" for none), a point a minute.
func alarms(d *Detector, values []float64) []string {
	out := make([]string, len(values))
	for i, v := range values {
		out[i] = d.Update(t0.Add(time.Duration(i)*time.Minute), v).View
	}
	return out
}

// TestAlarmIsQuietOnNoise: ten days of a daily pattern with normal noise raise no alarm after the first day, at
// the default budget (0.01 a day).
func TestAlarmIsQuietOnNoise(t *testing.T) {
	for seed := uint64(1); seed <= 3; seed++ {
		views := alarms(New(DefaultConfig()), daily(10*1440, seed))
		raised := 0
		for _, v := range views[1440:] {
			if v != "" {
				raised++
			}
		}
		assert.Zero(t, raised, "seed %d", seed)
	}
}

// TestAlarmViews: a spike, a shift, wider noise and a stuck value, each in its own copy of the series on day 8,
// are each found by its view within a few points, which raised nothing the day before.
func TestAlarmViews(t *testing.T) {
	at := 8*1440 + 600
	for _, c := range []struct {
		view   string
		within int
		fault  func(v []float64)
	}{
		{ViewValue, 1, func(v []float64) { v[at] += 60 }},
		{ViewLevel, 5, func(v []float64) {
			for i := at; i < at+60; i++ {
				v[i] += 20
			}
		}},
		{ViewVariance, 60, func(v []float64) {
			for i := at; i < at+60; i++ {
				v[i] += 3 * (v[i] - v[i-1440]) // the noise of two days, three times over: about 4 times as wide
			}
		}},
		{ViewFlatline, 8, func(v []float64) {
			for i := at; i < at+60; i++ {
				v[i] = v[at-1]
			}
		}},
	} {
		v := daily(at+120, 4)
		c.fault(v)
		views := alarms(New(DefaultConfig()), v)
		if c.view == ViewVariance {
			// wider noise is found by the variance or by a far value, whichever passes its threshold first (the
			// value view is named when both do); a first far value alone is not the noise found
			assert.True(t, slices.ContainsFunc(views[at+1:at+c.within], func(v string) bool {
				return v == ViewVariance || v == ViewValue
			}), "wider noise: %q", views[at:at+c.within])
		} else {
			assert.Contains(t, views[at:at+c.within], c.view)
		}
		assert.NotContains(t, views[at-1440:at], c.view, "the day before")
	}
}

// TestRiskFollowsTheResolution: the risk per point is the budget over the points a day the series has; a gap
// moves the measured interval by at most four times its value.
func TestRiskFollowsTheResolution(t *testing.T) {
	var a alarm
	var perDay float64
	for i := range 100 {
		perDay = a.pace(t0.Add(time.Duration(i) * 10 * time.Second))
	}
	assert.InDelta(t, 8640, perDay, 1)
	assert.InDelta(t, 0.01/8640, riskPerPoint(0.01, perDay, 3e-3), 1e-12)
	perDay = a.pace(t0.Add(3 * time.Hour)) // a gap of hours
	assert.InDelta(t, 86400/(10*(1+0.05*3)), perDay, 1)
	assert.Equal(t, 3e-3, riskPerPoint(0.01, 0, 3e-3))
}

// TestAlarmLearnsTheDaysHabits: a batch job that lifts the series by 4 deviations for 20 minutes at a different time
// each day passes the level view's limit every day. It may alarm in the first days; once the alarm has learned how
// far its views go in a day, it stays quiet, and a larger fault (a lift three times as high) is still found.
func TestAlarmLearnsTheDaysHabits(t *testing.T) {
	r := rand.New(rand.NewPCG(14, 1))
	v := daily(12*1440, 14)
	lift := func(at int, by float64) {
		for i := at; i < at+20; i++ {
			v[i] += by
		}
	}
	for day := range 12 {
		lift(day*1440+60+r.IntN(1300), 20)
	}
	at := 10*1440 + 900
	lift(at, 60)
	cfg := DefaultConfig()
	cfg.AlarmAfter = 0 // armed from the warm-up on
	views := alarms(New(cfg), v)
	count := func(from, to int) (n int) {
		for _, view := range views[from:to] {
			if view != "" {
				n++
			}
		}
		return n
	}
	assert.NotZero(t, count(1440, 4*1440), "the habit alarms before it is learned")
	assert.Zero(t, count(5*1440, at), "learned: no alarm")
	assert.NotZero(t, count(at, at+20), "the larger fault")
}

// TestAlarmCountsWholeThings: a count of rare events (0.05 a minute, mostly zero) is measured in deviations of at
// least half an event, so a single event is not an anomaly; eight at once is, and so is a count of ready pods that
// never moved dropping by one.
func TestAlarmCountsWholeThings(t *testing.T) {
	r := rand.New(rand.NewPCG(15, 1))
	rare := make([]float64, 10*1440)
	for i := range rare {
		if r.Float64() < 0.05 {
			rare[i] = 1
		}
	}
	at := 9 * 1440
	rare[at] = 8
	cfg := DefaultConfig()
	cfg.AlarmAfter = 0 // armed from the warm-up on
	views := alarms(New(cfg), rare)
	raised := 0
	for _, v := range views[:at] {
		if v != "" {
			raised++
		}
	}
	assert.LessOrEqual(t, raised, 1, "single events, from the first day")
	assert.Equal(t, ViewValue, views[at], "eight at once")

	pods := make([]float64, 3*1440)
	for i := range pods {
		pods[i] = 3
	}
	at = 2*1440 + 600
	for i := at; i < at+60; i++ {
		pods[i] = 2
	}
	views = alarms(New(cfg), pods)
	assert.Equal(t, make([]string, at), views[:at], "no alarm before")
	assert.NotEqual(t, "", views[at], "one pod fewer")
}

// TestAlarmWaitsToBeArmed: a series raises no alarm before AlarmAfter, by default two days; its views learn all the
// same.
func TestAlarmWaitsToBeArmed(t *testing.T) {
	spiked := func(at int) []float64 {
		v := daily(3*1440, 16)
		v[at] += 60
		return v
	}
	assert.Equal(t, "", alarms(New(DefaultConfig()), spiked(600))[600], "not armed yet")
	assert.Equal(t, ViewValue, alarms(New(DefaultConfig()), spiked(2*1440+600))[2*1440+600], "armed")
	cfg := DefaultConfig()
	cfg.AlarmAfter = 0
	assert.Equal(t, ViewValue, alarms(New(cfg), spiked(600))[600], "armed from the warm-up on")
}

// TestAlarmOnARareFailure: the 5-second availability of a service with few requests (one to three a point) is 1
// but for a failed request now and then (one in 200); three days of it raise no alarm once armed, and a fault
// failing a third of the requests is found within three minutes (36 points: at a few requests a point the fault
// shows as a run of points with a failure, not as one far point).
func TestAlarmOnARareFailure(t *testing.T) {
	const day = 86400 / 5
	for seed := uint64(1); seed <= 3; seed++ {
		rng := rand.New(rand.NewPCG(seed, 7))
		d := New(DefaultConfig())
		at := 3*day + day/3
		raised, found := 0, -1
		for i := 0; i < at+120; i++ {
			fail := 0.005
			if i >= at {
				fail = 0.35
			}
			n, ok := 1+rng.IntN(3), 0
			for range n {
				if rng.Float64() >= fail {
					ok++
				}
			}
			view := d.Update(t0.Add(time.Duration(i)*5*time.Second), float64(ok)/float64(n)).View
			switch {
			case view != "" && i < at:
				raised++
			case view != "" && found < 0:
				found = i - at
			}
		}
		assert.Zero(t, raised, "seed %d: alarms before the fault", seed)
		assert.True(t, found >= 0 && found < 36, "seed %d: the fault found %d points after it began", seed, found)
	}
}

// TestSlowProfileKnotFromItsNeighbour: a failed point exactly at a knot of the slow profile, the first to meet the
// next knot, does not pull the profile towards it for the next half hour.
func TestSlowProfileKnotFromItsNeighbour(t *testing.T) {
	p := &seasonalProfile{}
	slowRate := 0.1 * 48 / (86400 / 5)
	at := t0.Add(4*time.Hour + 30*time.Minute)
	for ; at.Before(t0.Add(5 * time.Hour)); at = at.Add(5 * time.Second) {
		p.update(at, 1, 0.1, slowRate)
	}
	p.update(at, 0, 0.1, slowRate) // 05:00:00, a knot: the one at 05:30 is met for the first time
	for range 120 {
		at = at.Add(5 * time.Second)
		p.update(at, 1, 0.1, slowRate)
	}
	m, ok := p.expectSlow(at)
	require.True(t, ok)
	assert.InDelta(t, 1, m, 0.01, "10 minutes after the knot")
}
