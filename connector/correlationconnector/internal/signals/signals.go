// Package signals watches what passes through the connector — request latencies and errors in spans, anomaly
// scores, probe results and KPI targets in metrics, security detections and error logs in logs — and reports what
// is wrong as symptoms, and what runs on what as links.
package signals // import "github.com/otelstrata/strata/connector/correlationconnector/internal/signals"

import (
	"fmt"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"
	"github.com/otelstrata/strata/internal/anomaly"
	"github.com/otelstrata/strata/internal/points"
	"github.com/otelstrata/strata/internal/semconv"
)

// figureKey is a figure the connector watches over intervals: a service's latency and error rate (its server spans),
// the latency and error rate of calls to an endpoint (client spans: what callers wait for, which a server's own spans
// do not show when its process is too starved to read requests), a service's error logs.
type figureKey struct {
	entity incidents.Entity
	signal string
}

// Signals watched over intervals.
const (
	signalLatency     = "latency"
	signalErrorRate   = "error rate"
	signalClientError = "failed calls"
	signalErrorLogs   = "error logs"
)

// figure accumulates one interval of a watched figure (latency, errors) and keeps its model.
type figure struct {
	count, errors float64
	sum           float64 // durations, seconds
	traceID       string  // an exemplar: a failed or the slowest span of the interval
	slowest       float64
	network       bool // failures of the interval look like the network's (timeouts, refused connections)
	detector      *anomaly.Detector
}

// Watcher turns what passes into symptoms for its sink. It is not safe for concurrent use.
type Watcher struct {
	cfg     incidents.Config
	eng     Sink
	figures map[figureKey]*figure
	timings map[figureKey]*timing // of the series whose points are read (anomaly verdicts, probes, KPIs)
	// what changes are told by: the versions each service was seen with (the latest last), each container's restarts
	versions map[incidents.Entity][]string
	restarts map[figureKey]float64
	detCfg   anomaly.Config
	found    []incidents.Symptom // of the request being read, added together at its end
}

// Sink takes what the watcher finds: the incident engine.
type Sink interface {
	AddAll(found []incidents.Symptom)
	AddChange(c incidents.Symptom)
	AddKPI(p incidents.KPIPoint)
	Link(a, b incidents.Entity, source string, at time.Time)
}

// New returns a watcher that reports to eng; cfg's threshold, warm_up and max_signals apply.
func New(cfg incidents.Config, eng Sink) *Watcher {
	d := anomaly.DefaultConfig()
	d.WarmUp = cfg.WarmUp
	d.Seasonal = false // intervals of seconds: no daily profile to learn within an incident's reach
	d.Sequence = false // nor a rhythm: a figure is a symptom when it is clearly worse, not when it moves anew
	return &Watcher{cfg: cfg, eng: eng, figures: map[figureKey]*figure{}, timings: map[figureKey]*timing{},
		versions: map[incidents.Entity][]string{}, restarts: map[figureKey]float64{}, detCfg: d}
}

// timing is the interval between the points of a series, as measured, and which way the series moved.
type timing struct {
	last   time.Time
	every  time.Duration
	deltas int // intervals seen, up to 2
	// lean is where the series has leant lately against its expected value; way, where it leant when the alarm
	// (or the score past the threshold) it still raises came
	lean, way float64
	raised    bool
}

// leaning is how far a series must lean (in half-widths of its band) for the way it moved to count.
const leaning = 0.3

// way returns which way the series k moved when it raised the alarm it still raises (raised; 0 when not raised or
// not known): where its points leant then, an exponential average of off, each point's distance from its expected
// value in half-widths of its band (at most 3 either way), the latest weighing 0.3; positive above. A shift raises
// the alarm when the points have kept to one side a while, on a point that may itself lie on either; and while the
// alarm stays raised the model learns the new level, so the way is the one of its start. off is NaN when the value
// or the band is not known (an older processor): the way is then 0.
func (w *Watcher) way(k figureKey, off float64, raised bool) float64 {
	t := w.timings[k]
	if t == nil {
		return 0
	}
	if !math.IsNaN(off) {
		t.lean = 0.7*t.lean + 0.3*max(-3, min(3, off))
	}
	if raised && !t.raised {
		t.way = t.lean
	}
	t.raised = raised
	if !raised {
		return 0
	}
	return t.way
}

