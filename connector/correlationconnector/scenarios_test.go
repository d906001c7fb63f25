package correlationconnector

import (
	"context"
	"encoding/binary"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/metadata"
	"github.com/otelstrata/strata/internal/semconv"
)

// world simulates the telemetry of services calling each other, 20 requests per 10 s interval with noise, and
// the faults of a scenario.
type world struct {
	t     *testing.T
	h     *harness
	logs  *consumertest.LogsSink
	rng   *rand.Rand
	trace uint64
	step  int
	// scoreScope is the scope the scores come in: the anomaly processor's, unless a test forges them
	scoreScope string
}

// service is a node of the simulated topology.
type service struct {
	name, host, container string
	latency               float64 // ms, its own work
	calls                 []*service
	address               string // the server.address its callers use
}

func newWorld(t *testing.T, seed uint64) *world {
	return newWorldWith(t, seed, func(*Config) {})
}

// newWorldWith is newWorld on the default configuration changed by edit, with the configured topology read.
func newWorldWith(t *testing.T, seed uint64, edit func(*Config)) *world {
	h := newHarnessWith(t, edit)
	_, err := h.c.startTopology(context.Background())
	require.NoError(t, err)
	logs := new(consumertest.LogsSink)
	h.c.addLogs(logs)
	return &world{t: t, h: h, logs: logs, rng: rand.New(rand.NewPCG(seed, 1)), scoreScope: semconv.ScopeAnomaly}
}

// faults of one interval: how much slower each service's own work is, which fail (share), which calls time out.
type faults struct {
	slow     map[string]float64
	fail     map[string]float64
	timeouts map[string]float64 // callee name -> share of calls to it that time out on the way
	queued   map[string]float64 // callee name -> ms its callers wait before it starts (a CPU-starved process)
}

// request sends one request into root through its calls, and returns the duration the root's caller sees.
func (w *world) request(root *service, f faults) {
	w.trace++
	td := ptrace.NewTraces()
	spanID := uint64(0)
	var call func(s *service, parent uint64, start time.Time) (time.Duration, bool)
	call = func(s *service, parent uint64, start time.Time) (time.Duration, bool) {
		spanID++
		id := spanID
		own := s.latency * (1 + 0.1*w.rng.NormFloat64())
		if m := f.slow[s.name]; m > 0 {
			own *= m
		}
		d := time.Duration(max(own, 0.1) * float64(time.Millisecond))
		failed := w.rng.Float64() < 0.002+f.fail[s.name]
		for _, callee := range s.calls {
			spanID++
			clientID := spanID
			var cd time.Duration
			var cfailed bool
			timedOut := w.rng.Float64() < f.timeouts[callee.name]
			if timedOut {
				cd, cfailed = time.Second, true
			} else {
				wait := time.Duration(f.queued[callee.name] * float64(time.Millisecond))
				cd, cfailed = call(callee, clientID, start.Add(d+wait))
				cd += time.Millisecond + wait
			}
			w.span(td, s, clientID, id, ptrace.SpanKindClient, start.Add(d), cd, cfailed, callee.address, timedOut)
			d += cd
			failed = failed || cfailed
		}
		w.span(td, s, id, parent, ptrace.SpanKindServer, start, d, failed, "", false)
		return d, failed
	}
	call(root, 0, w.h.clock.Now())
	require.NoError(w.t, w.h.c.ConsumeTraces(context.Background(), td))
}

func (w *world) span(td ptrace.Traces, s *service, id, parent uint64, kind ptrace.SpanKind, start time.Time, d time.Duration, failed bool, address string, timeout bool) {
	rs := td.ResourceSpans().AppendEmpty()
	res := rs.Resource().Attributes()
	res.PutStr("service.name", s.name)
	res.PutStr("host.name", s.host)
	if s.container != "" {
		res.PutStr("container.id", s.container)
	}
	span := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
	var tid pcommon.TraceID
	binary.BigEndian.PutUint64(tid[8:], w.trace)
	span.SetTraceID(tid)
	var sid, pid pcommon.SpanID
	binary.BigEndian.PutUint64(sid[:], id)
	span.SetSpanID(sid)
	if parent != 0 {
		binary.BigEndian.PutUint64(pid[:], parent)
		span.SetParentSpanID(pid)
	}
	span.SetKind(kind)
	span.SetName(s.name)
	span.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
	span.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(d)))
	if address != "" {
		span.Attributes().PutStr("server.address", address)
	}
	if failed {
		span.Status().SetCode(ptrace.StatusCodeError)
	}
	if timeout {
		span.Attributes().PutStr("error.type", "timeout")
	}
}

