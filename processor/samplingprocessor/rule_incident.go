package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/points"
	"github.com/otelstrata/strata/internal/semconv"
)

// entity is what a trace touches and an incident names: a service, a host, or an endpoint (an address a client
// calls).
type entity struct {
	kind uint8
	name string
}

const (
	entityService uint8 = iota
	entityHost
	entityEndpoint
)

// maxTouched bounds the entities recorded of one trace: a trace through more services than that is matched on its
// first ones.
const maxTouched = 16

// touch records that a trace touches e, once, up to maxTouched.
func touch(touched []entity, e entity) []entity {
	if e.name == "" || len(touched) >= maxTouched {
		return touched
	}
	for _, x := range touched {
		if x == e {
			return touched
		}
	}
	return append(touched, e)
}

// touchedBy returns touched with what a span touches: its service and host, and the service or address it calls.
func touchedBy(touched []entity, service string, span, resource pcommon.Map) []entity {
	touched = touch(touched, entity{entityService, service})
	if v, ok := resource.Get("host.name"); ok {
		touched = touch(touched, entity{entityHost, v.AsString()})
	}
	if v, ok := span.Get("peer.service"); ok {
		touched = touch(touched, entity{entityService, v.AsString()})
	}
	if v, ok := span.Get("server.address"); ok {
		touched = touch(touched, entity{entityEndpoint, v.AsString()})
	}
	return touched
}

// maxWatched bounds the incidents the sampler follows; past it a new incident is not followed (and logged).
const maxWatched = 1000

// watchedIncident is an incident the sampler follows: the entities its records named, and until when its traces are
// kept (zero while it is open).
type watchedIncident struct {
	entities []entity
	until    time.Time
}

// incidentWatch is what the sampler knows of the correlation connector's incidents, from their records in its logs
// pipeline: the entities of each, and how many followed incidents name each entity. It is guarded by the sampler's
// mutex.
type incidentWatch struct {
	keepAfter time.Duration
	incidents map[string]*watchedIncident
	hot       map[entity]int
	// the services whose alarm metrics raised the anomaly processor's alarm, and until when their traces are kept
	alarmMetrics map[string]bool
	alarmed      map[entity]time.Time
	// the incident rule's own budget: a token bucket of traces_per_second, holding at most a second's worth
	rate, tokens float64
	last         time.Time
}

func newIncidentWatch(c *RuleConfig) *incidentWatch {
	keepAfter, rate := c.KeepAfter, c.TracesPerSecond
	if keepAfter == 0 {
		keepAfter = defaultKeepAfter
	}
	if rate == 0 {
		rate = defaultIncidentTracesRate
	}
	metrics := c.AlarmMetrics
	if metrics == nil {
		metrics = defaultAlarmMetrics
	}
	w := &incidentWatch{keepAfter: keepAfter, incidents: map[string]*watchedIncident{}, hot: map[entity]int{},
		alarmMetrics: map[string]bool{}, alarmed: map[entity]time.Time{}, rate: rate, tokens: rate}
	for _, m := range metrics {
		w.alarmMetrics[m] = true
	}
	return w
}

// maxAlarmed bounds the services kept for their alarms; past it a new one is not.
const maxAlarmed = 10000

// alarms follows the anomaly processor's alarms in md: a service with an alarm raised on one of the alarm metrics
// has its traces kept for keep_after.
func (w *incidentWatch) alarms(md pmetric.Metrics, now time.Time) {
	for _, rm := range md.ResourceMetrics().All() {
		service, ok := rm.Resource().Attributes().Get("service.name")
		if !ok || service.AsString() == "" {
			continue
		}
		for _, sm := range rm.ScopeMetrics().All() {
			if sm.Scope().Name() != semconv.ScopeAnomaly {
				continue
			}
			for _, m := range sm.Metrics().All() {
				if m.Name() != semconv.MetricAnomalyAlarm || m.Type() != pmetric.MetricTypeGauge {
					continue
				}
				e := entity{entityService, service.AsString()}
				for _, dp := range m.Gauge().DataPoints().All() {
					watched, ok := dp.Attributes().Get(semconv.AttrAnomalyMetric)
					_, known := w.alarmed[e]
					if ok && points.Value(dp) == 1 && w.alarmMetrics[watched.AsString()] && (known || len(w.alarmed) < maxAlarmed) {
						w.alarmed[e] = now.Add(w.keepAfter)
					}
				}
			}
		}
	}
}