// every returns the interval of the series k measured with a point at at: the shortest time between two of its
// points, which longer ones raise by a sixteenth of the difference each (by at most the interval each), so that
// neither a gap nor the sparse points of a processor that sends only anomalous ones (emit: anomalous) stretch it
// much. Points of the same time (the sub-series of one scrape) count once. 0 until the series has had three
// points, and for series beyond max_signals.
func (w *Watcher) every(k figureKey, at time.Time) time.Duration {
	t := w.timings[k]
	if t == nil {
		if len(w.timings) >= w.cfg.MaxSignals {
			return 0
		}
		w.timings[k] = &timing{last: at}
		return 0
	}
	if d := at.Sub(t.last); d > 0 {
		t.last = at
		switch {
		case t.deltas == 0 || d < t.every:
			t.every = min(d, incidents.MaxEvery)
		default:
			t.every += (min(d, 2*t.every) - t.every) / 16
		}
		t.deltas = min(t.deltas+1, 2)
	}
	if t.deltas < 2 {
		return 0
	}
	return t.every
}

func (w *Watcher) figureOf(e incidents.Entity, signal string) *figure {
	k := figureKey{e, signal}
	r := w.figures[k]
	if r == nil {
		if len(w.figures) >= w.cfg.MaxSignals {
			return nil
		}
		r = &figure{detector: anomaly.New(w.detCfg)}
		w.figures[k] = r
	}
	return r
}

// resourceEntities returns the entities a resource names, most specific first.
func resourceEntities(attrs pcommon.Map) []incidents.Entity {
	var es []incidents.Entity
	for _, x := range []struct{ key, kind string }{
		{"container.id", incidents.KindContainer}, {"k8s.pod.name", incidents.KindPod}, {"host.name", incidents.KindHost}, {"service.name", incidents.KindService},
	} {
		if v, ok := attrs.Get(x.key); ok && v.AsString() != "" {
			es = append(es, incidents.Entity{Kind: x.kind, Name: v.AsString()})
		}
	}
	return es
}

// Resource returns the entities a resource names, most specific first, links its service to the container, pod
// and host it runs on, and tells a change when the service comes with a version it was not seen with before.
func (w *Watcher) Resource(attrs pcommon.Map, now time.Time) []incidents.Entity {
	es := resourceEntities(attrs)
	if len(es) == 0 || es[len(es)-1].Kind != incidents.KindService {
		return es
	}
	svc := es[len(es)-1]
	for _, e := range es[:len(es)-1] {
		w.eng.Link(svc, e, incidents.SourceResource, now)
	}
	if v, ok := attrs.Get("service.version"); ok && v.AsString() != "" {
		w.version(svc, v.AsString(), now)
	}
	return es
}

// maxVersions is how many versions of a service are remembered: a rolling deploy shows the old and new alternately.
const maxVersions = 4

// version tells a change when a service seen before comes with a version none of its recent ones is.
func (w *Watcher) version(svc incidents.Entity, v string, now time.Time) {
	seen, known := w.versions[svc]
	if slices.Contains(seen, v) || (!known && len(w.versions) >= w.cfg.MaxSignals) {
		return
	}
	if known {
		w.eng.AddChange(incidents.Symptom{Entity: svc, Signal: "deploy", Score: w.cfg.OpenScore, At: now,
			Detail: fmt.Sprintf("%s runs service.version %s (was %s)", svc, v, seen[len(seen)-1])})
	}
	if len(seen) >= maxVersions {
		seen = seen[1:]
	}
	w.versions[svc] = append(seen, v)
}

