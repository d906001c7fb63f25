package alertexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/http/httptest"
	"os"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/exporter/alertexporter/internal/metadata"
	"github.com/otelstrata/strata/internal/alertwatch"
	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/internal/semconv"
)

// receiverServer records what a receiver endpoint is sent, and answers with status.
type receiverServer struct {
	mu     sync.Mutex
	bodies [][]byte
	status int
	srv    *httptest.Server
}

func newReceiverServer(t testing.TB) *receiverServer {
	r := &receiverServer{status: http.StatusOK}
	_, bench := t.(*testing.B)
	r.srv = httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, req *http.Request) {
		body, _ := io.ReadAll(req.Body)
		r.mu.Lock()
		defer r.mu.Unlock()
		if !bench { // a benchmark's requests are not kept
			r.bodies = append(r.bodies, body)
		}
		w.WriteHeader(r.status)
	}))
	t.Cleanup(r.srv.Close)
	return r
}

func (r *receiverServer) received() [][]byte {
	r.mu.Lock()
	defer r.mu.Unlock()
	return append([][]byte(nil), r.bodies...)
}

// harness is an exporter on a test clock, started, with receivers pointing at the given servers.
type harness struct {
	e     *alertExporter
	clock *clock.Manual
}

func newHarness(t *testing.T, rulesYAML string, receivers map[string]string) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(rulesYAML), &raw))
	rs := map[string]any{}
	for name, kindAndURL := range receivers {
		kind, url, _ := cut(kindAndURL)
		switch kind {
		case receiverFile:
			rs[name] = map[string]any{"kind": kind, "path": url}
			continue
		case receiverPagerDuty:
			rs[name] = map[string]any{"kind": kind, "endpoint": url, "routing_key": "key-123"}
			continue
		case receiverSlack:
			rs[name] = map[string]any{"kind": kind, "url": url}
			continue
		}
		rs[name] = map[string]any{"kind": kind, "endpoint": url}
	}
	raw["receivers"] = rs
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	cfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]() // deliver at once, in the tests' goroutine
	cfg.BackOffConfig.Enabled = false
	require.NoError(t, cfg.Validate())
	set := exportertest.NewNopSettings(metadata.Type)
	e, err := newAlertExporter(cfg, set)
	require.NoError(t, err)
	h := &harness{e: e, clock: clock.NewManual(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))}
	e.clock = h.clock
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	t.Cleanup(func() { require.NoError(t, e.Shutdown(context.Background())) })
	return h
}

func cut(s string) (string, string, bool) {
	for i := range s {
		if s[i] == ' ' {
			return s[:i], s[i+1:], true
		}
	}
	return s, "", false
}

// point sends one gauge point; the anomaly processor's metrics come in its scope.
func (h *harness) point(t *testing.T, name string, v float64, attrs map[string]string) {
	scope := ""
	if strings.HasPrefix(name, semconv.PrefixAnomaly) {
		scope = semconv.ScopeAnomaly
	}
	h.pointIn(t, scope, name, v, attrs)
}

// pointIn sends one gauge point in the named scope.
func (h *harness) pointIn(t *testing.T, scope, name string, v float64, attrs map[string]string) {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("host.name", "web-1")
	sm := rm.ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scope)
	m := sm.Metrics().AppendEmpty()
	m.SetName(name)
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetDoubleValue(v)
	for k, x := range attrs {
		dp.Attributes().PutStr(k, x)
	}
	require.NoError(t, h.e.ConsumeMetrics(context.Background(), md))
}

// tick moves the clock by d; the exporter evaluates on the way, every evaluation_interval.
func (h *harness) tick(d time.Duration) { h.clock.Advance(d) }

func alertsOf(t *testing.T, body []byte) []amAlert {
	var alerts []amAlert
	require.NoError(t, json.Unmarshal(body, &alerts))
	return alerts
}

// TestThresholdForKeepFiringAndHysteresis walks a threshold rule through pending, firing (after `for`), resent,
// kept firing through a short dip, held by the recovery value, and resolved.
func TestThresholdForKeepFiringAndHysteresis(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
external_url: http://collector.example:13133
rules:
  - name: HighCPU
    kind: threshold
    metric: system.cpu.utilization
    op: ">"
    value: 0.9
    recovery: 0.8
    for: 30s
    keep_firing_for: 20s
    severity: critical
    labels: {team: infra}
    annotations: {summary: "CPU of {{ .Labels.host_name }} at {{ printf \"%.0f\" .Value }}"}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	send := func(v float64) { h.point(t, "system.cpu.utilization", v, nil) }

	send(0.95)
	h.tick(10 * time.Second) // pending since this evaluation
	assert.Empty(t, am.received())
	for _, v := range []float64{0.97, 0.96} {
		send(v)
		h.tick(10 * time.Second)
	}
	assert.Empty(t, am.received(), "20 s pending")
	send(0.96)
	h.tick(10 * time.Second) // 30 s pending: fires
	require.Len(t, am.received(), 1)
	fired := alertsOf(t, am.received()[0])
	require.Len(t, fired, 1)
	a := fired[0]
	assert.Equal(t, map[string]string{"alertname": "HighCPU", "severity": "critical", "team": "infra", "host_name": "web-1"}, a.Labels)
	assert.Equal(t, "CPU of web-1 at 1", a.Annotations["summary"])
	assert.Nil(t, a.EndsAt)
	assert.Equal(t, h.clock.Now(), a.StartsAt)
	assert.Equal(t, "http://collector.example:13133/?alert=HighCPU", a.GeneratorURL)
	want := model.LabelSet{"alertname": "HighCPU", "severity": "critical", "team": "infra", "host_name": "web-1"}
	assert.Equal(t, want.Fingerprint(), h.e.alerts[want.Fingerprint()].fingerprint, "Alertmanager's fingerprint of the labels")

	send(0.85) // below the threshold, above the recovery value: still firing (the condition last holds now)
	h.tick(10 * time.Second)
	send(0.5) // recovered: kept firing for 20 s
	h.tick(10 * time.Second)
	assert.Len(t, am.received(), 1)
	send(0.5)
	h.tick(10 * time.Second) // 20 s since the condition last held: resolved
	require.Len(t, am.received(), 2)
	resolved := alertsOf(t, am.received()[1])[0]
	require.NotNil(t, resolved.EndsAt)
	assert.Equal(t, h.clock.Now(), *resolved.EndsAt)
	assert.Equal(t, a.StartsAt, resolved.StartsAt)
	assert.Empty(t, h.e.alerts)
}