// isIncident reports whether a log record is an incident record of the correlation connector.
func isIncident(r plog.LogRecord) bool {
	return semconv.EventName(r) == semconv.EventIncident
}

// record follows an incident record: an open or update names the incident's entities (its services, hosts and the
// endpoint at its root cause); a resolution keeps them for keep_after from now. It reports whether the incident is
// new and not followed because maxWatched are.
func (w *incidentWatch) record(r plog.LogRecord, now time.Time) bool {
	a := r.Attributes()
	id, ok := a.Get(semconv.AttrIncidentID)
	if !ok || id.AsString() == "" {
		return false
	}
	state, ok := a.Get(semconv.AttrIncidentState)
	inc := w.incidents[id.AsString()]
	if ok && state.AsString() == semconv.IncidentResolved {
		if inc != nil {
			inc.until = now.Add(w.keepAfter)
		}
		return false
	}
	if inc == nil {
		if len(w.incidents) >= maxWatched {
			return true
		}
		inc = &watchedIncident{}
		w.incidents[id.AsString()] = inc
	}
	var entities []entity
	for _, x := range []struct {
		key  string
		kind uint8
	}{{semconv.AttrIncidentServices, entityService}, {semconv.AttrIncidentHosts, entityHost}} {
		if v, ok := a.Get(x.key); ok && v.Type() == pcommon.ValueTypeSlice {
			for _, name := range v.Slice().All() {
				entities = touch(entities, entity{x.kind, name.AsString()})
			}
		}
	}
	if v, ok := a.Get(semconv.AttrIncidentRootCause); ok {
		if name, found := strings.CutPrefix(v.AsString(), "endpoint "); found {
			entities = touch(entities, entity{entityEndpoint, name})
		}
	}
	w.setEntities(inc, entities)
	inc.until = time.Time{}
	return false
}

// setEntities replaces the entities of a followed incident.
func (w *incidentWatch) setEntities(inc *watchedIncident, entities []entity) {
	for _, e := range inc.entities {
		if w.hot[e]--; w.hot[e] <= 0 {
			delete(w.hot, e)
		}
	}
	for _, e := range entities {
		w.hot[e]++
	}
	inc.entities = entities
}

// advance forgets the incidents resolved keep_after before now and refills the rule's budget.
func (w *incidentWatch) advance(now time.Time) {
	for e, until := range w.alarmed {
		if !now.Before(until) {
			delete(w.alarmed, e)
		}
	}
	for id, inc := range w.incidents {
		if !inc.until.IsZero() && !now.Before(inc.until) {
			w.setEntities(inc, nil)
			delete(w.incidents, id)
		}
	}
	if !w.last.IsZero() && now.After(w.last) {
		w.tokens = min(w.rate, w.tokens+now.Sub(w.last).Seconds()*w.rate)
	}
	w.last = now
}

// touches reports whether a trace touches an entity of a followed incident.
func (w *incidentWatch) touches(t *trace) bool {
	for _, e := range t.touched {
		if _, alarmed := w.alarmed[e]; alarmed || w.hot[e] > 0 {
			return true
		}
	}
	return false
}

// incidentRule matches a trace that touches an entity of an open incident, or of one resolved less than keep_after
// ago, or a service whose alarm metrics raised the alarm less than keep_after ago, while the rule's traces_per_second
// lasts; past it, such a trace goes on to the next rules (and is counted).
type incidentRule struct{ w *incidentWatch }

func (r incidentRule) matches(t *trace) bool {
	if len(r.w.hot) == 0 && len(r.w.alarmed) == 0 || !r.w.touches(t) {
		return false
	}
	if r.w.tokens < 1 {
		t.overIncidentBudget = true
		return false
	}
	r.w.tokens--
	return true
}

// followAlarms gives the anomaly processor's alarms in md to the incident rule, if there is one.
func (p *sampler) followAlarms(md pmetric.Metrics) {
	if p.incidents == nil {
		return
	}
	p.mu.Lock()
	p.incidents.alarms(md, p.clock.Now())
	p.mu.Unlock()
}

// followIncident gives an incident record to the incident rule, if there is one.
func (p *sampler) followIncident(r plog.LogRecord) {
	if p.incidents == nil {
		return
	}
	p.mu.Lock()
	ignored := p.incidents.record(r, p.clock.Now())
	p.mu.Unlock()
	if ignored {
		p.set.Logger.Warn("an incident is not followed by the incident rule: it follows as many as it can",
			zap.Int("max_incidents", maxWatched))
	}
}