// interval runs one interval of traffic into the roots, with the faults, and closes it.
func (w *world) interval(f faults, roots ...*service) {
	for range 20 {
		for _, r := range roots {
			w.request(r, f)
		}
	}
	w.step++
	w.h.clock.Advance(10 * time.Second)
	w.h.c.expire(context.Background())
	w.h.c.tick(context.Background())
}

// anomaly sends what the anomaly processor adds for a watched metric of a resource: the score and the alarm, which
// stands for the processor's here when the score is between 0.999 and 1.
func (w *world) anomaly(metric string, score float64, resource map[string]string) {
	alarm := 0.0
	if score >= 0.999 && score <= 1 {
		alarm = 1
	}
	w.gauges(metric, map[string]float64{"strata.anomaly.score": score, "strata.anomaly.alarm": alarm}, resource)
}

// moved sends what the anomaly processor adds for a watched metric whose value moved from the expected one far
// enough to raise the alarm.
func (w *world) moved(metric string, value, expected float64, resource map[string]string) {
	w.gauges(metric, map[string]float64{"strata.anomaly.score": 0.9999, "strata.anomaly.alarm": 1,
		"strata.anomaly.value": value, "strata.anomaly.expected": expected, "strata.anomaly.lower": 0.9 * expected,
		"strata.anomaly.upper": 1.1 * expected}, resource)
}

// gauges sends one point of each of the anomaly processor's gauges for a watched metric of a resource.
func (w *world) gauges(metric string, gauges map[string]float64, resource map[string]string) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	for k, v := range resource {
		rm.Resource().Attributes().PutStr(k, v)
	}
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(w.scoreScope)
	for name, v := range gauges {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(w.h.clock.Now()))
		dp.SetDoubleValue(v)
		dp.Attributes().PutStr("strata.anomaly.metric", metric)
	}
	require.NoError(w.t, w.h.c.ConsumeMetrics(context.Background(), md))
}

// kpiMiss sends what the kpi receiver sends when a KPI (of an owner, if not "") misses its target.
func (w *world) kpiMiss(name, owner string) {
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("strata.kpi.target_met")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetIntValue(0)
	dp.SetTimestamp(pcommon.NewTimestampFromTime(w.h.clock.Now()))
	dp.Attributes().PutStr(semconv.AttrKPIName, name)
	if owner != "" {
		dp.Attributes().PutStr(semconv.AttrKPIOwner, owner)
	}
	require.NoError(w.t, w.h.c.ConsumeMetrics(context.Background(), md))
}

// incidents are the incident records emitted so far: id -> the last record's root cause, and the states seen. It
// checks that each emission carries an incident once (an incident opened and updated between two emissions is one
// record of its latest state, not two alike).
func (w *world) incidents() (map[string]string, map[string][]string) {
	w.t.Helper()
	roots, states := map[string]string{}, map[string][]string{}
	for _, ld := range w.logs.AllLogs() {
		emitted := map[string]bool{}
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					id, _ := r.Attributes().Get(semconv.AttrIncidentID)
					assert.False(w.t, emitted[id.Str()], "incident %s twice in one emission", id.Str())
					emitted[id.Str()] = true
					root, _ := r.Attributes().Get(semconv.AttrIncidentRootCause)
					state, _ := r.Attributes().Get(semconv.AttrIncidentState)
					roots[id.Str()] = root.Str()
					states[id.Str()] = append(states[id.Str()], state.Str())
				}
			}
		}
	}
	return roots, states
}

// threeTier is a frontend calling an API calling a database (orders-db on host db-1), each on a host of its own.
func threeTier() (front *service) {
	db := &service{name: "orders-db", host: "db-1", latency: 5, address: "orders-db"}
	api := &service{name: "api", host: "app-1", latency: 10, calls: []*service{db}, address: "api"}
	return &service{name: "frontend", host: "web-1", latency: 8, calls: []*service{api}}
}

