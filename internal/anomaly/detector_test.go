package anomaly

import (
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 1, 5, 0, 0, 0, 0, time.UTC)

// feed runs values through a detector, one a minute, and returns the scores.
func feed(d *Detector, values []float64) []float64 {
	out := make([]float64, len(values))
	for i, v := range values {
		out[i] = d.Update(t0.Add(time.Duration(i)*time.Minute), v).Score
	}
	return out
}

func noise(n int, mean, sd float64, seed uint64) []float64 {
	r := rand.New(rand.NewPCG(seed, 1))
	v := make([]float64, n)
	for i := range v {
		v[i] = mean + sd*r.NormFloat64()
	}
	return v
}

func maxOf(s []float64) float64 {
	m := 0.0
	for _, x := range s {
		m = math.Max(m, x)
	}
	return m
}

// records marks the values beyond the range of every value before them by more than the default margin of it, once
// 200 values were seen: those the range view scores.
func records(values []float64) []bool {
	margin := DefaultConfig().RangeMargin
	out := make([]bool, len(values))
	lo, hi, n := math.Inf(1), math.Inf(-1), 0
	for i, v := range values {
		if math.IsNaN(v) || math.IsInf(v, 0) {
			continue
		}
		out[i] = n >= 200 && (v > hi+margin*(hi-lo) || v < lo-margin*(hi-lo))
		lo, hi, n = math.Min(lo, v), math.Max(hi, v), n+1
	}
	return out
}

// maxBut is the highest score from index from on, records excepted.
func maxBut(scores []float64, record []bool, from int) float64 {
	m := 0.0
	for i := from; i < len(scores); i++ {
		if !record[i] {
			m = math.Max(m, scores[i])
		}
	}
	return m
}

func TestWarmUpScoresNothing(t *testing.T) {
	d := New(DefaultConfig())
	scores := feed(d, append(noise(50, 10, 1, 1), 1000))
	assert.Zero(t, maxOf(scores), "no anomaly during warm-up, even for a wild value")
}

// TestSpikeScoresHigh: a far value in noise is anomalous, even right after a detection of another kind; the noise
// itself is anomalous about as often as the risk says (the sequence memory finds a move never seen now and then).
func TestSpikeScoresHigh(t *testing.T) {
	cfg := DefaultConfig()
	d := New(cfg)
	values := noise(2000, 100, 5, 2)
	values[1500] = 160 // 12 sigmas
	scores := feed(d, values)
	assert.Greater(t, scores[1500], 0.999, "the spike")
	detections := 0
	for _, s := range scores[200:1500] {
		if s >= 1-cfg.Risk {
			detections++
		}
	}
	assert.LessOrEqual(t, float64(detections)/1300, 3*cfg.Risk, "the noise")

	cfg.Sequence = false
	scores = feed(New(cfg), values)
	assert.Less(t, maxOf(scores[200:1500]), scores[1500], "without the sequence memory, nothing before the spike scores as high")
}

// TestBrokenRhythm: a series that alternates between two levels, with noise, is normal to every view; one step out
// of the rhythm (low twice in a row) is a move the sequence memory never saw, though its value is ordinary.
func TestBrokenRhythm(t *testing.T) {
	values := noise(3000, 0, 0.5, 9)
	for i := range values {
		if i%2 == 1 {
			values[i] += 10
		}
	}
	values[2501] -= 10 // low, after low
	cfg := DefaultConfig()
	scores := feed(New(cfg), values)
	assert.Greater(t, scores[2501], 0.999, "the broken rhythm")
	assert.Equal(t, scores[2501], maxBut(scores, records(values), 1000), "and nothing else after the first thousand points but values beyond the range")

	cfg.Sequence = false
	scores = feed(New(cfg), values)
	assert.Less(t, scores[2501], 0.99, "the values alone do not show it")
}

// TestTheWayBackIsNotAnAnomaly: a point closer to the expected value than the one before is not strange for the
// size of its move; that move is the spike before it ending. Each point's own score (no holdoff): after 28 spikes of
// 12 sigmas, 2 of the points back score at the alarm level (9 if the move back counted as the difference view's).
func TestTheWayBackIsNotAnAnomaly(t *testing.T) {
	values := noise(3000, 10, 1, 21)
	for i := 300; i < len(values); i += 97 {
		values[i] += 12
	}
	cfg := DefaultConfig()
	cfg.Holdoff = 0
	scores := feed(New(cfg), values)
	var back []float64
	for i := 300; i < len(values); i += 97 {
		back = append(back, scores[i+1])
	}
	assert.LessOrEqual(t, detections(back, cfg.Risk), 3.0, "the points after the spikes: %.4f", back)
}

