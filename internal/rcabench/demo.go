package rcabench

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"strconv"
	"time"

	"gopkg.in/yaml.v3"
)

// DevSeeds are the seeds the demo cases' defaults may be chosen on; EvalSeeds the ones results are reported on.
var (
	DevSeeds  = []uint64{1, 2, 3, 4, 5}
	EvalSeeds = []uint64{101, 102, 103, 104, 105}
)

// FaultKinds are the demo shop's faults (examples/demo/shop/faults.go) the suite injects.
var FaultKinds = []string{"latency", "errors", "cpu", "leak", "timeout", "decline"}

// Resolution is the interval of a case's points, with how much normal data comes before its fault and how long
// the fault lasts. The normal data lasts longer than the anomaly processor's alarm_after (two days), as in a
// collector that has run for a while.
type Resolution struct {
	Name                 string
	Every, Normal, Fault time.Duration
	After                time.Duration // data after the fault ends
	NormalDays           float64       // days of normal data in the recording without a fault
}

// Resolutions are the suite's two: 5-second points (as the demo's own metrics) and 1-minute points (a Prometheus
// scrape interval, CloudWatch's detailed metrics).
var Resolutions = []Resolution{
	{Name: "5s", Every: 5 * time.Second, Normal: 50 * time.Hour, Fault: 10 * time.Minute, After: 20 * time.Minute, NormalDays: 1},
	{Name: "1m", Every: time.Minute, Normal: 50 * time.Hour, Fault: 30 * time.Minute, After: 30 * time.Minute, NormalDays: 1},
}

// Traffic is a level of requests a second at the frontend, averaged over the day.
type Traffic struct {
	Name string
	Rate float64
}

// Traffics are the suite's two levels: a shop that sees a few requests a second, where a 5-second point of a
// back-end service holds one or two, and a busy one.
var Traffics = []Traffic{{Name: "low", Rate: 2}, {Name: "high", Rate: 50}}

// demoService is a service of the demo shop's model: its own work and the calls a request of it makes.
type demoService struct {
	name  string
	own   float64 // ms of its own work per request
	calls []demoCall
}

type demoCall struct {
	callee string
	per    float64 // calls per request
}

// demoShop is the demo shop's call graph (examples/demo/shop/services.go): browsing goes frontend → catalog →
// store, a purchase frontend → checkout → inventory (→ store), payment and store.
var demoShop = []demoService{
	{name: "frontend", own: 5, calls: []demoCall{{"catalog", 0.8}, {"checkout", 0.2}}},
	{name: "catalog", own: 10, calls: []demoCall{{"store", 1}}},
	{name: "checkout", own: 15, calls: []demoCall{{"inventory", 1}, {"payment", 1}, {"store", 1}}},
	{name: "inventory", own: 8, calls: []demoCall{{"store", 1}}},
	{name: "payment", own: 40},
	{name: "store", own: 3},
}

// ServiceGraphFile is the demo cases' service graph as Tempo's metrics generator names it, which a variant may
// leave out of the history.
const ServiceGraphFile = "servicegraph.csv"

const (
	baseErrors   = 0.002 // share of requests a service fails on its own
	baseDeclines = 0.03  // share of payments declined
	timeoutMs    = 2000  // the client's timeout (examples/demo/shop)
	memoryBase   = 60 << 20
	gcEvery      = 7 * time.Minute // the period of a process's heap growing and being collected
)

// demoFault is a fault of one case: its kind, the service it is on (for timeout: the callee, whose caller is
// from), its strength.
type demoFault struct {
	kind, service, caller string
	value                 float64
}

