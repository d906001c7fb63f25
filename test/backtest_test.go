package test

import (
	"bufio"
	"bytes"
	byteorder "encoding/binary"
	"encoding/json"
	"fmt"
	"math"
	"math/rand/v2"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelstrata/strata/internal/e2e"
	"github.com/otelstrata/strata/internal/semconv"
)

// TestBacktestEqualsLive runs the built collector live on a stream of host metrics and of requests (frontend calls
// checkout, on web-1) with a fault (web-1's metrics high, checkout failing), records what it
// received (the contrib file exporter's OTLP/JSON lines), replays the recording with strata-backtest through the
// same configuration, and finds the same alerts and incidents: each fired, resolved or opened within three seconds
// of the live one (an evaluation interval, a connector interval and the points' arrival: the live ticks run at
// their own phase), incidents with the same root cause.
func TestBacktestEqualsLive(t *testing.T) {
	backtest := filepath.Join(filepath.Dir(binary), "strata-backtest")
	_, err := os.Stat(backtest)
	require.NoError(t, err, "make build builds strata-backtest beside the collector")
	const (
		warm, faultFor, after = 45, 20, 20 // seconds of points: before the fault, of it, after it
		every                 = time.Second
	)
	dir := t.TempDir()
	record := e2e.NewOTLPSink(t)
	port := e2e.FreePort(t)
	liveAlerts := filepath.Join(dir, "live-alerts.jsonl")
	config := writeYAML(t, "live.yaml", map[string]any{
		"receivers": map[string]any{"otlp": map[string]any{"protocols": map[string]any{
			"http": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", port)}}}},
		"processors": map[string]any{"anomaly": map[string]any{
			"include": []any{"system.cpu.utilization", "system.memory.utilization", "system.cpu.load_average.1m"}, "warm_up": 20}},
		// a minute's run has no two days of models to arm the alarm: the incidents open on scores
		"connectors": map[string]any{"correlation": map[string]any{"incidents": map[string]any{"anomaly_signal": "score",
			"interval": "1s", "warm_up": 5, "confirm_within": "10s", "window": "10s", "resolve_after": "10s"}}},
		"exporters": map[string]any{
			"alert": map[string]any{
				"evaluation_interval": "1s", "group_wait": "0s", "group_interval": "1s",
				"receivers": map[string]any{"file": map[string]any{"kind": "file", "path": liveAlerts}},
				"rules": []any{
					map[string]any{"name": "HighLoad", "kind": "threshold", "metric": "system.cpu.load_average.1m", "op": ">", "value": 100, "for": "3s"},
					map[string]any{"name": "Incident", "kind": "incident"},
				},
			},
			"otlphttp/record": map[string]any{"endpoint": record.URL, "compression": "none", "sending_queue": map[string]any{"enabled": false}},
		},
		"service": map[string]any{
			"telemetry": map[string]any{"metrics": map[string]any{"level": "none"}},
			"pipelines": map[string]any{
				"metrics":        map[string]any{"receivers": []any{"otlp"}, "processors": []any{"anomaly"}, "exporters": []any{"alert", "correlation"}},
				"metrics/record": map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"otlphttp/record"}},
				"traces":         map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"correlation"}},
				"traces/record":  map[string]any{"receivers": []any{"otlp"}, "exporters": []any{"otlphttp/record"}},
				"logs":           map[string]any{"receivers": []any{"correlation"}, "exporters": []any{"alert", "otlphttp/record"}},
			},
		},
	})
	c := startCollector(t, config)
	post := func(path string, body []byte, err error) error {
		if err != nil {
			return err
		}
		resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d%s", port, path), "application/x-protobuf", bytes.NewReader(body))
		if err != nil {
			return err
		}
		resp.Body.Close()
		if resp.StatusCode != http.StatusOK {
			return fmt.Errorf("HTTP %d", resp.StatusCode)
		}
		return nil
	}
	send := func(md pmetric.Metrics) error {
		body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		return post("/v1/metrics", body, err)
	}
	c.WaitFor(t, "the OTLP receiver", 30*time.Second, func() error { return send(pmetric.NewMetrics()) })

	r := rand.New(rand.NewPCG(7, 8))
	next := time.Now().Truncate(every).Add(every)
	for i := range warm + faultFor + after {
		time.Sleep(time.Until(next))
		md := pmetric.NewMetrics()
		for h := range 3 {
			rm := md.ResourceMetrics().AppendEmpty()
			rm.Resource().Attributes().PutStr("host.name", fmt.Sprintf("web-%d", h+1))
			ms := rm.ScopeMetrics().AppendEmpty().Metrics()
			for m, name := range []string{"system.cpu.utilization", "system.memory.utilization", "system.cpu.load_average.1m"} {
				v := 50 + 10*math.Sin(float64(i)/10+float64(m)) + r.NormFloat64()
				if h == 0 && i >= warm && i < warm+faultFor {
					v += 80
				}
				dp := ms.AppendEmpty()
				dp.SetName(name)
				p := dp.SetEmptyGauge().DataPoints().AppendEmpty()
				p.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
				p.SetDoubleValue(v)
			}
		}
		require.NoError(t, send(md))
		body, err := ptraceotlp.NewExportRequestFromTraces(request(uint64(i), time.Now(), i >= warm && i < warm+faultFor)).MarshalProto()
		require.NoError(t, post("/v1/traces", body, err))
		next = next.Add(every)
	}
	time.Sleep(3 * time.Second) // the last evaluations
	require.NoError(t, c.Stop(30*time.Second))

	// The recording, as the file exporter writes it: a request a line.
	var lines []string
	for _, md := range record.Metrics() {
		data, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		require.NoError(t, err)
		lines = append(lines, string(data))
	}
	for _, td := range record.Traces() {
		data, err := (&ptrace.JSONMarshaler{}).MarshalTraces(td)
		require.NoError(t, err)
		lines = append(lines, string(data))
	}
	recording := filepath.Join(dir, "record.json")
	require.NoError(t, os.WriteFile(recording, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	out := filepath.Join(dir, "backtest")
	cmd := exec.Command(backtest, "--config", config, "--otlp", recording, "--pipeline", "metrics", "--pipeline", "traces", "--out", out, "--tail", "3s")
	console, err := cmd.CombinedOutput()
	require.NoError(t, err, "%s", console)

	live := notifiedAlerts(t, liveAlerts)
	replayed := notifiedAlerts(t, filepath.Join(out, "notifications", "alert.file.jsonl"))
	t.Logf("alerts live %v, replayed %v", live, replayed)
	require.NotEmpty(t, live["HighLoad"], "the live collector fired on the fault")
	for _, rule := range []string{"HighLoad", "Incident"} {
		require.Len(t, replayed[rule], len(live[rule]), "%s: live %v, backtest %v", rule, live[rule], replayed[rule])
		for i, l := range live[rule] {
			b := replayed[rule][i]
			if rule == "HighLoad" {
				assert.Equal(t, l.labels, b.labels)
			}
			assert.WithinDuration(t, l.starts, b.starts, 3*every, "%s fired", rule)
			assert.Equal(t, l.ends.IsZero(), b.ends.IsZero(), "%s resolved", rule)
			if !l.ends.IsZero() {
				assert.WithinDuration(t, l.ends, b.ends, 3*every, "%s resolved", rule)
			}
		}
	}

	liveIncidents := opened(t, record)
	replayedIncidents := openedIn(t, filepath.Join(out, "incidents.jsonl"))
	t.Logf("incidents opened live %v, replayed %v", liveIncidents, replayedIncidents)
	require.NotEmpty(t, liveIncidents, "the live connector opened an incident on the fault")
	require.Len(t, replayedIncidents, len(liveIncidents))
	for i, l := range liveIncidents {
		assert.Equal(t, l.rootCause, replayedIncidents[i].rootCause)
		assert.WithinDuration(t, l.at, replayedIncidents[i].at, 3*every)
	}
}

// request returns the spans of one request from frontend to checkout, which runs on web-1; failed ones fail at
// checkout.
func request(n uint64, end time.Time, failed bool) ptrace.Traces {
	td := ptrace.NewTraces()
	var tid pcommon.TraceID
	byteorder.BigEndian.PutUint64(tid[8:], n+1)
	span := func(service string, kind ptrace.SpanKind, id, parent uint64, d time.Duration) {
		rs := td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", service)
		if service == "checkout" {
			rs.Resource().Attributes().PutStr("host.name", "web-1")
		}
		s := rs.ScopeSpans().AppendEmpty().Spans().AppendEmpty()
		s.SetTraceID(tid)
		var sid, pid pcommon.SpanID
		byteorder.BigEndian.PutUint64(sid[:], id)
		s.SetSpanID(sid)
		if parent != 0 {
			byteorder.BigEndian.PutUint64(pid[:], parent)
			s.SetParentSpanID(pid)
		}
		s.SetName(service)
		s.SetKind(kind)
		s.SetStartTimestamp(pcommon.NewTimestampFromTime(end.Add(-d)))
		s.SetEndTimestamp(pcommon.NewTimestampFromTime(end))
		if failed && service == "checkout" {
			s.Status().SetCode(ptrace.StatusCodeError)
		}
	}
	base := n * 10
	span("frontend", ptrace.SpanKindServer, base+1, 0, 40*time.Millisecond)
	span("frontend", ptrace.SpanKindClient, base+2, base+1, 30*time.Millisecond)
	span("checkout", ptrace.SpanKindServer, base+3, base+2, 25*time.Millisecond)
	return td
}

// firedAlert is an alert read back from notifications: its labels, when it fired and when it resolved.
type firedAlert struct {
	labels       string
	starts, ends time.Time
}

// notifiedAlerts reads a file receiver's notifications into the alerts of each rule, in order of firing.
func notifiedAlerts(t *testing.T, path string) map[string][]firedAlert {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	byKey := map[string]*firedAlert{}
	rules := map[string][]string{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var n struct {
			Alerts []struct {
				Status   string            `json:"status"`
				Labels   map[string]string `json:"labels"`
				StartsAt time.Time         `json:"startsAt"`
				EndsAt   *time.Time        `json:"endsAt"`
			} `json:"alerts"`
		}
		require.NoError(t, json.Unmarshal(sc.Bytes(), &n))
		for _, a := range n.Alerts {
			labels := fmt.Sprint(a.Labels)
			if a.Labels["alertname"] == "Incident" {
				labels = "" // an incident's id holds its opening time, which differs
			}
			key := a.Labels["alertname"] + labels + a.StartsAt.String()
			fa, ok := byKey[key]
			if !ok {
				fa = &firedAlert{labels: labels, starts: a.StartsAt}
				byKey[key] = fa
				rules[a.Labels["alertname"]] = append(rules[a.Labels["alertname"]], key)
			}
			if a.Status == "resolved" && a.EndsAt != nil {
				fa.ends = *a.EndsAt
			}
		}
	}
	require.NoError(t, sc.Err())
	out := map[string][]firedAlert{}
	for rule, keys := range rules {
		for _, k := range keys {
			out[rule] = append(out[rule], *byKey[k])
		}
		slices.SortFunc(out[rule], func(a, b firedAlert) int { return a.starts.Compare(b.starts) })
	}
	return out
}

// openedIncident is an incident's opening: when, and the root cause it named.
type openedIncident struct {
	at        time.Time
	rootCause string
}

// opened returns the incidents the live connector opened, from its records in the sink.
func opened(t *testing.T, sink *e2e.OTLPSink) []openedIncident {
	t.Helper()
	var out []openedIncident
	for _, ld := range sink.Logs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					state, _ := lr.Attributes().Get(semconv.AttrIncidentState)
					cause, _ := lr.Attributes().Get(semconv.AttrIncidentRootCause)
					if semconv.EventName(lr) == semconv.EventIncident && state.Str() == semconv.IncidentOpen {
						out = append(out, openedIncident{lr.Timestamp().AsTime(), cause.Str()})
					}
				}
			}
		}
	}
	slices.SortFunc(out, func(a, b openedIncident) int { return a.at.Compare(b.at) })
	return out
}

// openedIn returns the incidents a backtest opened, from its incidents.jsonl.
func openedIn(t *testing.T, path string) []openedIncident {
	t.Helper()
	data, err := os.ReadFile(path)
	require.NoError(t, err)
	var out []openedIncident
	for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
		if line == "" {
			continue
		}
		var r struct {
			Time      time.Time `json:"time"`
			State     string    `json:"state"`
			RootCause string    `json:"root_cause"`
		}
		require.NoError(t, json.Unmarshal([]byte(line), &r))
		if r.State == semconv.IncidentOpen {
			out = append(out, openedIncident{r.Time, r.RootCause})
		}
	}
	return out
}
