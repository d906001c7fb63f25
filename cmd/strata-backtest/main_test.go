package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"os"
	"path/filepath"
	"regexp"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.uber.org/zap"
)

// day0 is the start of the generated histories.
var day0 = time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)

// fault is when the generated load of web-1 rises by 60 for 30 minutes.
var fault = day0.Add(24*time.Hour + 9*time.Hour + 20*time.Minute)

// loadHistory returns two days of a load series a minute for three hosts, daily seasonal with noise, and the fault
// on web-1.
func loadHistory() []string {
	r := rand.New(rand.NewPCG(1, 2))
	var rows []string
	for i := range 2 * 1440 {
		t := day0.Add(time.Duration(i) * time.Minute)
		for _, h := range []string{"web-1", "web-2", "db-1"} {
			v := 50 + 20*math.Sin(2*math.Pi*float64(i)/1440) + r.NormFloat64()*2
			if h == "web-1" && !t.Before(fault) && t.Before(fault.Add(30*time.Minute)) {
				v += 60
			}
			rows = append(rows, fmt.Sprintf("%d,system.cpu.load_average.1m,%s,eu,%.3f", t.Unix(), h, v))
		}
	}
	return rows
}

func writeCSV(t *testing.T, rows []string) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "history.csv")
	require.NoError(t, os.WriteFile(path, []byte("time,metric,host.name,region,value\n"+strings.Join(rows, "\n")+"\n"), 0o644))
	return path
}

func replay(t *testing.T, o options) *result {
	t.Helper()
	if o.out == "" {
		o.out = t.TempDir()
	}
	o.logger = zap.NewNop()
	res, err := run(context.Background(), o)
	require.NoError(t, err)
	return res
}

// alertsOf returns the alerts of a rule.
func alertsOf(res *result, rule string) []alertEpisode {
	var out []alertEpisode
	for _, a := range res.Alerts {
		if a.Rule == rule {
			out = append(out, a)
		}
	}
	return out
}

// TestThresholdAlertAtTheFault: the threshold rule's alert fires `for` after the fault's first point, at the next
// evaluation, and resolves at the evaluation after its last; the configuration's receivers are not called, its
// storage not opened, and what the replay passes over is said.
func TestThresholdAlertAtTheFault(t *testing.T) {
	res := replay(t, options{config: "testdata/load.yaml", csv: []string{writeCSV(t, loadHistory())}})
	high := alertsOf(res, "HighLoad")
	require.Len(t, high, 1)
	a := high[0]
	assert.Equal(t, map[string]string{"alertname": "HighLoad", "host_name": "web-1", "region": "eu", "severity": "warning"}, a.Labels)
	assert.Equal(t, fault.Add(2*time.Minute+10*time.Second), a.StartsAt, "pending from the evaluation after the first high point, for 2m")
	require.NotNil(t, a.EndsAt)
	assert.Equal(t, fault.Add(30*time.Minute+10*time.Second), *a.EndsAt, "resolved at the evaluation after the first normal point")
	assert.Equal(t, []string{"am"}, a.Receivers)

	anomalies := alertsOf(res, "LoadAnomaly")
	require.NotEmpty(t, anomalies)
	caught := false
	for _, a := range anomalies {
		if a.Labels["host_name"] == "web-1" && !a.StartsAt.Before(fault) && a.StartsAt.Before(fault.Add(3*time.Minute)) {
			caught = true
		}
	}
	assert.True(t, caught, "the anomaly rule fires on web-1 within three minutes of the fault")

	assert.Equal(t, inputCounts{Points: 3 * 2 * 1440, Series: 3}, res.Input)
	rules := map[string]ruleCount{}
	for _, rc := range summarize(res).Rules {
		rules[rc.Rule] = rc
	}
	assert.Equal(t, 3, rules["HighLoad"].Watched, "the series of its metric")
	assert.Equal(t, 1, rules["HighLoad"].Series)
	assert.InDelta(t, 1.0/3/(res.To.Sub(res.From).Hours()/24), rules["HighLoad"].PerSeriesDay, 1e-9)
	assert.Equal(t, day0, res.From)
	assert.Equal(t, day0.Add(2*24*time.Hour-time.Minute), res.To)
	assert.Contains(t, res.Notes, "processors passed over: batch (a backtest runs Strata's components and the processors that do not depend on time: transform, filter, attributes, resource)")
}