// checkoutChain is frontend → checkout (on app-1) → payments.
func checkoutChain() (front *service) {
	payments := &service{name: "payments", host: "pay-1", latency: 20, address: "payments"}
	checkout := &service{name: "checkout", host: "app-1", latency: 10, calls: []*service{payments}, address: "checkout"}
	return &service{name: "frontend", host: "web-1", latency: 8, calls: []*service{checkout}}
}

// oneIncident checks that the faults opened one incident, with the root cause named.
func (w *world) oneIncident(root string) {
	w.t.Helper()
	roots, _ := w.incidents()
	require.Len(w.t, roots, 1, "one incident")
	for _, got := range roots {
		assert.Equal(w.t, root, got)
	}
}

// openedWithin checks that the one incident opened no later than bound after the fault began.
func (w *world) openedWithin(faultStart time.Time, bound time.Duration) {
	w.t.Helper()
	for _, ld := range w.logs.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, r := range sl.LogRecords().All() {
					if state, _ := r.Attributes().Get(semconv.AttrIncidentState); state.Str() == "open" {
						opened := r.Timestamp().AsTime()
						assert.LessOrEqual(w.t, opened.Sub(faultStart), bound, "the incident opened %s after the fault", opened.Sub(faultStart))
						return
					}
				}
			}
		}
	}
	w.t.Error("no incident opened")
}

// warm runs normal traffic for 40 intervals (the watched figures warm up in 30).
func (w *world) warm(roots ...*service) {
	for range 40 {
		w.interval(faults{}, roots...)
	}
	roots2, _ := w.incidents()
	require.Empty(w.t, roots2, "no incident from normal traffic")
}

// TestAPILatencyFromDatabaseHostCPU: the database host's CPU is exhausted (the anomaly processor scores its CPU
// utilisation), the database answers slowly, and the API and the frontend above it: the root cause is the host.
func TestAPILatencyFromDatabaseHostCPU(t *testing.T) {
	w := newWorld(t, 1)
	front := threeTier()
	w.warm(front)
	defer w.openedWithin(w.h.clock.Now(), 30*time.Second)
	for i := range 6 {
		w.anomaly("system.cpu.utilization", 0.9999, map[string]string{"host.name": "db-1"})
		w.interval(faults{slow: map[string]float64{"orders-db": 1 + float64(i+1)}}, front)
	}
	w.oneIncident("host db-1")
}

// TestCPUStarvedDependencyFromCallersLatency: the database's process is starved of CPU (its CPU utilisation is
// anomalous); requests wait to be read, so its own server spans are as fast as ever and only its callers see it
// slow. The host, two hops from the slow API (api → orders-db → db-1), is the root cause.
func TestCPUStarvedDependencyFromCallersLatency(t *testing.T) {
	w := newWorld(t, 6)
	front := threeTier()
	w.warm(front)
	defer w.openedWithin(w.h.clock.Now(), 30*time.Second)
	for range 6 {
		w.anomaly("process.cpu.utilization", 0.9999, map[string]string{"service.name": "orders-db", "host.name": "db-1"})
		w.interval(faults{queued: map[string]float64{"orders-db": 40}}, front)
	}
	w.oneIncident("host db-1")
}

// TestFailedTransactionsFromNetworkTimeout: calls from checkout to payments time out on the way (payments never sees
// them), its probe fails, checkout and the frontend fail transactions, the order KPI misses its target: the root
// cause is the payments endpoint, at the network layer.
func TestFailedTransactionsFromNetworkTimeout(t *testing.T) {
	w := newWorld(t, 2)
	front := checkoutChain()
	w.warm(front)
	defer w.openedWithin(w.h.clock.Now(), 30*time.Second)
	for range 4 {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("strata.probe.success")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetIntValue(0)
		dp.SetTimestamp(pcommon.NewTimestampFromTime(w.h.clock.Now()))
		dp.Attributes().PutStr("server.address", "payments")
		dp.Attributes().PutStr("strata.probe.type", "tcp")
		require.NoError(t, w.h.c.ConsumeMetrics(context.Background(), md))
		w.kpiMiss("order_success_ratio", "")
		w.interval(faults{timeouts: map[string]float64{"payments": 0.4}}, front)
	}
	w.oneIncident("endpoint payments")
}

