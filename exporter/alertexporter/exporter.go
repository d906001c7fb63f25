package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"context"
	"errors"
	"fmt"
	"sort"
	"strings"
	"sync"
	"time"

	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/exporter/alertexporter/internal/metadata"
	"github.com/otelstrata/strata/internal/alertwatch"
	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/internal/points"
	"github.com/otelstrata/strata/internal/semconv"
	"github.com/otelstrata/strata/internal/storageclient"
)

// seriesKey is a rule's series: the rule and the attributes' fingerprint.
type seriesKey struct {
	rule string
	fp   model.Fingerprint
}

type alertExporter struct {
	cfg       *Config
	set       exporter.Settings
	telemetry *metadata.TelemetryBuilder
	clock     clock.Clock        // the pipeline's, from Start
	watcher   alertwatch.Watcher // told of every change of state, when the host has one (a backtest)
	rules     []*rule
	watched   map[string]bool // the metrics some rule reads points of

	mu     sync.Mutex
	series map[seriesKey]*series
	alerts map[model.Fingerprint]*alert
	start  time.Time
	// untracked counts points of series beyond max_series since the last log line
	untracked int

	// the notification path (stage.go)
	flap   *flapDetector
	group  *grouper
	limit  *rateLimiter
	stages []stage

	senders map[string]*sender
	client  storage.Client
	loop    *clock.Loop // evaluates the rules every evaluation_interval
}

func newAlertExporter(cfg *Config, set exporter.Settings) (*alertExporter, error) {
	e := &alertExporter{cfg: cfg, set: set, clock: clock.Real{}, series: map[seriesKey]*series{}, alerts: map[model.Fingerprint]*alert{},
		flap: newFlapDetector(cfg.Flapping, set.Logger),
		group: &grouper{by: cfg.GroupBy, wait: cfg.GroupWait, interval: cfg.GroupInterval,
			forgetAfter: 2 * max(cfg.GroupInterval, cfg.ResendInterval), groups: map[string]*group{}},
		limit: &rateLimiter{cfg: cfg.RateLimit, buckets: map[string]*limiter{}},
	}
	e.stages = []stage{&inhibitor{rules: cfg.InhibitRules, byIncident: cfg.InhibitByIncident, alerts: e.alerts}, e.flap, e.group, e.limit}
	for i := range cfg.Rules {
		r, err := newRule(&cfg.Rules[i], cfg)
		if err != nil {
			return nil, err
		}
		e.rules = append(e.rules, r)
	}
	e.watched = watchedMetrics(e.rules)
	return e, nil
}

// watchedMetrics returns the names of the metrics whose points the rules read: their metric, or the anomaly
// processor's alarm or score for anomaly rules.
func watchedMetrics(rules []*rule) map[string]bool {
	names := map[string]bool{}
	for _, r := range rules {
		switch r.cfg.Kind {
		case kindThreshold, kindAbsent, kindPredictive:
			names[r.cfg.Metric] = true
		case kindAnomaly:
			names[r.anomalyMetric()] = true
		}
	}
	return names
}

// Start builds the senders (their queues and retries) and starts evaluating.
func (e *alertExporter) Start(ctx context.Context, host component.Host) error {
	e.clock = clock.FromHost(host, e.clock)
	e.watcher = alertwatch.FromHost(host)
	var err error
	if e.telemetry, err = metadata.NewTelemetryBuilder(e.set.TelemetrySettings); err != nil {
		return err
	}
	e.start = e.clock.Now()
	if e.cfg.Storage != nil {
		if e.client, err = storageclient.Open(ctx, host, e.cfg.Storage, component.KindExporter, e.set.ID); err != nil {
			return err
		}
		data, err := e.client.Get(ctx, stateKey)
		if err == nil && data != nil {
			err = e.restoreAlerts(data)
		}
		if err != nil {
			e.set.Logger.Warn("the saved alert states could not be restored", zap.Error(err))
		}
	}
	e.senders = map[string]*sender{}
	for name, rc := range e.cfg.Receivers {
		s, err := newSender(ctx, e.cfg, e.set, name, rc, host)
		if err != nil {
			return errors.Join(err, e.stopSenders(ctx))
		}
		e.senders[name] = s
	}
	e.loop = clock.Start(e.clock, clock.Task{Every: e.cfg.EvaluationInterval, Run: func(ctx context.Context, _ time.Time) {
		e.evaluate(ctx)
	}})
	return nil
}

