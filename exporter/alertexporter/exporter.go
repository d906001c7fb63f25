package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"context"
	"errors"
	"sort"
	"sync"
	"text/template"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/exporter/alertexporter/internal/metadata"
	"github.com/otelstrata/strata/internal/semconv"
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
	now       func() time.Time
	rules     []*rule

	mu     sync.Mutex
	series map[seriesKey]*series
	alerts map[model.Fingerprint]*alert
	start  time.Time
	// untracked counts points of series beyond max_series since the last log line
	untracked int

	senders map[string]*sender
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newAlertExporter(cfg *Config, set exporter.Settings) (*alertExporter, error) {
	e := &alertExporter{cfg: cfg, set: set, now: time.Now, series: map[seriesKey]*series{}, alerts: map[model.Fingerprint]*alert{}}
	for i := range cfg.Rules {
		rc := &cfg.Rules[i]
		r := &rule{cfg: rc, receiver: rc.Receiver, labels: map[string]*template.Template{}, annotations: map[string]*template.Template{}}
		if r.receiver == "" {
			r.receiver = cfg.defaultReceiver()
		}
		for k, v := range rc.Labels {
			t, err := template.New(k).Option("missingkey=zero").Parse(v)
			if err != nil {
				return nil, err
			}
			r.labels[k] = t
		}
		for k, v := range rc.Annotations {
			t, err := template.New(k).Option("missingkey=zero").Parse(v)
			if err != nil {
				return nil, err
			}
			r.annotations[k] = t
		}
		e.rules = append(e.rules, r)
	}
	return e, nil
}

// defaultReceiver is the receiver of rules that name none: the configured one, or the only one.
func (cfg *Config) defaultReceiver() string {
	if cfg.Receiver != "" {
		return cfg.Receiver
	}
	for name := range cfg.Receivers {
		if len(cfg.Receivers) == 1 {
			return name
		}
	}
	return ""
}

// Start builds the senders (their queues and retries) and starts evaluating.
func (e *alertExporter) Start(ctx context.Context, host component.Host) error {
	var err error
	if e.telemetry, err = metadata.NewTelemetryBuilder(e.set.TelemetrySettings); err != nil {
		return err
	}
	e.start = e.now()
	e.senders = map[string]*sender{}
	for name, rc := range e.cfg.Receivers {
		s, err := newSender(ctx, e.cfg, e.set, name, rc, host)
		if err != nil {
			return errors.Join(err, e.stopSenders(ctx))
		}
		e.senders[name] = s
	}
	runCtx, cancel := context.WithCancel(context.Background())
	e.cancel = cancel
	e.wg.Add(1)
	go func() {
		defer e.wg.Done()
		ticker := time.NewTicker(e.cfg.EvaluationInterval)
		defer ticker.Stop()
		for {
			select {
			case <-runCtx.Done():
				return
			case <-ticker.C:
				e.evaluate(runCtx)
			}
		}
	}()
	return nil
}

// Shutdown stops evaluating and lets the senders deliver what is queued (their queues drain or persist).
func (e *alertExporter) Shutdown(ctx context.Context) error {
	if e.cancel != nil {
		e.cancel()
		e.wg.Wait()
		e.cancel = nil
	}
	err := e.stopSenders(ctx)
	if e.telemetry != nil {
		e.telemetry.Shutdown()
	}
	return err
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
		s = &series{rule: r, attrs: plain, firstAt: e.now()}
		e.series[key] = s
	}
	return s
}

// ConsumeMetrics updates the series the rules watch with the arriving points.
func (e *alertExporter) ConsumeMetrics(_ context.Context, md pmetric.Metrics) error {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
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
	case kindThreshold, kindAbsent:
		if name != r.cfg.Metric || !r.matches(attrs) {
			return
		}
	case kindAnomaly:
		if name != "strata.anomaly.score" || !r.matches(attrs) {
			return
		}
		if watched, ok := attrs.Get("strata.anomaly.metric"); !ok || watched.Str() != r.cfg.Metric {
			return
		}
	default:
		return
	}
	s := e.track(r, attrs)
	if s == nil {
		return
	}
	s.value, s.last = v, now
	switch r.cfg.Kind {
	case kindThreshold:
		a := e.alerts[r.labelsOf(s).Fingerprint()]
		s.active = r.holds(v, a != nil && a.state == stateFiring)
	case kindAnomaly:
		s.active = v >= r.anomalyScore()
	}
}

func (r *rule) anomalyScore() float64 {
	if r.cfg.Score > 0 {
		return r.cfg.Score
	}
	return 0.997
}