// TestInputIsCountedAsTheLiveComponentsSeeIt: duplicates (the last kept), out-of-order points (sorted), counter
// resets, gaps and values that are not numbers are counted.
func TestInputIsCountedAsTheLiveComponentsSeeIt(t *testing.T) {
	s := newSeriesStore()
	text := `time,metric,job,value
2026-11-02T00:00:00Z,requests_total,shop,10
2026-11-02T00:01:00Z,requests_total,shop,20
2026-11-02T00:03:00Z,requests_total,shop,30
2026-11-02T00:02:00Z,requests_total,shop,25
2026-11-02T00:04:00Z,requests_total,shop,5
2026-11-02T00:04:00Z,requests_total,shop,6
2026-11-02T00:05:00Z,requests_total,shop,NaN
2026-11-02T00:09:00Z,requests_total,shop,9
`
	require.NoError(t, parseCSV("h.csv", strings.NewReader(text), s))
	s.prepare()
	assert.Equal(t, inputCounts{Points: 6, Series: 1, Duplicates: 1, OutOfOrder: 1, Resets: 1, Gaps: 1, NaN: 1}, s.counts)
	var values []float64
	var starts []time.Time
	for {
		_, md, ok := s.nextBatch()
		if !ok {
			break
		}
		rm := md.ResourceMetrics().At(0)
		svc, _ := rm.Resource().Attributes().Get("service.name")
		assert.Equal(t, "shop", svc.Str(), "job is service.name, as the prometheus receiver sets it")
		m := rm.ScopeMetrics().At(0).Metrics().At(0)
		require.True(t, m.Sum().IsMonotonic(), "a _total series is a counter")
		dp := m.Sum().DataPoints().At(0)
		values = append(values, dp.DoubleValue())
		starts = append(starts, dp.StartTimestamp().AsTime())
	}
	assert.Equal(t, []float64{10, 20, 25, 30, 6, 9}, values, "sorted, the last duplicate kept")
	t0 := time.Date(2026, 11, 2, 0, 0, 0, 0, time.UTC)
	assert.Equal(t, t0, starts[3])
	assert.Equal(t, t0.Add(4*time.Minute), starts[4], "a reset starts the counter again")
}

func TestBadCSVIsNamed(t *testing.T) {
	for text, want := range map[string]string{
		"when,value\n1,2\n":                  "the header must name a time, a value and a metric",
		"time,metric,value\nyesterday,m,1\n": `h.csv:2: time: "yesterday" is neither RFC 3339 nor a Unix time`,
		"time,metric,value\n1,m,one\n":       `h.csv:2: value "one" is not a number`,
		"time,metric,value\n1,,1\n":          "h.csv:2: no metric name",
		"time,metric,value\n1,m,1\n2,m\n":    "wrong number of fields",
		"":                                   "h.csv: no header",
	} {
		err := parseCSV("h.csv", strings.NewReader(text), newSeriesStore())
		require.Error(t, err, text)
		assert.Contains(t, err.Error(), want)
	}
}

func FuzzParseCSV(f *testing.F) {
	f.Add([]byte("time,metric,job,value\n2026-11-02T00:00:00Z,requests_total,shop,10\n1764547200,m,x,NaN\n"))
	f.Add([]byte("time,__name__,host.name,value\n1764547200123,m,h,1e308\n"))
	f.Fuzz(func(t *testing.T, data []byte) {
		s := newSeriesStore()
		if err := parseCSV("fuzz.csv", bytes.NewReader(data), s); err != nil {
			return
		}
		s.prepare()
		for {
			if _, _, ok := s.nextBatch(); !ok {
				break
			}
		}
	})
}