// DemoCase writes the case of a fault kind (or of normal data alone, kind "") at a resolution and traffic level,
// drawn from seed, into a new directory under root, and returns it. The fault's service and strength are drawn
// too: latency, errors, cpu and leak on any service, timeout on any call, decline on payment.
func DemoCase(root, kind string, res Resolution, tr Traffic, seed uint64) (*Case, error) {
	rng := rand.New(rand.NewPCG(seed, uint64(len(kind))*7919+uint64(res.Every)+uint64(tr.Rate)))
	name := fmt.Sprintf("%s-%s-%s-%d", orNormal(kind), res.Name, tr.Name, seed)
	c := &Case{Dir: filepath.Join(root, name), Services: len(demoShop), Anchor: "frontend",
		Resolution: res.Name + " points", Traffic: tr.Name + " traffic"}
	// a recording starts at a random hour, so a fault meets any phase of the day's traffic
	start := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC).Add(time.Duration(rng.IntN(24*60)) * time.Minute)
	warm := start.Add(res.Normal)
	var f *demoFault
	var end time.Time
	if kind != "" {
		f = drawFault(rng, kind)
		c.Fault = &Fault{Kind: kind, Span: Span{Start: warm, End: warm.Add(res.Fault)}}
		c.RootCause = []string{f.service, "host:" + f.service + "-host"}
		end = c.Fault.End.Add(res.After)
		c.Description = fmt.Sprintf("%s of %s (%s), %s points, %s traffic, seed %d", kind, f.service, f.describe(), res.Name, tr.Name, seed)
	} else {
		end = warm.Add(time.Duration(res.NormalDays * float64(24*time.Hour)))
		c.Normal = &Span{Start: warm, End: end}
		c.Description = fmt.Sprintf("normal data, %s points, %s traffic, seed %d", res.Name, tr.Name, seed)
	}
	if err := os.MkdirAll(c.Dir, 0o755); err != nil {
		return nil, err
	}
	if err := c.Write(); err != nil {
		return nil, err
	}
	if err := writeDemoTopology(filepath.Join(c.Dir, TopologyFile)); err != nil {
		return nil, err
	}
	sim := newDemoSim(rng, res.Every, tr.Rate)
	err := sim.write(c.Dir, start, end, func(t time.Time) *demoFault {
		if c.Fault != nil && c.Fault.holds(t) {
			return f
		}
		return nil
	})
	return c, err
}

func orNormal(kind string) string {
	if kind == "" {
		return "normal"
	}
	return kind
}

// drawFault draws where a fault of kind is and how strong.
func drawFault(rng *rand.Rand, kind string) *demoFault {
	f := &demoFault{kind: kind, service: demoShop[rng.IntN(len(demoShop))].name}
	switch kind {
	case "latency":
		f.value = 0.1 + 0.4*rng.Float64() // seconds
	case "errors":
		f.value = 0.1 + 0.4*rng.Float64()
	case "cpu":
		f.value = 1
	case "leak":
		f.value = 2 + 6*rng.Float64() // MiB a second
	case "timeout":
		var edges [][2]string
		for _, s := range demoShop {
			for _, call := range s.calls {
				edges = append(edges, [2]string{s.name, call.callee})
			}
		}
		e := edges[rng.IntN(len(edges))]
		f.caller, f.service = e[0], e[1]
	case "decline":
		f.service, f.value = "payment", 0.2+0.3*rng.Float64()
	}
	return f
}

func (f *demoFault) describe() string {
	switch f.kind {
	case "latency":
		return fmt.Sprintf("+%.0f ms a request", f.value*1000)
	case "errors":
		return fmt.Sprintf("%.0f %% of requests fail", f.value*100)
	case "cpu":
		return "a goroutine spinning on its one CPU"
	case "leak":
		return fmt.Sprintf("%.1f MiB/s kept", f.value)
	case "timeout":
		return fmt.Sprintf("calls from %s hang until the %d ms timeout", f.caller, timeoutMs)
	default:
		return fmt.Sprintf("%.0f %% of payments declined", f.value*100)
	}
}