// restarted tells a change when a container's restart count (k8s.container.restarts) rose since its last point.
func (w *Watcher) restarted(dps pmetric.NumberDataPointSlice, res []incidents.Entity, now time.Time) {
	if len(res) == 0 {
		return
	}
	for _, dp := range dps.All() {
		container := ""
		if c, ok := dp.Attributes().Get("k8s.container.name"); ok {
			container = c.AsString()
		}
		k := figureKey{res[0], container}
		v := points.Value(dp)
		last, known := w.restarts[k]
		if !known && len(w.restarts) >= w.cfg.MaxSignals {
			continue
		}
		w.restarts[k] = v
		if known && v > last {
			w.eng.AddChange(incidents.Symptom{Entity: res[0], Signal: "restart", Score: w.cfg.OpenScore, At: now,
				Detail: fmt.Sprintf("container %s of %s restarted (k8s.container.restarts %g, was %g)", container, res[0], v, last)})
		}
	}
}

// Span accounts a span: the server spans of a service make its latency and error rate; failed client spans without
// an answering server count against the endpoint they call.
func (w *Watcher) Span(span ptrace.Span, service string, now time.Time) {
	svc := incidents.Entity{Kind: incidents.KindService, Name: service}
	d := math.Max(0, span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime()).Seconds())
	failed := span.Status().Code() == ptrace.StatusCodeError
	switch span.Kind() {
	case ptrace.SpanKindServer, ptrace.SpanKindConsumer:
		w.observe(w.figureOf(svc, signalLatency), d, failed, span.TraceID())
		w.observe(w.figureOf(svc, signalErrorRate), d, failed, span.TraceID())
	case ptrace.SpanKindClient, ptrace.SpanKindProducer:
		for _, k := range []string{"peer.service", "server.address"} {
			if v, ok := span.Attributes().Get(k); ok && v.AsString() != "" {
				ep := incidents.Entity{Kind: incidents.KindEndpoint, Name: v.AsString()}
				w.eng.Link(svc, ep, incidents.SourceSpans, now)
				w.observe(w.figureOf(ep, signalLatency), d, failed, span.TraceID())
				r := w.figureOf(ep, signalClientError)
				w.observe(r, d, failed, span.TraceID())
				if r != nil && failed && looksLikeNetwork(span) {
					r.network = true
				}
				break
			}
		}
	}
}

func (w *Watcher) observe(r *figure, seconds float64, failed bool, id pcommon.TraceID) {
	if r == nil {
		return
	}
	r.count++
	r.sum += seconds
	if failed {
		r.errors++
	}
	if (failed || seconds > r.slowest) && !id.IsEmpty() {
		r.slowest = seconds
		r.traceID = id.String()
	}
}

// looksLikeNetwork reports whether a failed client span failed on the way (a timeout, a refused or reset connection).
func looksLikeNetwork(span ptrace.Span) bool {
	text := strings.ToLower(span.Status().Message())
	if v, ok := span.Attributes().Get("error.type"); ok {
		text += " " + strings.ToLower(v.AsString())
	}
	for _, word := range []string{"timeout", "deadline", "refused", "reset", "unreachable"} {
		if strings.Contains(text, word) {
			return true
		}
	}
	return false
}

// minErrors is how many failures an interval needs before its error rate can be a symptom: one failed request in
// twenty is a 5 % error rate, and noise.
const minErrors = 3

// Interval closes an interval of every watched figure: each is scored by its model, and a figure that is both
// anomalous for its model and clearly worse than expected (latency half again its expected value; an error rate of
// at least 5 % and twice its expected value, from at least minErrors failures) is a symptom.
func (w *Watcher) Interval(now time.Time) {
	var found []incidents.Symptom
	for k, r := range w.figures {
		if r.count == 0 && k.signal != signalErrorLogs {
			continue
		}
		var value float64
		switch k.signal {
		case signalLatency:
			value = r.sum / r.count
		case signalErrorRate, signalClientError:
			value = r.errors / r.count
		case signalErrorLogs:
			value = r.count
		}
		res := r.detector.Update(now, value)
		worse := false
		switch k.signal {
		case signalLatency:
			worse = value > 1.5*res.Expected && value-res.Expected > 0.001
		case signalErrorRate, signalClientError:
			worse = r.errors >= minErrors && value >= 0.05 && value > 2*res.Expected
		case signalErrorLogs:
			worse = value >= 5 && value > 3*res.Expected
		}
		if res.Score >= w.cfg.Threshold && worse {
			layer := incidents.LayerApplication
			if k.signal == signalClientError && r.network {
				layer = incidents.LayerNetwork
			}
			found = append(found, incidents.Symptom{Entity: k.entity, Layer: layer, Signal: k.signal, Score: res.Score, At: now,
				Every: w.cfg.Interval, TraceID: r.traceID, Detail: fmt.Sprintf("%s of %s: %.4g, expected %.4g", k.signal, k.entity, value, res.Expected)})
		}
		r.count, r.errors, r.sum, r.traceID, r.slowest, r.network = 0, 0, 0, "", 0, false
	}
	w.eng.AddAll(found)
}