// TestQuickstartConfiguration: the quickstart's own configuration, with its receivers, state and wall-time
// processors, replays a history of the shop's success ratio: its alert fires once, for eu, at the dip.
func TestQuickstartConfiguration(t *testing.T) {
	dip := day0.Add(3 * time.Hour)
	var rows []string
	for i := range 6 * 360 { // six hours, a point every 10 s
		at := day0.Add(time.Duration(i) * 10 * time.Second)
		for _, region := range []string{"eu", "us"} {
			v := 0.99
			if region == "eu" && !at.Before(dip) && at.Before(dip.Add(5*time.Minute)) {
				v = 0.80
			}
			rows = append(rows, fmt.Sprintf("%s,shop.orders.success_ratio,%s,%g", at.Format(time.RFC3339), region, v))
		}
	}
	path := filepath.Join(t.TempDir(), "ratio.csv")
	require.NoError(t, os.WriteFile(path, []byte("time,metric,region,value\n"+strings.Join(rows, "\n")+"\n"), 0o644))
	res := replay(t, options{config: "../../examples/quickstart/config.yaml", csv: []string{path}})
	require.Len(t, res.Alerts, 1)
	a := res.Alerts[0]
	assert.Equal(t, "OrderSuccessBelowTarget", a.Rule)
	assert.Equal(t, "eu", a.Labels["region"])
	assert.Equal(t, "Order success in eu is 0.800 (target 0.95)", a.Annotations["summary"])
	assert.Equal(t, dip.Add(10*time.Second), a.StartsAt)
	require.NotNil(t, a.EndsAt)
	assert.Equal(t, dip.Add(5*time.Minute+10*time.Second), *a.EndsAt)
	assert.Contains(t, res.Notes[0], "processors passed over: batch, memory_limiter, resourcedetection/system (")
	assert.Zero(t, res.Errors)
}

// TestREADMEExample runs the README's example and compares its console output and its alert with the README's.
func TestREADMEExample(t *testing.T) {
	readme, err := os.ReadFile("README.md")
	require.NoError(t, err)
	blocks := regexp.MustCompile("(?s)```(sh|json|)\n(.*?)```").FindAllStringSubmatch(string(readme), -1)
	var command, console, alert string
	for _, b := range blocks {
		switch {
		case b[1] == "sh" && strings.HasPrefix(b[2], "_build/strata-backtest"):
			command = strings.TrimSpace(b[2])
		case b[1] == "" && strings.HasPrefix(b[2], "history"):
			console = b[2]
		case b[1] == "json" && alert == "":
			alert = strings.TrimSpace(b[2])
		}
	}
	require.NotEmpty(t, command)
	args := strings.Fields(command)[1:]
	for i, a := range args {
		if strings.HasPrefix(a, "examples/") || strings.HasPrefix(a, "cmd/") {
			args[i] = "../../" + a
		}
	}
	out := filepath.Join(t.TempDir(), "backtest")
	args[len(args)-1] = out

	var got bytes.Buffer
	require.NoError(t, realMain(context.Background(), args, &got))
	elapsed := regexp.MustCompile(`replayed in [0-9.]+s`)
	want := strings.ReplaceAll(console, "written  backtest:", "written  "+out+":")
	assert.Equal(t, elapsed.ReplaceAllString(want, ""), elapsed.ReplaceAllString(got.String(), ""))
	alerts, err := os.ReadFile(filepath.Join(out, "alerts.jsonl"))
	require.NoError(t, err)
	assert.Equal(t, alert, strings.TrimSpace(string(alerts)))
}

