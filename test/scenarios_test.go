package test

import (
	"fmt"
	"math"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelstrata/strata/internal/e2e"
)

// A scenario is a fault of examples/demo/shop and the entities that count as its root cause (by name: a service,
// its host, its address).
type scenario struct {
	name          string
	service, kind string
	value         float64
	target        string
	cause         []string
	short         bool // part of the short form that `make test` runs
	// watched until its first incident resolves and budgetGoal more: the sampler back to its budget, the incident's
	// shortfall beside the orders the shop's database lost
	resolution bool
}

var scenarios = []scenario{
	{name: "latency of the store", service: "store", kind: "latency", value: 0.25, cause: []string{"store", "store-host", "127.0.0.16"}, short: true},
	{name: "error burst in payment", service: "payment", kind: "errors", value: 0.3, cause: []string{"payment", "payment-host", "127.0.0.14"}, short: true},
	{name: "CPU exhaustion of the store's process", service: "store", kind: "cpu", value: 1, cause: []string{"store", "store-host", "127.0.0.16"}},
	{name: "memory leak in inventory", service: "inventory", kind: "leak", value: 5, cause: []string{"inventory", "inventory-host", "127.0.0.15"}},
	{name: "network timeout checkout → payment", service: "checkout", kind: "timeout", target: "payment", cause: []string{"payment", "payment-host", "127.0.0.14"}},
	{name: "brute force on the login", service: "load", kind: "bruteforce", value: 3, cause: []string{"frontend-host", "frontend", "203.0.113.66"}},
	{name: "password spraying on the login", service: "load", kind: "spray", value: 1, cause: []string{"frontend-host", "frontend", "203.0.113.99"}},
	{name: "business failure: payments declined", service: "payment", kind: "decline", value: 0.3, cause: []string{"payment", "payment-host", "order_success_ratio", "paid_orders_per_minute"}, resolution: true},
}

// The phases of a scenario run: the models' warm-up (fast settings), the fault, and how long after its start the
// run is watched.
const (
	scenarioWarmUp = 170 * time.Second
	// controlSettle is how much longer the control warms up: the fast settings end the models' warm-up (30 points)
	// at about 150 s, and the control counts false incidents of warm models, not of the first minute after warm-up
	// (where a process's CPU or a fast service's latency can still score 0.999: issue #18's ground).
	controlSettle   = 120 * time.Second
	scenarioFault   = 90 * time.Second
	scenarioObserve = 90 * time.Second
	detectionGoal   = 60 * time.Second
	// keptGoal is the least share of the faulty service's traces the sampler keeps while the incident is open (its
	// incident rule), though the demo's budget keeps a quarter of the rest
	keptGoal = 0.99
	// budgetGoal is how soon after its incident resolves the sampler keeps no more of a service's traces for it (the
	// demo's keep_after), and resolveWait how long a run waits for the resolution
	budgetGoal  = 2 * time.Minute
	resolveWait = 6 * time.Minute
	// shortfallGoal is how far the incident's count of paid orders short may be from the database's, as a share of it
	shortfallGoal = 0.1
)

// outcome is what Strata produced in one run.
type outcome struct {
	anomaly, incident, alert time.Duration // after the fault began; -1: never
	cause                    string        // the root cause the first incident named first
	// the rank of the right root cause among the first incident's candidates in its first ranking, and in its
	// latest; 0: absent
	rank, rankLatest  int
	incidents, alerts int
	// the share of the faulty service's traces the sampler kept from the first incident's open to its resolution, or
	// to the end of the observation (-1: no incident), and how many it had
	kept     float64
	traced   int
	resolved time.Duration // when the first incident resolved, after the fault began; -1: not seen
	// how long after the resolution the sampler kept the last trace for an incident (its rule `incident`)
	backToBudget time.Duration
	// the first incident's shortfall of paid orders in its latest record (NaN: none): its success ratio's, counted
	// in orders at the load of each point (the ratio's `of`), and its paid-order rate's against the level before;
	// and the paid orders the database lost: failed orders during the run less those of its two minutes before the
	// fault, pro rata
	shortfall, paidShortfall, missing float64
	impact                            string   // the first incident's business impact in its latest record, "" without one
	duplicates                        int      // incident records received more than once
	timeline                          []string // incident records and alerts, for the log
}

