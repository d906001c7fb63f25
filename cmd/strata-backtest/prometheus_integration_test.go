//go:build integration

package main

import (
	"context"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/config/confighttp"

	"github.com/otelstrata/strata/internal/e2e"
)

// TestIntegrationPrometheusHistory fills a real Prometheus with a day of node_load1 for two hosts (blocks made by
// promtool from OpenMetrics text, as a user backfills), then replays it through query_range in small chunks: the
// fault on web-1 raises the threshold alert at its time, and the anomaly rule catches it too.
func TestIntegrationPrometheusHistory(t *testing.T) {
	prometheus := e2e.RequireProgram(t, "prometheus")
	promtool := e2e.RequireProgram(t, "promtool")
	start := time.Now().UTC().Truncate(time.Hour).Add(-26 * time.Hour) // within the default retention
	end := start.Add(24 * time.Hour)
	fault := start.Add(6*time.Hour + 7*time.Minute) // at the day's peak: 130 against 70

	var om strings.Builder
	om.WriteString("# HELP node_load1 1m load average.\n# TYPE node_load1 gauge\n")
	r := rand.New(rand.NewPCG(3, 4))
	for _, host := range []string{"web-1", "web-2"} {
		for at := start; !at.After(end); at = at.Add(time.Minute) {
			v := 50 + 20*math.Sin(2*math.Pi*at.Sub(start).Hours()/24) + r.NormFloat64()*2
			if host == "web-1" && !at.Before(fault) && at.Before(fault.Add(30*time.Minute)) {
				v += 60
			}
			fmt.Fprintf(&om, "node_load1{instance=\"%s:9100\",job=\"node\"} %.3f %d\n", host, v, at.Unix())
		}
	}
	om.WriteString("# EOF\n")
	dir := t.TempDir()
	input := filepath.Join(dir, "history.om")
	require.NoError(t, os.WriteFile(input, []byte(om.String()), 0o644))
	tsdb := filepath.Join(dir, "tsdb")
	out, err := exec.Command(promtool, "tsdb", "create-blocks-from", "openmetrics", input, tsdb).CombinedOutput()
	require.NoError(t, err, "%s", out)

	promConfig := filepath.Join(dir, "prometheus.yml")
	require.NoError(t, os.WriteFile(promConfig, []byte("global: {scrape_interval: 1m}\n"), 0o644))
	web := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	p := e2e.StartProcess(t, prometheus, "--config.file="+promConfig, "--storage.tsdb.path="+tsdb,
		"--storage.tsdb.retention.time=30d", "--web.listen-address="+web, "--log.level=warn")
	p.WaitFor(t, "Prometheus ready", 30*time.Second, func() error {
		_, err := e2e.HTTPGet("http://" + web + "/-/ready")
		return err
	})

	src := &promSource{ClientConfig: confighttp.NewDefaultClientConfig(), Queries: []string{"node_load1"},
		Start: start, End: end, Step: time.Minute, maxSteps: 500}
	src.Endpoint = "http://" + web
	require.NoError(t, src.validate())
	res := replay(t, options{config: "testdata/node.yaml", prometheus: src})

	assert.Equal(t, inputCounts{Points: 2 * (24*60 + 1), Series: 2}, res.Input, "every sample, once, across %d-step chunks", src.maxSteps)
	high := alertsOf(res, "HighLoad")
	require.Len(t, high, 1, "alerts: %v, notes: %v, refused: %d %s", res.Alerts, res.Notes, res.Errors, res.FirstError)
	assert.Equal(t, map[string]string{"alertname": "HighLoad", "service_name": "node", "service_instance_id": "web-1:9100",
		"severity": "warning"}, high[0].Labels)
	assert.Equal(t, fault.Add(2*time.Minute+10*time.Second), high[0].StartsAt)
	require.NotNil(t, high[0].EndsAt)
	assert.Equal(t, fault.Add(30*time.Minute+10*time.Second), *high[0].EndsAt)
	caught := false
	for _, a := range alertsOf(res, "LoadAnomaly") {
		if a.Labels["service_instance_id"] == "web-1:9100" && !a.StartsAt.Before(fault) && a.StartsAt.Before(fault.Add(3*time.Minute)) {
			caught = true
		}
	}
	assert.True(t, caught, "the anomaly rule fires on web-1 within three minutes of the fault")

	// A query Prometheus refuses is an error naming the query.
	bad := *src
	bad.Queries = []string{"rate(node_load1"}
	err = bad.read(context.Background(), componenttest.NewNopTelemetrySettings(), newSeriesStore())
	require.ErrorContains(t, err, `prometheus: query "rate(node_load1" from `)
	assert.ErrorContains(t, err, "bad_data")
}