func TestFlagMistakesAreNamed(t *testing.T) {
	for want, args := range map[string][]string{
		"--config is required":                                                       {"--csv", "x.csv"},
		"no history: give --csv, --otlp or --prometheus":                             {"--config", "testdata/load.yaml"},
		`--header "Authorization" is not 'Name: value'`:                              {"--config", "c.yaml", "--prometheus", "http://p:9090", "--query", "up", "--start", "0", "--end", "60", "--header", "Authorization"},
		"prometheus: start must be before end":                                       {"--config", "c.yaml", "--prometheus", "http://p:9090", "--query", "up", "--start", "60", "--end", "0"},
		"prometheus: no queries":                                                     {"--config", "c.yaml", "--prometheus", "http://p:9090", "--start", "0", "--end", "60"},
		`prometheus: endpoint "p:9090" is not an http(s) URL`:                        {"--config", "c.yaml", "--prometheus", "p:9090", "--query", "up", "--start", "0", "--end", "60"},
		"testdata/ratio.csv: retrieved value (type=string) cannot be used as a Conf": {"--config", "testdata/ratio.csv", "--csv", "testdata/ratio.csv"},
		"no such file or directory":                                                  {"--config", "testdata/load.yaml", "--csv", "missing.csv"},
	} {
		err := realMain(context.Background(), append(args, "--out", t.TempDir()), io.Discard)
		require.Error(t, err, "%v", args)
		assert.Contains(t, err.Error(), want)
	}
	typo := filepath.Join(t.TempDir(), "typo.yaml")
	require.NoError(t, os.WriteFile(typo, []byte(`receivers: {otlp: {protocols: {grpc: {}}}}
processors: {anomaly: {}}
exporters: {debug: {}}
service: {pipelines: {metrics: {receivers: [otlp], processors: [anomaly/typo], exporters: [debug, alert]}}}
`), 0o644))
	empty := filepath.Join(t.TempDir(), "empty.yaml")
	require.NoError(t, os.WriteFile(empty, []byte("receivers: {}\n"), 0o644))
	for want, args := range map[string][]string{
		"service::pipelines: none": {"--config", empty, "--csv", "testdata/ratio.csv"},
		`service::pipelines::metrics: references exporter "alert" which is not configured` + "\n" +
			`service::pipelines::metrics: references processor "anomaly/typo" which is not configured`: {"--config", typo, "--csv", "testdata/ratio.csv"},
		"no pipeline to feed: service::pipelines has none with a receiver among [metrics/nope]": {"--config", "testdata/load.yaml", "--csv", "testdata/ratio.csv", "--pipeline", "metrics/nope"},
	} {
		err := realMain(context.Background(), append(args, "--out", t.TempDir()), io.Discard)
		require.Error(t, err, "%v", args)
		assert.Contains(t, err.Error(), want)
	}
}

