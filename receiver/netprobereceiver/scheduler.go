package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"container/heap"
	"context"
	"hash/fnv"
	"time"
)

// scheduler brings each target due on its own interval. A target's first round comes at an offset within its
// interval fixed by a hash of its name, so that thousands of targets spread over the interval instead of firing
// together, and every replica and restart keeps the same phase.
type scheduler struct {
	queue targetHeap
}

func newScheduler(targets []*target, now time.Time) *scheduler {
	s := &scheduler{queue: make(targetHeap, len(targets))}
	for i, t := range targets {
		h := fnv.New64a()
		_, _ = h.Write([]byte(t.cfg.Type + "|" + t.name))
		t.next = now.Add(time.Duration(h.Sum64() % uint64(t.interval)))
		s.queue[i] = t
	}
	heap.Init(&s.queue)
	return s
}

// run calls dispatch for every target when it is due, until ctx ends. A round missed because the process stalled
// is not made up: the next comes one interval after now.
func (s *scheduler) run(ctx context.Context, dispatch func(context.Context, *target)) {
	if len(s.queue) == 0 {
		<-ctx.Done()
		return
	}
	timer := time.NewTimer(time.Until(s.queue[0].next))
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		now := time.Now()
		for !s.queue[0].next.After(now) {
			t := s.queue[0]
			dispatch(ctx, t)
			t.next = t.next.Add(t.interval)
			if !t.next.After(now) {
				t.next = now.Add(t.interval)
			}
			heap.Fix(&s.queue, 0)
		}
		timer.Reset(time.Until(s.queue[0].next))
	}
}

// targetHeap orders targets by when they are due next.
type targetHeap []*target

func (h targetHeap) Len() int           { return len(h) }
func (h targetHeap) Less(i, j int) bool { return h[i].next.Before(h[j].next) }
func (h targetHeap) Swap(i, j int)      { h[i], h[j] = h[j], h[i] }
func (h *targetHeap) Push(x any)        { *h = append(*h, x.(*target)) }
func (h *targetHeap) Pop() any {
	old := *h
	t := old[len(old)-1]
	*h = old[:len(old)-1]
	return t
}