// TestNetworkTimeoutBeforeTheCallersHost: as above, without a probe or a KPI, and the caller's host has a symptom of
// its own: checkout's process works differently while its calls time out (its CPU anomalous at 0.9991, as in the
// demo's run of this fault). The failing calls (scored about 1) are stronger evidence than the CPU, and the
// endpoint, not checkout's host, is the root cause.
func TestNetworkTimeoutBeforeTheCallersHost(t *testing.T) {
	w := newWorld(t, 2)
	front := checkoutChain()
	w.warm(front)
	defer w.openedWithin(w.h.clock.Now(), 30*time.Second)
	for range 4 {
		w.anomaly("process.cpu.utilization", 0.9991, map[string]string{"service.name": "checkout", "host.name": "app-1"})
		w.interval(faults{timeouts: map[string]float64{"payments": 0.4}}, front)
	}
	w.oneIncident("endpoint payments")
}

// TestHighResponseTimesFromContainerMemoryLeak: cart's container leaks memory (its memory usage is anomalous, then
// cart slows down, then the frontend): the root cause is the container.
func TestHighResponseTimesFromContainerMemoryLeak(t *testing.T) {
	w := newWorld(t, 3)
	cart := &service{name: "cart", host: "node-1", container: "c-cart", latency: 12, address: "cart"}
	front := &service{name: "frontend", host: "web-1", latency: 8, calls: []*service{cart}}
	w.warm(front)
	defer w.openedWithin(w.h.clock.Now(), 30*time.Second)
	for i := range 8 {
		w.anomaly("container.memory.usage", 0.998+0.0002*float64(i), map[string]string{"container.id": "c-cart", "service.name": "cart"})
		slow := 1.0
		if i >= 2 {
			slow = 1 + float64(i-1)
		}
		w.interval(faults{slow: map[string]float64{"cart": slow}}, front)
	}
	w.oneIncident("container c-cart")
}

// bruteForce is what authlog sends for a detection on a host.
func bruteForce(at time.Time, host string) plog.Logs {
	ld := plog.NewLogs()
	rl := ld.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("host.name", host)
	r := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.SetEventName(semconv.EventDetection)
	r.SetTimestamp(pcommon.NewTimestampFromTime(at))
	r.SetSeverityNumber(plog.SeverityNumberError)
	r.Attributes().PutStr(semconv.AttrSecurityRuleName, "brute_force")
	r.Attributes().PutStr(semconv.AttrSourceAddress, "203.0.113.7")
	r.Attributes().PutStr(semconv.AttrHostName, host)
	r.Attributes().PutStr(semconv.AttrThreatTechniqueID, "T1110.001")
	return ld
}

// TestAuthenticationFailuresFromBruteForce: a brute force on the bastion (authlog's detection), then the auth
// service on it fails logins and logs errors: the root cause is the attacked host, at the security layer.
func TestAuthenticationFailuresFromBruteForce(t *testing.T) {
	w := newWorld(t, 4)
	auth := &service{name: "auth", host: "bastion-1", latency: 15, address: "auth"}
	w.warm(auth)
	defer w.openedWithin(w.h.clock.Now(), 30*time.Second)
	require.NoError(t, w.h.c.ConsumeLogs(context.Background(), bruteForce(w.h.clock.Now(), "bastion-1")))
	for range 4 {
		errs := plog.NewLogs()
		rl := errs.ResourceLogs().AppendEmpty()
		rl.Resource().Attributes().PutStr("service.name", "auth")
		rl.Resource().Attributes().PutStr("host.name", "bastion-1")
		for range 30 {
			r := rl.ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
			r.SetSeverityNumber(plog.SeverityNumberError)
			r.Body().SetStr("authentication failed")
		}
		require.NoError(t, w.h.c.ConsumeLogs(context.Background(), errs))
		w.interval(faults{fail: map[string]float64{"auth": 0.3}}, auth)
	}
	w.oneIncident("host bastion-1")
}

// TestNoFaultNoIncident: half an hour of noisy normal traffic opens nothing.
func TestNoFaultNoIncident(t *testing.T) {
	w := newWorld(t, 5)
	db := &service{name: "db", host: "db-1", latency: 5, address: "db"}
	api := &service{name: "api", host: "app-1", latency: 10, calls: []*service{db}, address: "api"}
	front := &service{name: "frontend", host: "web-1", latency: 8, calls: []*service{api}}
	for range 180 {
		w.interval(faults{}, front)
	}
	roots, _ := w.incidents()
	assert.Empty(t, roots)
}

