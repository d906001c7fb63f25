package signals

import (
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"
	"github.com/otelstrata/strata/internal/semconv"
)

var t0 = time.Date(2026, 12, 4, 12, 0, 0, 0, time.UTC)

// recorder is a Sink that keeps what the watcher reports.
type recorder struct {
	found   []incidents.Symptom
	changes []incidents.Symptom
	links   [][2]incidents.Entity
	kpis    []incidents.KPIPoint
}

func (r *recorder) AddAll(found []incidents.Symptom) { r.found = append(r.found, found...) }
func (r *recorder) AddChange(c incidents.Symptom)    { r.changes = append(r.changes, c) }
func (r *recorder) AddKPI(p incidents.KPIPoint)      { r.kpis = append(r.kpis, p) }
func (r *recorder) Link(a, b incidents.Entity, _ string, _ time.Time) {
	r.links = append(r.links, [2]incidents.Entity{a, b})
}

func config() incidents.Config {
	return incidents.Config{WarmUp: 30, Threshold: 0.997, MaxSignals: 100}
}

// serverSpan returns a server span lasting d.
func serverSpan(d time.Duration) ptrace.Span {
	s := ptrace.NewSpan()
	s.SetKind(ptrace.SpanKindServer)
	s.SetTraceID(pcommon.TraceID{1})
	s.SetStartTimestamp(pcommon.NewTimestampFromTime(t0))
	s.SetEndTimestamp(pcommon.NewTimestampFromTime(t0.Add(d)))
	return s
}

// TestLatencyBecomesASymptomWhenClearlyWorse: a service's latency, steady over its warm-up, is a symptom when it
// jumps to ten times its level, and not while it stays near it.
func TestLatencyBecomesASymptomWhenClearlyWorse(t *testing.T) {
	sink := &recorder{}
	w := New(config(), sink)
	now := t0
	interval := func(d time.Duration) {
		for range 20 {
			w.Span(serverSpan(d), "store", now)
		}
		now = now.Add(10 * time.Second)
		w.Interval(now)
	}
	for i := range 60 {
		interval(20*time.Millisecond + time.Duration(i%3)*time.Millisecond)
	}
	require.Empty(t, sink.found, "a steady latency is no symptom")
	interval(200 * time.Millisecond)
	require.NotEmpty(t, sink.found)
	s := sink.found[0]
	assert.Equal(t, incidents.Entity{Kind: incidents.KindService, Name: "store"}, s.Entity)
	assert.Equal(t, incidents.LayerApplication, s.Layer)
	assert.Equal(t, signalLatency, s.Signal)
	assert.GreaterOrEqual(t, s.Score, 0.997)
	assert.Equal(t, now, s.At)
}

// TestResourceLinksItsService: Resource links the service to its host and container; reading the
// entities alone (resourceEntities) links nothing.
func TestResourceLinksItsService(t *testing.T) {
	sink := &recorder{}
	w := New(config(), sink)
	attrs := pcommon.NewMap()
	attrs.PutStr("service.name", "store")
	attrs.PutStr("host.name", "store-host")
	attrs.PutStr("container.id", "c1")
	store := incidents.Entity{Kind: incidents.KindService, Name: "store"}
	want := []incidents.Entity{{Kind: incidents.KindContainer, Name: "c1"}, {Kind: incidents.KindHost, Name: "store-host"}, store}
	assert.Equal(t, want, resourceEntities(attrs))
	assert.Empty(t, sink.links)
	assert.Equal(t, want, w.Resource(attrs, t0))
	assert.Equal(t, [][2]incidents.Entity{{store, want[0]}, {store, want[1]}}, sink.links)
}

// TestDetectionIsASecuritySymptomOfItsHost: a security detection from the auth log is a symptom of the host it
// names, scored by its severity, at its own time.
func TestDetectionIsASecuritySymptomOfItsHost(t *testing.T) {
	sink := &recorder{}
	w := New(config(), sink)
	ld := plog.NewLogs()
	r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.SetEventName(semconv.EventDetection)
	r.SetSeverityNumber(plog.SeverityNumberError)
	r.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	r.Attributes().PutStr(semconv.AttrHostName, "bastion")
	r.Attributes().PutStr(semconv.AttrSecurityRuleName, "brute_force")
	r.Attributes().PutStr(semconv.AttrSourceAddress, "203.0.113.66")
	w.Logs(ld, t0.Add(time.Second))
	require.Len(t, sink.found, 1)
	s := sink.found[0]
	assert.Equal(t, incidents.Entity{Kind: incidents.KindHost, Name: "bastion"}, s.Entity)
	assert.Equal(t, incidents.LayerSecurity, s.Layer)
	assert.Equal(t, "brute_force", s.Signal)
	assert.Equal(t, 1.0, s.Score)
	assert.Equal(t, t0, s.At)
	assert.Contains(t, s.Detail, "203.0.113.66")
}