// ConsumeLogs follows incidents (the correlation connector's records): open and update fire, resolved resolves.
func (e *alertExporter) ConsumeLogs(_ context.Context, ld plog.Logs) error {
	now := e.now()
	e.mu.Lock()
	defer e.mu.Unlock()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, rec := range sl.LogRecords().All() {
				if rec.EventName() != semconv.EventIncident {
					continue
				}
				get := func(k string) string {
					v, _ := rec.Attributes().Get(k)
					return v.AsString()
				}
				attrs := pcommon.NewMap()
				attrs.PutStr("incident", get(semconv.AttrIncidentID))
				attrs.PutStr("root_cause", get(semconv.AttrIncidentRootCause))
				for _, r := range e.rules {
					if r.cfg.Kind != kindIncident {
						continue
					}
					if s := e.track(r, attrs); s != nil {
						s.last, s.active = now, get(semconv.AttrIncidentState) != "resolved"
						s.attrs["summary"] = rec.Body().AsString()
					}
				}
			}
		}
	}
	return nil
}

// evaluate steps every alert and queues what must be sent.
func (e *alertExporter) evaluate(ctx context.Context) {
	now := e.now()
	stale := 5 * e.cfg.EvaluationInterval
	byReceiver := map[string][]*alert{}
	type transition struct{ rule, state, labels string }
	var transitions []transition
	e.mu.Lock()
	keys := make([]seriesKey, 0, len(e.series))
	for k := range e.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool {
		if keys[i].rule != keys[j].rule {
			return keys[i].rule < keys[j].rule
		}
		return keys[i].fp < keys[j].fp
	})
	for _, k := range keys {
		s := e.series[k]
		r := s.rule
		var holds bool
		switch r.cfg.Kind {
		case kindAbsent:
			holds = now.Sub(s.last) >= r.absentFor()
		case kindIncident:
			holds = s.active
		default:
			holds = s.active && now.Sub(s.last) < stale // a series that stopped sending no longer holds
		}
		ls := r.labelsOf(s)
		fp := ls.Fingerprint()
		a := e.alerts[fp]
		if a == nil {
			if !holds {
				if r.cfg.Kind != kindAbsent && now.Sub(s.last) >= stale {
					delete(e.series, k) // gone quiet and inactive: forgotten
				}
				continue
			}
			a = &alert{rule: r, labels: ls, fingerprint: fp}
			e.alerts[fp] = a
		}
		a.value = s.value
		a.annotations = r.annotationsOf(s, ls)
		send, entered := a.step(holds, now, e.cfg.ResendInterval)
		if entered != "" {
			transitions = append(transitions, transition{r.cfg.Name, entered, ls.String()})
		}
		if send {
			byReceiver[r.receiver] = append(byReceiver[r.receiver], a.snapshot())
		}
		if a.state == stateResolved || a.state == "" {
			delete(e.alerts, fp)
		}
	}
	if e.untracked > 0 {
		e.set.Logger.Warn("series beyond max_series are not watched", zap.Int("points", e.untracked), zap.Int("max_series", e.cfg.MaxSeries))
		e.untracked = 0
	}
	e.mu.Unlock()
	for _, t := range transitions {
		e.telemetry.ExporterAlertTransitions.Add(ctx, 1, metric.WithAttributes(attribute.String("rule", t.rule), attribute.String("state", t.state)))
		if t.state != statePending {
			e.set.Logger.Info("alert "+t.state, zap.String("alertname", t.rule), zap.String("labels", t.labels))
		}
	}
	for name, alerts := range byReceiver {
		s := e.senders[name]
		if s == nil {
			continue
		}
		if err := s.send(ctx, alerts); err != nil {
			e.set.Logger.Warn("alerts could not be queued", zap.String("receiver", name), zap.Int("alerts", len(alerts)), zap.Error(err))
		}
		e.telemetry.ExporterAlertNotifications.Add(ctx, int64(len(alerts)), metric.WithAttributes(attribute.String("receiver", name)))
	}
}

func (r *rule) absentFor() time.Duration {
	if r.cfg.AbsentFor > 0 {
		return r.cfg.AbsentFor
	}
	return 5 * time.Minute
}

// snapshot is a copy of the alert as it is sent now.
func (a *alert) snapshot() *alert {
	c := *a
	return &c
}

// eachNumber calls f for the points of gauges and sums.
func eachNumber(m pmetric.Metric, f func(pcommon.Map, float64)) {
	var dps pmetric.NumberDataPointSlice
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps = m.Gauge().DataPoints()
	case pmetric.MetricTypeSum:
		dps = m.Sum().DataPoints()
	default:
		return
	}
	for _, dp := range dps.All() {
		v := dp.DoubleValue()
		if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
			v = float64(dp.IntValue())
		}
		f(dp.Attributes(), v)
	}
}