// TestTwoUnrelatedFaultsTwoIncidents: a database CPU fault in the shop and a brute force on an unrelated bastion at
// the same time open two incidents, each with its own root cause; both resolve once quiet.
func TestTwoUnrelatedFaultsTwoIncidents(t *testing.T) {
	w := newWorld(t, 6)
	db := &service{name: "orders-db", host: "db-1", latency: 5, address: "orders-db"}
	api := &service{name: "api", host: "app-1", latency: 10, calls: []*service{db}, address: "api"}
	auth := &service{name: "auth", host: "bastion-1", latency: 15, address: "auth"}
	w.warm(api, auth)
	require.NoError(t, w.h.c.ConsumeLogs(context.Background(), bruteForce(w.h.clock.Now(), "bastion-1")))
	for i := range 5 {
		w.anomaly("system.cpu.utilization", 0.9999, map[string]string{"host.name": "db-1"})
		w.interval(faults{slow: map[string]float64{"orders-db": 2 + float64(i)}}, api, auth)
	}
	roots, _ := w.incidents()
	got := map[string]bool{}
	for _, r := range roots {
		got[r] = true
	}
	assert.Equal(t, map[string]bool{"host db-1": true, "host bastion-1": true}, got)
	for range 40 { // quiet: both resolve
		w.interval(faults{}, api, auth)
	}
	_, states := w.incidents()
	for id, s := range states {
		assert.Equal(t, "open", s[0], id)
		assert.Equal(t, "resolved", s[len(s)-1], id)
	}
}