// TestAnomalyAlarmOrScore: by default the anomaly processor's alarm is a symptom, as strong as its point's score and
// at least the open score, and the score alone is not; with anomaly_signal score, the score at or above the
// threshold is and the alarm is not.
func TestAnomalyAlarmOrScore(t *testing.T) {
	processor := func(alarm, score float64) pmetric.Metrics {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr(semconv.AttrHostName, "db-1")
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(semconv.ScopeAnomaly)
		for name, v := range map[string]float64{semconv.MetricAnomalyAlarm: alarm, semconv.MetricAnomalyScore: score} {
			m := sm.Metrics().AppendEmpty()
			m.SetName(name)
			dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
			dp.SetDoubleValue(v)
			dp.Attributes().PutStr(semconv.AttrAnomalyMetric, "system.cpu.utilization")
		}
		return md
	}
	for _, c := range []struct {
		signal       string
		alarm, score float64
		want         []float64 // the symptoms' scores
	}{
		{incidents.AnomalyAlarm, 1, 0.9, []float64{0.999}},
		{incidents.AnomalyAlarm, 1, 0.99999, []float64{0.99999}},
		{incidents.AnomalyAlarm, 1, math.NaN(), []float64{0.999}},
		{incidents.AnomalyAlarm, 1, 2, []float64{0.999}},
		{incidents.AnomalyAlarm, 0, 0.9999, nil},
		{incidents.AnomalyScore, 1, 0.9, nil},
		{incidents.AnomalyScore, 0, 0.998, []float64{0.998}},
	} {
		cfg := config()
		cfg.AnomalySignal, cfg.OpenScore = c.signal, 0.999
		sink := &recorder{}
		New(cfg, sink).Metrics(processor(c.alarm, c.score), t0.Add(time.Second))
		var got []float64
		for _, s := range sink.found {
			got = append(got, s.Score)
			assert.Equal(t, incidents.Entity{Kind: incidents.KindHost, Name: "db-1"}, s.Entity)
			assert.Equal(t, incidents.LayerInfrastructure, s.Layer)
		}
		assert.Equal(t, c.want, got, "%s: alarm %v, score %v", c.signal, c.alarm, c.score)
	}
}

// TestBusinessFigureIsTheServices: an anomalous business figure of a service (its order success ratio) is the
// service's symptom, as a request duration is, not its host's; a CPU is the host's.
func TestBusinessFigureIsTheServices(t *testing.T) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	rm.Resource().Attributes().PutStr(semconv.AttrHostName, "checkout-host")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(semconv.ScopeAnomaly)
	m := sm.Metrics().AppendEmpty()
	m.SetName(semconv.MetricAnomalyAlarm)
	dps := m.SetEmptyGauge().DataPoints()
	for _, watched := range []string{"shop.order.success_ratio", "process.cpu.utilization"} {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
		dp.SetDoubleValue(1)
		dp.Attributes().PutStr(semconv.AttrAnomalyMetric, watched)
	}
	cfg := config()
	cfg.AnomalySignal, cfg.OpenScore = incidents.AnomalyAlarm, 0.999
	sink := &recorder{}
	New(cfg, sink).Metrics(md, t0.Add(time.Second))
	require.Len(t, sink.found, 2)
	assert.Equal(t, incidents.Entity{Kind: incidents.KindService, Name: "checkout"}, sink.found[0].Entity)
	assert.Equal(t, incidents.LayerBusiness, sink.found[0].Layer)
	assert.Equal(t, incidents.Entity{Kind: incidents.KindHost, Name: "checkout-host"}, sink.found[1].Entity)
}

