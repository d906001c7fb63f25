package bench

import (
	"bytes"
	"context"
	"fmt"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"sync/atomic"
	"testing"
	"time"

	"github.com/otelstrata/strata/internal/e2e"
)

// targetServerEnv makes this test binary serve HTTP on the listed addresses instead of running tests, so that the
// probed server is a process of its own, measured apart from the collector.
const targetServerEnv = "STRATA_BENCH_HTTP_SERVER"

func serveTargets(addrs string) {
	handler := http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte("ok\n")) })
	for _, addr := range strings.Split(addrs, ",") {
		l, err := net.Listen("tcp", addr)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		go func() { _ = http.Serve(l, handler) }()
	}
	select {}
}

// startTargetServer runs the target server on ports ports of loopback (several ports, so that 5,000 new
// connections a second do not run out of 4-tuples) and returns its addresses.
func startTargetServer(b *testing.B, ports int) (*e2e.Process, []string) {
	addrs := make([]string, ports)
	for i := range addrs {
		addrs[i] = fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
	}
	self, err := os.Executable()
	if err != nil {
		b.Fatal(err)
	}
	cmd := exec.Command(self)
	cmd.Env = append(os.Environ(), targetServerEnv+"="+strings.Join(addrs, ","))
	p := e2e.StartCmd(b, cmd)
	p.WaitFor(b, "target server", 10*time.Second, func() error {
		_, err := e2e.HTTPGet("http://" + addrs[len(addrs)-1] + "/")
		return err
	})
	return p, addrs
}

// proberWarmup and proberWindow are how long both probers run before they are measured, and how long they are.
const proberWarmup, proberWindow = 10 * time.Second, 20 * time.Second