// TestScenarios runs examples/demo (the shop and the collector, as `make demo` does, with fast warm-up settings),
// injects each fault at a recorded time and reads what Strata produced: the first anomaly score at the alarm level,
// the first incident and its ranked root cause, the first alert at a webhook (behind a real Alertmanager where one
// is installed), the share of the faulty service's traces the sampler kept, the incident's business impact, and how
// many incidents and alerts the run raised (a scenario with `resolution` is watched past its incident's resolution:
// the sampler back to its budget, the shortfall beside the shop's database); then a fault-free control run counts
// false incidents and alerts. `make test` runs the short form (two faults, a 3-minute control); `make scenarios`
// (STRATA_SCENARIOS=full) runs every fault and a 10-minute control. Both assert the goals; only a full run of every
// fault and the control that met them all writes the table into BENCHMARKS.md.
func TestScenarios(t *testing.T) {
	if testing.Short() {
		t.Skip("the scenarios take minutes")
	}
	full := os.Getenv("STRATA_SCENARIOS") == "full"
	shop := filepath.Join(repoRoot, "_build", "shop")
	require.FileExists(t, shop, "make build builds the demo's shop")
	var rows []string
	for _, sc := range scenarios {
		if !full && !sc.short {
			continue
		}
		t.Run(sc.name, func(t *testing.T) {
			o := runScenario(t, shop, &sc, scenarioWarmUp, scenarioObserve)
			rows = append(rows, o.row(sc))
			t.Logf("%s: anomaly %s, incident %s, alert %s, root cause %q (rank of the right one: %d first, %d latest), incidents %d, alerts %d\n%s",
				sc.name, seconds(o.anomaly), seconds(o.incident), seconds(o.alert), o.cause, o.rank, o.rankLatest, o.incidents,
				o.alerts, strings.Join(o.timeline, "\n"))
			assert.True(t, o.incident >= 0 && o.incident <= detectionGoal, "an incident within %s", detectionGoal)
			assert.True(t, o.alert >= 0 && o.alert <= detectionGoal, "an alert within %s", detectionGoal)
			assert.Equal(t, 1, o.rank, "the right root cause first (%v) in the incident's first ranking, got %q", sc.cause, o.cause)
			assert.Zero(t, o.duplicates, "incident records received twice")
			assert.GreaterOrEqual(t, o.kept, keptGoal, "the faulty service's traces kept while its incident is open (%d traces)", o.traced)
			if sc.resolution {
				t.Logf("resolved %s; last trace kept for the incident %s after; paid orders short: %.0f by the incident (its paid-order rate: %.0f), %.0f by the database",
					seconds(o.resolved), seconds(o.backToBudget), o.shortfall, o.paidShortfall, o.missing)
				assert.True(t, o.resolved >= 0, "the incident resolved within %s", resolveWait)
				assert.True(t, o.backToBudget >= 0 && o.backToBudget <= budgetGoal, "back to the budget within %s of the resolution", budgetGoal)
				assert.InDelta(t, o.missing, o.shortfall, shortfallGoal*o.missing, "paid orders short by the incident beside the database")
			}
		})
	}
	control := 3 * time.Minute
	if full {
		control = 10 * time.Minute
	}
	t.Run("control", func(t *testing.T) {
		o := runScenario(t, shop, &scenario{name: "control"}, scenarioWarmUp+controlSettle, control)
		rows = append(rows, fmt.Sprintf("| no fault, %s | — | — | — | — | — | — | — | — | — | — | **%d** | **%d** |", control, o.incidents, o.alerts))
		t.Logf("control (%s): %d incidents, %d alerts\n%s", control, o.incidents, o.alerts, strings.Join(o.timeline, "\n"))
		assert.Zero(t, o.incidents, "incidents without a fault")
		assert.Zero(t, o.alerts, "alerts without a fault")
	})
	switch {
	case !full:
	case len(rows) != len(scenarios)+1:
		t.Logf("BENCHMARKS.md left as it is: %d of the %d scenarios and the control ran", len(rows)-1, len(scenarios))
	case t.Failed():
		t.Log("BENCHMARKS.md left as it is: a goal was missed")
	default:
		writeScenarioTable(t, rows)
	}
}

