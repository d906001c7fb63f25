package detectbench

import (
	"github.com/otelstrata/strata/internal/anomaly"
	"github.com/otelstrata/strata/internal/benchdoc"
	"runtime"
	"sort"
	"sync"
	"time"
)

// Alarms returns, for each point of a series, what raised an alarm on it in a fresh detector ("" for no alarm).
type Alarms func(s *Series) []string

// Merge is how close two alarm points of a control are one false alarm: a second alarm within half an hour of the
// last one is the same alarm going on, as Alertmanager would group it.
const Merge = 30 * time.Minute

// Episodes returns the alarms of a series: the indices of alarm points more than Merge after the alarm point
// before them.
func Episodes(times []time.Time, alarms []string) []int {
	var out []int
	var last time.Time
	for i, a := range alarms {
		if a == "" {
			continue
		}
		if last.IsZero() || times[i].Sub(last) > Merge {
			out = append(out, i)
		}
		last = times[i]
	}
	return out
}

// Outcome is what a detector did on one case.
type Outcome struct {
	Kind     Kind
	Fault    Fault
	Step     time.Duration
	Detected bool
	Delay    time.Duration // from the fault's first point to the first alarm in the window
	Points   int           // the same, in points
	Chance   bool          // the twin alarmed in the window
}

// ControlOutcome is what a detector did on one control series.
type ControlOutcome struct {
	Kind        Kind
	Step        time.Duration
	Week1, Late int            // alarms in the first week and after
	Days1, Days float64        // days of each
	Views       map[string]int // the alarms after the first week by what raised them
}

// Report is a detector's result on a suite.
type Report struct {
	Cases    []Outcome
	Controls []ControlOutcome
	Points   int           // points scored
	Busy     time.Duration // time spent scoring, summed over the workers
}

// Run scores alarms on the cases and controls, on every core.
func Run(cases []Case, controls []Series, alarms Alarms) Report {
	var (
		mu  sync.Mutex
		rep Report
		wg  sync.WaitGroup
	)
	jobs := make(chan func() (int, time.Duration))
	for range runtime.GOMAXPROCS(0) {
		wg.Add(1)
		go func() {
			defer wg.Done()
			for job := range jobs {
				n, busy := job()
				mu.Lock()
				rep.Points += n
				rep.Busy += busy
				mu.Unlock()
			}
		}()
	}
	timed := func(s *Series) ([]string, int, time.Duration) {
		start := time.Now()
		a := alarms(s)
		return a, len(s.Times), time.Since(start)
	}
	for i := range cases {
		c := &cases[i]
		jobs <- func() (int, time.Duration) {
			fa, n1, b1 := timed(&c.Faulty)
			ta, n2, b2 := timed(&c.Twin)
			o := outcome(c, fa, ta)
			mu.Lock()
			rep.Cases = append(rep.Cases, o)
			mu.Unlock()
			return n1 + n2, b1 + b2
		}
	}
	for i := range controls {
		s := &controls[i]
		jobs <- func() (int, time.Duration) {
			a, n, busy := timed(s)
			o := controlOutcome(s, a)
			mu.Lock()
			rep.Controls = append(rep.Controls, o)
			mu.Unlock()
			return n, busy
		}
	}
	close(jobs)
	wg.Wait()
	sort.SliceStable(rep.Cases, func(i, j int) bool { return caseOrder(rep.Cases[i]) < caseOrder(rep.Cases[j]) })
	return rep
}

func caseOrder(o Outcome) int {
	for i, f := range Faults {
		if f == o.Fault {
			return i
		}
	}
	return len(Faults)
}

// outcome returns whether the faulty series alarmed in its window, how soon, and whether the twin did.
func outcome(c *Case, faulty, twin []string) Outcome {
	f := &c.Faulty
	o := Outcome{Kind: f.Kind, Fault: f.Fault, Step: f.Step}
	for i := f.Start; i < f.End; i++ {
		if faulty[i] != "" {
			o.Detected, o.Delay, o.Points = true, f.Times[i].Sub(f.Times[f.Start]), i-f.Start
			break
		}
	}
	for i := c.Twin.Start; i < c.Twin.End; i++ {
		if twin[i] != "" {
			o.Chance = true
			break
		}
	}
	return o
}

// controlOutcome counts a control's alarms in its first week and after.
func controlOutcome(s *Series, alarms []string) ControlOutcome {
	o := ControlOutcome{Kind: s.Kind, Step: s.Step, Views: map[string]int{}}
	if len(s.Times) == 0 {
		return o
	}
	first := s.Times[0]
	week := first.Add(7 * 24 * time.Hour)
	for _, i := range Episodes(s.Times, alarms) {
		if s.Times[i].Before(week) {
			o.Week1++
		} else {
			o.Late++
			o.Views[alarms[i]]++
		}
	}
	last := s.Times[len(s.Times)-1]
	o.Days1 = min(7, last.Sub(first).Hours()/24)
	o.Days = max(0, last.Sub(week).Hours()/24)
	return o
}

// BytesPerSeries measures the heap taken by a detector that has seen two days of a request rate every minute (its
// daily profile learned), over 1,000 detectors.
func BytesPerSeries(cfg anomaly.Config) int {
	const n = 1000
	rng := rngOf(0, "memory")
	s := generate(Requests, time.Minute, epoch, 2*24*60, rng).series()
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ds := make([]*anomaly.Detector, n)
	for i := range ds {
		ds[i] = anomaly.New(cfg)
		for j, t := range s.Times {
			ds[i].Update(t, s.Values[j])
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(ds)
	return int((after.HeapAlloc - before.HeapAlloc) / n)
}

// UpdateSection writes a report into the detection section of BENCHMARKS.md.
func UpdateSection(path, body string) error { return benchdoc.Update(path, "detect", body) }