// TestServiceGraphMetricsLinkServices: the request counters of a service graph made elsewhere (Tempo, contrib's
// servicegraph connector; named with or without _total) link each client to its server; other sums and points
// without both names link nothing.
func TestServiceGraphMetricsLinkServices(t *testing.T) {
	sink := &recorder{}
	w := New(config(), sink)
	md := pmetric.NewMetrics()
	metrics := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics()
	for _, x := range []struct{ name, client, server string }{
		{"traces_service_graph_request_total", "frontend", "checkout"},
		{"traces_service_graph_request", "checkout", "payments"},
		{"traces_service_graph_request_total", "checkout", ""},
		{"http.server.request.count", "a", "b"},
	} {
		m := metrics.AppendEmpty()
		m.SetName(x.name)
		dp := m.SetEmptySum().DataPoints().AppendEmpty()
		dp.SetIntValue(10)
		dp.Attributes().PutStr("client", x.client)
		if x.server != "" {
			dp.Attributes().PutStr("server", x.server)
		}
	}
	w.Metrics(md, t0)
	service := func(name string) incidents.Entity { return incidents.Entity{Kind: incidents.KindService, Name: name} }
	assert.Equal(t, [][2]incidents.Entity{{service("frontend"), service("checkout")}, {service("checkout"), service("payments")}}, sink.links)
	assert.Empty(t, sink.found)
}

// TestSeriesInterval: a series' interval is known from its third point, points of one time count once, a gap moves
// it little, and a shorter interval takes over at once.
func TestSeriesInterval(t *testing.T) {
	w := New(config(), &recorder{})
	k := figureKey{incidents.Entity{Kind: incidents.KindHost, Name: "db-1"}, "system.cpu.utilization"}
	at := t0
	assert.Zero(t, w.every(k, at))
	at = at.Add(5 * time.Minute)
	assert.Zero(t, w.every(k, at), "one interval is not yet known")
	assert.Zero(t, w.every(k, at), "the same time again")
	at = at.Add(5 * time.Minute)
	assert.Equal(t, 5*time.Minute, w.every(k, at))
	at = at.Add(2 * time.Hour) // a gap
	assert.Equal(t, 5*time.Minute+5*time.Minute/16, w.every(k, at))
	at = at.Add(time.Minute)
	assert.Equal(t, time.Minute, w.every(k, at))
}

// TestChangesOfVersionAndRestarts: a service seen with a version it was not seen with before is a change (the first
// sight is not, nor the old version again during a rolling deploy); so is a container whose restart count rose.
func TestChangesOfVersionAndRestarts(t *testing.T) {
	sink := &recorder{}
	w := New(config(), sink)
	resource := func(version string) pcommon.Map {
		attrs := pcommon.NewMap()
		attrs.PutStr("service.name", "checkout")
		attrs.PutStr("service.version", version)
		return attrs
	}
	w.Resource(resource("1.4.0"), t0)
	w.Resource(resource("1.4.0"), t0.Add(time.Second))
	assert.Empty(t, sink.changes, "the first sight is no change")
	w.Resource(resource("1.5.0"), t0.Add(time.Minute))
	w.Resource(resource("1.4.0"), t0.Add(time.Minute+time.Second))
	w.Resource(resource("1.5.0"), t0.Add(time.Minute+2*time.Second))
	require.Len(t, sink.changes, 1)
	c := sink.changes[0]
	assert.Equal(t, incidents.Entity{Kind: incidents.KindService, Name: "checkout"}, c.Entity)
	assert.Equal(t, "deploy", c.Signal)
	assert.Equal(t, t0.Add(time.Minute), c.At)
	assert.Contains(t, c.Detail, "service.version 1.5.0 (was 1.4.0)")

	restarts := func(n int64, at time.Time) {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("k8s.pod.name", "payments-7f9c")
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("k8s.container.restarts")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetIntValue(n)
		dp.Attributes().PutStr("k8s.container.name", "payments")
		w.Metrics(md, at)
	}
	restarts(2, t0)
	restarts(2, t0.Add(time.Minute))
	require.Len(t, sink.changes, 1, "a count seen first, then the same, is no restart")
	restarts(3, t0.Add(2*time.Minute))
	require.Len(t, sink.changes, 2)
	c = sink.changes[1]
	assert.Equal(t, incidents.Entity{Kind: incidents.KindPod, Name: "payments-7f9c"}, c.Entity)
	assert.Equal(t, "restart", c.Signal)
	assert.Empty(t, sink.found, "changes are no symptoms")
}

