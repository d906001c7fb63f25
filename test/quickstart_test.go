package test

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/otelstrata/strata/internal/e2e"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otellog "go.opentelemetry.io/otel/log"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
)

// TestQuickstart starts the quickstart config and checks what a user sees: health, zpages, host metrics and the
// collector's own telemetry in Prometheus format, OTLP in from the OpenTelemetry Go SDK, and a clean SIGTERM.
func TestQuickstart(t *testing.T) {
	sink := e2e.NewOTLPSink(t)
	q := e2e.NewQuickstart(t, repoRoot, sink.URL, true)
	// eu's payment outage 10 s after the start, for 10 s: the order success alert fires and resolves
	q.StartShop(t, binary, 20, "-outage-after", "10s", "-outage-for", "10s", "-outage-every", "1h")
	c := startCollector(t, q.Config)

	c.WaitFor(t, "health_check", 30*time.Second, func() error {
		_, err := e2e.HTTPGet(q.Health)
		return err
	})
	_, err := e2e.HTTPGet(q.ZPages + "/debug/servicez")
	require.NoError(t, err, "zpages")

	// Host metrics and the collector's own telemetry, on the Prometheus endpoint.
	want := []string{"system_cpu_time_seconds_total", "system_memory_usage_bytes", "system_cpu_load_average_1m",
		"system_filesystem_usage_bytes", "system_network_io_bytes_total", "system_disk_io_bytes_total",
		"system_paging_faults_total", "system_processes_count", "otelcol_process_uptime_seconds_total"}
	var families map[string]bool
	c.WaitFor(t, "host metrics on the Prometheus endpoint", 30*time.Second, func() error {
		var err error
		if families, err = scrape(q.Metrics); err != nil {
			return err
		}
		for _, w := range want {
			if !families[w] {
				return fmt.Errorf("no %s yet", w)
			}
		}
		return nil
	})

	// The quickstart's probes of the collector's own endpoints succeed.
	c.WaitFor(t, "netprobe results on the Prometheus endpoint", 30*time.Second, func() error {
		families, err := e2e.ScrapePrometheus(q.Metrics)
		if err != nil {
			return err
		}
		success := map[string]float64{}
		for _, m := range families["strata_probe_success"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "strata_probe_target" {
					success[l.GetValue()] = m.GetGauge().GetValue()
				}
			}
		}
		for _, target := range []string{"health", "metrics", "otlp-grpc"} {
			if success[target] != 1 {
				return fmt.Errorf("probe %s: success %v (all: %v)", target, success[target], success)
			}
		}
		if families["strata_probe_phase_duration_seconds"] == nil {
			return fmt.Errorf("no strata_probe_phase_duration_seconds")
		}
		return nil
	})

	// The simulated shop's business KPIs: totals from the database, rates and the order success ratio with its
	// target and error-budget burn rate, per region.
	c.WaitFor(t, "shop KPIs on the Prometheus endpoint", 30*time.Second, func() error {
		families, err := e2e.ScrapePrometheus(q.Metrics)
		if err != nil {
			return err
		}
		for _, name := range []string{"shop_orders_total", "shop_revenue_total", "shop_order_amount",
			"shop_subscriptions_active", "shop_orders_rate_per_min", "shop_revenue_rate_per_min",
			"shop_orders_success_ratio", "strata_kpi_target_met", "strata_kpi_error_budget_burn_rate_ratio"} {
			if families[name] == nil {
				return fmt.Errorf("no %s yet", name)
			}
		}
		for _, m := range families["shop_orders_rate_per_min"].GetMetric() {
			if v := m.GetGauge().GetValue(); v <= 0 {
				return fmt.Errorf("orders per minute %v: the shop takes 20 orders a second", v)
			}
		}
		return nil
	})

	// Anomaly scores, alarms and bands of the watched host metrics (after the detector's warm-up of 64 points, here one a
	// second): the load average's and the shop's order rate.
	c.WaitFor(t, "anomaly scores on the Prometheus endpoint", 120*time.Second, func() error {
		families, err := e2e.ScrapePrometheus(q.Metrics)
		if err != nil {
			return err
		}
		watched := map[string]bool{}
		for _, m := range families["strata_anomaly_score_ratio"].GetMetric() {
			for _, l := range m.GetLabel() {
				if l.GetName() == "strata_anomaly_metric" {
					watched[l.GetValue()] = true
				}
			}
		}
		for _, name := range []string{"system.cpu.load_average.1m", "system.memory.usage"} {
			if !watched[name] {
				return fmt.Errorf("no anomaly score of %s yet (have %v)", name, watched)
			}
		}
		if families["strata_anomaly_expected"] == nil || families["strata_anomaly_upper"] == nil {
			return fmt.Errorf("no expected band yet")
		}
		if families["strata_anomaly_alarm_ratio"] == nil {
			return fmt.Errorf("no alarm yet")
		}
		return nil
	})

	// The shop's outage fires the quickstart's alert, into its file and the collector's log, and resolves it.
	c.WaitFor(t, "the order success alert fired and resolved", 90*time.Second, func() error {
		data, err := os.ReadFile(q.Alerts)
		if err != nil {
			return err
		}
		text := string(data)
		if !strings.Contains(text, `"status":"firing"`) || !strings.Contains(text, `"status":"resolved"`) {
			return fmt.Errorf("alerts so far: %s", text)
		}
		if !strings.Contains(text, `"alertname":"OrderSuccessBelowTarget"`) || !strings.Contains(text, `"region":"eu"`) {
			return fmt.Errorf("not the eu order success alert: %s", text)
		}
		return nil
	})
	assert.Contains(t, c.Output.String(), `"alertname": "OrderSuccessBelowTarget"`, "fired alerts are logged")

	// A trace, a metric and a log from the OpenTelemetry Go SDK reach an exporter.
	sendWithSDK(t, q.OTLPGRPC)
	c.WaitFor(t, "SDK telemetry at the otlp_http exporter", 30*time.Second, func() error {
		switch {
		case !sink.SpanNames()["strata-e2e-span"]:
			return fmt.Errorf("span not arrived; have %v", sink.SpanNames())
		case !sink.MetricNames()["strata.e2e.requests"]:
			return fmt.Errorf("metric not arrived; have %v", sink.MetricNames())
		case !sink.LogBodies()["strata e2e log"]:
			return fmt.Errorf("log not arrived; have %v", sink.LogBodies())
		}
		return nil
	})
	// The sample auth log's events and its brute-force detection reach the logs pipeline's exporters.
	c.WaitFor(t, "authlog detections at the otlp_http exporter", 30*time.Second, func() error {
		bodies := sink.LogBodies()
		for _, want := range []string{
			"2026-11-24T06:12:07.880335+00:00 web-1 sshd[20315]: Failed password for root from 203.0.113.7 port 40118 ssh2",
			"brute_force (T1110.001, high): 5 matching events in 11s, source 203.0.113.7",
		} {
			found := false
			for body := range bodies {
				found = found || strings.HasPrefix(body, want)
			}
			if !found {
				return fmt.Errorf("no %q yet", want)
			}
		}
		return nil
	})
	// The application metric is also on the Prometheus endpoint, under its Prometheus name.
	c.WaitFor(t, "SDK metric on the Prometheus endpoint", 10*time.Second, func() error {
		families, err := scrape(q.Metrics)
		if err == nil && !families["strata_e2e_requests_total"] {
			err = fmt.Errorf("no strata_e2e_requests_total")
		}
		return err
	})

	require.NoError(t, c.Stop(30*time.Second), "SIGTERM must end the collector with exit code 0")
	out := c.Output.String()
	assert.Contains(t, out, "Shutdown complete.")
	assert.NotContains(t, out, "panic")
}