// Shutdown stops evaluating and lets the senders deliver what is queued (their queues drain or persist).
func (e *alertExporter) Shutdown(ctx context.Context) error {
	e.loop.Stop()
	e.loop = nil
	err := e.stopSenders(ctx)
	if e.client != nil {
		err = errors.Join(err, e.save(ctx), e.client.Close(ctx))
		e.client = nil
	}
	if e.telemetry != nil {
		e.telemetry.Shutdown()
	}
	return err
}

// save keeps the alerts' states in storage.
func (e *alertExporter) save(ctx context.Context) error {
	e.mu.Lock()
	data, err := e.marshalAlerts()
	e.mu.Unlock()
	if err != nil {
		return err
	}
	return e.client.Set(ctx, stateKey, data)
}

func (e *alertExporter) stopSenders(ctx context.Context) error {
	var errs []error
	for _, s := range e.senders {
		errs = append(errs, s.exporter.Shutdown(ctx))
	}
	e.senders = nil
	return errors.Join(errs...)
}

// track finds or makes the series of a rule for a point's attributes.
func (e *alertExporter) track(r *rule, attrs pcommon.Map) *series {
	plain := map[string]string{}
	ls := model.LabelSet{}
	for k, v := range attrs.All() {
		plain[k] = v.AsString()
		ls[model.LabelName(k)] = model.LabelValue(v.AsString())
	}
	key := seriesKey{r.cfg.Name, ls.Fingerprint()}
	s := e.series[key]
	if s == nil {
		if len(e.series) >= e.cfg.MaxSeries {
			e.untracked++
			return nil
		}
		s = &series{rule: r, attrs: plain}
		e.series[key] = s
	}
	return s
}

// ConsumeMetrics updates the series the rules watch with the arriving points.
func (e *alertExporter) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if !e.watched[m.Name()] {
					continue
				}
				if strings.HasPrefix(m.Name(), semconv.PrefixAnomaly) && sm.Scope().Name() != semconv.ScopeAnomaly {
					continue // a score or alarm the anomaly processor did not make
				}
				eachNumber(m, func(attrs pcommon.Map, v float64) {
					merged := pcommon.NewMap()
					rm.Resource().Attributes().CopyTo(merged)
					for k, x := range attrs.All() {
						x.CopyTo(merged.PutEmpty(k))
					}
					for _, r := range e.rules {
						e.observe(r, m.Name(), merged, v, now)
					}
				})
			}
		}
	}
	return nil
}

func (e *alertExporter) observe(r *rule, name string, attrs pcommon.Map, v float64, now time.Time) {
	switch r.cfg.Kind {
	case kindThreshold, kindAbsent, kindPredictive:
		if name != r.cfg.Metric || !r.matches(attrs) {
			return
		}
	case kindAnomaly:
		if name != r.anomalyMetric() || !r.matches(attrs) || !(v >= 0 && v <= 1) {
			return
		}
		if watched, ok := attrs.Get(semconv.AttrAnomalyMetric); !ok || watched.Str() != r.cfg.Metric {
			return
		}
	default:
		return
	}
	s := e.track(r, attrs)
	if s == nil {
		return
	}
	if gap := now.Sub(s.last); gap > 0 && !s.last.IsZero() {
		s.every = gap
	}
	s.value, s.last = v, now
	switch r.cfg.Kind {
	case kindPredictive:
		if s.pred == nil {
			s.pred = &prediction{}
		}
		s.pred.add(now, v, r.cfg.Window)
	case kindThreshold:
		_, fp := r.labelsOf(s)
		a := e.alerts[fp]
		s.active = r.holds(v, a != nil && a.state == stateFiring)
	case kindAnomaly:
		s.active = (r.cfg.Score > 0 && v >= r.cfg.Score) || (r.cfg.Score == 0 && v == 1)
	}
}

// anomalyMetric returns what an anomaly rule reads: the processor's alarm, or its score when the rule sets one.
func (r *rule) anomalyMetric() string {
	if r.cfg.Score > 0 {
		return semconv.MetricAnomalyScore
	}
	return semconv.MetricAnomalyAlarm
}