// TestPendingThatRecoversNeverFires and a firing alert is resent every resend_interval.
func TestPendingThatRecoversNeverFiresAndFiringIsResent(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
resend_interval: 1m
rules:
  - {name: Slow, kind: threshold, metric: latency, op: ">=", value: 2, for: 1m}
  - {name: Errors, kind: threshold, metric: errors, op: ">", value: 0}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	h.point(t, "latency", 3, nil)
	h.tick(30 * time.Second)
	h.point(t, "latency", 1, nil)
	h.tick(30 * time.Second)
	assert.Empty(t, am.received(), "pending, then recovered: never sent")

	for range 8 { // 80 s of errors
		h.point(t, "errors", 5, nil)
		h.tick(10 * time.Second)
	}
	require.Len(t, am.received(), 2, "fired, and resent a minute later")
}

// TestAnomalyAbsentAndIncidentRules: an anomaly rule reads the anomaly processor's alarm of its metric, or its
// score from the rule's score; an absent rule fires when a series stops; an incident rule follows the correlation
// connector's records.
func TestAnomalyAbsentAndIncidentRules(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
evaluation_interval: 10s
rules:
  - {name: LoadAnomaly, kind: anomaly, metric: system.cpu.load_average.1m}
  - {name: LoadScore, kind: anomaly, metric: system.cpu.load_average.1m, score: 0.999}
  - {name: MemoryScore, kind: anomaly, metric: system.memory.usage, score: 0.9999}
  - {name: NoHeartbeat, kind: absent, metric: heartbeat, absent_for: 1m}
  - {name: Incident, kind: incident, severity: critical}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	load := map[string]string{"strata.anomaly.metric": "system.cpu.load_average.1m"}
	memory := map[string]string{"strata.anomaly.metric": "system.memory.usage"}
	h.point(t, "strata.anomaly.alarm", 1, load)
	h.point(t, "strata.anomaly.score", 0.9995, load)
	h.point(t, "strata.anomaly.alarm", 1, memory)
	h.point(t, "strata.anomaly.score", 0.9995, memory)
	h.point(t, "heartbeat", 1, map[string]string{"job": "batch"})
	h.tick(10 * time.Second)
	got := map[string]bool{}
	for _, b := range am.received() {
		for _, a := range alertsOf(t, b) {
			got[a.Labels["alertname"]] = true
		}
	}
	assert.Equal(t, map[string]bool{"LoadAnomaly": true, "LoadScore": true}, got,
		"only the watched metric's alarm, and its score from the rule's score")

	for range 6 {
		h.tick(10 * time.Second)
	}
	last := alertsOf(t, am.received()[len(am.received())-1])
	names := map[string]string{}
	for _, a := range last {
		names[a.Labels["alertname"]] = a.Labels["job"]
	}
	assert.Contains(t, names, "NoHeartbeat")
	assert.Equal(t, "batch", names["NoHeartbeat"])

	incident := func(state, root string) plog.Logs {
		ld := plog.NewLogs()
		r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		r.SetEventName(semconv.EventIncident)
		r.Attributes().PutStr(semconv.AttrIncidentID, "20261127T120000-1")
		r.Attributes().PutStr(semconv.AttrIncidentState, state)
		r.Attributes().PutStr(semconv.AttrIncidentRootCause, root)
		r.Body().SetStr("Incident 20261127T120000-1 (" + state + "): most likely root cause: " + root)
		return ld
	}
	incidentAlerts := func() []amAlert {
		var out []amAlert
		for _, a := range alertsOf(t, am.received()[len(am.received())-1]) {
			if a.Labels["alertname"] == "Incident" {
				out = append(out, a)
			}
		}
		return out
	}
	n := len(am.received())
	require.NoError(t, h.e.ConsumeLogs(context.Background(), incident("open", "service db")))
	h.tick(10 * time.Second)
	require.Greater(t, len(am.received()), n)
	first := incidentAlerts()
	require.Len(t, first, 1)
	assert.Equal(t, "service db", first[0].Annotations["root_cause"])
	// the ranking changes: the same alert (the incident identifies it), its annotations updated
	require.NoError(t, h.e.ConsumeLogs(context.Background(), incident("update", "host db-1")))
	for range 7 { // past the resend interval
		h.tick(10 * time.Second)
	}
	updated := incidentAlerts()
	require.Len(t, updated, 1, "one alert per incident, whatever its root cause")
	assert.Equal(t, map[string]string{"alertname": "Incident", "incident": "20261127T120000-1", "severity": "critical"}, updated[0].Labels)
	assert.Equal(t, "host db-1", updated[0].Annotations["root_cause"])
	assert.Contains(t, updated[0].Annotations["summary"], "(update)")
	assert.Equal(t, first[0].StartsAt, updated[0].StartsAt)
	assert.Nil(t, updated[0].EndsAt)
	require.NoError(t, h.e.ConsumeLogs(context.Background(), incident("resolved", "host db-1")))
	h.tick(10 * time.Second)
	resolved := incidentAlerts()
	require.Len(t, resolved, 1)
	assert.NotNil(t, resolved[0].EndsAt, "the incident's resolution resolves the alert")
}

