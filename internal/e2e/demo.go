package e2e

import (
	"bytes"
	"database/sql"
	"encoding/json"
	"fmt"
	"net"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"path/filepath"
	"sync"
	"testing"
	"time"

	_ "modernc.org/sqlite" // the shop's database
)

// Demo is examples/demo running as `make demo` runs it — the shop's six services with their load, and the
// collector on examples/demo/collector.yaml — on ports of its own, with the collector's anomaly scores, incidents and
// sampled traces also sent to Sink, every span (before sampling) to AllSpans, and its alerts to a webhook, Alerts:
// through a real Alertmanager where prometheus-alertmanager is installed, directly otherwise.
type Demo struct {
	Collector    *Process
	Shop         *Process
	Sink         *OTLPSink
	AllSpans     *OTLPSink
	Alerts       *AlertSink
	Alertmanager string // URL of the Alertmanager between the collector and Alerts; empty: none
	Launcher     string // host:port of the shop's /faults
	Metrics      string // URL of the collector's Prometheus endpoint
	Dir          string // the shop's database and auth log, the collector's state
}

// DemoServices are the shop's services, in the order of their ports and addresses (127.0.0.11, ...).
var DemoServices = []string{"frontend", "catalog", "checkout", "payment", "inventory", "store"}

// StartDemo starts the shop, waits until its services answer, then starts the collector. With fast set, the
// models warm up sooner (30 points of the anomaly processor, 30 intervals of 5 s of the correlation connector) and
// the services export their metrics every 5 s: for tests, in about 2.5 minutes instead of 10.
func StartDemo(t testing.TB, binary, shop, root string, fast bool) *Demo {
	t.Helper()
	root, err := filepath.Abs(root)
	if err != nil {
		t.Fatal(err)
	}
	d := &Demo{Sink: NewOTLPSink(t), AllSpans: NewOTLPSink(t), Alerts: NewAlertSink(t), Dir: t.TempDir()}
	base := freeRange(t, len(DemoServices)+2)
	d.Launcher = fmt.Sprintf("127.0.0.1:%d", base)
	otlp := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
	interval := "10s"
	if fast {
		interval = "5s"
	}
	d.Shop = StartProcess(t, shop, "run", "-base-port", fmt.Sprint(base), "-otlp", otlp, "-metrics-interval", interval,
		"-db", filepath.Join(d.Dir, "shop.db"), "-auth-log", filepath.Join(d.Dir, "auth.jsonl"))
	d.Shop.WaitFor(t, "the shop", 60*time.Second, func() error { _, err := HTTPGet("http://" + d.Launcher + "/"); return err })

	var targets []any
	for i, s := range DemoServices {
		targets = append(targets, map[string]any{"name": s, "type": "http",
			"endpoint": fmt.Sprintf("http://127.0.0.%d:%d/healthz", 11+i, base+1+i)})
	}
	alertReceiver := map[string]any{"kind": "webhook", "endpoint": d.Alerts.URL}
	if _, err := exec.LookPath("prometheus-alertmanager"); err == nil {
		listen := fmt.Sprintf("127.0.0.1:%d", FreePort(t))
		StartAlertmanager(t, filepath.Join(d.Dir, "alertmanager"), listen, d.Alerts.URL)
		d.Alertmanager = "http://" + listen
		alertReceiver = map[string]any{"kind": "alertmanager", "endpoint": d.Alertmanager}
	}
	health, prom, telemetry := FreePort(t), FreePort(t), FreePort(t)
	d.Metrics = fmt.Sprintf("http://127.0.0.1:%d/metrics", prom)
	override := map[string]any{
		"extensions": map[string]any{
			"health_check": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", health)},
			"zpages":       map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", FreePort(t))},
		},
		"receivers": map[string]any{
			"otlp": map[string]any{"protocols": map[string]any{
				"grpc": map[string]any{"endpoint": otlp},
				"http": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", FreePort(t))},
			}},
			"netprobe": map[string]any{"targets": targets},
			"prometheus/self": map[string]any{"config": map[string]any{"scrape_configs": []any{map[string]any{
				"job_name": "otelcol-strata", "scrape_interval": "10s",
				"static_configs": []any{map[string]any{"targets": []any{fmt.Sprintf("127.0.0.1:%d", telemetry)}}},
			}}}},
		},
		"exporters": map[string]any{
			"prometheus":         map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", prom)},
			"otlp_http/scenario": map[string]any{"endpoint": d.Sink.URL},
			"otlp_http/all":      map[string]any{"endpoint": d.AllSpans.URL},
			"alert": map[string]any{
				"receivers": map[string]any{"scenario": alertReceiver},
				"receiver":  "scenario",
			},
		},
		"service": map[string]any{
			"telemetry": map[string]any{"metrics": map[string]any{"readers": []any{map[string]any{"pull": map[string]any{
				"exporter": map[string]any{"prometheus": map[string]any{"host": "127.0.0.1", "port": telemetry}}}}}}},
			"pipelines": map[string]any{
				"metrics":        map[string]any{"exporters": []any{"prometheus", "alert", "correlation", "otlp_http/scenario"}},
				"logs/incidents": map[string]any{"exporters": []any{"alert", "debug", "otlp_http/scenario"}},
				"traces":         map[string]any{"exporters": []any{"debug", "otlp_http/scenario"}},
				"traces/all":     map[string]any{"exporters": []any{"correlation", "otlp_http/all"}},
			},
		},
	}
	if fast {
		override["processors"] = map[string]any{"anomaly": map[string]any{"warm_up": 30}}
		override["connectors"] = map[string]any{"correlation": map[string]any{"incidents": map[string]any{"interval": "5s", "warm_up": 30}}}
	}
	config := WriteYAML(t, filepath.Join(d.Dir, "override.yaml"), override)
	cmd := exec.Command(binary, "--config="+filepath.Join(root, "examples", "demo", "collector.yaml"), "--config="+config)
	cmd.Dir = root
	cmd.Env = append(os.Environ(), "STRATA_DEMO_DIR="+d.Dir, "STRATA_STATE_DIR="+filepath.Join(d.Dir, "state"))
	d.Collector = StartCmd(t, cmd)
	d.Collector.WaitFor(t, "health_check", 30*time.Second, func() error {
		_, err := HTTPGet(fmt.Sprintf("http://127.0.0.1:%d/", health))
		return err
	})
	return d
}

