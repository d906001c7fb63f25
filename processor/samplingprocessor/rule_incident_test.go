package samplingprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/internal/semconv"
	"github.com/otelstrata/strata/processor/samplingprocessor/internal/metadata"
	"github.com/otelstrata/strata/processor/samplingprocessor/internal/metadatatest"
)

// incidentRecord is a record of the correlation connector as the event contract (docs/events.md) says.
func incidentRecord(id, state string, services, hosts []string, rootCause string) plog.Logs {
	ld := plog.NewLogs()
	r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.SetEventName(semconv.EventIncident)
	r.SetSeverityNumber(plog.SeverityNumberWarn)
	if state == semconv.IncidentResolved {
		r.SetSeverityNumber(plog.SeverityNumberInfo)
	}
	a := r.Attributes()
	a.PutStr(semconv.AttrEventName, semconv.EventIncident)
	a.PutStr(semconv.AttrIncidentID, id)
	a.PutStr(semconv.AttrIncidentState, state)
	for key, values := range map[string][]string{semconv.AttrIncidentServices: services, semconv.AttrIncidentHosts: hosts} {
		s := a.PutEmptySlice(key)
		for _, v := range values {
			s.AppendEmpty().SetStr(v)
		}
	}
	a.PutStr(semconv.AttrIncidentRootCause, rootCause)
	return ld
}

// TestIncidentRuleKeepsTheIncidentsTraces: while an incident is open, and for keep_after once it resolved, every
// trace touching one of its services, hosts or its root-cause endpoint is kept — within the rule's own budget, past
// which the next rules decide and the trace is counted; other traces go on to the budget's rules as before. The
// incident records themselves always pass, whatever the logs' rate.
func TestIncidentRuleKeepsTheIncidentsTraces(t *testing.T) {
	h := newHarness(t, `
decision_wait: 1s
rules:
  - {name: errors, type: error}
  - {name: incident, type: incident, keep_after: 1m, traces_per_second: 5}
  - {name: rest, type: always, action: drop}
logs: {keep_severity: ERROR, rate: 0}
`)
	ctx := context.Background()
	next := uint64(0)
	trace := func(service string, attrs map[string]any) uint64 {
		next++
		h.send(t, span{trace: next, id: 1, service: service, name: "GET", duration: time.Millisecond, attrs: attrs})
		return next
	}
	decide := func() { h.decideAfter(1100 * time.Millisecond) }

	before := trace("payment", nil)
	decide()
	require.NoError(t, h.p.ConsumeLogs(ctx, incidentRecord("i-1", semconv.IncidentOpen, []string{"checkout", "payment"}, []string{"db-1"}, "endpoint db.internal:5432"), 0))
	assert.Equal(t, 1, h.logs.LogRecordCount(), "the incident record passes, though below keep_severity and rate 0")

	payment := trace("payment", nil)
	caller := trace("frontend", map[string]any{"peer.service": "checkout"})
	onHost := trace("catalog", nil)
	h.p.mu.Lock()
	h.p.traces[traceIDOf(onHost)].touched = touch(h.p.traces[traceIDOf(onHost)].touched, entity{entityHost, "db-1"})
	h.p.mu.Unlock()
	toDB := trace("inventory", map[string]any{"server.address": "db.internal:5432"})
	other := trace("catalog", nil)
	decide()
	assert.Equal(t, map[uint64]string{payment: "incident", caller: "incident", onHost: "incident", toDB: "incident"},
		h.kept(before, payment, caller, onHost, toDB, other))

	// twenty traces of the incident in one second: the rule's five a second, the rest to the next rules
	var burst []uint64
	h.decideAfter(time.Second) // a second's tokens again
	for range 20 {
		burst = append(burst, trace("payment", nil))
	}
	decide()
	assert.Len(t, h.kept(burst...), 5)
	metadatatest.AssertEqualProcessorSamplingIncidentOverBudget(t, h.tel, []metricdata.DataPoint[int64]{{Value: 15}},
		metricdatatest.IgnoreTimestamp())

	// resolved: kept for keep_after, then the rules as before
	require.NoError(t, h.p.ConsumeLogs(ctx, incidentRecord("i-1", semconv.IncidentResolved, []string{"checkout", "payment"}, nil, "service payment"), 0))
	assert.Equal(t, 2, h.logs.LogRecordCount())
	h.decideAfter(50 * time.Second)
	within := trace("payment", nil)
	decide()
	h.decideAfter(10 * time.Second)
	after := trace("payment", nil)
	decide()
	assert.Equal(t, map[uint64]string{within: "incident"}, h.kept(within, after))
	h.p.mu.Lock()
	assert.Empty(t, h.p.incidents.incidents, "forgotten keep_after after it resolved")
	assert.Empty(t, h.p.incidents.hot)
	h.p.mu.Unlock()
}