// ConsumeLogs follows incidents (the correlation connector's records): open and update fire, resolved resolves.
func (e *alertExporter) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	now := e.clock.Now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, rec := range sl.LogRecords().All() {
				e.logRules(rl.Resource().Attributes(), rec, now)
				if rec.EventName() != semconv.EventIncident {
					continue
				}
				get := func(k string) string {
					if v, ok := rec.Attributes().Get(k); ok {
						return v.AsString()
					}
					return "" // a record without it (the zero Value has no string)
				}
				attrs := pcommon.NewMap()
				attrs.PutStr("incident", get(semconv.AttrIncidentID))
				info := map[string]string{"root_cause": get(semconv.AttrIncidentRootCause), "summary": rec.Body().AsString()}
				for k, name := range map[string]string{semconv.AttrIncidentServices: "services", semconv.AttrIncidentHosts: "hosts"} {
					v, ok := rec.Attributes().Get(k)
					var names []string
					if ok && v.Type() == pcommon.ValueTypeSlice {
						for _, x := range v.Slice().All() {
							names = append(names, x.AsString())
						}
					}
					info[name] = strings.Join(names, ",")
				}
				if impact := impactOf(rec.Attributes()); impact != "" {
					info["impact"] = impact
				}
				for _, r := range e.rules {
					if r.cfg.Kind != kindIncident {
						continue
					}
					if s := e.track(r, attrs); s != nil {
						s.last, s.active, s.info = now, get(semconv.AttrIncidentState) != semconv.IncidentResolved, info
					}
				}
			}
		}
	}
	return nil
}

// impactOf returns an incident record's business impact in a line: its first business figure's share lost and,
// for a rate, its shortfall ("shop.orders.rate of checkout: 38 % of expected lost, 190 {order} short so far"); ""
// without one.
func impactOf(attrs pcommon.Map) string {
	kpis, ok := attrs.Get(semconv.AttrIncidentKPIs)
	if !ok || kpis.Type() != pcommon.ValueTypeSlice || kpis.Slice().Len() == 0 || kpis.Slice().At(0).Type() != pcommon.ValueTypeMap {
		return ""
	}
	k := kpis.Slice().At(0).Map()
	text := func(key string) string {
		if v, ok := k.Get(key); ok {
			return v.AsString()
		}
		return ""
	}
	number := func(key string) (float64, bool) {
		v, ok := k.Get(key)
		if !ok || v.Type() != pcommon.ValueTypeDouble {
			return 0, false
		}
		return v.Double(), true
	}
	share, _ := number("share_lost")
	s := fmt.Sprintf("%s of %s: %.0f %% of expected lost", text("metric"), text("entity"), 100*share)
	if shortfall, ok := number("shortfall"); ok {
		s += fmt.Sprintf(", %.4g %s short so far", shortfall, text("shortfall_unit"))
	}
	return s
}

// logRules counts a record for the log rules it matches, per the values of their group_by attributes (of the record,
// or else its resource).
func (e *alertExporter) logRules(resource pcommon.Map, rec plog.LogRecord, now time.Time) {
	for _, r := range e.rules {
		if r.cfg.Kind != kindLog {
			continue
		}
		if r.cfg.EventName != "" && semconv.EventName(rec) != r.cfg.EventName ||
			rec.SeverityNumber() < semconv.LogSeverities[strings.ToUpper(r.cfg.MinSeverity)] ||
			!r.matches(rec.Attributes()) {
			continue
		}
		group := pcommon.NewMap()
		for _, k := range r.cfg.GroupBy {
			if v, ok := rec.Attributes().Get(k); ok {
				group.PutStr(k, v.AsString())
			} else if v, ok := resource.Get(k); ok {
				group.PutStr(k, v.AsString())
			}
		}
		if s := e.track(r, group); s != nil {
			if s.recs == nil {
				s.recs = &records{}
			}
			s.recs.add(now, r.cfg.Count)
			s.last, s.value = now, float64(len(s.recs.times))
		}
	}
}

// evaluate steps every alert, passes what is to be sent through the stages and queues it.
func (e *alertExporter) evaluate(ctx context.Context) {
	e.mu.Lock()
	ev := e.stepAll(e.clock.Now())
	batches := e.notifications(ev)
	e.mu.Unlock()
	e.report(ctx, ev)
	for _, b := range batches {
		s := e.senders[b.receiver]
		if s == nil || len(b.alerts) == 0 {
			continue
		}
		if err := s.send(ctx, b.alerts); err != nil {
			e.set.Logger.Warn("alerts could not be queued", zap.String("receiver", b.receiver), zap.Int("alerts", len(b.alerts)), zap.Error(err))
		}
		e.telemetry.ExporterAlertNotifications.Add(ctx, 1, metric.WithAttributes(attribute.String("receiver", b.receiver)))
	}
}

