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

// Scheduler is a clock that runs periodic tasks itself. Start hands tasks to it instead of starting goroutines.
type Scheduler interface {
	// Schedule runs each task every its period from now until stop is called.
	Schedule(tasks ...Task) (stop func())
}

// Manual is a clock that moves only when told (Set, Advance): time in tests and in replays of history. It is a
// Scheduler: as it moves it runs every task due on the way, at its due time, in the mover's goroutine, so a replay
// is deterministic. Its tickers deliver at most one pending tick, as time.Ticker does, when the clock passes their
// next tick.
type Manual struct {
	mu      sync.Mutex
	now     time.Time
	tickers []*manualTicker
	tasks   []*scheduled
}

// scheduled is a task of a Manual clock and its next due time.
type scheduled struct {
	task    Task
	next    time.Time
	ctx     context.Context
	stopped bool // guarded by the clock's mutex
}

// NewManual returns a manual clock at t.
func NewManual(t time.Time) *Manual { return &Manual{now: t} }

// Now returns the clock's time.
func (m *Manual) Now() time.Time {
	m.mu.Lock()
	defer m.mu.Unlock()
	return m.now
}

// Set moves the clock to t (never back). On the way it runs each scheduled task due by t at its due time, the
// earliest first, with the clock at that time; then it delivers the tickers' ticks due by t.
func (m *Manual) Set(t time.Time) {
	for m.runNextDue(t) {
	}
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

// runNextDue moves the clock to the earliest task due by t, runs it and reports whether there was one. Tasks due at
// the same time run in the order they were scheduled.
func (m *Manual) runNextDue(t time.Time) bool {
	m.mu.Lock()
	var due *scheduled
	kept := m.tasks[:0]
	for _, s := range m.tasks {
		if s.stopped {
			continue
		}
		kept = append(kept, s)
		if !s.next.After(t) && (due == nil || s.next.Before(due.next)) {
			due = s
		}
	}
	clear(m.tasks[len(kept):])
	m.tasks = kept
	if due == nil {
		m.mu.Unlock()
		return false
	}
	at := due.next
	m.now = at
	due.next = at.Add(due.task.Every)
	m.mu.Unlock()
	due.task.Run(due.ctx, at)
	return true
}

// Schedule runs each task every its period, the first time one period from the clock's time, as the clock moves.
func (m *Manual) Schedule(tasks ...Task) (stop func()) {
	ctx, cancel := context.WithCancel(context.Background())
	m.mu.Lock()
	defer m.mu.Unlock()
	added := make([]*scheduled, len(tasks))
	for i, task := range tasks {
		added[i] = &scheduled{task: task, next: m.now.Add(task.Every), ctx: ctx}
	}
	m.tasks = append(m.tasks, added...)
	return func() {
		cancel()
		m.mu.Lock()
		defer m.mu.Unlock()
		for _, s := range added {
			s.stopped = true
		}
	}
}

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

// Start starts a loop that runs each task every its period, never two at once, until Stop. On a clock that is a
// Scheduler the clock runs the tasks instead.
func Start(c Clock, tasks ...Task) *Loop {
	if s, ok := c.(Scheduler); ok {
		return &Loop{cancel: s.Schedule(tasks...)}
	}
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

// Stop stops the loop and waits until a task that is running in the loop's goroutine returns. Stop on a nil Loop
// does nothing.
func (l *Loop) Stop() {
	if l == nil {
		return
	}
	l.cancel()
	l.wg.Wait()
}