// TestClimbIsReportedAsItGoes: a leak, a plateau and then a climb of 10 sigmas a point. Its first step scores 1
// (beyond every tail the model knows), which no later point can pass; the holdoff lets the new records through that
// are strange by the tail too, so the climb is reported on more than its first point: 3 of its first 4 (the demo's
// memory leak, three strong points in a minute, opens an incident); 1 if the holdoff held them all.
func TestClimbIsReportedAsItGoes(t *testing.T) {
	values := noise(600, 100, 1, 22)
	for i := 1; i <= 20; i++ {
		values = append(values, 200+10*float64(i)+noise(1, 0, 1, uint64(30+i))[0])
	}
	scores := feed(New(DefaultConfig()), values)
	strong := 0
	for _, s := range scores[600:612] {
		if s >= 0.999 {
			strong++
		}
	}
	assert.GreaterOrEqual(t, strong, 3, "the first 12 points of the climb: %.4f", scores[600:612])
}

func TestLevelShiftIsReportedOnceAndLearned(t *testing.T) {
	cfg := DefaultConfig()
	values := append(noise(1500, 100, 5, 3), noise(1500, 160, 5, 4)...)
	scores := feed(New(cfg), values)
	assert.Greater(t, maxOf(scores[1500:1510]), 0.999, "the shift is seen when it happens")
	assert.LessOrEqual(t, detections(scores[2000:], cfg.Risk), 2*cfg.Risk*1000, "the new level is normal once learned")
}

// detections counts the scores at the alarm level, 1 - risk.
func detections(scores []float64, risk float64) float64 {
	n := 0.0
	for _, s := range scores {
		if s >= 1-risk {
			n++
		}
	}
	return n
}

// TestBeyondTheRange: a slow drift to a level never seen, no point of it far from the one before, is anomalous when
// it leaves the range seen; on noise, values beyond the range are few (about 2·ln(n/200) records in n points, fewer
// beyond the margin).
func TestBeyondTheRange(t *testing.T) {
	r := rand.New(rand.NewPCG(13, 1))
	values := make([]float64, 3000)
	for i := range values {
		values[i] = 100 + 20*(r.Float64()-0.5) // bounded noise: its range is soon known
		if i >= 2000 {
			values[i] += 0.02 * float64(i-2000) // a drift of a thousandth of the range a point
		}
	}
	cfg := DefaultConfig()
	cfg.Holdoff = 0
	scores := feed(New(cfg), values)
	rec := records(values)
	first := 0
	for i := 2000; i < 3000 && first == 0; i++ {
		if rec[i] {
			first = i
		}
	}
	require.NotZero(t, first, "the drift leaves the range")
	assert.Greater(t, scores[first], 1-cfg.Risk, "when it leaves the range")
	cfg.RangeMargin, cfg.Sequence = 0, false
	assert.Less(t, feed(New(cfg), values)[first], 0.99, "which the baselines do not show")

	// On noise the whole ensemble stays near its risk: 44 detections in 10,000 points on average over ten series
	// (the extreme-value threshold alone: 21; with the range, without the sequence memory: 24), against 30 for the
	// risk.
	cfg = DefaultConfig()
	assert.LessOrEqual(t, detections(feed(New(cfg), noise(10000, 100, 5, 14)), cfg.Risk), 2*cfg.Risk*10000, "detections on noise")
}

// TestDailyPatternIsNormal: a daily sine wave is normal once learned (detections at about the configured risk, no
// more); a value normal for another time of day is the strangest point of its day.
func TestDailyPatternIsNormal(t *testing.T) {
	cfg := DefaultConfig()
	cfg.Holdoff = 0 // every point's own score
	d := New(cfg)
	var values []float64
	r := rand.New(rand.NewPCG(5, 1))
	for i := range 5 * 1440 {
		values = append(values, 100+50*math.Sin(2*math.Pi*float64(i)/1440)+r.NormFloat64())
	}
	noon := 4*1440 + 360 // the peak of day 5 (value ~150) gets the trough's value
	values[noon] = 50
	scores := feed(d, values)
	detections := 0
	for _, s := range scores[2*1440 : 4*1440] {
		if s >= 1-cfg.Risk {
			detections++
		}
	}
	assert.LessOrEqual(t, float64(detections)/(2*1440), 3*cfg.Risk, "the pattern itself is normal")
	assert.Greater(t, scores[noon], 1-cfg.Risk, "a trough value at the peak's time is not")
	assert.Equal(t, scores[noon], maxOf(scores[4*1440:]), "and it is the strangest of its day")
}

