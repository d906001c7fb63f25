package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"testing"
	"time"
)

// StartAlertmanager starts Debian's prometheus-alertmanager on listen with its configuration and storage in dir
// (kept across a restart in the same test). With a webhook URL, it sends every alert there (Alertmanager's webhook
// JSON, group_wait 1 s); without, it keeps them. The test skips without the program unless STRATA_REQUIRE_INTEGRATION
// is set (RequireProgram).
func StartAlertmanager(t testing.TB, dir, listen, webhook string) *Process {
	t.Helper()
	program := RequireProgram(t, "prometheus-alertmanager")
	if err := os.MkdirAll(dir, 0o755); err != nil {
		t.Fatal(err)
	}
	receiver := map[string]any{"name": "null"}
	if webhook != "" {
		receiver = map[string]any{"name": "webhook", "webhook_configs": []any{map[string]any{"url": webhook, "send_resolved": true}}}
	}
	config := WriteYAML(t, filepath.Join(dir, "alertmanager.yml"), map[string]any{
		"route":     map[string]any{"receiver": receiver["name"], "group_wait": "1s", "group_interval": "5s", "group_by": []any{"..."}},
		"receivers": []any{receiver},
	})
	p := StartProcess(t, program, "--config.file="+config, "--storage.path="+dir,
		"--web.listen-address="+listen, "--cluster.listen-address=")
	p.WaitFor(t, "Alertmanager ready", 30*time.Second, func() error {
		_, err := HTTPGet(fmt.Sprintf("http://%s/-/ready", listen))
		return err
	})
	return p
}
