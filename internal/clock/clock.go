// Package clock gives Strata's components their time: the wall clock when they run in a collector, a simulated
// one when history is replayed. Components read the time and run their periodic work only through it.
package clock // import "github.com/otelstrata/strata/internal/clock"

import (
	"context"
	"sync"
	"time"
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