// writeDemoTopology writes the demo shop's call graph in the correlation connector's topology file format.
func writeDemoTopology(path string) error {
	deps := map[string][]string{}
	for _, s := range demoShop {
		for _, call := range s.calls {
			deps[s.name] = append(deps[s.name], call.callee)
		}
	}
	data, err := yaml.Marshal(deps)
	if err != nil {
		return err
	}
	return os.WriteFile(path, data, 0o644)
}

// demoSim is the demo shop's telemetry, one point per series and interval: per service the mean request duration,
// the requests a second and the share answered without error, its process's CPU and memory; checkout's order
// success ratio and payment's share of declined payments; and the service graph's request counts.
type demoSim struct {
	rng   *rand.Rand
	every time.Duration
	rate  float64
	drift map[string]float64 // each service's slow wander of latency (an AR(1) in log space)
	edges map[[2]string]float64
	leak  float64 // MiB kept by a leak so far
}

func newDemoSim(rng *rand.Rand, every time.Duration, rate float64) *demoSim {
	return &demoSim{rng: rng, every: every, rate: rate, drift: map[string]float64{}, edges: map[[2]string]float64{}}
}

// state is what the model expects of a service in one interval.
type state struct {
	rate, latency, errors, declines float64
}

// expect returns each service's expected request rate, latency (ms) and error share at load with fault f.
func (s *demoSim) expect(load float64, f *demoFault) map[string]*state {
	st := map[string]*state{}
	for _, d := range demoShop {
		st[d.name] = &state{}
	}
	st["frontend"].rate = s.rate * load
	for _, d := range demoShop { // demoShop is in call order: callers before callees
		for _, call := range d.calls {
			if f != nil && f.kind == "timeout" && f.caller == d.name && f.service == call.callee {
				continue // the calls never arrive
			}
			st[call.callee].rate += st[d.name].rate * call.per
		}
	}
	for i := len(demoShop) - 1; i >= 0; i-- { // callees before callers
		d := demoShop[i]
		own, fail := d.own*(1+0.15*(load-1)), baseErrors
		if f != nil && f.service == d.name {
			switch f.kind {
			case "latency":
				own += f.value * 1000
			case "errors":
				fail = f.value
			case "cpu":
				own *= 6
			case "leak":
				own *= 1 + s.leak/4096
			}
		}
		ok := 1 - fail
		lat := own
		for _, call := range d.calls {
			callee := st[call.callee]
			if f != nil && f.kind == "timeout" && f.caller == d.name && f.service == call.callee {
				lat += call.per * timeoutMs
				ok *= 1 - call.per
				continue
			}
			lat += call.per * callee.latency
			ok *= 1 - call.per*callee.errors
		}
		st[d.name].latency, st[d.name].errors = lat, 1-ok
	}
	st["payment"].declines = baseDeclines
	if f != nil && f.kind == "decline" {
		st["payment"].declines = f.value
	}
	return st
}

