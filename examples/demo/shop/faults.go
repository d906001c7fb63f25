package main

import (
	"context"
	"encoding/json"
	"fmt"
	"net/http"
	"slices"
	"sync"
	"time"

	otellog "go.opentelemetry.io/otel/log"
)

// fault is an injected fault: its kind, the peer it concerns (timeout), its strength and when it ends.
//
//	latency  value: seconds added to each request the service answers
//	errors   value: share of requests answered 500
//	cpu      value: goroutines spinning in the process (each service runs on one CPU: 1 starves it)
//	leak     value: MiB a second the process allocates and keeps
//	timeout  target: the peer whose calls hang until the client's 2 s timeout
//	decline  value: share of payments declined (business failure: no technical error)
type fault struct {
	Kind   string    `json:"kind"`
	Target string    `json:"target,omitempty"`
	Value  float64   `json:"value,omitempty"`
	For    string    `json:"for"`
	Until  time.Time `json:"until"`
}

var faultKinds = []string{"latency", "errors", "cpu", "leak", "timeout", "decline"}

func (f *fault) validate() error {
	if !slices.Contains(faultKinds, f.Kind) {
		return fmt.Errorf("kind %q: want one of %v", f.Kind, faultKinds)
	}
	d, err := time.ParseDuration(f.For)
	if err != nil || d <= 0 {
		return fmt.Errorf("for %q: want a positive duration", f.For)
	}
	f.Until = time.Now().Add(d)
	switch f.Kind {
	case "timeout":
		if !slices.Contains(services, f.Target) {
			return fmt.Errorf("target %q: want one of %v", f.Target, services)
		}
	case "errors", "decline":
		if f.Value <= 0 || f.Value > 1 {
			return fmt.Errorf("value %g: want a share in (0, 1]", f.Value)
		}
	default:
		if f.Value <= 0 {
			return fmt.Errorf("value %g: want a positive number", f.Value)
		}
	}
	return nil
}

type faults struct {
	mu   sync.Mutex
	list []fault
}

func newFaults() *faults { return &faults{} }

// value is the strength of the active fault of that kind (and target), 0 when none.
func (f *faults) value(kind, target string) float64 {
	f.mu.Lock()
	defer f.mu.Unlock()
	now := time.Now()
	for _, x := range f.list {
		if x.Kind == kind && x.Target == target && now.Before(x.Until) {
			return max(x.Value, 1e-9)
		}
	}
	return 0
}

func (f *faults) active(kind, target string) bool { return f.value(kind, target) > 0 }

// routes serves /admin/faults: POST a fault, GET the active ones, DELETE them all.
func (f *faults) routes(mux *http.ServeMux, s *service) {
	mux.HandleFunc("POST /admin/faults", func(w http.ResponseWriter, r *http.Request) {
		var x fault
		if err := json.NewDecoder(r.Body).Decode(&x); err != nil {
			http.Error(w, "fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		if err := x.validate(); err != nil {
			http.Error(w, "fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		f.mu.Lock()
		f.list = append(f.list, x)
		f.mu.Unlock()
		s.tel.log(context.Background(), otellog.SeverityWarn, "fault injected: "+x.Kind, otellog.String("fault.kind", x.Kind))
		ctx, cancel := context.WithDeadline(context.Background(), x.Until)
		switch x.Kind {
		case "cpu":
			for range int(x.Value) {
				go spin(ctx)
			}
		case "leak":
			go s.leakMemory(ctx, x.Value)
		}
		time.AfterFunc(time.Until(x.Until), cancel)
		_ = writeJSON(w, x)
	})
	mux.HandleFunc("GET /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		defer f.mu.Unlock()
		active := []fault{}
		for _, x := range f.list {
			if time.Now().Before(x.Until) {
				active = append(active, x)
			}
		}
		_ = writeJSON(w, active)
	})
	mux.HandleFunc("DELETE /admin/faults", func(w http.ResponseWriter, _ *http.Request) {
		f.mu.Lock()
		for i := range f.list {
			f.list[i].Until = time.Now()
		}
		f.mu.Unlock()
		w.WriteHeader(http.StatusNoContent)
	})
}

// spin keeps a CPU busy until ctx ends.
func spin(ctx context.Context) {
	for ctx.Err() == nil {
		work()
	}
}

// leakMemory allocates mib MiB a second and keeps it until ctx ends; then it is let go.
func (s *service) leakMemory(ctx context.Context, mib float64) {
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			s.faults.mu.Lock()
			s.leak = nil
			s.faults.mu.Unlock()
			return
		case <-tick.C:
			b := make([]byte, int(mib*(1<<20)/10))
			for i := range b {
				b[i] = byte(i)
			}
			s.faults.mu.Lock()
			s.leak = append(s.leak, b)
			s.faults.mu.Unlock()
		}
	}
}