// runScenario starts the demo, lets the models warm up, injects the fault (none for the control) and reads the
// outcome after observe.
func runScenario(t *testing.T, shop string, sc *scenario, warmUp, observe time.Duration) outcome {
	d := e2e.StartDemo(t, binary, shop, repoRoot, true)
	time.Sleep(warmUp)
	start := time.Now()
	if sc.kind != "" {
		require.NoError(t, d.Fault(sc.service, sc.kind, sc.value, sc.target, scenarioFault))
	}
	time.Sleep(observe)
	if !sc.resolution {
		return readOutcome(d, start, sc)
	}
	for deadline := time.Now().Add(resolveWait); readOutcome(d, start, sc).resolved < 0 && time.Now().Before(deadline); {
		time.Sleep(5 * time.Second)
	}
	time.Sleep(budgetGoal + 20*time.Second)
	o := readOutcome(d, start, sc)
	end := time.Now()
	before, err := d.Orders("failed", start.Add(-2*time.Minute), start)
	require.NoError(t, err)
	during, err := d.Orders("failed", start, end)
	require.NoError(t, err)
	o.missing = float64(during) - float64(before)*end.Sub(start).Minutes()/2
	return o
}

// tracedService is the service whose traces show a scenario's fault: its own, or the frontend's for an attack on the
// login.
func (sc *scenario) tracedService() string {
	if sc.service == "load" {
		return "frontend"
	}
	return sc.service
}

func readOutcome(d *e2e.Demo, start time.Time, sc *scenario) outcome {
	end := time.Now().Add(-5 * time.Second) // the traces of the last seconds may still wait for their decision
	cause := sc.cause
	o := outcome{anomaly: -1, incident: -1, alert: -1, kept: -1, resolved: -1, backToBudget: -1, shortfall: math.NaN(), paidShortfall: math.NaN(), missing: -1}
	after := func(ts pcommon.Timestamp) (time.Duration, bool) {
		at := ts.AsTime()
		return at.Sub(start), !at.Before(start)
	}
	for _, md := range d.Sink.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != "strata.anomaly.score" || m.Type() != pmetric.MetricTypeGauge {
						continue
					}
					for _, p := range m.Gauge().DataPoints().All() {
						if dt, ok := after(p.Timestamp()); ok && p.DoubleValue() >= 0.997 && (o.anomaly < 0 || dt < o.anomaly) {
							o.anomaly = dt
						}
					}
				}
			}
		}
	}
	// incidents: the first opened after the start, and its first and latest rankings
	opened, seen := map[string]bool{}, map[string]bool{}
	var first string
	var firstAt time.Duration
	ranked := false // the first incident's first ranking was read
	for _, ld := range d.Sink.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					attrs := lr.Attributes()
					name, _ := attrs.Get("event.name")
					if name.Str() != "strata.incident" {
						continue
					}
					id, _ := attrs.Get("strata.incident.id")
					state, _ := attrs.Get("strata.incident.state")
					dt, ok := after(lr.Timestamp())
					if !ok {
						continue
					}
					record := fmt.Sprint(lr.Timestamp(), id.Str(), state.Str(), lr.Body().AsString())
					if seen[record] {
						o.duplicates++
						continue
					}
					seen[record] = true
					o.timeline = append(o.timeline, fmt.Sprintf("%6.1fs incident %s %s: %s", dt.Seconds(), id.Str(), state.Str(), lr.Body().AsString()))
					if candidates, ok := attrs.Get("strata.incident.candidates"); ok { // the whole ranking, to read a wrong one
						var ranked []string
						for _, c := range candidates.Slice().All() {
							m := c.Map().AsRaw()
							ranked = append(ranked, fmt.Sprintf("%v %v %.3f since %v (%v)", m["kind"], m["entity"], m["score"], m["onset"], m["evidence"]))
						}
						o.timeline = append(o.timeline, "         ranking: "+strings.Join(ranked, "; "))
					}
					if state.Str() == "open" {
						opened[id.Str()] = true
						if first == "" || dt < firstAt {
							first, firstAt = id.Str(), dt
						}
					}
					if candidates, ok := attrs.Get("strata.incident.candidates"); ok && id.Str() == first && state.Str() != "resolved" {
						rank := 0
						for i, c := range candidates.Slice().All() {
							if entity, _ := c.Map().Get("entity"); slices.Contains(cause, entity.Str()) && rank == 0 {
								rank = i + 1
							}
						}
						if !ranked {
							root, _ := attrs.Get("strata.incident.root_cause")
							o.cause, o.rank, ranked = root.Str(), rank, true
						}
						o.rankLatest = rank
					}
					if id.Str() == first {
						o.impact = impactOf(attrs)
						o.shortfall = shortfallOf(attrs, "shop.orders.success_ratio")
						o.paidShortfall = shortfallOf(attrs, "shop.orders.paid.rate")
						if state.Str() == "resolved" {
							o.resolved = dt
						}
					}
				}
			}
		}
	}
	o.incidents = len(opened)
	if first != "" {
		o.incident = firstAt
		if o.resolved >= 0 {
			end = start.Add(o.resolved) // the goal: kept from the incident's open to its resolution
			if last := d.Sink.LastSpanWith("strata.sampling.rule", "incident"); !last.IsZero() {
				o.backToBudget = max(0, last.Sub(end))
			}
		}
		all := d.AllSpans.TracesOf(sc.tracedService(), start.Add(firstAt), end)
		kept := d.Sink.TracesOf(sc.tracedService(), start.Add(firstAt), end)
		o.traced = len(all)
		if len(all) > 0 {
			o.kept = float64(len(kept)) / float64(len(all))
		}
	}
	if sc.resolution {
		o.timeline = append(o.timeline, bandTimeline(d, start, "shop.orders.success_ratio")...)
		o.timeline = append(o.timeline, bandTimeline(d, start, "shop.orders.paid.rate")...)
	}
	fired := map[string]bool{}
	for _, a := range d.Alerts.Received() {
		if a.Status != "firing" || a.At.Before(start) {
			continue
		}
		key := fmt.Sprint(a.Labels)
		o.timeline = append(o.timeline, fmt.Sprintf("%6.1fs alert %v %s", a.At.Sub(start).Seconds(), a.Labels, a.Annotations["root_cause"]))
		if !fired[key] && (o.alert < 0 || a.At.Sub(start) < o.alert) {
			o.alert = a.At.Sub(start)
		}
		fired[key] = true
	}
	o.alerts = len(fired)
	return o
}

