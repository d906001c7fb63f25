package netprobereceiver

import (
	"context"
	"flag"
	"net"
	"net/http/httptest"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/receiver/netprobereceiver/internal/metadata"
	"github.com/otelstrata/strata/receiver/netprobereceiver/internal/metadatatest"
)

var update = flag.Bool("update", false, "rewrite the golden files from what the code emits now")

// goldenTargets are one target of each kind that answers the same on every run, against servers on loopback.
func goldenTargets(t *testing.T) []any {
	t.Helper()
	srv := httptest.NewServer(testHTTPServer())
	t.Cleanup(srv.Close)
	udp, _ := startDNS(t)
	return []any{
		map[string]any{"name": "http-ok", "type": "http", "endpoint": srv.URL + "/ok", "labels": map[string]any{"team": "checkout"}},
		map[string]any{"name": "http-error", "type": "http", "endpoint": srv.URL + "/error"},
		map[string]any{"name": "tcp-refused", "type": "tcp", "endpoint": closedPort(t)},
		map[string]any{"name": "dns-mx", "type": "dns", "endpoint": "strata.test", "dns": map[string]any{"server": udp, "query_type": "MX"}},
		map[string]any{"name": "dns-absent", "type": "dns", "endpoint": "nope.strata.test", "dns": map[string]any{"server": udp}},
	}
}

func newTestConfig(t testing.TB, raw map[string]any) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	return cfg
}

// TestRecordGolden probes each golden target once and compares the metrics with testdata/expected.yaml. Values
// and attributes that differ from run to run (durations, ports, timestamps) are left out of the comparison.
func TestRecordGolden(t *testing.T) {
	cfg := newTestConfig(t, map[string]any{"targets": goldenTargets(t)})
	mb := metadata.NewMetricsBuilder(cfg.MetricsBuilderConfig, receivertest.NewNopSettings(metadata.Type))
	rec := newRecorder(mb)
	for i := range cfg.Targets {
		tg, err := newTarget(cfg, &cfg.Targets[i], "")
		require.NoError(t, err)
		for _, r := range tg.run(context.Background()) {
			rec.record(&r)
		}
	}
	got := mb.Emit()

	path := filepath.Join("testdata", "expected.yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, path, got))
	}
	want, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(want, got,
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		pmetrictest.IgnoreMetricValues("strata.probe.duration", "strata.probe.phase.duration"),
		pmetrictest.IgnoreMetricAttributeValue("server.port"),
		pmetrictest.IgnoreMetricAttributeValue("url.full"),
		pmetrictest.IgnoreMetricAttributeValue("server.address"),
		pmetrictest.IgnoreMetricDataPointsOrder(),
	))
}