// Metrics turns the anomaly processor's scores, failed probes and KPIs below target into symptoms.
func (w *Watcher) Metrics(md pmetric.Metrics, now time.Time) {
	var kpis []incidents.KPIPoint
	for _, rm := range md.ResourceMetrics().All() {
		res := w.Resource(rm.Resource().Attributes(), now)
		pairs := kpiPairs{}
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				switch {
				case serviceGraphRequests[m.Name()] && m.Type() == pmetric.MetricTypeSum:
					w.serviceGraph(m.Sum().DataPoints(), now)
					continue
				case m.Name() == "k8s.container.restarts" && m.Type() == pmetric.MetricTypeGauge:
					w.restarted(m.Gauge().DataPoints(), res, now)
					continue
				case m.Name() == "k8s.container.restarts" && m.Type() == pmetric.MetricTypeSum:
					w.restarted(m.Sum().DataPoints(), res, now)
					continue
				}
				if m.Type() != pmetric.MetricTypeGauge {
					continue
				}
				if strings.HasPrefix(m.Name(), semconv.PrefixAnomaly) && sm.Scope().Name() != semconv.ScopeAnomaly {
					continue // a score or alarm the anomaly processor did not make
				}
				pairs.read(m)
				// the verdicts of the gauge that is the symptom (the alarm, or the score): point drops the other
				scored := m.Name() == semconv.MetricAnomalyAlarm && w.cfg.AnomalySignal == incidents.AnomalyAlarm ||
					m.Name() == semconv.MetricAnomalyScore && w.cfg.AnomalySignal != incidents.AnomalyAlarm
				var g verdicts
				if scored {
					g = verdictsOf(sm.Metrics())
				}
				for i, dp := range m.Gauge().DataPoints().All() {
					score, off := 0.0, math.NaN()
					if scored {
						score, off = g.at(i, dp)
					}
					w.point(m.Name(), dp, score, off, res, now)
				}
			}
		}
		kpis = append(kpis, w.kpiPoints(pairs, res, now)...)
	}
	w.flushFound()
	for _, p := range kpis { // after the symptoms: an incident they open accounts the points that came with them
		w.eng.AddKPI(p)
	}
}

// serviceGraphRequests are the names of the request counters of Grafana's service graph (Tempo, contrib's
// servicegraph connector, another Strata): as sent, and as a Prometheus receiver may name them without _total.
var serviceGraphRequests = map[string]bool{"traces_service_graph_request_total": true, "traces_service_graph_request": true}

// serviceGraph links each client to the server it calls, from the points of a service graph's request counter.
func (w *Watcher) serviceGraph(dps pmetric.NumberDataPointSlice, now time.Time) {
	for _, dp := range dps.All() {
		client, ok1 := dp.Attributes().Get("client")
		server, ok2 := dp.Attributes().Get("server")
		if ok1 && ok2 {
			w.eng.Link(incidents.Entity{Kind: incidents.KindService, Name: client.AsString()}, incidents.Entity{Kind: incidents.KindService, Name: server.AsString()},
				incidents.SourceServiceGraph, now)
		}
	}
}

// flushFound adds the symptoms of the request read.
func (w *Watcher) flushFound() {
	w.eng.AddAll(w.found)
	w.found = nil
}

