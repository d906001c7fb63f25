//go:build integration

package test

import (
	"encoding/json"
	"fmt"
	"net/url"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelstrata/strata/internal/e2e"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestIntegrationPrometheusScrapesQuickstart runs a real Prometheus that scrapes the quickstart's endpoint, and
// queries host CPU samples back through Prometheus's HTTP API.
func TestIntegrationPrometheusScrapesQuickstart(t *testing.T) {
	prometheus := e2e.RequireProgram(t, "prometheus")

	q := e2e.NewQuickstart(t, repoRoot, "", true)
	c := startCollector(t, q.Config)
	c.WaitFor(t, "health_check", 30*time.Second, func() error {
		_, err := e2e.HTTPGet(q.Health)
		return err
	})

	target := strings.TrimSuffix(strings.TrimPrefix(q.Metrics, "http://"), "/metrics")
	promConfig := writeYAML(t, "prometheus.yml", map[string]any{
		"global": map[string]any{"scrape_interval": "1s", "evaluation_interval": "1s"},
		"scrape_configs": []any{map[string]any{
			"job_name":       "strata",
			"static_configs": []any{map[string]any{"targets": []any{target}}},
		}},
	})
	web := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	p := e2e.StartProcess(t, prometheus,
		"--config.file="+promConfig,
		"--storage.tsdb.path="+filepath.Join(t.TempDir(), "tsdb"),
		"--web.listen-address="+web,
		"--log.level=warn")
	p.WaitFor(t, "Prometheus ready", 30*time.Second, func() error {
		_, err := e2e.HTTPGet("http://" + web + "/-/ready")
		return err
	})

	var cpu promVector
	p.WaitFor(t, "host CPU samples through the Prometheus API", 60*time.Second, func() error {
		var err error
		cpu, err = promQuery(web, `system_cpu_time_seconds_total{job="strata"}`)
		if err == nil && len(cpu) == 0 {
			err = fmt.Errorf("no samples yet")
		}
		return err
	})
	states := map[string]bool{}
	for _, s := range cpu {
		states[s.Metric["state"]] = true
		assert.NotEmpty(t, s.Metric["cpu"], "a CPU time series without its cpu label: %v", s.Metric)
		assert.NotEmpty(t, s.Metric["host_name"], "resource detection should label the host: %v", s.Metric)
	}
	assert.True(t, states["user"] && states["system"] && states["idle"], "CPU states seen: %v", states)

	// Prometheus's own `up` for the scrape (the quickstart also re-exports its self-scrape's `up`, as exported_job).
	up, err := promQuery(web, `up{job="strata",exported_job=""}`)
	require.NoError(t, err)
	require.Len(t, up, 1)
	assert.Equal(t, "1", up[0].Value[1])
}

// promVector is the result of an instant query: label sets with a [time, "value"] pair.
type promVector []struct {
	Metric map[string]string `json:"metric"`
	Value  [2]any            `json:"value"`
}

func promQuery(web, query string) (promVector, error) {
	body, err := e2e.HTTPGet("http://" + web + "/api/v1/query?query=" + url.QueryEscape(query))
	if err != nil {
		return nil, err
	}
	var resp struct {
		Status string `json:"status"`
		Data   struct {
			ResultType string     `json:"resultType"`
			Result     promVector `json:"result"`
		} `json:"data"`
	}
	if err := json.Unmarshal(body, &resp); err != nil {
		return nil, fmt.Errorf("decoding %q: %w", body, err)
	}
	if resp.Status != "success" || resp.Data.ResultType != "vector" {
		return nil, fmt.Errorf("query %s: %s", query, body)
	}
	return resp.Data.Result, nil
}
