package e2e

import (
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"
)

// Quickstart is the quickstart config with every port moved to a free one (so tests run beside `make run`).
type Quickstart struct {
	Config    string // path of the rewritten config
	Health    string // URL of health_check
	ZPages    string // base URL of zpages
	Metrics   string // URL of the Prometheus exporter
	OTLPGRPC  string // host:port of the OTLP gRPC receiver
	OTLPHTTP  string // host:port of the OTLP HTTP receiver
	Telemetry string // host:port of the collector's own metrics
	ShopDB    string // the SQLite shop database the kpi receiver reads (StartShop fills it)
	Alerts    string // the file the alert exporter writes its notifications to
}

// NewQuickstart rewrites root/examples/quickstart/config.yaml into the test's temporary directory. With a non-empty
// sinkURL, every pipeline but the host metrics one also exports there with an `otlp_http` exporter.
// With fast set, host metrics, probes and the self-scrape run every second.
func NewQuickstart(t testing.TB, root, sinkURL string, fast bool) Quickstart {
	t.Helper()
	data, err := os.ReadFile(filepath.Join(root, "examples", "quickstart", "config.yaml"))
	require.NoError(t, err)
	var cfg map[string]any
	require.NoError(t, yaml.Unmarshal(data, &cfg))

	addr := func() string { return fmt.Sprintf("127.0.0.1:%d", FreePort(t)) }
	q := Quickstart{OTLPGRPC: addr(), OTLPHTTP: addr(), Telemetry: addr()}
	health, zpages, prom := addr(), addr(), addr()
	q.Health, q.ZPages, q.Metrics = "http://"+health+"/", "http://"+zpages, "http://"+prom+"/metrics"

	// Every listening port moves, and so does every mention of it (the netprobe targets, the banner).
	moves := []struct{ path, addr string }{
		{"extensions.health_check.endpoint", health}, {"extensions.zpages.endpoint", zpages},
		{"receivers.otlp.protocols.grpc.endpoint", q.OTLPGRPC}, {"receivers.otlp.protocols.http.endpoint", q.OTLPHTTP},
		{"exporters.prometheus.endpoint", prom},
	}
	var ports []string
	for _, m := range moves {
		old, _ := get(t, cfg, m.path).(string)
		_, oldPort, _ := strings.Cut(old, ":")
		_, newPort, _ := strings.Cut(m.addr, ":")
		ports = append(ports, ":"+oldPort, ":"+newPort)
	}
	// Files the quickstart names relative to the repository's root (make run runs there) become absolute.
	absRoot, err := filepath.Abs(root)
	require.NoError(t, err)
	ports = append(ports, "[examples/", "["+absRoot+"/examples/")
	data = []byte(strings.NewReplacer(ports...).Replace(string(data)))
	cfg = nil
	require.NoError(t, yaml.Unmarshal(data, &cfg))
	for _, m := range moves {
		set(t, cfg, m.path, m.addr)
	}
	scrape := get(t, cfg, "receivers.prometheus/self.config.scrape_configs").([]any)[0].(map[string]any)
	set(t, cfg, "extensions.file_storage.directory", filepath.Join(t.TempDir(), "state"))
	q.Alerts = filepath.Join(t.TempDir(), "alerts.jsonl")
	set(t, cfg, "exporters.alert.receivers.file.path", q.Alerts)
	q.ShopDB = filepath.Join(t.TempDir(), "shop.db")
	shop := get(t, cfg, "receivers.kpi.sources").([]any)[0].(map[string]any)
	set(t, shop, "sql.dsn", "file:"+q.ShopDB)
	if fast {
		set(t, cfg, "exporters.alert.evaluation_interval", "1s")
		set(t, cfg, "receivers.kpi.interval", "1s")
		set(t, cfg, "receivers.kpi.timeout", "500ms")
		set(t, cfg, "receivers.hostmetrics.collection_interval", "1s")
		scrape["scrape_interval"] = "1s"
		set(t, cfg, "receivers.netprobe.interval", "1s")
		set(t, cfg, "receivers.netprobe.timeout", "500ms")
	}
	scrape["static_configs"] = []any{map[string]any{"targets": []any{q.Telemetry}}}
	host, portText, _ := strings.Cut(q.Telemetry, ":")
	port, err := strconv.Atoi(portText)
	require.NoError(t, err)
	reader := get(t, cfg, "service.telemetry.metrics.readers").([]any)[0].(map[string]any)
	set(t, reader, "pull.exporter.prometheus.host", host)
	set(t, reader, "pull.exporter.prometheus.port", port)

	if sinkURL != "" {
		set(t, cfg, "exporters.otlp_http/test", map[string]any{"endpoint": sinkURL})
		for name, p := range get(t, cfg, "service.pipelines").(map[string]any) {
			pipeline := p.(map[string]any)
			if name != "metrics/host" {
				pipeline["exporters"] = append(pipeline["exporters"].([]any), "otlp_http/test")
			}
		}
	}
	out, err := yaml.Marshal(cfg)
	require.NoError(t, err)
	// The leading comment block (what `make run` prints once the collector is up).
	var header strings.Builder
	for _, line := range strings.SplitAfter(string(data), "\n") {
		if !strings.HasPrefix(line, "#") {
			break
		}
		header.WriteString(line)
	}
	q.Config = filepath.Join(t.TempDir(), "quickstart.yaml")
	require.NoError(t, os.WriteFile(q.Config, []byte(header.String()+string(out)), 0o600))
	return q
}

// StartShop starts the quickstart's shop simulator (built next to the collector binary by `make build`) on the
// quickstart's shop database, as `make run` does, with extra flags (its outage's timing); it is stopped when the
// test ends.
func (q Quickstart) StartShop(t testing.TB, binary string, ordersPerSecond int, flags ...string) *Process {
	t.Helper()
	args := append([]string{"-db", q.ShopDB, "-rate", strconv.Itoa(ordersPerSecond)}, flags...)
	p := StartProcess(t, filepath.Join(filepath.Dir(binary), "shopsim"), args...)
	p.WaitFor(t, "the shop's database", 10*time.Second, func() error {
		_, err := os.Stat(q.ShopDB)
		return err
	})
	return p
}

// get and set walk a parsed YAML document by a dotted path (component IDs with "/" are single keys).
func get(t testing.TB, m map[string]any, path string) any {
	t.Helper()
	var cur any = m
	for _, k := range strings.Split(path, ".") {
		mm, ok := cur.(map[string]any)
		require.True(t, ok, "%s: %q is not a mapping", path, k)
		cur, ok = mm[k]
		require.True(t, ok, "%s: no key %q", path, k)
	}
	return cur
}

func set(t testing.TB, m map[string]any, path string, v any) {
	t.Helper()
	keys := strings.Split(path, ".")
	for _, k := range keys[:len(keys)-1] {
		next, ok := m[k].(map[string]any)
		if !ok {
			require.NotContains(t, m, k, "%s: %q is not a mapping", path, k)
			next = map[string]any{}
			m[k] = next
		}
		m = next
	}
	m[keys[len(keys)-1]] = v
}