// TestKPIPointsPairWithTheirBand: a business gauge and the anomaly processor's expected value and band of it, in
// one request, make one point of the figure's entity (the service); a point without its band, the band of another
// statistic, and a figure of another layer make none.
func TestKPIPointsPairWithTheirBand(t *testing.T) {
	sink := &recorder{}
	w := New(config(), sink)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "checkout")
	rm.Resource().Attributes().PutStr("host.name", "checkout-host")
	own := rm.ScopeMetrics().AppendEmpty().Metrics()
	ts := pcommon.NewTimestampFromTime(t0)
	gauge := func(ms pmetric.MetricSlice, name, unit string, v float64, attrs map[string]any) {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit(unit)
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetDoubleValue(v)
		require.NoError(t, dp.Attributes().FromRaw(attrs))
	}
	gauge(own, "shop.orders.rate", "{order}/s", 4, map[string]any{"channel": "web"})
	gauge(own, "shop.orders.rate", "{order}/s", 9, map[string]any{"channel": "app"}) // no band
	gauge(own, "process.cpu.utilization", "1", 0.9, nil)
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(semconv.ScopeAnomaly)
	for name, v := range map[string]float64{semconv.MetricAnomalyExpected: 10, semconv.MetricAnomalyLower: 8, semconv.MetricAnomalyUpper: 12} {
		gauge(sm.Metrics(), name, "{order}/s", v, map[string]any{"channel": "web", semconv.AttrAnomalyMetric: "shop.orders.rate", semconv.AttrAnomalyStatistic: "value"})
		gauge(sm.Metrics(), name, "1", v, map[string]any{semconv.AttrAnomalyMetric: "process.cpu.utilization", semconv.AttrAnomalyStatistic: "value"})
		gauge(sm.Metrics(), name, "{order}/s", v, map[string]any{"channel": "app", semconv.AttrAnomalyMetric: "shop.orders.rate", semconv.AttrAnomalyStatistic: "p95"})
	}
	w.Metrics(md, t0.Add(time.Second))
	assert.Equal(t, []incidents.KPIPoint{{Entity: incidents.Entity{Kind: incidents.KindService, Name: "checkout"}, Metric: "shop.orders.rate",
		Unit: "{order}/s", At: t0, Observed: 4, Expected: 10, Lower: 8, Upper: 12}}, sink.kpis)
}

// TestKPIValueIsItsOwners: a KPI's value as the kpi receiver sends it (no service in its resource, its owner on the
// point) is a figure of the owner service; a ratio's point says the rate it is a share of.
func TestKPIValueIsItsOwners(t *testing.T) {
	sink := &recorder{}
	w := New(config(), sink)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	ts := pcommon.NewTimestampFromTime(t0)
	gauge := func(ms pmetric.MetricSlice, name string, v float64, attrs map[string]any) {
		m := ms.AppendEmpty()
		m.SetName(name)
		m.SetUnit("1")
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetDoubleValue(v)
		require.NoError(t, dp.Attributes().FromRaw(attrs))
	}
	gauge(rm.ScopeMetrics().AppendEmpty().Metrics(), "shop.orders.success_ratio", 0.7, map[string]any{semconv.AttrKPIOwner: "checkout",
		semconv.AttrKPIOf: "shop.orders.rate"})
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(semconv.ScopeAnomaly)
	for name, v := range map[string]float64{semconv.MetricAnomalyExpected: 0.97, semconv.MetricAnomalyLower: 0.9, semconv.MetricAnomalyUpper: 1} {
		gauge(sm.Metrics(), name, v, map[string]any{semconv.AttrKPIOwner: "checkout", semconv.AttrKPIOf: "shop.orders.rate",
			semconv.AttrAnomalyMetric: "shop.orders.success_ratio", semconv.AttrAnomalyStatistic: "value"})
	}
	w.Metrics(md, t0.Add(time.Second))
	require.Len(t, sink.kpis, 1)
	assert.Equal(t, incidents.Entity{Kind: incidents.KindService, Name: "checkout"}, sink.kpis[0].Entity)
	assert.Equal(t, "shop.orders.rate", sink.kpis[0].Of)
}