// stepAll moves every series' alert through its states (composite rules last: they read the alerts the others fire
// now) and returns what changed and what is to be sent. The caller holds mu.
func (e *alertExporter) stepAll(now time.Time) *evaluation {
	ev := &evaluation{now: now, byReceiver: map[string][]*alert{}}
	for _, k := range e.sortedSeries(false) {
		s := e.series[k]
		e.step(ev, k, s, e.holds(s, now))
	}
	e.composites(now)
	for _, k := range e.sortedSeries(true) {
		s := e.series[k]
		e.step(ev, k, s, s.active)
	}
	e.flap.prune(now)
	if e.untracked > 0 {
		e.set.Logger.Warn("series beyond max_series are not watched", zap.Int("points", e.untracked), zap.Int("max_series", e.cfg.MaxSeries))
		e.untracked = 0
	}
	return ev
}

// notifications passes what each receiver is to get through the stages and returns the notifications to send.
// The caller holds mu.
func (e *alertExporter) notifications(ev *evaluation) []batch {
	now := ev.now
	var batches []batch
	for name := range e.cfg.Receivers {
		notes := [][]*alert{ev.byReceiver[name]}
		for _, s := range e.stages {
			notes = s.run(name, notes, now)
		}
		for _, n := range notes {
			if len(n) > 0 {
				batches = append(batches, batch{name, n})
			}
		}
	}
	e.group.forget(now)
	if e.limit.digested > 0 {
		e.set.Logger.Info("notifications beyond the rate limit folded into a digest", zap.Int("alerts", e.limit.digested))
		e.limit.digested = 0
	}
	return batches
}

// report counts and logs an evaluation's transitions and saves the states when one changed.
func (e *alertExporter) report(ctx context.Context, ev *evaluation) {
	for _, t := range ev.transitions {
		e.telemetry.ExporterAlertTransitions.Add(ctx, 1, metric.WithAttributes(attribute.String("rule", t.rule), attribute.String("state", t.state)))
		if t.state != statePending {
			e.set.Logger.Info("alert "+t.state, zap.String("alertname", t.rule), zap.String("labels", t.labels))
		}
	}
	for _, c := range ev.changes {
		e.watcher.AlertChanged(c)
	}
	if e.client != nil && len(ev.transitions) > 0 {
		if err := e.save(ctx); err != nil {
			e.set.Logger.Warn("saving the alert states failed", zap.Error(err))
		}
	}
}

// batch is one notification: a receiver and the alerts it carries.
type batch struct {
	receiver string
	alerts   []*alert
}

// evaluation collects what one evaluation sends and the transitions it makes.
type evaluation struct {
	now         time.Time
	byReceiver  map[string][]*alert
	transitions []transition
	changes     []alertwatch.Change // for the watcher, when there is one
}

// changeOf returns an alert's entering state at now, for the watcher.
func changeOf(a *alert, state string, now time.Time) alertwatch.Change {
	c := alertwatch.Change{At: now, Rule: a.rule.cfg.Name, State: state, Labels: map[string]string{},
		Annotations: a.annotations, Fingerprint: a.fingerprint.String(), Value: a.value}
	for k, v := range a.labels {
		c.Labels[string(k)] = string(v)
	}
	return c
}

type transition struct{ rule, state, labels string }

// sortedSeries returns the keys of the series of composite rules (or of the others), in a stable order.
func (e *alertExporter) sortedSeries(composite bool) []seriesKey {
	keys := make([]seriesKey, 0, len(e.series))
	for k, s := range e.series {
		if (s.rule.cfg.Kind == kindComposite) == composite {
			keys = append(keys, k)
		}
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return keys[i].fp < keys[j].fp
	})
	return keys
}

// forgetAfter returns how long a quiet series with no alert is kept: until it is stale, and at least ten minutes
// while one point of it was seen (its interval unknown), so that a series sending every minute or every five
// minutes is not forgotten between its first points.
func (e *alertExporter) forgetAfter(s *series) time.Duration {
	if s.every == 0 {
		return max(e.staleAfter(s), 10*time.Minute)
	}
	return e.staleAfter(s)
}

// staleAfter returns how long after its last point a series stops holding: five evaluation intervals, or three
// of the series' own intervals when it sends less often (a point a minute, or every five minutes).
func (e *alertExporter) staleAfter(s *series) time.Duration {
	return max(5*e.cfg.EvaluationInterval, 3*s.every)
}