// TestOpenIncidentsSurviveARestart: an incident open when the connector stops is restored by the next one from the
// storage: new symptoms update it (not a new incident), and it resolves in time.
func TestOpenIncidentsSurviveARestart(t *testing.T) {
	dir := t.TempDir()
	id := storagetest.NewStorageID("file_storage")
	start := func(w *world) {
		w.h.c.cfg.Storage = &id
		w.h.c.set.ID = component.NewID(metadata.Type)
		require.NoError(t, w.h.c.Start(context.Background(), storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", dir)))
	}
	w := newWorld(t, 7)
	start(w)
	require.NoError(t, w.h.c.ConsumeLogs(context.Background(), bruteForce(w.h.clock.Now(), "bastion-1")))
	first, _ := w.incidents()
	require.Len(t, first, 1)
	require.NoError(t, w.h.c.Shutdown(context.Background()))

	w2 := newWorld(t, 8)
	w2.h.clock.Set(w.h.clock.Now().Add(time.Minute))
	start(w2)
	defer func() { require.NoError(t, w2.h.c.Shutdown(context.Background())) }()
	require.NoError(t, w2.h.c.ConsumeLogs(context.Background(), bruteForce(w2.h.clock.Now(), "bastion-1")))
	w2.anomaly("system.cpu.utilization", 0.9999, map[string]string{"host.name": "bastion-1", "service.name": "auth"})
	w2.anomaly("http.server.request.duration", 0.9999, map[string]string{"service.name": "auth"}) // auth runs there
	second, states := w2.incidents()
	for id := range first {
		assert.Contains(t, second, id, "the same incident, restored")
		assert.Equal(t, []string{"update"}, states[id], "updated, not opened again")
	}
	assert.Len(t, second, 1)
}

// TestSlowDependencyFromRequestDurations: the database answers slowly, and the anomaly processor scores the request
// durations of every service above it, each resource naming its service and its own host. Request durations are
// about the services, not the hosts they run on: one incident, the database service its root cause.
func TestSlowDependencyFromRequestDurations(t *testing.T) {
	w := newWorld(t, 4)
	front := threeTier()
	w.warm(front)
	defer w.openedWithin(w.h.clock.Now(), 30*time.Second)
	for i := range 6 {
		for _, s := range []*service{front, front.calls[0], front.calls[0].calls[0]} {
			w.anomaly("http.server.request.duration", 0.9999, map[string]string{"service.name": s.name, "host.name": s.host})
		}
		w.interval(faults{slow: map[string]float64{"orders-db": 1 + float64(i+1)}}, front)
	}
	w.oneIncident("service orders-db")
}

// TestALoneSpikeOpensNoIncident: one anomalous CPU point of a host is a spike, and two in a row a blip, not an
// incident (incidents.confirm: strong symptoms on two related entities within a minute, or three on one); the same
// host anomalous a third time opens one.
func TestALoneSpikeOpensNoIncident(t *testing.T) {
	w := newWorld(t, 5)
	db := &service{name: "orders-db", host: "db-1", latency: 5, address: "orders-db"}
	front := &service{name: "frontend", host: "web-1", latency: 8, calls: []*service{db}}
	w.warm(front)
	cpu := func() {
		w.anomaly("system.cpu.utilization", 0.9999, map[string]string{"host.name": "db-1"})
		w.interval(faults{}, front)
	}
	cpu()
	for range 10 { // beyond confirm_within
		w.interval(faults{}, front)
	}
	cpu()
	cpu()
	for range 10 {
		w.interval(faults{}, front)
	}
	roots, _ := w.incidents()
	require.Empty(t, roots, "a lone spike, then a blip of two points")
	for range 3 {
		cpu()
	}
	w.oneIncident("host db-1")
}

// TestBusinessFailureOpensAnIncident: orders fail without any technical error (payments declined): the KPI missing
// its target once or twice opens nothing, missing it a third time within confirm_within opens a business incident,
// which names the KPI's owner among its services
// rooted at the KPI (a KPI breach during a technical incident joins that one: TestFailedTransactionsFromNetworkTimeout).
func TestBusinessFailureOpensAnIncident(t *testing.T) {
	w := newWorld(t, 7)
	front := &service{name: "frontend", host: "web-1", latency: 8}
	w.warm(front)
	miss := func() { w.kpiMiss("order_success_ratio", "frontend") }
	miss()
	for range 10 { // beyond confirm_within
		w.interval(faults{}, front)
	}
	miss()
	miss()
	for range 10 {
		w.interval(faults{}, front)
	}
	roots, _ := w.incidents()
	require.Empty(t, roots, "one miss, then two")
	defer w.openedWithin(w.h.clock.Now(), 30*time.Second)
	for range 3 {
		miss()
		w.interval(faults{}, front)
	}
	w.oneIncident("kpi order_success_ratio")
	last := w.logs.AllLogs()[len(w.logs.AllLogs())-1].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	services, _ := last.Attributes().Get(semconv.AttrIncidentServices)
	assert.Equal(t, []any{"frontend"}, services.Slice().AsRaw(), "the KPI's owner is named, though it shows nothing")
}

// TestForgedScoresOpenNothing: scores a client sends past the anomaly processor (in another scope), and scores
// that are not finite or beyond 1, open no incident; the same points in the processor's scope do.
func TestForgedScoresOpenNothing(t *testing.T) {
	w := newWorld(t, 9)
	front := &service{name: "frontend", host: "web-1", latency: 8}
	w.warm(front)
	cpu := func(score float64) {
		for range 4 {
			w.anomaly("system.cpu.utilization", score, map[string]string{"host.name": "web-1"})
			w.interval(faults{}, front)
		}
	}
	w.scoreScope = "github.com/evil/forger"
	cpu(1)
	w.scoreScope = semconv.ScopeAnomaly
	cpu(math.Inf(1))
	cpu(math.NaN())
	cpu(2)
	roots, _ := w.incidents()
	require.Empty(t, roots, "forged and impossible scores")
	cpu(1)
	w.oneIncident("host web-1")
}

// TestEstateWithoutTracesUsesTheConfiguredTopology: no spans at all, only the anomaly processor's verdicts on a
// host's CPU and three services' latency. The dependencies given in the configuration (frontend → checkout) and in a
// topology file (checkout → payments → host pay-1) make them one incident whose root cause is the host; without
// them, the same symptoms are unrelated and the host is not found behind the services.
func TestEstateWithoutTracesUsesTheConfiguredTopology(t *testing.T) {
	file := filepath.Join(t.TempDir(), "topology.yaml")
	require.NoError(t, os.WriteFile(file, []byte("checkout: [payments]\npayments: [\"host:pay-1\"]\n"), 0o600))
	fault := func(w *world) {
		for range 6 {
			w.anomaly("system.cpu.utilization", 0.9999, map[string]string{"host.name": "pay-1"})
			for _, s := range []string{"payments", "checkout", "frontend"} {
				w.anomaly("http.server.request.duration", 0.9995, map[string]string{"service.name": s})
			}
			w.interval(faults{})
		}
	}
	w := newWorldWith(t, 7, func(cfg *Config) {
		cfg.Topology.Dependencies = map[string][]string{"frontend": {"checkout"}}
		cfg.Topology.File = file
	})
	w.warm()
	fault(w)
	w.oneIncident("host pay-1")

	alone := newWorld(t, 7)
	alone.warm()
	fault(alone)
	roots, _ := alone.incidents()
	assert.Greater(t, len(roots), 1, "without the topology the symptoms are unrelated")
}

// TestFiveMinuteSeriesConfirmAndResolveOnTheirOwnPoints: a host's CPU sampled every five minutes, anomalous for four
// points in a row. Its windows stretch to its own interval: the third point confirms an incident, which stays open
// between points and resolves three intervals after the last symptom. With the wall-clock windows alone (one minute
// to confirm, five to resolve) the same fault opens nothing: its points are never a minute apart.
func TestFiveMinuteSeriesConfirmAndResolveOnTheirOwnPoints(t *testing.T) {
	run := func(edit func(*Config), faulty int) *world {
		w := newWorldWith(t, 8, edit)
		for i := range 12 + faulty {
			score := 0.5
			if i >= 12 {
				score = 0.9999
			}
			w.anomaly("system.cpu.utilization", score, map[string]string{"host.name": "db-1"})
			for range 30 { // five minutes
				w.interval(faults{})
			}
		}
		return w
	}
	w := run(func(*Config) {}, 4)
	w.oneIncident("host db-1")
	_, states := w.incidents()
	for _, s := range states {
		assert.Equal(t, []string{"open"}, s, "open between its points, and five minutes after the last")
	}
	for range 60 { // ten minutes more: fifteen since the last symptom
		w.interval(faults{})
	}
	_, states = w.incidents()
	for _, s := range states {
		assert.Equal(t, []string{"open", "resolved"}, s)
	}

	without := run(func(c *Config) {
		c.Incidents.ConfirmIntervals, c.Incidents.WindowIntervals, c.Incidents.ResolveIntervals = 0, 0, 0
	}, 4)
	roots, _ := without.incidents()
	assert.Empty(t, roots, "wall-clock windows alone never confirm a five-minute series")
}

// deploy sends a resource of service name running version, as any signal of it would carry.
func (w *world) deploy(name, version string) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", name)
	rm.Resource().Attributes().PutStr("service.version", version)
	require.NoError(w.t, w.h.c.ConsumeMetrics(context.Background(), md))
}

// TestDeployBeforeTheSymptoms: payments runs a new version, and a minute later it is slow and so are its callers.
// The incident names payments, with the deploy as its first evidence; a deploy followed by nothing opens nothing.
func TestDeployBeforeTheSymptoms(t *testing.T) {
	w := newWorld(t, 9)
	front := checkoutChain()
	w.deploy("payments", "2.3.0")
	w.deploy("checkout", "5.1.0")
	w.warm(front)
	w.deploy("checkout", "5.2.0") // followed by nothing
	for range 40 {
		w.interval(faults{}, front)
	}
	roots, _ := w.incidents()
	require.Empty(t, roots, "a change alone opens nothing")

	w.deploy("payments", "2.4.0")
	for range 6 {
		w.interval(faults{}, front)
	}
	for range 6 {
		w.interval(faults{slow: map[string]float64{"payments": 6}}, front)
	}
	w.oneIncident("service payments")
	var body string
	for _, ld := range w.logs.AllLogs() {
		body = ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0).Body().Str()
	}
	assert.Contains(t, body, "runs service.version 2.4.0 (was 2.3.0)")
	assert.NotContains(t, body, "5.2.0", "a change older than the window is not evidence")
}

