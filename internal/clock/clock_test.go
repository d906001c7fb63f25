package clock

import (
	"context"
	"fmt"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
)

// sendTicker is a ticker whose ticks the test sends.
type sendTicker struct {
	c       chan time.Time
	stopped atomic.Bool
}

func (t *sendTicker) Chan() <-chan time.Time { return t.c }
func (t *sendTicker) Stop()                  { t.stopped.Store(true) }

// sendClock hands out one manual ticker per period.
type sendClock struct {
	tickers map[time.Duration]*sendTicker
}

func (c *sendClock) Now() time.Time { return time.Unix(0, 0) }
func (c *sendClock) NewTicker(d time.Duration) Ticker {
	t := &sendTicker{c: make(chan time.Time)}
	c.tickers[d] = t
	return t
}

func TestLoopRunsEachTaskOnItsTickerOneAtATime(t *testing.T) {
	c := &sendClock{tickers: map[time.Duration]*sendTicker{}}
	var running, overlaps atomic.Int32
	got := make(chan string, 10)
	task := func(name string) func(context.Context, time.Time) {
		return func(_ context.Context, now time.Time) {
			if running.Add(1) > 1 {
				overlaps.Add(1)
			}
			time.Sleep(time.Millisecond)
			got <- name + now.UTC().Format("15:04")
			running.Add(-1)
		}
	}
	l := Start(c, Task{time.Second, task("a")}, Task{time.Minute, task("b")})
	at := func(h, m int) time.Time { return time.Date(2026, 1, 1, h, m, 0, 0, time.UTC) }
	c.tickers[time.Second].c <- at(1, 0)
	c.tickers[time.Minute].c <- at(2, 0)
	c.tickers[time.Second].c <- at(3, 0)
	var names []string
	for range 3 {
		names = append(names, <-got)
	}
	l.Stop()
	assert.ElementsMatch(t, []string{"a01:00", "b02:00", "a03:00"}, names)
	assert.Zero(t, overlaps.Load())
	for _, tk := range c.tickers {
		require.True(t, tk.stopped.Load(), "every ticker is stopped")
	}
}

func TestStopWaitsForTheRunningTask(t *testing.T) {
	var done atomic.Bool
	l := Start(Real{}, Task{time.Millisecond, func(ctx context.Context, _ time.Time) {
		<-ctx.Done()
		time.Sleep(10 * time.Millisecond)
		done.Store(true)
	}})
	time.Sleep(20 * time.Millisecond)
	l.Stop()
	assert.True(t, done.Load())
	var nilLoop *Loop
	nilLoop.Stop()
}

func TestManualTicksWhenItPassesATick(t *testing.T) {
	t0 := time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)
	m := NewManual(t0)
	tk := m.NewTicker(10 * time.Second)
	m.Advance(9 * time.Second)
	select {
	case <-tk.Chan():
		t.Fatal("a tick before its time")
	default:
	}
	m.Advance(25 * time.Second) // passes 10 s and 20 s and 30 s: one tick pending, the rest dropped
	assert.Equal(t, t0.Add(34*time.Second), <-tk.Chan())
	m.Set(t0) // never back
	assert.Equal(t, t0.Add(34*time.Second), m.Now())
	m.Advance(6 * time.Second) // 40 s
	assert.Equal(t, t0.Add(40*time.Second), <-tk.Chan())
	tk.Stop()
	m.Advance(time.Minute)
	select {
	case <-tk.Chan():
		t.Fatal("a tick after Stop")
	default:
	}
}

func TestManualRunsDueTasksAsItMoves(t *testing.T) {
	t0 := time.Unix(0, 0)
	m := NewManual(t0)
	var ran []string
	task := func(name string) func(context.Context, time.Time) {
		return func(_ context.Context, now time.Time) {
			assert.Equal(t, now, m.Now(), "the clock reads the due time while the task runs")
			ran = append(ran, fmt.Sprintf("%s@%d", name, now.Unix()))
		}
	}
	l := Start(m, Task{Every: time.Minute, Run: task("a")}, Task{Every: 90 * time.Second, Run: task("b")})
	m.Advance(59 * time.Second)
	assert.Empty(t, ran)
	m.Advance(4 * time.Minute) // to 299 s: every tick on the way, in time order, none dropped
	assert.Equal(t, []string{"a@60", "b@90", "a@120", "a@180", "b@180", "a@240", "b@270"}, ran)
	assert.Equal(t, t0.Add(299*time.Second), m.Now())
	l.Stop()
	m.Advance(time.Hour)
	assert.Len(t, ran, 7, "nothing runs after Stop")
}

// host is a component.Host with the given extensions.
type host map[component.ID]component.Component

func (h host) GetExtensions() map[component.ID]component.Component { return h }

func TestFromHost(t *testing.T) {
	assert.Equal(t, Real{}, FromHost(nil, Real{}))
	own := NewManual(time.Unix(1, 0))
	assert.Same(t, own, FromHost(host{component.MustNewID("file_storage"): nil}, own))
	m := &manualExtension{NewManual(time.Unix(5, 0))}
	assert.Same(t, m, FromHost(host{component.MustNewID("file_storage"): nil, component.MustNewID("replay"): m}, own))
}

// manualExtension is a manual clock offered as an extension, as a replay of history offers it.
type manualExtension struct{ *Manual }

func (manualExtension) Start(context.Context, component.Host) error { return nil }
func (manualExtension) Shutdown(context.Context) error              { return nil }