// impactOf returns an incident record's business impact, as the table shows it: "38 % (shop.orders.rate of
// checkout), 190 {order} short"; "" without one.
func impactOf(attrs pcommon.Map) string {
	v, ok := attrs.Get("strata.incident.impact")
	if !ok || v.Type() != pcommon.ValueTypeDouble {
		return ""
	}
	s := fmt.Sprintf("%.0f %%", 100*v.Double())
	if kpis, ok := attrs.Get("strata.incident.kpis"); ok && kpis.Type() == pcommon.ValueTypeSlice && kpis.Slice().Len() > 0 {
		k := kpis.Slice().At(0).Map().AsRaw()
		s += fmt.Sprintf(" (%v of %v)", k["metric"], k["entity"])
		if shortfall, ok := k["shortfall"].(float64); ok {
			s += fmt.Sprintf(", %.0f %v short", shortfall, k["shortfall_unit"])
		}
	}
	return s
}

// bandTimeline returns a business figure's points from 30 s before start, each with the anomaly processor's band
// and score: what its impact was accounted from.
func bandTimeline(d *e2e.Demo, start time.Time, metric string) []string {
	type point struct{ observed, expected, lower, upper, score float64 }
	points := map[time.Duration]*point{}
	at := func(ts pcommon.Timestamp) *point {
		dt := ts.AsTime().Sub(start)
		if points[dt] == nil {
			points[dt] = &point{-1, -1, -1, -1, -1}
		}
		return points[dt]
	}
	for _, md := range d.Sink.Metrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Type() != pmetric.MetricTypeGauge {
						continue
					}
					for _, p := range m.Gauge().DataPoints().All() {
						if p.Timestamp().AsTime().Before(start.Add(-30 * time.Second)) {
							continue
						}
						if m.Name() == metric {
							at(p.Timestamp()).observed = p.DoubleValue()
							continue
						}
						if v, ok := p.Attributes().Get("strata.anomaly.metric"); !ok || v.AsString() != metric {
							continue
						}
						switch m.Name() {
						case "strata.anomaly.expected":
							at(p.Timestamp()).expected = p.DoubleValue()
						case "strata.anomaly.lower":
							at(p.Timestamp()).lower = p.DoubleValue()
						case "strata.anomaly.upper":
							at(p.Timestamp()).upper = p.DoubleValue()
						case "strata.anomaly.score":
							at(p.Timestamp()).score = p.DoubleValue()
						}
					}
				}
			}
		}
	}
	keys := make([]time.Duration, 0, len(points))
	for k := range points {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var out []string
	for _, k := range keys {
		p := points[k]
		out = append(out, fmt.Sprintf("%6.1fs %s %.1f, expected %.1f [%.1f, %.1f], score %.4f", k.Seconds(), metric, p.observed, p.expected, p.lower, p.upper, p.score))
	}
	return out
}