// TestAnchorExplainsItsOwnSymptom: the frontend calls checkout (which calls payments) and search (on host
// search-1). Payments is slow, and with it checkout and the frontend; at the same time search-1's CPU is anomalous
// and stronger. Without an anchor the strongest evidence anywhere wins the walk; anchored on checkout (its SLO), the
// walk starts there and ends at payments.
func TestAnchorExplainsItsOwnSymptom(t *testing.T) {
	run := func(anchors []string) string {
		w := newWorldWith(t, 10, func(cfg *Config) {
			cfg.Topology.Dependencies = map[string][]string{
				"frontend": {"checkout", "search"}, "checkout": {"payments"}, "search": {"host:search-1"},
			}
			cfg.Incidents.Anchors = anchors
		})
		w.warm()
		for range 4 {
			w.anomaly("system.cpu.utilization", 0.999999, map[string]string{"host.name": "search-1"})
			for _, s := range []string{"payments", "checkout", "frontend"} {
				w.anomaly("http.server.request.duration", 0.9995, map[string]string{"service.name": s})
			}
			w.interval(faults{})
		}
		roots, _ := w.incidents()
		require.Len(t, roots, 1)
		for _, root := range roots {
			return root
		}
		return ""
	}
	assert.Equal(t, "host search-1", run(nil), "unanchored, the strongest evidence wins")
	assert.Equal(t, "service payments", run([]string{"checkout"}))
}