// verdicts are the anomaly processor's gauges of the watched points of one scope.
type verdicts struct {
	score, value, expected, lower, upper pmetric.NumberDataPointSlice
}

func verdictsOf(ms pmetric.MetricSlice) verdicts {
	return verdicts{score: gaugeOf(ms, semconv.MetricAnomalyScore), value: gaugeOf(ms, semconv.MetricAnomalyValue),
		expected: gaugeOf(ms, semconv.MetricAnomalyExpected), lower: gaugeOf(ms, semconv.MetricAnomalyLower),
		upper: gaugeOf(ms, semconv.MetricAnomalyUpper)}
}

// at returns the score of the watched point that dp, the alarm or score point at index i, is of, and how far its
// value is from the expected one in half-widths of its band (NaN when not known).
func (g verdicts) at(i int, dp pmetric.NumberDataPoint) (score, off float64) {
	half := (sameAt(g.upper, i, dp) - sameAt(g.lower, i, dp)) / 2
	off = (sameAt(g.value, i, dp) - sameAt(g.expected, i, dp)) / half
	if !(half > 0) || math.IsInf(off, 0) {
		off = math.NaN()
	}
	return sameAt(g.score, i, dp), off
}

// gaugeOf returns the points of the anomaly processor's gauge name among its metrics, or an empty slice.
func gaugeOf(ms pmetric.MetricSlice, name string) pmetric.NumberDataPointSlice {
	for _, m := range ms.All() {
		if m.Name() == name && m.Type() == pmetric.MetricTypeGauge {
			return m.Gauge().DataPoints()
		}
	}
	return pmetric.NewNumberDataPointSlice()
}

// attrOf returns an attribute as text, "" when it is absent.
func attrOf(m pcommon.Map, key string) string {
	if v, ok := m.Get(key); ok {
		return v.AsString()
	}
	return ""
}

// sameAt returns the value at index i of one of the anomaly processor's gauges when it is of the same watched point as
// dp, the point at i of another of them: the processor writes a point's score, value, band and alarm at the same
// index. NaN when it is not (another time or watched series).
func sameAt(dps pmetric.NumberDataPointSlice, i int, dp pmetric.NumberDataPoint) float64 {
	if i >= dps.Len() {
		return math.NaN()
	}
	s := dps.At(i)
	if s.Timestamp() != dp.Timestamp() || attrOf(dp.Attributes(), semconv.AttrAnomalyMetric) != attrOf(s.Attributes(), semconv.AttrAnomalyMetric) {
		return math.NaN()
	}
	return points.Value(s)
}