// TestWeeklyPattern: busy weekdays and quiet weekends (a daily wave on both) are normal once a few weeks were seen,
// the weekend's drop included; a Saturday as busy as a weekday is not, though a weekday's values are ordinary.
func TestWeeklyPattern(t *testing.T) {
	cfg := DefaultConfig()
	d := New(cfg)
	r := rand.New(rand.NewPCG(12, 1))
	const perDay = 144 // a point every 10 minutes; t0 is a Monday
	busySaturday := 5*7 + 5
	var scores []float64
	for i := range 6 * 7 * perDay {
		day := i / perDay
		base := 100.0
		if day%7 >= 5 && day != busySaturday {
			base = 60
		}
		v := base + 20*math.Sin(2*math.Pi*float64(i%perDay)/perDay) + 2*r.NormFloat64()
		scores = append(scores, d.Update(t0.Add(time.Duration(i)*10*time.Minute), v).Score)
	}
	detections := 0
	for _, day := range []int{3*7 + 5, 3*7 + 6, 4*7 + 5, 4*7 + 6} { // the weekends of weeks 4 and 5
		for _, s := range scores[day*perDay : (day+1)*perDay] {
			if s >= 1-cfg.Risk {
				detections++
			}
		}
	}
	assert.LessOrEqual(t, detections, 2, "quiet weekends are normal")
	assert.Greater(t, maxOf(scores[busySaturday*perDay:(busySaturday+1)*perDay]), 1-cfg.Risk, "a busy Saturday is not")
}

// TestNaNIsNotLearned: NaN and infinities score 0 and leave the model as it was: the points after them score as
// they would have without them.
func TestNaNIsNotLearned(t *testing.T) {
	values := noise(500, 10, 1, 6)
	clean := New(DefaultConfig())
	feed(clean, values[:300])
	values[300], values[301] = math.NaN(), math.Inf(1)
	d := New(DefaultConfig())
	scores := feed(d, values[:302])
	assert.Zero(t, scores[300])
	assert.Zero(t, scores[301])
	for i := 302; i < len(values); i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		assert.Equal(t, clean.Update(at, values[i]), d.Update(at, values[i]), "point %d", i)
	}
}

func BenchmarkUpdate(b *testing.B) {
	d := New(DefaultConfig())
	values := noise(4096, 100, 5, 7)
	i := 0
	for b.Loop() {
		d.Update(t0.Add(time.Duration(i)*time.Minute), values[i&4095])
		i++
	}
}

// TestStateRoundTrip: a detector restored from its saved model scores the rest of a series exactly as the one that
// kept running.
func TestStateRoundTrip(t *testing.T) {
	values := noise(3000, 100, 5, 8)
	values[2500] = 170
	cfg := DefaultConfig() // every part of the model
	a := New(cfg)
	feed(a, values[:2000])
	state, err := a.MarshalBinary()
	assert.NoError(t, err)
	b := New(cfg)
	assert.NoError(t, b.UnmarshalBinary(state))
	for i := 2000; i < 3000; i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		assert.Equal(t, a.Update(at, values[i]), b.Update(at, values[i]), "point %d", i)
	}
	assert.Error(t, New(cfg).UnmarshalBinary(state[:10]))
	assert.Error(t, New(cfg).UnmarshalBinary(state[:len(state)-8]), "a truncated sequence memory")
	assert.Error(t, New(cfg).UnmarshalBinary([]byte{9, 0, 0, 0}))
	assert.Error(t, New(cfg).UnmarshalBinary(append(state, 0)), "bytes too many")
	off := cfg
	off.Sequence = false
	assert.NoError(t, New(off).UnmarshalBinary(state), "a memory saved with the sequence on, read with it off")
}

// TestStateOfVersion1: a model saved before the weekly profile and the sequence memory existed is restored, those
// starting empty: the series goes on being scored by what was learned, not from the start.
func TestStateOfVersion1(t *testing.T) {
	values := noise(3000, 100, 5, 10)
	cfg := DefaultConfig()
	cfg.Sequence = false
	a := New(cfg)
	feed(a, values[:2000])
	state, err := a.MarshalBinary()
	assert.NoError(t, err)
	state = state[:len(state)-alarmStateLen]
	// version 1: without the holdoff's value part (8 bytes), the weekly profile (40), the range (12) and the sequence
	// memory's flag
	v1 := append([]byte{1, 0, 0, 0}, state[4:len(state)-64]...)
	b := New(DefaultConfig())
	assert.NoError(t, b.UnmarshalBinary(v1))
	r := b.Update(t0.Add(2000*time.Minute), values[2000])
	assert.True(t, r.Warm, "warm, not learning again")
	assert.InDelta(t, 100, r.Expected, 10)
}

// alarmStateLen is the size of what follows the sequence memory: the alarm's state and the slow profile (version 4)
// and dayStateLen, what versions 5 and 6 added (the days' largest values of the alarm's views and the time of the
// first point; the mean square residual, msStateLen).
const (
	msStateLen    = 4
	dayStateLen   = 9*4 + 4 + 8 + msStateLen
	alarmStateLen = 8 + 15*4 + 4 + 48*4 + dayStateLen
)