// TestWebhookPayload: the webhook receives Alertmanager's webhook JSON.
func TestWebhookPayload(t *testing.T) {
	hook := newReceiverServer(t)
	h := newHarness(t, `
external_url: http://collector.example
rules:
  - {name: Down, kind: threshold, metric: up, op: "==", value: 0, annotations: {summary: "{{ .Labels.instance }} is down"}}
`, map[string]string{"hook": "webhook " + hook.srv.URL})
	h.point(t, "up", 0, map[string]string{"instance": "api-1:8080"})
	h.tick(10 * time.Second)
	require.Len(t, hook.received(), 1)
	var p webhookPayload
	require.NoError(t, json.Unmarshal(hook.received()[0], &p))
	assert.Equal(t, "4", p.Version)
	assert.Equal(t, "firing", p.Status)
	assert.Equal(t, "hook", p.Receiver)
	assert.Equal(t, "http://collector.example", p.ExternalURL)
	assert.Equal(t, map[string]string{"alertname": "Down"}, p.GroupLabels)
	assert.Equal(t, "api-1:8080 is down", p.CommonAnnotations["summary"])
	require.Len(t, p.Alerts, 1)
	assert.Equal(t, "firing", p.Alerts[0].Status)
	assert.Equal(t, model.LabelSet{"alertname": "Down", "severity": "warning", "instance": "api-1:8080", "host_name": "web-1"}.Fingerprint().String(), p.Alerts[0].Fingerprint)
}

// TestRefusalsArePermanentFailuresRetried: a 4xx is not retried (the same alert would be refused again); a 5xx is.
func TestRefusalsArePermanentFailuresRetried(t *testing.T) {
	srv := newReceiverServer(t)
	rc := &ReceiverConfig{Kind: receiverAlertmanager}
	rc.Endpoint = srv.srv.URL
	s := &sender{notifier: newNotifier("am", "", rc, srv.srv.Client())}
	ld := plog.NewLogs()
	r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.Body().SetStr(`{"labels":{"alertname":"X"},"startsAt":"2026-11-27T12:00:00Z"}`)
	srv.status = http.StatusBadRequest
	err := s.push(context.Background(), ld)
	require.Error(t, err)
	assert.True(t, consumererror.IsPermanent(err), "4xx: permanent")
	srv.status = http.StatusServiceUnavailable
	err = s.push(context.Background(), ld)
	require.Error(t, err)
	assert.False(t, consumererror.IsPermanent(err), "5xx: retried")
	srv.status = http.StatusOK
	assert.NoError(t, s.push(context.Background(), ld))
	assert.Len(t, srv.received(), 3)
}

// TestFileReceiver appends each notification as a line of webhook JSON.
func TestFileReceiver(t *testing.T) {
	path := t.TempDir() + "/alerts/alerts.jsonl"
	h := newHarness(t, `
rules:
  - {name: Low, kind: threshold, metric: ratio, op: "<", value: 0.95}
`, map[string]string{"file": "file " + path})
	h.point(t, "ratio", 0.5, nil)
	h.tick(10 * time.Second)
	h.point(t, "ratio", 0.99, nil)
	h.tick(10 * time.Second)
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	lines := strings.Split(strings.TrimSpace(string(data)), "\n")
	require.Len(t, lines, 2)
	var firing, resolved webhookPayload
	require.NoError(t, json.Unmarshal([]byte(lines[0]), &firing))
	require.NoError(t, json.Unmarshal([]byte(lines[1]), &resolved))
	assert.Equal(t, "firing", firing.Status)
	assert.Equal(t, "resolved", resolved.Status)
	assert.Equal(t, "Low", resolved.Alerts[0].Labels["alertname"])
}

