// Package clock gives Strata's components their time: the wall clock when they run in a collector, a simulated
// one when history is replayed. Components read the time and run their periodic work only through it, and take it
// from the host they start on (FromHost).
package clock // import "github.com/otelstrata/strata/internal/clock"

import (
	"context"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
)

// Clock tells the time and makes tickers.
type Clock interface {
	Now() time.Time
	NewTicker(d time.Duration) Ticker
}

// Ticker delivers the time on its channel every period until it is stopped, as time.Ticker does.
type Ticker interface {
	Chan() <-chan time.Time
	Stop()
}

// Real is the wall clock.
type Real struct{}

// Now returns the current time.
func (Real) Now() time.Time { return time.Now() }

// NewTicker returns a time.Ticker of period d.
func (Real) NewTicker(d time.Duration) Ticker { return realTicker{time.NewTicker(d)} }

type realTicker struct{ *time.Ticker }

func (t realTicker) Chan() <-chan time.Time { return t.C }

// FromHost returns the clock of the pipeline a component starts in: an extension of the host that is a Clock (a
// replay of history provides one), else otherwise (the component's own: the wall clock, or a test's).
func FromHost(host component.Host, otherwise Clock) Clock {
	if host != nil {
		for _, ext := range host.GetExtensions() {
			if c, ok := ext.(Clock); ok {
				return c
			}
		}
	}
	return otherwise
}

// Manual is a clock that moves only when told (Set, Advance): time in tests and in replays of history. Its
// tickers deliver at most one pending tick, as time.Ticker does, when the clock passes their next tick.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*manualTicker
}

// NewManual returns a manual clock at t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to t (never back) and delivers the ticks due by then.
func (m *Manual) Set(t time.Time) {
	m.mu.Lock()
	defer m.mu.Unlock()
	if t.Before(m.now) {
		return
	}
	m.now = t
	kept := m.tickers[:0]
	for _, tk := range m.tickers {
		if tk.stopped {
			continue
		}
		if !tk.next.After(t) {
			select {
			case tk.c <- t:
			default: // the last tick is still pending: this one is dropped
			}
			for !tk.next.After(t) {
				tk.next = tk.next.Add(tk.period)
			}
		}
		kept = append(kept, tk)
	}
	m.tickers = kept
}

// Advance moves the clock by d.
func (m *Manual) Advance(d time.Duration) { m.Set(m.Now().Add(d)) }

// NewTicker returns a ticker whose first tick is d after the clock's time.
func (m *Manual) NewTicker(d time.Duration) Ticker {
	m.mu.Lock()
	defer m.mu.Unlock()
	tk := &manualTicker{c: make(chan time.Time, 1), period: d, next: m.now.Add(d), clock: m}
	m.tickers = append(m.tickers, tk)
	return tk
}

type manualTicker struct {
	c       chan time.Time
	period  time.Duration
	next    time.Time
	stopped bool // guarded by the clock's mutex
	clock   *Manual
}

func (t *manualTicker) Chan() <-chan time.Time { return t.c }

func (t *manualTicker) Stop() {
	t.clock.mu.Lock()
	t.stopped = true
	t.clock.mu.Unlock()
}

// Task is work run every period.
type Task struct {
	Every time.Duration
	Run   func(ctx context.Context, now time.Time)
}

// Loop runs tasks on their tickers, one at a time, in a goroutine of its own.
type Loop struct {
	cancel context.CancelFunc
	wg     sync.WaitGroup
}

// Start starts a loop that runs each task every its period, never two at once, until Stop.
func Start(c Clock, tasks ...Task) *Loop {
	ctx, cancel := context.WithCancel(context.Background())
	l := &Loop{cancel: cancel}
	type tick struct {
		task int
		now  time.Time
	}
	ticks := make(chan tick)
	for i, task := range tasks {
		ticker := c.NewTicker(task.Every)
		l.wg.Add(1)
		go func() {
			defer l.wg.Done()
			defer ticker.Stop()
			for {
				select {
				case <-ctx.Done():
					return
				case now := <-ticker.Chan():
					select {
					case ticks <- tick{i, now}:
					case <-ctx.Done():
						return
					}
				}
			}
		}()
	}
	l.wg.Add(1)
	go func() {
		defer l.wg.Done()
		for {
			select {
			case <-ctx.Done():
				return
			case t := <-ticks:
				tasks[t.task].Run(ctx, t.now)
			}
		}
	}()
	return l
}

// Stop stops the loop and waits until a task that is running returns. Stop on a nil Loop does nothing.
func (l *Loop) Stop() {
	if l == nil {
		return
	}
	l.cancel()
	l.wg.Wait()
}