// TestStateOfVersion3: a model saved before the alarm is restored, the alarm starting empty; it learns the interval
// again and alarms after a point.
func TestStateOfVersion3(t *testing.T) {
	values := daily(3*1440, 12)
	a := New(DefaultConfig())
	alarms(a, values[:2*1440])
	state, err := a.MarshalBinary()
	require.NoError(t, err)
	v3 := append([]byte{3, 0, 0, 0}, state[4:len(state)-alarmStateLen]...)
	b := New(DefaultConfig())
	require.NoError(t, b.UnmarshalBinary(v3))
	assert.Equal(t, newAlarm(), b.alarm)
	c := New(DefaultConfig())
	require.NoError(t, c.UnmarshalBinary(state))
	assert.Equal(t, a.alarm, c.alarm, "the current version keeps the alarm")
}

// TestStateOfVersion4: a model saved before the days' largest values of the alarm's views and its arming is restored
// with the rest of the alarm, the largest values starting empty and the alarm armed.
func TestStateOfVersion4(t *testing.T) {
	values := daily(4*1440, 13)
	a := New(DefaultConfig())
	alarms(a, values[:3*1440+100])
	require.NotZero(t, a.alarm.days)
	state, err := a.MarshalBinary()
	require.NoError(t, err)
	v4 := append([]byte{4, 0, 0, 0}, state[4:len(state)-dayStateLen]...)
	b := New(DefaultConfig())
	require.NoError(t, b.UnmarshalBinary(v4))
	want := a.alarm
	want.dayMax, want.maxMean, want.maxDev, want.days, want.dayPoints = [3]float32{}, [3]float32{}, [3]float32{}, 0, 0
	want.since = 1 // armed long ago
	want.ms = float32(math.Pow(1.2533*float64(want.mae), 2))
	assert.Equal(t, want, b.alarm)
	c := New(DefaultConfig())
	require.NoError(t, c.UnmarshalBinary(state))
	assert.Equal(t, a.alarm, c.alarm, "version 5 keeps them")
}

// TestStateOfVersion5: a model saved before the alarm's mean square residual is restored with the rest of the
// alarm, the mean square starting as a normal residual's of the alarm's scale.
func TestStateOfVersion5(t *testing.T) {
	a := New(DefaultConfig())
	alarms(a, daily(2*1440, 14))
	state, err := a.MarshalBinary()
	require.NoError(t, err)
	v5 := append([]byte{5, 0, 0, 0}, state[4:len(state)-msStateLen]...)
	b := New(DefaultConfig())
	require.NoError(t, b.UnmarshalBinary(v5))
	want := a.alarm
	want.ms = float32(math.Pow(1.2533*float64(want.mae), 2))
	assert.Equal(t, want, b.alarm)
	c := New(DefaultConfig())
	require.NoError(t, c.UnmarshalBinary(state))
	assert.Equal(t, a.alarm, c.alarm, "version 6 keeps it")
}

// TestStateOfVersion2: a model saved when the range was kept by the sequence memory, of 6 levels then, restores the
// range (a value beyond it scores as in the detector that kept running) and starts the memory again.
func TestStateOfVersion2(t *testing.T) {
	values := noise(2501, 100, 5, 11)
	values[2500] = maxOf(values[:2500]) + 2 // beyond the range, not far: its score depends on the range's count
	cfg := DefaultConfig()
	a := New(cfg)
	feed(a, values[:2000])
	state, err := a.MarshalBinary()
	require.NoError(t, err)
	state = state[:len(state)-alarmStateLen]
	// version 3 ends with the range (lo, hi, n: 12 bytes), the memory's flag and the memory; version 2 had no range
	// of its own, and its memory (of 6 levels: 112 bytes more) began with lo and hi
	rangeAt := len(state) - 12 - 4 - (4 + 4 + 2*seqContexts + 8*len(a.sequence.moves))
	v2 := append([]byte{2, 0, 0, 0}, state[4:rangeAt]...)
	v2 = append(v2, 1, 0, 0, 0)
	v2 = append(v2, state[rangeAt:rangeAt+8]...)
	v2 = append(v2, make([]byte, 112)...)
	b := New(cfg)
	require.NoError(t, b.UnmarshalBinary(v2))
	assert.Equal(t, a.extent, b.extent, "the range")
	assert.False(t, b.sequence.seen, "the memory starts again")
	require.Error(t, New(cfg).UnmarshalBinary(v2[:len(v2)-1]), "a truncated memory")
	for i := 2000; i < len(values); i++ {
		at := t0.Add(time.Duration(i) * time.Minute)
		ra, rb := a.Update(at, values[i]), b.Update(at, values[i])
		if i == 2500 {
			assert.Equal(t, ra.Score, rb.Score, "the value beyond the range")
		}
	}
}