// shortfallOf returns the shortfall an incident record gives for a business figure; NaN without one.
func shortfallOf(attrs pcommon.Map, metric string) float64 {
	kpis, ok := attrs.Get("strata.incident.kpis")
	if !ok || kpis.Type() != pcommon.ValueTypeSlice {
		return math.NaN()
	}
	for _, k := range kpis.Slice().All() {
		m := k.Map().AsRaw()
		if shortfall, ok := m["shortfall"].(float64); ok && m["metric"] == metric {
			return shortfall
		}
	}
	return math.NaN()
}

func seconds(d time.Duration) string {
	if d < 0 {
		return "—"
	}
	return fmt.Sprintf("%.0f s", d.Seconds())
}

func (o outcome) row(sc scenario) string {
	rank := func(r int) string {
		if r > 0 {
			return fmt.Sprint(r)
		}
		return "absent"
	}
	cause := o.cause
	if cause == "" {
		cause = "—"
	}
	impact := o.impact
	if impact == "" {
		impact = "—"
	}
	kept := "—"
	if o.kept >= 0 {
		kept = fmt.Sprintf("%.1f %% of %d", 100*o.kept, o.traced)
	}
	shortfall := "—"
	if o.missing >= 0 {
		incident := "—"
		if !math.IsNaN(o.shortfall) {
			incident = fmt.Sprintf("%.0f", o.shortfall)
		}
		shortfall = fmt.Sprintf("%s / %.0f {order}", incident, o.missing)
	}
	return fmt.Sprintf("| %s | %s | %s | %s | `%s` | %s | %s | %s | %s | %s | %s | %d | %d |", sc.name, seconds(o.anomaly), seconds(o.incident),
		seconds(o.alert), cause, rank(o.rank), rank(o.rankLatest), kept, seconds(o.backToBudget), impact, shortfall, o.incidents, o.alerts)
}

// writeScenarioTable puts the table into BENCHMARKS.md between its markers.
func writeScenarioTable(t *testing.T, rows []string) {
	path := filepath.Join(repoRoot, "BENCHMARKS.md")
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	table := strings.Join(append([]string{
		fmt.Sprintf("<!-- scenarios:start (written by `make scenarios`, %s) -->", time.Now().UTC().Format("2006-01-02")),
		"",
		"| scenario | first anomaly | incident | alert | root cause named first | rank of the right one, first ranking | latest ranking | its service's traces kept from the incident's open | last kept for it after its resolution | business impact | paid orders short: incident / database | incidents | alerts |",
		"|---|---|---|---|---|---|---|---|---|---|---|---|---|",
	}, rows...), "\n") + "\n\n<!-- scenarios:end -->"
	section := regexp.MustCompile(`(?s)<!-- scenarios:start.*?<!-- scenarios:end -->`)
	if section.Match(data) {
		data = section.ReplaceAllLiteral(data, []byte(table))
	} else {
		data = append(data, []byte("\n"+table+"\n")...)
	}
	require.NoError(t, os.WriteFile(path, data, 0o644))
}