// BenchmarkRules100Series10000 is the cost of 100 threshold rules over 10,000 series at each 10 s interval: the
// points of an interval arrive (each checked against every rule), then the rules are evaluated.
func BenchmarkRules100Series10000(b *testing.B) {
	cfg := createDefaultConfig().(*Config)
	cfg.Receivers = map[string]*ReceiverConfig{"file": {Kind: receiverFile, Path: b.TempDir() + "/alerts.jsonl"}}
	cfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	for i := range 100 {
		cfg.Rules = append(cfg.Rules, RuleConfig{Name: fmt.Sprintf("Rule%d", i), Kind: kindThreshold,
			Metric: fmt.Sprintf("metric.%d", i%10), Op: ">", Value: 1e9, Match: map[string]string{"shard": fmt.Sprint(i / 10)}})
	}
	require.NoError(b, cfg.Validate())
	e, err := newAlertExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(b, err)
	require.NoError(b, e.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(b, e.Shutdown(context.Background())) }()
	// 10,000 series: 10 metrics × 10 shards × 100 hosts
	md := pmetric.NewMetrics()
	for h := range 100 {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("host.name", fmt.Sprintf("host-%d", h))
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		for m := range 10 {
			metric := ms.AppendEmpty()
			metric.SetName(fmt.Sprintf("metric.%d", m))
			dps := metric.SetEmptyGauge().DataPoints()
			for s := range 10 {
				dp := dps.AppendEmpty()
				dp.SetDoubleValue(float64(s))
				dp.Attributes().PutStr("shard", fmt.Sprint(s))
			}
		}
	}
	for b.Loop() {
		require.NoError(b, e.ConsumeMetrics(context.Background(), md))
		e.evaluate(context.Background())
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N)/1e10*100, "CPU-%-at-10s")
}

// TestSlackAndPagerDutyPayloads: Slack gets a message with an attachment per alert; PagerDuty a trigger with the
// fingerprint as dedup key, then a resolve with the same key.
func TestSlackAndPagerDutyPayloads(t *testing.T) {
	slack, pd := newReceiverServer(t), newReceiverServer(t)
	cfgText := `
external_url: http://collector.example
rules:
  - {name: HighLatency, kind: threshold, metric: latency, op: ">", value: 1, severity: critical, receiver: pd,
     annotations: {summary: "latency of {{ .Labels.service_name }} is {{ .Value }} s"}}
  - {name: Errors, kind: threshold, metric: errors, op: ">", value: 0, receiver: slack}
`
	h := newHarness(t, cfgText, map[string]string{"slack": "slack " + slack.srv.URL, "pd": "pagerduty " + pd.srv.URL})
	h.point(t, "latency", 2, map[string]string{"service.name": "api"})
	h.point(t, "errors", 3, nil)
	h.tick(10 * time.Second)
	h.point(t, "latency", 0.5, map[string]string{"service.name": "api"})
	h.point(t, "errors", 0, nil)
	h.tick(10 * time.Second)

	require.Len(t, pd.received(), 2)
	var trigger, resolve pagerDutyEvent
	require.NoError(t, json.Unmarshal(pd.received()[0], &trigger))
	require.NoError(t, json.Unmarshal(pd.received()[1], &resolve))
	fp := model.LabelSet{"alertname": "HighLatency", "severity": "critical", "service_name": "api", "host_name": "web-1"}.Fingerprint().String()
	assert.Equal(t, pagerDutyEvent{RoutingKey: "key-123", EventAction: "trigger", DedupKey: fp, Client: "otelcol-strata",
		ClientURL: "http://collector.example/?alert=HighLatency", Payload: &pagerDutyPayload{
			Summary: "latency of api is 2 s", Source: "web-1", Severity: "critical", Timestamp: "2026-11-27T12:00:10Z",
			Component: "api", CustomDetails: map[string]string{"alertname": "HighLatency", "severity": "critical",
				"service_name": "api", "host_name": "web-1", "summary": "latency of api is 2 s"}}}, trigger)
	assert.Equal(t, "resolve", resolve.EventAction)
	assert.Equal(t, fp, resolve.DedupKey)
	assert.Nil(t, resolve.Payload)

	require.Len(t, slack.received(), 2)
	var firing, resolved slackMessage
	require.NoError(t, json.Unmarshal(slack.received()[0], &firing))
	require.NoError(t, json.Unmarshal(slack.received()[1], &resolved))
	assert.Equal(t, "1 firing, 0 resolved", firing.Text)
	assert.Equal(t, "[FIRING] Errors", firing.Attachments[0].Title)
	assert.Equal(t, "danger", firing.Attachments[0].Color)
	assert.Equal(t, "[RESOLVED] Errors", resolved.Attachments[0].Title)
	assert.Equal(t, "good", resolved.Attachments[0].Color)
}

// TestPredictiveRules: a filesystem filling at 1 % a minute is predicted full within 4 h long before it is, by
// least squares and by Holt; a steady one is not.
func TestPredictiveRules(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
rules:
  - {name: FullSoonLinear, kind: predictive, metric: fs.utilization, op: ">=", value: 1, horizon: 4h, window: 1h, match: {mount: /data}}
  - {name: FullSoonHolt, kind: predictive, metric: fs.utilization, op: ">=", value: 1, horizon: 4h, window: 1h, method: holt, match: {mount: /data}}
  - {name: SteadyFull, kind: predictive, metric: fs.utilization, op: ">=", value: 1, horizon: 4h, window: 1h, match: {mount: /var}}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	for i := range 180 { // 30 minutes, a point every 10 s: /data goes from 10 % to 40 %, /var stays at 50 %
		h.point(t, "fs.utilization", 0.10+0.01*float64(i)/6, map[string]string{"mount": "/data"})
		h.point(t, "fs.utilization", 0.50, map[string]string{"mount": "/var"})
		h.tick(10 * time.Second)
	}
	fired := map[string]bool{}
	for _, b := range am.received() {
		for _, a := range alertsOf(t, b) {
			fired[a.Labels["alertname"]] = true
		}
	}
	assert.Equal(t, map[string]bool{"FullSoonLinear": true, "FullSoonHolt": true}, fired, "at 1 % a minute, full within 4 h; a steady 50 % never")
}