// write writes the points from start to end into metrics.csv and the service graph into servicegraph.csv in dir;
// fault returns the fault on at a time.
func (s *demoSim) write(dir string, start, end time.Time, fault func(time.Time) *demoFault) error {
	mf, err := os.Create(filepath.Join(dir, "metrics.csv"))
	if err != nil {
		return err
	}
	defer mf.Close()
	gf, err := os.Create(filepath.Join(dir, ServiceGraphFile))
	if err != nil {
		return err
	}
	defer gf.Close()
	m, g := bufio.NewWriterSize(mf, 1<<20), bufio.NewWriterSize(gf, 1<<20)
	fmt.Fprintln(m, "time,metric,value,job,host.name")
	fmt.Fprintln(g, "time,metric,value,client,server")
	sec := s.every.Seconds()
	for t := start; t.Before(end); t = t.Add(s.every) {
		f := fault(t)
		if f != nil && f.kind == "leak" {
			s.leak += f.value * sec
		} else if f == nil {
			s.leak = 0
		}
		load := dailyLoad(t) * math.Exp(0.05*s.rng.NormFloat64())
		st := s.expect(load, f)
		ts := strconv.FormatInt(t.Unix(), 10)
		point := func(metric, svc string, v float64) {
			fmt.Fprintf(m, "%s,%s,%s,%s,%s-host\n", ts, metric, strconv.FormatFloat(v, 'g', 6, 64), svc, svc)
		}
		counts := map[string]int{}
		for _, d := range demoShop {
			x := st[d.name]
			n := poisson(s.rng, x.rate*sec)
			counts[d.name] = n
			point("http.server.requests", d.name, float64(n)/sec)
			s.drift[d.name] = 0.98*s.drift[d.name] + 0.2*s.rng.NormFloat64()
			if n > 0 {
				lat := x.latency * math.Exp(0.05*s.drift[d.name]+0.35/math.Sqrt(float64(n))*s.rng.NormFloat64())
				point("http.server.request.duration", d.name, lat/1000)
				point("http.server.availability", d.name, 1-float64(binomial(s.rng, n, x.errors))/float64(n))
			}
			cpu := 0.02 + 0.3*x.rate/(s.rate*1.2) + 0.01*s.rng.NormFloat64()
			mem := float64(memoryBase) * (1 + 0.3*float64(t.Sub(start)%gcEvery)/float64(gcEvery)) * (1 + 0.01*s.rng.NormFloat64())
			if f != nil && f.service == d.name {
				switch f.kind {
				case "cpu":
					cpu = 0.97 + 0.02*s.rng.Float64()
				case "leak":
					mem += s.leak * (1 << 20)
					cpu += 0.05
				}
			}
			point("process.cpu.utilization", d.name, min(1, max(0, cpu)))
			point("process.memory.usage", d.name, math.Round(mem))
		}
		if n := counts["checkout"]; n > 0 {
			failed := binomial(s.rng, n, st["checkout"].errors)
			declined := binomial(s.rng, n-failed, st["payment"].declines)
			point("shop.order.success_ratio", "checkout", 1-float64(failed+declined)/float64(n))
		}
		if n := counts["payment"]; n > 0 {
			point("shop.payment.decline_ratio", "payment", float64(binomial(s.rng, n, st["payment"].declines))/float64(n))
		}
		for _, d := range demoShop {
			for _, call := range d.calls {
				e := [2]string{d.name, call.callee}
				if f == nil || f.kind != "timeout" || f.caller != d.name || f.service != call.callee {
					s.edges[e] += math.Round(float64(counts[d.name]) * call.per)
				}
				fmt.Fprintf(g, "%s,traces_service_graph_request_total,%g,%s,%s\n", ts, s.edges[e], e[0], e[1])
			}
		}
	}
	if err := m.Flush(); err != nil {
		return err
	}
	return g.Flush()
}

// dailyLoad is the share of the day's mean traffic at t: lowest at 03:00, highest at 15:00.
func dailyLoad(t time.Time) float64 {
	h := float64(t.Hour()) + float64(t.Minute())/60
	return 1 + 0.5*math.Sin(2*math.Pi*(h-9)/24)
}

// poisson draws a count of mean mu (a normal approximation above 50).
func poisson(rng *rand.Rand, mu float64) int {
	if mu > 50 {
		return max(0, int(math.Round(mu+math.Sqrt(mu)*rng.NormFloat64())))
	}
	l, k, p := math.Exp(-mu), 0, 1.0
	for {
		p *= rng.Float64()
		if p <= l {
			return k
		}
		k++
	}
}

// binomial draws how many of n trials of probability p succeed (a normal approximation for large n).
func binomial(rng *rand.Rand, n int, p float64) int {
	if n > 100 {
		mu, sd := float64(n)*p, math.Sqrt(float64(n)*p*(1-p))
		return min(n, max(0, int(math.Round(mu+sd*rng.NormFloat64()))))
	}
	k := 0
	for range n {
		if rng.Float64() < p {
			k++
		}
	}
	return k
}
