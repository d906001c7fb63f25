package clock

import (
	"context"
	"sync/atomic"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// manualTicker is a ticker whose ticks the test sends.
type manualTicker struct {
	c       chan time.Time
	stopped atomic.Bool
}

func (t *manualTicker) Chan() <-chan time.Time { return t.c }
func (t *manualTicker) Stop()                  { t.stopped.Store(true) }

// manualClock hands out one manual ticker per period.
type manualClock struct {
	tickers map[time.Duration]*manualTicker
}

func (c *manualClock) Now() time.Time { return time.Unix(0, 0) }
func (c *manualClock) NewTicker(d time.Duration) Ticker {
	t := &manualTicker{c: make(chan time.Time)}
	c.tickers[d] = t
	return t
}

func TestLoopRunsEachTaskOnItsTickerOneAtATime(t *testing.T) {
	c := &manualClock{tickers: map[time.Duration]*manualTicker{}}
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