// TestLogRules: five failed logins for one user within a minute fire; the count per user is kept apart.
func TestLogRules(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
rules:
  - {name: LoginFailures, kind: log, event_name: strata.auth, match: {strata.auth.outcome: failure},
     min_severity: INFO, count: 5, window: 1m, group_by: [user.name]}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	login := func(user, outcome string) {
		ld := plog.NewLogs()
		r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
		r.SetEventName("strata.auth")
		r.SetSeverityNumber(plog.SeverityNumberWarn)
		r.Attributes().PutStr("strata.auth.outcome", outcome)
		r.Attributes().PutStr("user.name", user)
		require.NoError(t, h.e.ConsumeLogs(context.Background(), ld))
	}
	for range 4 {
		login("alice", "failure")
		login("bob", "failure")
		login("bob", "success")
	}
	h.tick(10 * time.Second)
	assert.Empty(t, am.received(), "four each: below the count")
	login("alice", "failure")
	h.tick(10 * time.Second)
	require.Len(t, am.received(), 1)
	a := alertsOf(t, am.received()[0])[0]
	assert.Equal(t, "alice", a.Labels["user_name"])
	h.tick(time.Minute) // no more: the window passes and the alert resolves
	require.Len(t, am.received(), 2)
	assert.NotNil(t, alertsOf(t, am.received()[1])[0].EndsAt)
}

// TestCompositeRules: high latency AND anomalous database CPU on the same host fires; either alone does not.
func TestCompositeRules(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
rules:
  - {name: HighLatency, kind: threshold, metric: latency, op: ">", value: 1}
  - {name: DBCPU, kind: anomaly, metric: db.cpu}
  - {name: LatencyFromDB, kind: composite, expr: "HighLatency and DBCPU", on: [host_name], severity: critical}
  - {name: LatencyWithoutDB, kind: composite, expr: "HighLatency and not DBCPU", on: [host_name]}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	h.point(t, "latency", 2, nil) // host web-1 (the harness's resource)
	h.tick(10 * time.Second)      // latency fires, and with it LatencyWithoutDB
	h.point(t, "latency", 2, nil)
	h.point(t, "strata.anomaly.alarm", 1, map[string]string{"strata.anomaly.metric": "db.cpu"})
	h.tick(10 * time.Second)
	h.point(t, "latency", 2, nil)
	h.point(t, "strata.anomaly.alarm", 1, map[string]string{"strata.anomaly.metric": "db.cpu"})
	h.tick(10 * time.Second)
	states := map[string][]bool{} // alertname -> resolved?, in order
	for _, b := range am.received() {
		for _, a := range alertsOf(t, b) {
			states[a.Labels["alertname"]] = append(states[a.Labels["alertname"]], a.EndsAt != nil)
		}
	}
	assert.Equal(t, []bool{false}, states["LatencyFromDB"], "fired once both fire on web-1")
	assert.Equal(t, []bool{false, true}, states["LatencyWithoutDB"], "fired while only latency fired, resolved when the database's CPU joined")
}

// names are the alertnames (with their host) of every alert a receiver got, in order.
func names(t *testing.T, r *receiverServer) []string {
	var out []string
	for _, b := range r.received() {
		for _, a := range alertsOf(t, b) {
			out = append(out, a.Labels["alertname"]+"@"+a.Labels["host_name"])
		}
	}
	return out
}

// TestInhibition: while HostDown fires for a host, that host's warnings are not sent; another host's are.
func TestInhibition(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
inhibit_rules:
  - {source_match: {alertname: HostDown}, target_match: {severity: warning}, equal: [host_name]}
rules:
  - {name: HostDown, kind: threshold, metric: up, op: "==", value: 0, severity: critical}
  - {name: HighLoad, kind: threshold, metric: load, op: ">", value: 4}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	h.point(t, "up", 0, nil) // web-1
	h.point(t, "load", 9, nil)
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("host.name", "web-2")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("load")
	m.SetEmptyGauge().DataPoints().AppendEmpty().SetDoubleValue(9)
	require.NoError(t, h.e.ConsumeMetrics(context.Background(), md))
	h.tick(10 * time.Second)
	assert.ElementsMatch(t, []string{"HostDown@web-1", "HighLoad@web-2"}, names(t, am))
}

// TestInhibitByIncident: inside a firing incident, the symptom alerts of its services are held; the root cause's
// is sent.
func TestInhibitByIncident(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
inhibit_by_incident: true
rules:
  - {name: Incident, kind: incident, severity: critical}
  - {name: SlowService, kind: threshold, metric: latency, op: ">", value: 1}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	ld := plog.NewLogs()
	r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.SetEventName(semconv.EventIncident)
	r.Attributes().PutStr(semconv.AttrIncidentID, "i-1")
	r.Attributes().PutStr(semconv.AttrIncidentState, "open")
	r.Attributes().PutStr(semconv.AttrIncidentRootCause, "service orders-db")
	svcs := r.Attributes().PutEmptySlice(semconv.AttrIncidentServices)
	svcs.AppendEmpty().SetStr("api")
	svcs.AppendEmpty().SetStr("orders-db")
	require.NoError(t, h.e.ConsumeLogs(context.Background(), ld))
	h.tick(10 * time.Second) // the incident's alert fires first
	for _, svc := range []string{"api", "orders-db", "billing"} {
		h.point(t, "latency", 3, map[string]string{"service.name": svc})
	}
	h.tick(10 * time.Second)
	var slow []string
	for _, b := range am.received() {
		for _, a := range alertsOf(t, b) {
			if a.Labels["alertname"] == "SlowService" {
				slow = append(slow, a.Labels["service_name"])
			}
		}
	}
	assert.ElementsMatch(t, []string{"orders-db", "billing"}, slow, "api is a symptom inside the incident; orders-db its root cause; billing outside it")
}