// scrape returns the metric family names of a Prometheus endpoint.
func scrape(url string) (map[string]bool, error) {
	parsed, err := e2e.ScrapePrometheus(url)
	if err != nil {
		return nil, err
	}
	families := make(map[string]bool, len(parsed))
	for name := range parsed {
		families[name] = true
	}
	return families, nil
}

// sendWithSDK sends one span, one counter and one log record over OTLP/gRPC, as an instrumented application does.
func sendWithSDK(t *testing.T, endpoint string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 20*time.Second)
	defer cancel()
	res := resource.NewSchemaless(attribute.String("service.name", "strata-e2e"))

	traceExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	require.NoError(t, err)
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithSyncer(traceExp))
	_, span := tp.Tracer("strata/test").Start(ctx, "strata-e2e-span")
	span.End()
	require.NoError(t, tp.Shutdown(ctx))

	metricExp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(endpoint), otlpmetricgrpc.WithInsecure())
	require.NoError(t, err)
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res), sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp)))
	counter, err := mp.Meter("strata/test").Int64Counter("strata.e2e.requests")
	require.NoError(t, err)
	counter.Add(ctx, 3)
	require.NoError(t, mp.Shutdown(ctx)) // collects and exports once

	logExp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure())
	require.NoError(t, err)
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res), sdklog.WithProcessor(sdklog.NewSimpleProcessor(logExp)))
	var rec otellog.Record
	rec.SetBody(otellog.StringValue("strata e2e log"))
	rec.SetSeverity(otellog.SeverityInfo)
	lp.Logger("strata/test").Emit(ctx, rec)
	require.NoError(t, lp.Shutdown(ctx))
}

// TestRunScript checks what `make run` does around the binary: the "where to look" lines of the config once the
// collector is healthy, and exit 0 when the script is stopped with SIGTERM (as Ctrl-C stops it).
func TestRunScript(t *testing.T) {
	q := e2e.NewQuickstart(t, repoRoot, "", true)
	shopsim := filepath.Join(filepath.Dir(binary), "shopsim")
	p := e2e.StartProcess(t, filepath.Join(repoRoot, "scripts", "run.sh"), binary, q.Config, shopsim, "-db", q.ShopDB)
	p.WaitFor(t, "the banner", 30*time.Second, func() error {
		// its last line: the script writes the banner in more than one write
		if !strings.Contains(p.Output.String(), "stop with Ctrl-C") {
			return fmt.Errorf("no whole banner yet")
		}
		return nil
	})
	_, err := e2e.HTTPGet(q.Health)
	require.NoError(t, err, "the banner came before the collector was healthy")
	out := p.Output.String()
	assert.Contains(t, out, q.Metrics, "the banner shows the config's leading comment block")
	assert.Contains(t, out, q.Health)
	assert.NotContains(t, out, "extensions:", "the banner stops at the first line that is not a comment")

	assert.Contains(t, out, "shopsim: taking", "the companion (the shop simulator) runs beside the collector")
	require.NoError(t, p.Stop(30*time.Second))
	assert.Contains(t, p.Output.String(), "Shutdown complete.")
}
