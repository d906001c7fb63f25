//go:build integration

package alertexporter

import (
	"context"
	"encoding/json"
	"fmt"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/exporter/exportertest"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/exporter/alertexporter/internal/metadata"
	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/internal/e2e"
)

// amAlerts are the alerts Alertmanager holds, by alertname.
func amAlerts(listen string) (map[string]map[string]any, error) {
	body, err := e2e.HTTPGet("http://" + listen + "/api/v2/alerts")
	if err != nil {
		return nil, err
	}
	var alerts []map[string]any
	if err := json.Unmarshal(body, &alerts); err != nil {
		return nil, err
	}
	out := map[string]map[string]any{}
	for _, a := range alerts {
		labels := a["labels"].(map[string]any)
		out[labels["alertname"].(string)] = a
	}
	return out, nil
}

// TestAlertmanagerIntegration sends an alert to a real Alertmanager and resolves it; then stops Alertmanager for a
// minute while another alert fires, restarts it, and the alert arrives: the exporter's queue and retry kept it.
func TestAlertmanagerIntegration(t *testing.T) {
	storage := t.TempDir()
	listen := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	am := e2e.StartAlertmanager(t, storage, listen, "")

	cfg := createDefaultConfig().(*Config)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(fmt.Sprintf(`
external_url: http://collector.example
receivers:
  am: {kind: alertmanager, endpoint: "http://%s"}
retry_on_failure: {initial_interval: 1s, max_interval: 5s, max_elapsed_time: 5m}
rules:
  - {name: DiskFull, kind: threshold, metric: system.filesystem.utilization, op: ">", value: 0.95, severity: critical,
     annotations: {summary: "{{ .Labels.mountpoint }} is full"}}
  - {name: Down, kind: threshold, metric: up, op: "==", value: 0}
`, listen)), &raw))
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	e, err := newAlertExporter(cfg, exportertest.NewNopSettings(metadata.Type))
	require.NoError(t, err)
	h := &harness{e: e, clock: clock.NewManual(time.Now())}
	e.clock = h.clock
	require.NoError(t, e.Start(context.Background(), componenttest.NewNopHost()))
	defer func() { require.NoError(t, e.Shutdown(context.Background())) }()

	h.point(t, "system.filesystem.utilization", 0.99, map[string]string{"mountpoint": "/var"})
	h.tick(10 * time.Second)
	want := model.LabelSet{"alertname": "DiskFull", "severity": "critical", "mountpoint": "/var", "host_name": "web-1"}
	am.WaitFor(t, "the alert in Alertmanager", 30*time.Second, func() error {
		alerts, err := amAlerts(listen)
		if err != nil {
			return err
		}
		a, ok := alerts["DiskFull"]
		if !ok {
			return fmt.Errorf("not yet: %v", alerts)
		}
		labels := map[string]string{}
		for k, v := range a["labels"].(map[string]any) {
			labels[k] = v.(string)
		}
		assert.Equal(t, map[string]string{"alertname": "DiskFull", "severity": "critical", "mountpoint": "/var", "host_name": "web-1"}, labels)
		assert.Equal(t, want.Fingerprint().String(), a["fingerprint"], "Alertmanager computes the same fingerprint")
		assert.Equal(t, "/var is full", a["annotations"].(map[string]any)["summary"])
		assert.Equal(t, "http://collector.example/?alert=DiskFull", a["generatorURL"])
		return nil
	})

	h.point(t, "system.filesystem.utilization", 0.5, map[string]string{"mountpoint": "/var"})
	h.tick(10 * time.Second)
	am.WaitFor(t, "the alert resolved in Alertmanager", 30*time.Second, func() error {
		alerts, err := amAlerts(listen)
		if err != nil {
			return err
		}
		if a, ok := alerts["DiskFull"]; ok {
			ends, _ := time.Parse(time.RFC3339Nano, a["endsAt"].(string))
			if ends.After(time.Now()) {
				return fmt.Errorf("still active, ends %s", ends)
			}
		}
		return nil
	})

	// Alertmanager goes away for a minute; an alert fires meanwhile; it arrives once Alertmanager is back.
	require.NoError(t, am.Stop(30*time.Second))
	h.point(t, "up", 0, map[string]string{"instance": "api-1:8080"})
	h.tick(10 * time.Second)
	time.Sleep(60 * time.Second)
	am = e2e.StartAlertmanager(t, storage, listen, "")
	am.WaitFor(t, "the alert sent while Alertmanager was down", 60*time.Second, func() error {
		alerts, err := amAlerts(listen)
		if err != nil {
			return err
		}
		if _, ok := alerts["Down"]; !ok {
			return fmt.Errorf("not yet: %v", alerts)
		}
		return nil
	})
}