// TestFlappingAlertIsHeld: an alert that fires and resolves again and again is held after 4 transitions in 10 min,
// and sent again once stable.
func TestFlappingAlertIsHeld(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
rules:
  - {name: Flappy, kind: threshold, metric: m, op: ">", value: 1}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	for i := range 8 {
		h.point(t, "m", float64(2*(1-i%2)), nil) // 2, 0, 2, 0, ...
		h.tick(10 * time.Second)
	}
	assert.Len(t, am.received(), 3, "fired, resolved, fired; then held as flapping")
	for range 70 { // more than ten minutes of stable firing
		h.point(t, "m", 2, nil)
		h.tick(10 * time.Second)
	}
	assert.Greater(t, len(am.received()), 3, "stable again: sent")
}

// TestRateLimitFoldsIntoDigest: beyond one notification a minute, the alerts wait and go together in the next.
func TestRateLimitFoldsIntoDigest(t *testing.T) {
	hook := newReceiverServer(t)
	h := newHarness(t, `
rate_limit: {per_minute: 1, burst: 1}
rules:
  - {name: A, kind: threshold, metric: a, op: ">", value: 0}
  - {name: B, kind: threshold, metric: b, op: ">", value: 0}
  - {name: C, kind: threshold, metric: c, op: ">", value: 0}
`, map[string]string{"hook": "webhook " + hook.srv.URL})
	h.point(t, "a", 1, nil)
	h.tick(10 * time.Second)
	h.point(t, "a", 1, nil)
	h.point(t, "b", 1, nil)
	h.tick(10 * time.Second)
	h.point(t, "a", 1, nil)
	h.point(t, "b", 1, nil)
	h.point(t, "c", 1, nil)
	h.tick(10 * time.Second)
	require.Len(t, hook.received(), 1, "one token: A; B and C wait")
	for range 4 {
		h.point(t, "a", 1, nil)
		h.point(t, "b", 1, nil)
		h.point(t, "c", 1, nil)
		h.tick(10 * time.Second)
	}
	require.Len(t, hook.received(), 2, "a minute later, one digest")
	var digest webhookPayload
	require.NoError(t, json.Unmarshal(hook.received()[1], &digest))
	var got []string
	for _, a := range digest.Alerts {
		got = append(got, a.Labels["alertname"])
	}
	assert.Subset(t, got, []string{"B", "C"}, "nothing dropped: what waited comes in the digest (with A's resend)")
}

// TestGroupBy: one notification per value of the group_by labels.
func TestGroupBy(t *testing.T) {
	hook := newReceiverServer(t)
	h := newHarness(t, `
group_by: [service_name]
rules:
  - {name: Slow, kind: threshold, metric: latency, op: ">", value: 1}
`, map[string]string{"hook": "webhook " + hook.srv.URL})
	for _, svc := range []string{"api", "api", "cart"} {
		h.point(t, "latency", 2, map[string]string{"service.name": svc, "route": svc + "-" + fmt.Sprint(len(hook.received()))})
	}
	h.point(t, "latency", 2, map[string]string{"service.name": "api", "route": "other"})
	h.tick(10 * time.Second)
	require.Len(t, hook.received(), 2)
	var first webhookPayload
	require.NoError(t, json.Unmarshal(hook.received()[0], &first))
	assert.Equal(t, "api", first.CommonLabels["service_name"])
	assert.Len(t, first.Alerts, 2)
}