// point reads one point; for the anomaly processor's alarm or score, score is the score of the watched point and
// off how far its value is from the expected one, in half-widths of its band (NaN when not known).
func (w *Watcher) point(name string, dp pmetric.NumberDataPoint, score, off float64, res []incidents.Entity, now time.Time) {
	v := points.Value(dp)
	at := dp.Timestamp().AsTime()
	if at.IsZero() || at.After(now) {
		at = now
	}
	attr := func(k string) string {
		if x, ok := dp.Attributes().Get(k); ok {
			return x.AsString()
		}
		return ""
	}
	switch name {
	case semconv.MetricAnomalyScore, semconv.MetricAnomalyAlarm:
		if (name == semconv.MetricAnomalyAlarm) != (w.cfg.AnomalySignal == incidents.AnomalyAlarm) {
			return // the other signal of the same point
		}
		watched := attr(semconv.AttrAnomalyMetric)
		layer := layerOf(watched)
		subject := w.subject(dp.Attributes(), res, layer == incidents.LayerApplication || layer == incidents.LayerBusiness, at)
		if subject.Name == "" {
			return
		}
		every := w.every(figureKey{subject, watched}, at)
		raised := v == 1 || name == semconv.MetricAnomalyScore && v >= w.cfg.Threshold && v <= 1
		way := w.way(figureKey{subject, watched}, off, raised)
		var how string
		switch {
		case name == semconv.MetricAnomalyAlarm && v == 1:
			// as strong as opens an incident, or as its score says when that is stronger
			how = fmt.Sprintf("raised the alarm (score %.4f)", score)
			if !(score > w.cfg.OpenScore && score <= 1) { // NaN too
				score, how = w.cfg.OpenScore, "raised the alarm"
			}
		case name == semconv.MetricAnomalyScore && v >= w.cfg.Threshold && v <= 1:
			score, how = v, fmt.Sprintf("anomalous (score %.4f)", v)
		default: // no alarm, a score below the threshold, NaN or beyond 1
			return
		}
		if harmless(watched, dp.Attributes(), way) {
			return
		}
		switch {
		case !traffic(watched):
		case way <= -leaning:
			how += ", fewer than expected"
		case way >= leaning:
			how += ", more than expected"
		}
		w.found = append(w.found, incidents.Symptom{Entity: subject, Layer: layer, Signal: watched, Score: score, At: at,
			Every: every, Traffic: traffic(watched), Detail: fmt.Sprintf("%s of %s %s", watched, subject, how)})
	case "strata.probe.success":
		target := attr("server.address")
		if target == "" {
			target = attr("strata.probe.target")
		}
		endpoint := incidents.Entity{Kind: incidents.KindEndpoint, Name: target}
		every := w.every(figureKey{endpoint, name}, at)
		if v != 0 {
			return
		}
		w.found = append(w.found, incidents.Symptom{Entity: endpoint, Layer: incidents.LayerNetwork, Signal: "probe failed", Score: 1, At: at,
			Every: every, Detail: fmt.Sprintf("the %s probe of %s fails", attr("strata.probe.type"), target)})
	case "strata.kpi.target_met":
		kpi := incidents.Entity{Kind: incidents.KindKPI, Name: attr(semconv.AttrKPIName)}
		if owner := attr(semconv.AttrKPIOwner); owner != "" { // the KPI depends on the service that owns it
			w.eng.Link(kpi, incidents.Entity{Kind: incidents.KindService, Name: owner}, incidents.SourceKPIOwner, now)
		}
		every := w.every(figureKey{kpi, name}, at)
		if v != 0 {
			return
		}
		w.found = append(w.found, incidents.Symptom{Entity: kpi, Layer: incidents.LayerBusiness, Signal: "target missed", Score: 1, At: at,
			Every: every, Detail: fmt.Sprintf("KPI %s misses its target", kpi.Name)})
	}
}

// subject returns the entity a point is about: the most specific one its attributes or resource name — or, for an
// application or business figure (a request duration or an order success ratio, not a CPU), the service when one is
// named: the host a service runs on does not make its requests slow, or its orders fail, by itself being slow.
func (w *Watcher) subject(attrs pcommon.Map, res []incidents.Entity, service bool, at time.Time) incidents.Entity {
	own := w.Resource(attrs, at)
	for _, es := range [][]incidents.Entity{own, res} {
		if service && len(es) > 0 && es[len(es)-1].Kind == incidents.KindService {
			return es[len(es)-1]
		}
	}
	if len(own) > 0 {
		return own[0]
	}
	if len(res) > 0 {
		return res[0]
	}
	return incidents.Entity{}
}

// layerOf returns the layer of a metric, by its name.
func layerOf(metric string) string {
	for _, p := range []struct{ prefix, layer string }{
		{"system.", incidents.LayerInfrastructure}, {"container.", incidents.LayerInfrastructure}, {"k8s.", incidents.LayerInfrastructure},
		{"process.", incidents.LayerInfrastructure}, {"strata.probe.", incidents.LayerNetwork}, {"network.", incidents.LayerNetwork},
		{"strata.kpi.", incidents.LayerBusiness}, {"shop.", incidents.LayerBusiness}, {"strata.auth.", incidents.LayerSecurity},
		{"strata.security.", incidents.LayerSecurity},
	} {
		if strings.HasPrefix(metric, p.prefix) {
			return p.layer
		}
	}
	return incidents.LayerApplication
}