// TestReceiverProbesOnSchedule runs the receiver as the collector does and checks that every target is probed,
// repeatedly, and that the receiver counts what it did in its own telemetry.
func TestReceiverProbesOnSchedule(t *testing.T) {
	targets := goldenTargets(t)
	for _, tg := range targets {
		tg.(map[string]any)["interval"] = "300ms"
		tg.(map[string]any)["timeout"] = "250ms"
	}
	cfg := newTestConfig(t, map[string]any{"targets": targets})
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.MetricsSink)
	rcv, err := NewFactory().CreateMetrics(context.Background(), metadatatest.NewSettings(tel), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))

	rounds := func() map[string]int {
		seen := map[string]int{}
		for _, md := range sink.AllMetrics() {
			eachPoint(md, "strata.probe.success", func(dp pmetric.NumberDataPoint) {
				name, _ := dp.Attributes().Get("strata.probe.target")
				seen[name.Str()]++
			})
		}
		return seen
	}
	require.Eventually(t, func() bool {
		seen := rounds()
		for _, name := range []string{"http-ok", "http-error", "tcp-refused", "dns-mx", "dns-absent"} {
			if seen[name] < 2 {
				return false
			}
		}
		return true
	}, 10*time.Second, 50*time.Millisecond, "every target probed at least twice")
	require.NoError(t, rcv.Shutdown(context.Background()))

	// Per target type: successes and failures as the targets answer (http-ok, dns-mx succeed; the rest fail).
	seen := rounds()
	metadatatest.AssertEqualReceiverNetprobeProbes(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("strata.probe.type", "http"), attribute.String("outcome", "success")), Value: int64(seen["http-ok"])},
		{Attributes: attribute.NewSet(attribute.String("strata.probe.type", "http"), attribute.String("outcome", "failure")), Value: int64(seen["http-error"])},
		{Attributes: attribute.NewSet(attribute.String("strata.probe.type", "tcp"), attribute.String("outcome", "failure")), Value: int64(seen["tcp-refused"])},
		{Attributes: attribute.NewSet(attribute.String("strata.probe.type", "dns"), attribute.String("outcome", "success")), Value: int64(seen["dns-mx"])},
		{Attributes: attribute.NewSet(attribute.String("strata.probe.type", "dns"), attribute.String("outcome", "failure")), Value: int64(seen["dns-absent"])},
	}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverNetprobeTargets(t, tel, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualReceiverNetprobeInFlight(t, tel, []metricdata.DataPoint[int64]{{Value: 0}}, metricdatatest.IgnoreTimestamp())
}

// TestReceiverStartFailsOnUnreadableTLSFile checks that a TLS file that cannot be read stops Start with its name.
func TestReceiverStartFailsOnUnreadableTLSFile(t *testing.T) {
	cfg := newTestConfig(t, map[string]any{"targets": []any{
		map[string]any{"type": "tls", "endpoint": "127.0.0.1:443", "tls": map[string]any{"ca_file": "/nonexistent/ca.pem"}},
	}})
	rcv, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
	require.NoError(t, err)
	err = rcv.Start(context.Background(), componenttest.NewNopHost())
	require.Error(t, err)
	assert.Contains(t, err.Error(), "/nonexistent/ca.pem")
	require.NoError(t, rcv.Shutdown(context.Background()))
}

// TestSlowTargetDoesNotStallOthers gives the receiver one worker per target and a target that never answers: the
// others keep their schedule.
func TestSlowTargetDoesNotStallOthers(t *testing.T) {
	done := make(chan struct{})
	hang := listen(t, func(net.Conn) { <-done })
	t.Cleanup(func() { close(done) })
	srv := httptest.NewServer(testHTTPServer())
	t.Cleanup(srv.Close)
	cfg := newTestConfig(t, map[string]any{"max_concurrency": 2, "targets": []any{
		map[string]any{"name": "hangs", "type": "http", "endpoint": "http://" + hang + "/", "interval": "2s", "timeout": "1900ms"},
		map[string]any{"name": "fast", "type": "http", "endpoint": srv.URL + "/ok", "interval": "100ms", "timeout": "90ms"},
	}})
	sink := new(consumertest.MetricsSink)
	rcv, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))
	time.Sleep(1500 * time.Millisecond)
	require.NoError(t, rcv.Shutdown(context.Background()))
	fast := 0
	for _, md := range sink.AllMetrics() {
		eachPoint(md, "strata.probe.success", func(dp pmetric.NumberDataPoint) {
			if name, _ := dp.Attributes().Get("strata.probe.target"); name.Str() == "fast" && dp.IntValue() == 1 {
				fast++
			}
		})
	}
	assert.GreaterOrEqual(t, fast, 10, "the fast target kept its 100ms schedule beside the hanging one")
}