// TestStateSurvivesARestart: a firing alert restored from storage keeps its startsAt and resolves after the restart.
func TestStateSurvivesARestart(t *testing.T) {
	am := newReceiverServer(t)
	dir := t.TempDir()
	id := storagetest.NewStorageID("file_storage")
	open := func() *harness {
		cfg := createDefaultConfig().(*Config)
		cfg.Storage = &id
		cfg.Receivers = map[string]*ReceiverConfig{"am": {Kind: receiverAlertmanager}}
		cfg.Receivers["am"].Endpoint = am.srv.URL
		cfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
		cfg.BackOffConfig.Enabled = false
		cfg.Rules = []RuleConfig{{Name: "Hot", Kind: kindThreshold, Metric: "temp", Op: ">", Value: 80}}
		require.NoError(t, cfg.Validate())
		set := exportertest.NewNopSettings(metadata.Type)
		set.ID = component.NewID(metadata.Type)
		e, err := newAlertExporter(cfg, set)
		require.NoError(t, err)
		h := &harness{e: e, clock: clock.NewManual(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))}
		e.clock = h.clock
		require.NoError(t, e.Start(context.Background(), storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", dir)))
		return h
	}
	h := open()
	h.point(t, "temp", 95, nil)
	h.tick(10 * time.Second)
	started := alertsOf(t, am.received()[0])[0].StartsAt
	require.NoError(t, h.e.Shutdown(context.Background()))

	h2 := open()
	h2.clock.Set(h.clock.Now().Add(30 * time.Second))
	defer func() { require.NoError(t, h2.e.Shutdown(context.Background())) }()
	h2.point(t, "temp", 95, nil)
	h2.tick(10 * time.Second)
	assert.Len(t, am.received(), 1, "still firing: not fired again")
	h2.point(t, "temp", 20, nil)
	h2.tick(10 * time.Second)
	require.Len(t, am.received(), 2)
	resolved := alertsOf(t, am.received()[1])[0]
	assert.Equal(t, started, resolved.StartsAt, "the same alert, with its startsAt")
	assert.NotNil(t, resolved.EndsAt)
}

// TestGroupWaitAndInterval: alerts of a group firing within group_wait go together; later ones wait for
// group_interval.
func TestGroupWaitAndInterval(t *testing.T) {
	hook := newReceiverServer(t)
	h := newHarness(t, `
group_by: [host_name]
group_wait: 30s
group_interval: 1m
rules:
  - {name: A, kind: threshold, metric: a, op: ">", value: 0}
  - {name: B, kind: threshold, metric: b, op: ">", value: 0}
  - {name: C, kind: threshold, metric: c, op: ">", value: 0}
`, map[string]string{"hook": "webhook " + hook.srv.URL})
	keep := func(ms ...string) {
		for _, m := range ms {
			h.point(t, m, 1, nil)
		}
	}
	keep("a")
	h.tick(10 * time.Second) // A fires: its group waits 30 s
	keep("a", "b")
	h.tick(10 * time.Second) // B fires
	keep("a", "b")
	h.tick(10 * time.Second)
	assert.Empty(t, hook.received())
	keep("a", "b")
	h.tick(10 * time.Second) // 30 s after the group began: A and B together
	require.Len(t, hook.received(), 1)
	var first webhookPayload
	require.NoError(t, json.Unmarshal(hook.received()[0], &first))
	assert.Len(t, first.Alerts, 2)
	keep("a", "b", "c")
	h.tick(10 * time.Second) // C fires: waits for the group's interval
	for range 4 {
		keep("a", "b", "c")
		h.tick(10 * time.Second)
	}
	require.Len(t, hook.received(), 1, "50 s after the first notification: C still waits")
	keep("a", "b", "c")
	h.tick(10 * time.Second)
	require.Len(t, hook.received(), 2, "a minute after: C (with A's and B's resends)")
}

// BenchmarkWebhookNotifications is notifications a second to a webhook on loopback, one alert each, through the
// sender's push (what the queue's consumers run).
func BenchmarkWebhookNotifications(b *testing.B) {
	srv := newReceiverServer(b)
	rc := &ReceiverConfig{Kind: receiverWebhook}
	rc.Endpoint = srv.srv.URL
	s := &sender{notifier: newNotifier("hook", "", rc, srv.srv.Client())}
	a := &alert{labels: model.LabelSet{"alertname": "X", "severity": "warning", "host_name": "web-1"}, state: stateFiring,
		startsAt: time.Now(), annotations: map[string]string{"summary": "X on web-1"}}
	a.fingerprint = a.labels.Fingerprint()
	data, err := json.Marshal(amAlertOf(a, ""))
	require.NoError(b, err)
	ld := plog.NewLogs()
	ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty().Body().SetStr(string(data))
	for b.Loop() {
		if err := s.push(context.Background(), ld); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(b.N)/b.Elapsed().Seconds(), "notifications/s")
}

// TestForgedScoresFireNothing: an anomaly rule ignores alarms and scores outside the anomaly processor's scope (a
// client's) and those that are not in [0, 1].
func TestForgedScoresFireNothing(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
evaluation_interval: 10s
rules:
  - {name: LoadAnomaly, kind: anomaly, metric: system.cpu.load_average.1m}
  - {name: LoadScore, kind: anomaly, metric: system.cpu.load_average.1m, score: 0.997}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	watched := map[string]string{"strata.anomaly.metric": "system.cpu.load_average.1m"}
	for range 3 {
		for _, name := range []string{"strata.anomaly.alarm", "strata.anomaly.score"} {
			h.pointIn(t, "github.com/evil/forger", name, 1, watched)
			h.point(t, name, math.Inf(1), watched)
			h.point(t, name, math.NaN(), watched)
		}
		h.tick(10 * time.Second)
	}
	assert.Empty(t, am.received())
	h.point(t, "strata.anomaly.alarm", 1, watched)
	h.point(t, "strata.anomaly.score", 1, watched)
	h.tick(10 * time.Second)
	require.Len(t, am.received(), 1, "the processor's own alarm and score fire")
	assert.Len(t, alertsOf(t, am.received()[0]), 2)
}

// TestSeriesOfAPointAMinuteHold: a series that sends every minute, less often than five evaluation intervals,
// holds between its points, so its `for` can pass; it stops holding three of its intervals after its last point.
func TestSeriesOfAPointAMinuteHold(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
rules:
  - {name: HighLoad, kind: threshold, metric: load, op: ">", value: 100, for: 2m}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	for range 3 { // quiet points, a minute apart: the series' interval is learned
		h.point(t, "load", 50, nil)
		h.tick(time.Minute)
	}
	for range 3 {
		h.point(t, "load", 120, nil)
		h.tick(time.Minute)
	}
	last := func() amAlert { got := am.received(); return alertsOf(t, got[len(got)-1])[0] }
	require.NotEmpty(t, am.received(), "pending two minutes, then fired")
	fired := last()
	assert.Equal(t, h.clock.Now().Add(-50*time.Second), fired.StartsAt, "fired at the evaluation two minutes after the first high point")
	h.tick(time.Minute + 50*time.Second)
	assert.Nil(t, last().EndsAt, "still firing 2m50s after the last point")
	h.tick(10 * time.Second)
	require.NotNil(t, last().EndsAt, "resolved three intervals after the last point")
	assert.Equal(t, h.clock.Now(), *last().EndsAt)
	assert.Equal(t, fired.StartsAt, last().StartsAt)
}

// changes is an alertwatch.Watcher offered as an extension: it keeps what it is told.
type changes struct{ got []alertwatch.Change }

func (c *changes) AlertChanged(ch alertwatch.Change)         { c.got = append(c.got, ch) }
func (*changes) Start(context.Context, component.Host) error { return nil }
func (*changes) Shutdown(context.Context) error              { return nil }

type watchHost struct{ w *changes }

func (h watchHost) GetExtensions() map[component.ID]component.Component {
	return map[component.ID]component.Component{component.MustNewID("watch"): h.w}
}

// TestWatcherIsToldEveryChange: a host's watcher hears pending, firing and resolved, with the time, labels and
// value, even while the flap detector holds the notifications.
func TestWatcherIsToldEveryChange(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Receivers = map[string]*ReceiverConfig{"file": {Kind: receiverFile, Path: t.TempDir() + "/alerts.jsonl"}}
	cfg.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
	cfg.Rules = []RuleConfig{{Name: "Hot", Kind: kindThreshold, Metric: "temp", Op: ">", Value: 80, For: 20 * time.Second}}
	require.NoError(t, cfg.Validate())
	e, err := newAlertExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	h := &harness{e: e, clock: clock.NewManual(time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC))}
	e.clock = h.clock
	w := &changes{}
	require.NoError(t, e.Start(context.Background(), watchHost{w}))
	defer func() { require.NoError(t, e.Shutdown(context.Background())) }()
	t0 := h.clock.Now()
	for _, v := range []float64{95, 96, 97, 50} {
		h.point(t, "temp", v, nil)
		h.tick(10 * time.Second)
	}
	require.Len(t, w.got, 3)
	for i, want := range []struct {
		state string
		at    time.Duration
		value float64
	}{{statePending, 10 * time.Second, 95}, {stateFiring, 30 * time.Second, 97}, {stateResolved, 40 * time.Second, 50}} {
		c := w.got[i]
		assert.Equal(t, want.state, c.State)
		assert.Equal(t, t0.Add(want.at), c.At)
		assert.Equal(t, want.value, c.Value)
		assert.Equal(t, "Hot", c.Rule)
		assert.Equal(t, map[string]string{"alertname": "Hot", "severity": "warning", "host_name": "web-1"}, c.Labels)
	}
}