// holds reports whether a series' condition holds now.
func (e *alertExporter) holds(s *series, now time.Time) bool {
	r := s.rule
	stale := e.staleAfter(s)
	switch r.cfg.Kind {
	case kindAbsent:
		return now.Sub(s.last) >= r.absentFor()
	case kindIncident:
		return s.active
	case kindLog:
		return s.recs != nil && s.recs.holds(now, r.cfg.Count, r.cfg.Window)
	case kindPredictive:
		if s.pred == nil || now.Sub(s.last) >= stale {
			return false
		}
		v, ok := s.pred.predict(now, r.cfg.Horizon, r.cfg.Method)
		s.value = v
		_, fp := r.labelsOf(s)
		a := e.alerts[fp]
		return ok && r.holds(v, a != nil && a.state == stateFiring)
	}
	return s.active && now.Sub(s.last) < stale // a series that stopped sending no longer holds
}

// step moves a series' alert through its states, and forgets a series that is quiet and inactive.
func (e *alertExporter) step(ev *evaluation, k seriesKey, s *series, holds bool) {
	r := s.rule
	ls, fp := r.labelsOf(s)
	a := e.alerts[fp]
	if a == nil {
		if !holds {
			if r.cfg.Kind != kindAbsent && ev.now.Sub(s.last) >= e.forgetAfter(s) {
				delete(e.series, k)
			}
			return
		}
		a = &alert{rule: r, labels: ls, fingerprint: fp}
		e.alerts[fp] = a
	}
	a.value = s.value
	a.annotations = r.annotationsOf(s, ls)
	send, entered := a.step(holds, ev.now, e.cfg.ResendInterval)
	if entered != "" {
		ev.transitions = append(ev.transitions, transition{r.cfg.Name, entered, ls.String()})
		if e.watcher != nil {
			ev.changes = append(ev.changes, changeOf(a, entered, ev.now))
		}
	}
	if entered == stateFiring || entered == stateResolved {
		e.flap.transition(a, ev.now)
	}
	e.flap.settle(fp, ev.now)
	if send {
		ev.byReceiver[r.receiver] = append(ev.byReceiver[r.receiver], a.snapshot())
	}
	if a.state == stateResolved || a.state == "" {
		delete(e.alerts, fp)
	}
}

// composites sets the series of composite rules: for every combination of its `on` labels among the firing alerts,
// whether its expression holds over which rules fire there.
func (e *alertExporter) composites(now time.Time) {
	for _, r := range e.rules {
		if r.composite == nil {
			continue
		}
		firing := map[string]map[string]any{} // on-key -> rule name -> firing
		onLabels := map[string]map[string]string{}
		for _, a := range e.alerts {
			if a.state != stateFiring || a.rule.cfg.Kind == kindComposite {
				continue
			}
			on := map[string]string{}
			var key strings.Builder
			complete := true
			for _, l := range r.cfg.On {
				v, ok := a.labels[model.LabelName(l)]
				complete = complete && ok
				on[l] = string(v)
				key.WriteString(l + "=" + string(v) + ";")
			}
			if !complete {
				continue
			}
			if firing[key.String()] == nil {
				firing[key.String()] = map[string]any{}
				onLabels[key.String()] = on
			}
			firing[key.String()][a.rule.cfg.Name] = true
		}
		// every series of the rule, and every combination where one of its rules fires
		for _, s := range e.series {
			if s.rule == r {
				s.active = false
			}
		}
		for key, names := range firing {
			env := map[string]any{}
			for _, other := range e.rules {
				if other.composite == nil {
					env[other.cfg.Name] = names[other.cfg.Name] == true
				}
			}
			out, err := vm.Run(r.composite, env)
			attrs := pcommon.NewMap()
			for k, v := range onLabels[key] {
				attrs.PutStr(k, v)
			}
			if s := e.track(r, attrs); s != nil {
				s.last, s.active = now, err == nil && out == true
			}
		}
	}
}

func (r *rule) absentFor() time.Duration {
	if r.cfg.AbsentFor > 0 {
		return r.cfg.AbsentFor
	}
	return 5 * time.Minute
}

// snapshot returns a copy of the alert as it is sent now.
func (a *alert) snapshot() *alert {
	c := *a
	return &c
}

// eachNumber calls f for the points of gauges and sums.
func eachNumber(m pmetric.Metric, f func(pcommon.Map, float64)) {
	for _, dp := range points.Numbers(m).All() {
		f(dp.Attributes(), points.Value(dp))
	}
}
