package bench

import (
	"context"
	"sync"
	"time"
)

// paced calls do from workers goroutines until ctx ends, at most perSecond calls a second in all (0: back to back),
// and returns when all have stopped.
func paced(ctx context.Context, workers int, perSecond float64, do func()) {
	var tick <-chan time.Time
	if perSecond > 0 {
		ticker := time.NewTicker(time.Duration(float64(time.Second) / perSecond))
		defer ticker.Stop()
		tick = ticker.C
	}
	var wg sync.WaitGroup
	for range workers {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for ctx.Err() == nil {
				if tick != nil {
					select {
					case <-ctx.Done():
						return
					case <-tick:
					}
				}
				do()
			}
		}()
	}
	wg.Wait()
}