// BenchmarkNetprobeHTTPLoad runs otelcol-strata with HTTP targets on loopback at an offered load of 1,000 probes a
// second (1,000 targets every second) and saturated (10,000 targets every second, more than two cores can probe),
// and reports the probes it completed and skipped a second, from its own telemetry, with its CPU and resident memory.
// BenchmarkBlackboxHTTPLoad runs blackbox_exporter the same two ways.
func BenchmarkNetprobeHTTPLoad(b *testing.B) {
	for _, run := range []struct {
		name    string
		targets int
	}{{"offered=1000/s", 1000}, {"saturated", 10000}} {
		b.Run(run.name, func(b *testing.B) {
			server, addrs := startTargetServer(b, 16)
			list := make([]any, run.targets)
			for i := range list {
				list[i] = map[string]any{"name": fmt.Sprintf("t%d", i), "type": "http",
					"endpoint": fmt.Sprintf("http://%s/t/%d", addrs[i%len(addrs)], i)}
			}
			telemetry := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
			config := e2e.WriteYAML(b, filepath.Join(b.TempDir(), "netprobe.yaml"), collectorConfig(telemetry, map[string]any{"netprobe": map[string]any{
				"interval": "1s", "timeout": "900ms", "max_concurrency": 256, "targets": list,
			}}))
			for b.Loop() {
				c := e2e.StartCollector(b, binary, config)
				c.WaitFor(b, "telemetry", 30*time.Second, func() error { _, err := probeCounts(telemetry); return err })
				time.Sleep(proberWarmup)
				n0, err := probeCounts(telemetry)
				if err != nil {
					b.Fatal(err)
				}
				cpu0, srv0 := cpuTicks(b, c.PID()), cpuTicks(b, server.PID())
				time.Sleep(proberWindow)
				n1, err := probeCounts(telemetry)
				if err != nil {
					b.Fatal(err)
				}
				seconds := proberWindow.Seconds()
				probes := n1["success"] + n1["failure"] - n0["success"] - n0["failure"]
				cpu := float64(cpuTicks(b, c.PID()) - cpu0)
				b.ReportMetric(probes/seconds, "probes/s")
				b.ReportMetric((n1["failure"]-n0["failure"])/seconds, "failed/s")
				b.ReportMetric((n1["skipped"]-n0["skipped"])/seconds, "skipped/s")
				b.ReportMetric(cpu/seconds, "prober-CPU-%")
				b.ReportMetric(probes/(cpu/100), "probes/CPU-s")
				b.ReportMetric(float64(cpuTicks(b, server.PID())-srv0)/seconds, "server-CPU-%")
				b.ReportMetric(float64(rssKiB(b, c.PID()))/1024, "RSS-MiB")
				if err := c.Stop(30 * time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkBlackboxHTTPLoad drives a real blackbox_exporter the way Prometheus does (GET /probe on kept-alive
// connections) against the same kind of target server as BenchmarkNetprobeHTTPLoad, at 1,000 scrapes a second and
// saturated (64 scrapes in flight, back to back), with the same warm-up and window, and reports the probes it
// completes a second with its CPU and resident memory.
func BenchmarkBlackboxHTTPLoad(b *testing.B) {
	const inFlight = 64
	blackbox := e2e.RequireProgram(b, "prometheus-blackbox-exporter")
	for _, run := range []struct {
		name      string
		perSecond float64
	}{{"offered=1000/s", 1000}, {"saturated", 0}} {
		b.Run(run.name, func(b *testing.B) {
			server, addrs := startTargetServer(b, 16)
			config := e2e.WriteYAML(b, filepath.Join(b.TempDir(), "blackbox.yml"), map[string]any{"modules": map[string]any{
				"http_2xx": map[string]any{"prober": "http", "timeout": "5s", "http": map[string]any{"preferred_ip_protocol": "ip4"}},
			}})
			web := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
			for b.Loop() {
				bb := e2e.StartProcess(b, blackbox, "--config.file="+config, "--web.listen-address="+web, "--log.level=warn")
				bb.WaitFor(b, "blackbox_exporter", 20*time.Second, func() error { _, err := e2e.HTTPGet("http://" + web + "/-/healthy"); return err })
				ctx, cancel := context.WithTimeout(context.Background(), proberWarmup+proberWindow)
				var measuring atomic.Bool
				var probes, successes atomic.Int64
				done := make(chan struct{})
				go func() {
					defer close(done)
					scrapeBlackbox(ctx, web, addrs, inFlight, run.perSecond, func(success bool) {
						if measuring.Load() {
							probes.Add(1)
							if success {
								successes.Add(1)
							}
						}
					})
				}()
				time.Sleep(proberWarmup)
				cpu0, srv0 := cpuTicks(b, bb.PID()), cpuTicks(b, server.PID())
				measuring.Store(true)
				time.Sleep(proberWindow)
				measuring.Store(false)
				cpu := float64(cpuTicks(b, bb.PID()) - cpu0)
				server := float64(cpuTicks(b, server.PID()) - srv0)
				cancel()
				<-done
				seconds := proberWindow.Seconds()
				b.ReportMetric(float64(probes.Load())/seconds, "probes/s")
				b.ReportMetric(float64(probes.Load()-successes.Load())/seconds, "failed/s")
				b.ReportMetric(cpu/seconds, "prober-CPU-%")
				b.ReportMetric(float64(probes.Load())/(cpu/100), "probes/CPU-s")
				b.ReportMetric(server/seconds, "server-CPU-%")
				b.ReportMetric(float64(rssKiB(b, bb.PID()))/1024, "RSS-MiB")
				if err := bb.Stop(30 * time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// scrapeBlackbox sends GET /probe to blackbox_exporter at web from inFlight goroutines until ctx ends, each target
// in turn, at most perSecond scrapes a second (0: back to back), and calls done with each probe's success.
func scrapeBlackbox(ctx context.Context, web string, addrs []string, inFlight int, perSecond float64, done func(success bool)) {
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: inFlight}}
	var next atomic.Int64
	paced(ctx, inFlight, perSecond, func() {
		i := next.Add(1)
		url := fmt.Sprintf("http://%s/probe?module=http_2xx&target=http://%s/t/%d", web, addrs[int(i)%len(addrs)], i%10000)
		req, _ := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
		resp, err := client.Do(req)
		if err != nil {
			return
		}
		var body bytes.Buffer
		_, _ = body.ReadFrom(resp.Body)
		resp.Body.Close()
		done(bytes.Contains(body.Bytes(), []byte("\nprobe_success 1")))
	})
}

// collectorConfig is a collector with the given receivers and nothing else to spend CPU on: their metrics go to a
// debug exporter whose output the warn log level silences, and its own telemetry is served on telemetry.
func collectorConfig(telemetry string, receivers map[string]any) map[string]any {
	host, portText, _ := net.SplitHostPort(telemetry)
	port, _ := strconv.Atoi(portText)
	ids := make([]any, 0, len(receivers))
	for id := range receivers {
		ids = append(ids, id)
	}
	return map[string]any{
		"receivers": receivers,
		"exporters": map[string]any{"debug": map[string]any{"verbosity": "basic"}},
		"service": map[string]any{
			"telemetry": map[string]any{
				"logs":    map[string]any{"level": "warn"},
				"metrics": map[string]any{"readers": []any{map[string]any{"pull": map[string]any{"exporter": map[string]any{"prometheus": map[string]any{"host": host, "port": port}}}}}},
			},
			"pipelines": map[string]any{"metrics": map[string]any{"receivers": ids, "exporters": []any{"debug"}}},
		},
	}
}

// counterByLabel reads a counter of the collector's own telemetry, summed by the values of one label.
func counterByLabel(telemetry, name, label string) (map[string]float64, error) {
	families, err := e2e.ScrapePrometheus("http://" + telemetry + "/metrics")
	if err != nil {
		return nil, err
	}
	counts := map[string]float64{}
	for _, m := range families[name].GetMetric() {
		for _, l := range m.GetLabel() {
			if l.GetName() == label {
				counts[l.GetValue()] += m.GetCounter().GetValue()
			}
		}
	}
	return counts, nil
}

// probeCounts reads otelcol_receiver_netprobe_probes_total by outcome.
func probeCounts(telemetry string) (map[string]float64, error) {
	return counterByLabel(telemetry, "otelcol_receiver_netprobe_probes_total", "outcome")
}