// TestQuietSeriesAreForgotten: a series whose interval is known is forgotten once stale; one seen only once is kept
// ten minutes, long enough for a second point a minute or five minutes later.
func TestQuietSeriesAreForgotten(t *testing.T) {
	h := newHarness(t, `
rules:
  - {name: Hot, kind: threshold, metric: temp, op: ">", value: 80}
`, map[string]string{"file": "file " + t.TempDir() + "/alerts.jsonl"})
	h.point(t, "temp", 20, map[string]string{"sensor": "fast"})
	h.tick(10 * time.Second)
	h.point(t, "temp", 20, map[string]string{"sensor": "fast"})
	h.point(t, "temp", 20, map[string]string{"sensor": "once"})
	h.tick(50 * time.Second)
	assert.Len(t, h.e.series, 1, "the 10-s series forgotten 50 s after its last point")
	h.tick(9 * time.Minute)
	assert.Len(t, h.e.series, 1, "the series seen once, kept")
	h.tick(time.Minute)
	assert.Empty(t, h.e.series)
}

// TestIncidentImpact: an incident record with a business figure that left its band gives its alert an impact
// annotation, which templates read as {{ .Impact }}.
func TestIncidentImpact(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
evaluation_interval: 10s
rules:
  - {name: Incident, kind: incident, annotations: {description: "Impact: {{ .Impact }}"}}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	ld := plog.NewLogs()
	r := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords().AppendEmpty()
	r.SetEventName(semconv.EventIncident)
	r.Attributes().PutStr(semconv.AttrIncidentID, "20261205T120000-1")
	r.Attributes().PutStr(semconv.AttrIncidentState, "open")
	r.Attributes().PutDouble(semconv.AttrIncidentImpact, 0.38)
	k := r.Attributes().PutEmptySlice(semconv.AttrIncidentKPIs).AppendEmpty().SetEmptyMap()
	require.NoError(t, k.FromRaw(map[string]any{"entity": "checkout", "metric": "shop.orders.rate", "share_lost": 0.38,
		"shortfall": 190.0, "shortfall_unit": "{order}"}))
	require.NoError(t, h.e.ConsumeLogs(context.Background(), ld))
	h.tick(10 * time.Second)
	require.NotEmpty(t, am.received())
	alerts := alertsOf(t, am.received()[len(am.received())-1])
	require.Len(t, alerts, 1)
	const line = "shop.orders.rate of checkout: 38 % of expected lost, 190 {order} short so far"
	assert.Equal(t, line, alerts[0].Annotations["impact"])
	assert.Equal(t, "Impact: "+line, alerts[0].Annotations["description"])
}