// TestIncidentAtTheFault: on two days of three host metrics for twenty hosts, a fault on every metric of host-7
// opens an incident whose root cause is host-7, within two minutes; its records are in incidents.jsonl and its
// alert in alerts.jsonl.
func TestIncidentAtTheFault(t *testing.T) {
	r := rand.New(rand.NewPCG(5, 6))
	var rows []string
	for i := range 2 * 1440 {
		at := day0.Add(time.Duration(i) * time.Minute)
		for h := range 20 {
			for m, name := range []string{"system.cpu.utilization", "system.memory.utilization", "system.network.io"} {
				v := 100 + 30*math.Sin(2*math.Pi*float64(i)/1440)*float64(m) + r.NormFloat64()*5
				if h == 7 && !at.Before(fault) && at.Before(fault.Add(30*time.Minute)) {
					v += 200
				}
				rows = append(rows, fmt.Sprintf("%d,%s,host-%d,svc-%d,%.2f", at.Unix(), name, h, h%5, v))
			}
		}
	}
	path := filepath.Join(t.TempDir(), "hosts.csv")
	require.NoError(t, os.WriteFile(path, []byte("time,metric,host.name,service.name,value\n"+strings.Join(rows, "\n")+"\n"), 0o644))
	out := t.TempDir()
	res := replay(t, options{config: "testdata/incidents.yaml", csv: []string{path}, out: out})

	var atFault *incidentSummary
	for _, inc := range summarize(res).Incidents {
		if !inc.Opened.Before(fault) && inc.Opened.Before(fault.Add(2*time.Minute)) && inc.RootCause == "host host-7" {
			atFault = &inc
		}
	}
	require.NotNil(t, atFault, "an incident on host-7 at the fault")
	assert.False(t, atFault.Resolved.IsZero(), "resolved after the fault")
	data, err := os.ReadFile(filepath.Join(out, "incidents.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(data), `"id":"`+atFault.ID+`","state":"open","root_cause":"host host-7"`)
	fired := false
	for _, a := range alertsOf(res, "Incident") {
		fired = fired || a.Labels["incident"] == atFault.ID
	}
	assert.True(t, fired, "the incident rule's alert")
}

// TestCompareTwoConfigurations: a longer `for` fires the same threshold alert later (the same alert, matched by
// overlap); a fixed anomaly score of 0.997 instead of the alarm adds alerts (the noise of a day) and loses none.
func TestCompareTwoConfigurations(t *testing.T) {
	out := t.TempDir()
	var console bytes.Buffer
	require.NoError(t, realMain(context.Background(), []string{"--config", "testdata/load.yaml", "--compare", "testdata/load-score.yaml",
		"--csv", writeCSV(t, loadHistory()), "--out", out}, &console))
	data, err := os.ReadFile(filepath.Join(out, "compare.json"))
	require.NoError(t, err)
	var c comparison
	require.NoError(t, json.Unmarshal(data, &c))
	rules := map[string]ruleChange{}
	for _, rc := range c.Rules {
		rules[rc.Rule] = rc
	}
	high := rules["HighLoad"]
	assert.Equal(t, 1, high.A)
	assert.Equal(t, 1, high.B)
	assert.Empty(t, high.Removed)
	assert.Empty(t, high.Added)
	anomaly := rules["LoadAnomaly"]
	assert.Greater(t, anomaly.B, anomaly.A)
	assert.Len(t, anomaly.Added, anomaly.B-anomaly.A)
	assert.Empty(t, anomaly.Removed)
	strict, err := os.ReadFile(filepath.Join(out, "compare", "alerts.jsonl"))
	require.NoError(t, err)
	assert.Contains(t, string(strict), `"startsAt":"`+fault.Add(10*time.Minute+10*time.Second).Format(time.RFC3339)+`"`, "the longer for")
	assert.Contains(t, console.String(), "COMPARED  testdata/load.yaml (a) with testdata/load-score.yaml (b)")
}

// TestStateWarmsTheModels: models written by a backtest of the first day (--state) give the second day an expected
// band from its first point; without them the second day starts with the warm-up, its band collapsed on the value.
func TestStateWarmsTheModels(t *testing.T) {
	rows := loadHistory()
	day1, day2 := writeCSV(t, rows[:len(rows)/2]), writeCSV(t, rows[len(rows)/2:])
	state := t.TempDir()
	replay(t, options{config: "testdata/load.yaml", csv: []string{day1}, state: state})
	files, err := os.ReadDir(state)
	require.NoError(t, err)
	require.NotEmpty(t, files, "the models saved")

	// bandAtStart returns the width of web-1's band at the second day's first point.
	bandAtStart := func(o options) float64 {
		o.out, o.scores = t.TempDir(), true
		replay(t, o)
		data, err := os.ReadFile(filepath.Join(o.out, "scores.jsonl"))
		require.NoError(t, err)
		band := map[string]float64{}
		for _, line := range strings.Split(strings.TrimSpace(string(data)), "\n") {
			var p scorePoint
			require.NoError(t, json.Unmarshal([]byte(line), &p))
			if p.Time.Equal(day0.Add(24*time.Hour)) && p.Resource["host.name"] == "web-1" {
				band[p.Metric] = p.Value
			}
		}
		require.Contains(t, band, "strata.anomaly.upper")
		return band["strata.anomaly.upper"] - band["strata.anomaly.lower"]
	}
	assert.Zero(t, bandAtStart(options{config: "testdata/load.yaml", csv: []string{day2}}), "cold: warming up")
	assert.Positive(t, bandAtStart(options{config: "testdata/load.yaml", csv: []string{day2}, state: state}), "warm: a band at once")
}

// TestContribProcessorsRun: filter and transform change what reaches the rules, as they would live.
func TestContribProcessorsRun(t *testing.T) {
	res := replay(t, options{config: "testdata/filtered.yaml", csv: []string{writeCSV(t, loadHistory())}})
	hosts := map[string]bool{}
	for _, a := range alertsOf(res, "Loaded") {
		hosts[a.Labels["host_name"]] = true
	}
	assert.Equal(t, map[string]bool{"web-1": true, "web-2": true}, hosts, "the renamed metric, without db-1")
	assert.Empty(t, res.Notes, "nothing passed over")
}

// TestEveryExampleReplays: each shipped collector configuration builds and replays (the demo's and the gateway's
// correlation connector joins metrics to logs only, though it is a receiver of a metrics pipeline too).
func TestEveryExampleReplays(t *testing.T) {
	configs, err := filepath.Glob("../../examples/*/collector.yaml")
	require.NoError(t, err)
	require.NotEmpty(t, configs)
	for _, config := range append(configs, "../../examples/quickstart/config.yaml") {
		res := replay(t, options{config: config, csv: []string{"testdata/ratio.csv"}})
		assert.Zero(t, res.Errors, "%s: %s", config, res.FirstError)
	}
}