func TestDispatchSkipsOverlapAndSaturation(t *testing.T) {
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	cfg := newTestConfig(t, map[string]any{"max_concurrency": 1, "targets": []any{
		map[string]any{"name": "a", "type": "tcp", "endpoint": "127.0.0.1:1"},
		map[string]any{"name": "b", "type": "tcp", "endpoint": "127.0.0.1:2"},
	}})
	r, err := newReceiver(cfg, metadatatest.NewSettings(tel), consumertest.NewNop())
	require.NoError(t, err)
	r.telemetry, err = metadata.NewTelemetryBuilder(r.set.TelemetrySettings)
	require.NoError(t, err)
	r.jobs = make(chan *target, 1)
	a, err := newTarget(cfg, &cfg.Targets[0], "")
	require.NoError(t, err)
	b, err := newTarget(cfg, &cfg.Targets[1], "")
	require.NoError(t, err)

	ctx := context.Background()
	r.dispatch(ctx, a) // queued
	r.dispatch(ctx, a) // still running: skipped
	r.dispatch(ctx, b) // no free worker: skipped, and not left marked running
	assert.Len(t, r.jobs, 1)
	assert.True(t, a.running.Load())
	assert.False(t, b.running.Load())
	metadatatest.AssertEqualReceiverNetprobeProbes(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("strata.probe.type", "tcp"), attribute.String("outcome", "skipped")), Value: 2},
	}, metricdatatest.IgnoreTimestamp())
}

func TestSchedulerSpreadsTargets(t *testing.T) {
	const n, interval = 1000, 10 * time.Second
	targets := make([]*target, n)
	for i := range targets {
		targets[i] = &target{cfg: &TargetConfig{Type: "http"}, name: "t" + string(rune('a'+i%26)) + time.Duration(i).String(), interval: interval}
	}
	now := time.Now()
	newScheduler(targets, now)
	var buckets [10]int
	for _, tg := range targets {
		offset := tg.next.Sub(now)
		require.True(t, offset >= 0 && offset < interval, "offset %s outside the interval", offset)
		buckets[offset/time.Second]++
	}
	for i, b := range buckets {
		assert.InDelta(t, n/10, b, 40, "second %d of the interval has %d of %d first rounds", i, b, n)
	}
}

// eachPoint calls f for every data point of the named gauge.
func eachPoint(md pmetric.Metrics, name string, f func(pmetric.NumberDataPoint)) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() == name {
					for _, dp := range m.Gauge().DataPoints().All() {
						f(dp)
					}
				}
			}
		}
	}
}

// TestSuccessSeriesIsStable checks that a target that fails and then recovers keeps one strata.probe.success
// series (same attributes), so that an alert on it resolves at once, while strata.probe.failures keeps the count.
func TestSuccessSeriesIsStable(t *testing.T) {
	cfg := newTestConfig(t, map[string]any{"targets": []any{map[string]any{"type": "tcp", "endpoint": "127.0.0.1:1"}}})
	tg, err := newTarget(cfg, &cfg.Targets[0], "")
	require.NoError(t, err)
	rec := newRecorder(metadata.NewMetricsBuilder(cfg.MetricsBuilderConfig, receivertest.NewNopSettings(metadata.Type)))
	now := time.Now()
	rec.record(&result{target: tg, start: now, peer: "127.0.0.1", err: failf("refused", "x")})
	rec.record(&result{target: tg, start: now.Add(time.Second), peer: "127.0.0.1"})
	md := rec.mb.Emit()

	var successes []pcommon.Map
	eachPoint(md, "strata.probe.success", func(dp pmetric.NumberDataPoint) { successes = append(successes, dp.Attributes()) })
	require.Len(t, successes, 2)
	assert.Equal(t, successes[0].AsRaw(), successes[1].AsRaw())

	var failures []int64
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() == "strata.probe.failures" {
					for _, dp := range m.Sum().DataPoints().All() {
						et, _ := dp.Attributes().Get("error.type")
						assert.Equal(t, "refused", et.Str())
						failures = append(failures, dp.IntValue())
					}
				}
			}
		}
	}
	assert.Equal(t, []int64{1, 1}, failures, "reported with both rounds, still 1 after the recovery")
}