// Orders counts the orders in the shop's database with the given status ("ok", "failed") created in [from, to).
func (d *Demo) Orders(status string, from, to time.Time) (int, error) {
	db, err := sql.Open("sqlite", "file:"+filepath.Join(d.Dir, "shop.db")+"?mode=ro&_pragma=busy_timeout(5000)")
	if err != nil {
		return 0, err
	}
	defer db.Close()
	const layout = "2006-01-02T15:04:05.000Z" // as the shop writes created_at
	var n int
	err = db.QueryRow(`SELECT count(*) FROM orders WHERE status = ? AND created_at >= ? AND created_at < ?`,
		status, from.UTC().Format(layout), to.UTC().Format(layout)).Scan(&n)
	return n, err
}

// Fault injects a fault through the shop's /faults (see examples/demo/shop).
func (d *Demo) Fault(service, kind string, value float64, target string, lasts time.Duration) error {
	body, err := json.Marshal(map[string]any{"service": service, "kind": kind, "value": value, "target": target, "for": lasts.String()})
	if err != nil {
		return err
	}
	resp, err := http.Post("http://"+d.Launcher+"/faults", "application/json", bytes.NewReader(body))
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode != http.StatusOK {
		return fmt.Errorf("fault %s/%s: %s", service, kind, resp.Status)
	}
	return nil
}

// freeRange finds n consecutive free loopback ports.
func freeRange(t testing.TB, n int) int {
	t.Helper()
	for range 100 {
		base := 20000 + FreePort(t)%30000
		ok := true
		for p := base; p < base+n && ok; p++ {
			l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", p))
			if err != nil {
				ok = false
				continue
			}
			l.Close()
		}
		if ok {
			return base
		}
	}
	t.Fatal("no free range of ports")
	return 0
}

// AlertSink is a webhook receiver of Alertmanager's webhook JSON: the alerts it was sent, with when.
type AlertSink struct {
	URL string

	mu     sync.Mutex
	alerts []ReceivedAlert
}

// ReceivedAlert is one alert of a notification.
type ReceivedAlert struct {
	At          time.Time
	Status      string
	Labels      map[string]string
	Annotations map[string]string
}

func NewAlertSink(t testing.TB) *AlertSink {
	a := &AlertSink{}
	server := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		var n struct {
			Alerts []struct {
				Status      string            `json:"status"`
				Labels      map[string]string `json:"labels"`
				Annotations map[string]string `json:"annotations"`
			} `json:"alerts"`
		}
		if err := json.NewDecoder(r.Body).Decode(&n); err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		a.mu.Lock()
		for _, x := range n.Alerts {
			a.alerts = append(a.alerts, ReceivedAlert{At: time.Now(), Status: x.Status, Labels: x.Labels, Annotations: x.Annotations})
		}
		a.mu.Unlock()
	}))
	t.Cleanup(server.Close)
	a.URL = server.URL
	return a
}

// Received returns every alert received so far.
func (a *AlertSink) Received() []ReceivedAlert {
	a.mu.Lock()
	defer a.mu.Unlock()
	return append([]ReceivedAlert(nil), a.alerts...)
}