// TestMovesThatHarmNothingAreNoSymptoms: an alarm on a figure that moved the harmless way (less CPU, more of the
// requests answered) is no symptom; the other way it is, and a request rate is a symptom of the traffic, fewer or more
// requests than expected. The way is where the series leant lately when the alarm came, not where the point of the alarm
// lies: a shift's alarm may come on a point back on the other side, and stay raised while the model learns the new
// level. Without the value scored (an older processor) every alarm is a symptom.
func TestMovesThatHarmNothingAreNoSymptoms(t *testing.T) {
	// point sends the processor's gauges of one watched point that is off half-widths of its band from the expected
	// value, with the alarm raised or not
	point := func(w *Watcher, metric string, off float64, alarm, withValue bool) {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", "store")
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(semconv.ScopeAnomaly)
		gauges := map[string]float64{semconv.MetricAnomalyAlarm: 0, semconv.MetricAnomalyScore: 0.9999,
			semconv.MetricAnomalyExpected: 10, semconv.MetricAnomalyLower: 8, semconv.MetricAnomalyUpper: 12}
		if alarm {
			gauges[semconv.MetricAnomalyAlarm] = 1
		}
		if withValue {
			gauges[semconv.MetricAnomalyValue] = 10 + 2*off
		}
		for name, v := range gauges {
			m := sm.Metrics().AppendEmpty()
			m.SetName(name)
			dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
			dp.SetDoubleValue(v)
			dp.Attributes().PutStr(semconv.AttrAnomalyMetric, metric)
		}
		w.Metrics(md, t0.Add(time.Second))
	}
	cfg := config()
	cfg.AnomalySignal = incidents.AnomalyAlarm
	for _, c := range []struct {
		metric    string
		offs      []float64 // the points
		withValue bool
		want      string // the symptoms: of traffic (fewer or more than expected, or not known) or another; "" none
		raised    int    // on how many of the last points the alarm is raised
	}{
		{"process.cpu.utilization", []float64{-4}, true, "", 1},
		{"process.cpu.utilization", []float64{4}, true, "symptom", 1},
		{"process.cpu.utilization", []float64{-2, -2, -2, 0.5}, true, "", 1},
		{"process.cpu.utilization", []float64{-4}, false, "symptom", 1},
		{"http.server.availability", []float64{3}, true, "", 1},
		{"http.server.availability", []float64{-3}, true, "symptom", 1},
		{"http.server.request.duration", []float64{-3}, true, "", 1},
		{"http.server.requests", []float64{-5}, true, "fewer", 1},
		{"http.server.requests", []float64{-2, -2, -2, 0.5}, true, "fewer", 1},
		{"http.server.requests", []float64{-5}, false, "traffic", 1},
		{"http.server.requests", []float64{5}, true, "more", 1},
		{"shop.orders.rate", []float64{-5}, true, "symptom", 1},
		{"process.cpu.utilization", []float64{-2, -2, -0.2, 0.3, 0.3, 0.3}, true, "", 4},
		{"http.server.requests", []float64{-2, -2, -0.2, 0.3, 0.3, 0.3}, true, "fewer fewer fewer fewer", 4},
	} {
		sink := &recorder{}
		w := New(cfg, sink)
		for i, off := range c.offs {
			point(w, c.metric, off, i >= len(c.offs)-c.raised, c.withValue)
		}
		var got []string
		for _, s := range sink.found {
			switch {
			case strings.HasSuffix(s.Detail, "fewer than expected") && s.Traffic:
				got = append(got, "fewer")
			case strings.HasSuffix(s.Detail, "more than expected") && s.Traffic:
				got = append(got, "more")
			case s.Traffic:
				got = append(got, "traffic")
			default:
				got = append(got, "symptom")
			}
		}
		assert.Equal(t, c.want, strings.Join(got, " "), "%s %v, the value known: %v", c.metric, c.offs, c.withValue)
	}
}

// TestHarmlessWayOfAState: a share of memory or CPU in a state harms the way its name says when the state is used,
// the other way when it is idle or free, and either way in any other state.
func TestHarmlessWayOfAState(t *testing.T) {
	for _, c := range []struct {
		metric, key, state string
		way                float64
		want               bool
	}{
		{"system.memory.usage", "", "", -1, true},
		{"system.memory.usage", "state", "used", -1, true},
		{"system.memory.usage", "state", "free", -1, false},
		{"system.memory.usage", "state", "free", 1, true},
		{"system.memory.usage", "system.memory.state", "cached", -1, false},
		{"system.cpu.utilization", "cpu.mode", "idle", 1, true},
		{"system.cpu.utilization", "cpu.mode", "idle", -1, false},
		{"system.cpu.utilization", "cpu.mode", "system", -1, false},
		{"system.cpu.utilization", "", "", -0.2, false},
		{"http.server.requests", "", "", -1, false},
	} {
		attrs := pcommon.NewMap()
		if c.key != "" {
			attrs.PutStr(c.key, c.state)
		}
		assert.Equal(t, c.want, harmless(c.metric, attrs, c.way), "%s %s=%s moved %v", c.metric, c.key, c.state, c.way)
	}
}