// harmTokens are the words of metric names that tell which way a figure moves when something is wrong: up for a
// load, a delay or a failure, down for a success.
var harmTokens = map[string]int{
	"utilization": 1, "usage": 1, "duration": 1, "latency": 1, "error": 1, "errors": 1, "failed": 1, "failures": 1,
	"decline": 1, "declined": 1, "queue": 1, "pending": 1, "saturation": 1,
	"availability": -1, "success": -1, "successful": -1, "apdex": -1,
}

// harmless reports whether a figure of a point with attributes attrs that moved the way way (Watcher.way) went the
// way that harms nothing — less CPU or memory, faster answers, fewer errors, more successes — as a series does when
// it returns from a fault its model had begun to learn. Such a move is no symptom. A figure whose name says neither
// way (a request rate, a count) harms either way; so does one of a state other than used (hostmetrics' memory cached,
// a CPU's time in system), and the idle or free share harms the other way.
func harmless(metric string, attrs pcommon.Map, way float64) bool {
	if math.Abs(way) < leaning {
		return false
	}
	harm := 0
	for _, word := range strings.FieldsFunc(metric, func(r rune) bool { return r == '.' || r == '_' }) {
		if h := harmTokens[word]; h != 0 {
			harm = h
		}
	}
	for k, v := range attrs.All() {
		if k != "state" && !strings.HasSuffix(k, ".state") && !strings.HasSuffix(k, ".mode") {
			continue
		}
		switch v.AsString() {
		case "used", "user":
		case "idle", "free", "available":
			harm = -harm
		default:
			harm = 0
		}
	}
	return harm != 0 && (way > 0) != (harm > 0)
}

// traffic reports whether a metric counts the requests or calls an entity receives.
func traffic(metric string) bool {
	words := strings.FieldsFunc(metric, func(r rune) bool { return r == '.' || r == '_' })
	return len(words) > 0 && (words[len(words)-1] == "requests" || words[len(words)-1] == "calls")
}

// Logs turns security detections into symptoms, and counts error logs per service.
func (w *Watcher) Logs(ld plog.Logs, now time.Time) {
	for _, rl := range ld.ResourceLogs().All() {
		res := w.Resource(rl.Resource().Attributes(), now)
		for _, sl := range rl.ScopeLogs().All() {
			for _, r := range sl.LogRecords().All() {
				if semconv.EventName(r) == semconv.EventDetection {
					w.detection(r, res, now)
					continue
				}
				if r.SeverityNumber() >= plog.SeverityNumberError && len(res) > 0 && res[len(res)-1].Kind == incidents.KindService {
					if rt := w.figureOf(res[len(res)-1], signalErrorLogs); rt != nil {
						rt.count++
					}
				}
			}
		}
	}
	w.flushFound()
}

func (w *Watcher) detection(r plog.LogRecord, res []incidents.Entity, now time.Time) {
	attr := func(k string) string {
		if v, ok := r.Attributes().Get(k); ok {
			return v.AsString()
		}
		return ""
	}
	host := attr(semconv.AttrHostName)
	subject := incidents.Entity{Kind: incidents.KindHost, Name: host}
	if host == "" {
		if len(res) == 0 {
			return
		}
		subject = res[0]
	}
	var score float64
	switch {
	case r.SeverityNumber() >= plog.SeverityNumberError:
		score = 1
	case r.SeverityNumber() >= plog.SeverityNumberWarn:
		score = 0.995
	default:
		score = 0.99
	}
	at := r.Timestamp().AsTime()
	if r.Timestamp() == 0 || at.After(now) {
		at = now
	}
	rule := attr(semconv.AttrSecurityRuleName)
	detail := fmt.Sprintf("%s on %s from %s", rule, subject, attr(semconv.AttrSourceAddress))
	if technique := attr(semconv.AttrThreatTechniqueID); technique != "" {
		detail += " (MITRE ATT&CK " + technique + ")"
	}
	w.found = append(w.found, incidents.Symptom{Entity: subject, Layer: incidents.LayerSecurity, Signal: rule, Score: score, At: at,
		Detail: detail})
}