// TestBruteForceNamesTheServiceOnItsHost: a brute force against the host the auth service runs on, the service
// itself unharmed: the incident names the host as root cause, the service among its services, and the detection's
// MITRE ATT&CK technique as evidence.
func TestBruteForceNamesTheServiceOnItsHost(t *testing.T) {
	w := newWorld(t, 11)
	auth := &service{name: "auth", host: "bastion-1", latency: 15, address: "auth"}
	w.warm(auth)
	require.NoError(t, w.h.c.ConsumeLogs(context.Background(), bruteForce(w.h.clock.Now(), "bastion-1")))
	w.interval(faults{}, auth)
	w.oneIncident("host bastion-1")
	r := w.logs.AllLogs()[0].ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().At(0)
	services, _ := r.Attributes().Get(semconv.AttrIncidentServices)
	hosts, _ := r.Attributes().Get(semconv.AttrIncidentHosts)
	assert.Equal(t, []any{"auth"}, services.Slice().AsRaw())
	assert.Equal(t, []any{"bastion-1"}, hosts.Slice().AsRaw())
	assert.Contains(t, r.Body().Str(), "MITRE ATT&CK T1110.001")
}

// TestCallsThatNeverArriveNameTheirCallee: the frontend's calls to catalog never arrive (a hung pool, a partition).
// The frontend is slow and fails; catalog receives no requests, and store, which catalog calls, fewer; their hosts'
// CPU falls with the work. The root cause is catalog: store's fewer requests are catalog's doing (traffic is explained
// by the callers), and a CPU that fell harms nothing — alone it opens no incident, where an alarm whose value is not
// known does.
func TestCallsThatNeverArriveNameTheirCallee(t *testing.T) {
	file := filepath.Join(t.TempDir(), "topology.yaml")
	require.NoError(t, os.WriteFile(file, []byte("frontend: [catalog]\ncatalog: [store, \"host:catalog-host\"]\nstore: [\"host:store-host\"]\n"), 0o600))
	run := func(send func(w *world, metric string, value, expected float64, resource map[string]string), all bool) *world {
		w := newWorldWith(t, 10, func(cfg *Config) { cfg.Topology.File = file })
		w.warm()
		for range 6 {
			if all {
				send(w, "http.server.request.duration", 2, 0.05, map[string]string{"service.name": "frontend"})
				send(w, "http.server.availability", 0.2, 1, map[string]string{"service.name": "frontend"})
				send(w, "http.server.requests", 0, 10, map[string]string{"service.name": "catalog"})
				send(w, "http.server.requests", 4, 12, map[string]string{"service.name": "store"})
			}
			send(w, "process.cpu.utilization", 0.02, 0.3, map[string]string{"host.name": "store-host"})
			send(w, "process.cpu.utilization", 0.02, 0.3, map[string]string{"host.name": "catalog-host"})
			w.interval(faults{})
		}
		return w
	}
	run((*world).moved, true).oneIncident("service catalog")
	roots, _ := run((*world).moved, false).incidents()
	assert.Empty(t, roots, "a CPU that fell")
	unknown := func(w *world, metric string, _, _ float64, resource map[string]string) {
		w.anomaly(metric, 0.9999, resource)
	}
	run(unknown, true).oneIncident("service catalog")
	roots, _ = run(unknown, false).incidents()
	assert.NotEmpty(t, roots, "alarms whose value is not known")
}
