package anomaly

import (
	"compress/gzip"
	"encoding/csv"
	"os"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// demoSeries reads testdata/demo.csv.gz: 40 minutes of what the demo's healthy shop reported (`make demo`, recorded
// from the collector's output): the process CPU and memory of its six services and its two KPIs, a point every 5 s.
func demoSeries(t *testing.T) map[string][]demoPoint {
	f, err := os.Open("testdata/demo.csv.gz")
	require.NoError(t, err)
	defer f.Close()
	z, err := gzip.NewReader(f)
	require.NoError(t, err)
	rows, err := csv.NewReader(z).ReadAll()
	require.NoError(t, err)
	series := map[string][]demoPoint{}
	for _, row := range rows[1:] { // series, unix_seconds, value; in time order per series
		at, err := strconv.ParseInt(row[1], 10, 64)
		require.NoError(t, err)
		v, err := strconv.ParseFloat(row[2], 64)
		require.NoError(t, err)
		series[row[0]] = append(series[row[0]], demoPoint{time.Unix(at, 0), v})
	}
	return series
}

type demoPoint struct {
	at    time.Time
	value float64
}

// TestDemoStaysQuiet: the demo's healthy services are near idle, their process CPU a few clock ticks a collection
// and their memory a jittery plateau, the kind of series on which a detector that finds every wiggle new opens
// incidents on a healthy shop. With the demo's warm-up (30 points), no series scores three strong points (0.999)
// within a minute (what opens an incident on one entity); the range view and the sequence memory add a few strong
// points to what the extreme-value view alone scores (23 against 10 in the 40 minutes of 14 series, 6,720 points;
// without the range view's typical-move condition 26); and in the first 200 points of a series the range view says
// nothing: the defaults score exactly as without it.
func TestDemoStaysQuiet(t *testing.T) {
	series := demoSeries(t)
	require.Len(t, series, 14)
	strong := func(cfg Config) (total int) {
		cfg.WarmUp = 30
		for name, points := range series {
			d := New(cfg)
			var at []int // the strong points
			for i, p := range points {
				if d.Update(p.at, p.value).Score < 0.999 {
					continue
				}
				at = append(at, i)
				if n := len(at); n >= 3 {
					assert.Greater(t, at[n-1]-at[n-3], 12, "%s: three strong points within a minute, at %v", name, at[n-3:])
				}
			}
			total += len(at)
		}
		return total
	}
	all := strong(DefaultConfig())
	tailOnly := DefaultConfig()
	tailOnly.Sequence, tailOnly.RangeMargin = false, 0
	alone := strong(tailOnly)
	t.Logf("strong points: %d with the defaults, %d with the extreme-value view alone", all, alone)
	assert.LessOrEqual(t, all, alone+14)

	noRange := DefaultConfig()
	noRange.RangeMargin = 0
	for name, points := range series {
		a, b := New(DefaultConfig()), New(noRange)
		for i, p := range points[:extentAfter] {
			require.Equal(t, b.Update(p.at, p.value), a.Update(p.at, p.value), "%s, point %d", name, i)
		}
	}
}

// TestAlarmIsQuietOnTheDemo: the healthy demo's 14 series raise no alarm, from the end of the demo's warm-up (30
// points) on. The alarm's tail starts as a normal's: learned from nothing, its 98 % quantile was still near zero when
// the warm-up ended, and every process's CPU raised the alarm at once; a constant series (the success ratio, 1) is
// not a flatline, for it never moved.
func TestAlarmIsQuietOnTheDemo(t *testing.T) {
	for name, points := range demoSeries(t) {
		cfg := DefaultConfig()
		cfg.WarmUp = 30
		cfg.AlarmAfter = 0 // armed from the warm-up on, as a short demo needs
		d := New(cfg)
		for i, p := range points {
			r := d.Update(p.at, p.value)
			assert.False(t, r.Alarm, "%s: point %d raised the %s alarm", name, i, r.View)
		}
	}
}
