package alertexporter

import (
	"bytes"
	"encoding/json"
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/prometheus/common/model"
	"github.com/stretchr/testify/require"
)

var update = flag.Bool("update", false, "rewrite the golden files from what the code emits now")

// TestGoldenPayloads renders the same two alerts (one firing, one resolved) for every receiver kind and compares the
// payloads with testdata/payloads/<kind>.json (go test -update rewrites them).
func TestGoldenPayloads(t *testing.T) {
	start := time.Date(2026, 11, 27, 12, 0, 0, 0, time.UTC)
	end := start.Add(5 * time.Minute)
	firing := &alert{labels: model.LabelSet{"alertname": "HighLatency", "severity": "critical", "service_name": "api", "host_name": "web-1"},
		annotations: map[string]string{"summary": "latency of api is 2.5 s"}, state: stateFiring, startsAt: start}
	resolved := &alert{labels: model.LabelSet{"alertname": "DiskFull", "severity": "warning", "mountpoint": "/var", "host_name": "db-1"},
		state: stateResolved, startsAt: start, endsAt: end}
	for _, a := range []*alert{firing, resolved} {
		a.fingerprint = a.labels.Fingerprint()
	}
	cfg := createDefaultConfig().(*Config)
	cfg.ExternalURL = "http://collector.example"
	for _, kind := range []string{receiverAlertmanager, receiverWebhook, receiverSlack, receiverPagerDuty} {
		alerts := []amAlert{amAlertOf(firing, cfg.ExternalURL), amAlertOf(resolved, cfg.ExternalURL)}
		var body any
		switch kind {
		case receiverAlertmanager:
			for i := range alerts {
				alerts[i].Status, alerts[i].Fingerprint = "", ""
			}
			body = alerts
		case receiverWebhook:
			body = webhookPayloadOf("r", cfg.ExternalURL, alerts)
		case receiverSlack:
			body = slackMessageOf(alerts)
		case receiverPagerDuty:
			body = []pagerDutyEvent{pagerDutyEventOf("key-123", alerts[0]), pagerDutyEventOf("key-123", alerts[1])}
		}
		got, err := json.MarshalIndent(body, "", "  ")
		require.NoError(t, err)
		path := filepath.Join("testdata", "payloads", kind+".json")
		if *update {
			require.NoError(t, os.MkdirAll(filepath.Dir(path), 0o755))
			require.NoError(t, os.WriteFile(path, append(got, '\n'), 0o644))
		}
		want, err := os.ReadFile(path)
		require.NoError(t, err)
		require.Equal(t, string(bytes.TrimSpace(want)), string(got), kind)
	}
}