// TestIncidentUpdateReplacesItsEntities: an update names the incident's entities anew; a service it no longer names
// is not kept for it.
func TestIncidentUpdateReplacesItsEntities(t *testing.T) {
	h := newHarness(t, `
rules:
  - {name: incident, type: incident}
  - {name: rest, type: always, action: drop}
`)
	ctx := context.Background()
	require.NoError(t, h.p.ConsumeLogs(ctx, incidentRecord("i-1", semconv.IncidentOpen, []string{"payment"}, nil, "service payment"), 0))
	require.NoError(t, h.p.ConsumeLogs(ctx, incidentRecord("i-2", semconv.IncidentOpen, []string{"store"}, nil, "service store"), 0))
	require.NoError(t, h.p.ConsumeLogs(ctx, incidentRecord("i-1", semconv.IncidentUpdate, []string{"checkout"}, nil, "service checkout"), 0))
	h.send(t, span{trace: 1, id: 1, service: "payment", name: "GET"}, span{trace: 2, id: 1, service: "checkout", name: "GET"},
		span{trace: 3, id: 1, service: "store", name: "GET"})
	h.decideAfter(3 * time.Second)
	assert.Equal(t, map[uint64]string{2: "incident", 3: "incident"}, h.kept(1, 2, 3))
}

// TestTwoLogsPipelines: one processor named by a logs pipeline and an incident pipeline sends each record on in the
// pipeline it came in — a trace's record after its trace's decision, an incident record at once — and the incident
// rule follows the incident from the second pipeline.
func TestTwoLogsPipelines(t *testing.T) {
	f := NewFactory()
	cfg := f.CreateDefaultConfig().(*Config)
	cfg.DecisionWait = 100 * time.Millisecond
	cfg.Rules = []RuleConfig{{Name: "incident", Type: ruleIncident}, {Name: "rest", Type: ruleAlways, Action: "drop"}}
	ctx := context.Background()
	set := processortest.NewNopSettings(metadata.Type)
	traces, logs, incidents := new(consumertest.TracesSink), new(consumertest.LogsSink), new(consumertest.LogsSink)
	tp, err := f.CreateTraces(ctx, set, cfg, traces)
	require.NoError(t, err)
	lp, err := f.CreateLogs(ctx, set, cfg, logs)
	require.NoError(t, err)
	ip, err := f.CreateLogs(ctx, set, cfg, incidents)
	require.NoError(t, err)
	for _, c := range []component.Component{tp, lp, ip} {
		require.NoError(t, c.Start(ctx, componenttest.NewNopHost()))
	}
	defer func() {
		for _, c := range []component.Component{tp, lp, ip} {
			require.NoError(t, c.Shutdown(ctx))
		}
	}()

	require.NoError(t, ip.ConsumeLogs(ctx, incidentRecord("i-1", semconv.IncidentOpen, []string{"payment"}, nil, "service payment")))
	assert.Equal(t, 1, incidents.LogRecordCount())
	clock := newTestClock()
	require.NoError(t, tp.ConsumeTraces(ctx, makeTraces(clock, span{trace: 1, id: 1, service: "payment", name: "charge"})))
	ld := plog.NewLogs()
	r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.SetTraceID(traceIDOf(1))
	r.SetSeverityNumber(plog.SeverityNumberDebug)
	require.NoError(t, lp.ConsumeLogs(ctx, ld))
	require.Eventually(t, func() bool { return traces.SpanCount() == 1 && logs.LogRecordCount() == 1 }, 5*time.Second, 10*time.Millisecond,
		"the trace of the incident's service kept, and its record in the logs pipeline")
	assert.Equal(t, 1, incidents.LogRecordCount(), "nothing else in the incident pipeline")
}

// TestAlarmKeepsAServicesTraces: an alarm of the anomaly processor on a service's request duration keeps its traces
// for keep_after, before any incident; an alarm on another metric, a point without the alarm, or a score the anomaly
// processor did not make do not.
func TestAlarmKeepsAServicesTraces(t *testing.T) {
	h := newHarness(t, `
rules:
  - {name: incident, type: incident, keep_after: 1m}
  - {name: rest, type: always, action: drop}
`)
	alarm := func(service, scope, metric string, v float64) pmetric.Metrics {
		md := pmetric.NewMetrics()
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("service.name", service)
		sm := rm.ScopeMetrics().AppendEmpty()
		sm.Scope().SetName(scope)
		m := sm.Metrics().AppendEmpty()
		m.SetName(semconv.MetricAnomalyAlarm)
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetDoubleValue(v)
		dp.Attributes().PutStr(semconv.AttrAnomalyMetric, metric)
		return md
	}
	h.p.followAlarms(alarm("payment", semconv.ScopeAnomaly, "http.server.request.duration", 1))
	h.p.followAlarms(alarm("store", semconv.ScopeAnomaly, "process.cpu.utilization", 1))
	h.p.followAlarms(alarm("catalog", semconv.ScopeAnomaly, "http.server.request.duration", 0))
	h.p.followAlarms(alarm("inventory", "someone.else", "http.server.request.duration", 1))
	h.send(t, span{trace: 1, id: 1, service: "payment", name: "GET"}, span{trace: 2, id: 1, service: "store", name: "GET"},
		span{trace: 3, id: 1, service: "catalog", name: "GET"}, span{trace: 4, id: 1, service: "inventory", name: "GET"})
	h.decideAfter(3 * time.Second)
	assert.Equal(t, map[uint64]string{1: "incident"}, h.kept(1, 2, 3, 4))

	h.clock.advance(time.Minute)
	h.send(t, span{trace: 5, id: 1, service: "payment", name: "GET"})
	h.decideAfter(3 * time.Second)
	assert.Empty(t, h.kept(5), "keep_after after the alarm")
}
