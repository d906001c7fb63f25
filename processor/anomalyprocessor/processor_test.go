package anomalyprocessor

import (
	"context"
	"math"
	"math/rand/v2"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/processor/anomalyprocessor/internal/metadata"
	"github.com/otelstrata/strata/processor/anomalyprocessor/internal/metadatatest"
)

var t0 = time.Date(2026, 11, 27, 0, 0, 0, 0, time.UTC)

type harness struct {
	p    *anomalyProcessor
	sink *consumertest.MetricsSink
	tel  *componenttest.Telemetry
}

func newHarness(t *testing.T, cfg *Config, host component.Host) *harness {
	t.Helper()
	require.NoError(t, cfg.Validate())
	h := &harness{sink: new(consumertest.MetricsSink), tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(h.tel)
	set.ID = component.NewID(metadata.Type)
	h.p = newProcessor(cfg, set)
	if host == nil {
		host = componenttest.NewNopHost()
	}
	require.NoError(t, h.p.Start(context.Background(), host))
	return h
}

// consume runs the processor on a request and sends the result to the sink, as processorhelper does.
func (h *harness) consume(ctx context.Context, md pmetric.Metrics) error {
	out, err := h.p.processMetrics(ctx, md)
	if err != nil {
		return err
	}
	return h.sink.ConsumeMetrics(ctx, out)
}

// gauge is a request with one point of a gauge per host.
func gauge(name string, at time.Time, byHost map[string]float64) pmetric.Metrics {
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "test")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName(name)
	dps := m.SetEmptyGauge().DataPoints()
	for host, v := range byHost {
		dp := dps.AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
		dp.SetDoubleValue(v)
		dp.Attributes().PutStr("host.name", host)
	}
	return md
}

// scores are the strata.anomaly.score points of a request, by statistic and host.
func scores(md pmetric.Metrics) map[string]float64 { return outputOf(md, metricScore) }

// outputOf returns the points of one of the processor's gauges by watched metric, statistic and host.
func outputOf(md pmetric.Metrics, name string) map[string]float64 {
	out := map[string]float64{}
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Name() != name {
					continue
				}
				for _, dp := range m.Gauge().DataPoints().All() {
					metricName, _ := dp.Attributes().Get(attrMetric)
					stat, _ := dp.Attributes().Get(attrStatistic)
					host, _ := dp.Attributes().Get("host.name")
					out[metricName.Str()+"/"+stat.Str()+"/"+host.Str()] = dp.DoubleValue()
				}
			}
		}
	}
	return out
}

func TestGaugeSpikeIsScoredAndDataPassesUnchanged(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config), nil)
	r := rand.New(rand.NewPCG(1, 2))
	ctx := context.Background()
	for i := range 1000 {
		v := 50 + r.NormFloat64()
		if i == 900 {
			v = 90
		}
		require.NoError(t, h.consume(ctx, gauge("system.cpu.utilization", t0.Add(time.Duration(i)*time.Minute), map[string]float64{"a": v})))
	}
	all := h.sink.AllMetrics()
	require.Len(t, all, 1000)
	spike := all[900]
	assert.Greater(t, scores(spike)["system.cpu.utilization/value/a"], 0.997)
	assert.Less(t, scores(all[800])["system.cpu.utilization/value/a"], 0.997)
	// The watched metric is still there, as it came.
	m := spike.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
	assert.Equal(t, "system.cpu.utilization", m.Name())
	assert.Equal(t, 90.0, m.Gauge().DataPoints().At(0).DoubleValue())
	// The band: expected near 50, the spike outside it.
	out := spike.ResourceMetrics().At(0).ScopeMetrics().At(1)
	assert.Equal(t, metadata.ScopeName, out.Scope().Name())
	names := map[string]float64{}
	for _, m := range out.Metrics().All() {
		names[m.Name()] = m.Gauge().DataPoints().At(0).DoubleValue()
	}
	assert.InDelta(t, 50, names[metricExpected], 2)
	assert.Equal(t, 90.0, names[metricValue], "the value scored")
	assert.Less(t, names[metricUpper], 90.0)
	assert.Greater(t, names[metricLower], 40.0)
}

func TestCounterRatesResetsAndBadPoints(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config), nil)
	ctx := context.Background()
	total := 0.0
	send := func(i int, v float64, ts time.Time) {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("http.server.requests")
		sum := m.SetEmptySum()
		sum.SetIsMonotonic(true)
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		dp := sum.DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(ts))
		dp.SetDoubleValue(v)
		require.NoError(t, h.consume(ctx, md))
		_ = i
	}
	for i := range 300 {
		total += 600 // 10 a second
		switch i {
		case 200:
			total = 5 // the process restarted
		}
		send(i, total, t0.Add(time.Duration(i)*time.Minute))
	}
	send(0, total+600, t0.Add(299*time.Minute))   // duplicate timestamp
	send(0, total+600, t0.Add(100*time.Minute))   // out of order
	send(0, math.NaN(), t0.Add(400*time.Minute))  // NaN
	send(0, math.Inf(1), t0.Add(401*time.Minute)) // infinite
	last := h.sink.AllMetrics()[299]
	assert.Contains(t, scores(last), "http.server.requests/rate/")
	assert.Equal(t, 10.0, outputOf(last, metricValue)["http.server.requests/rate/"], "the value scored is the rate")
	metadatatest.AssertEqualProcessorAnomalyPoints(t, h.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("outcome", "scored"), attribute.String("reason", "")), Value: 298},
		{Attributes: attribute.NewSet(attribute.String("outcome", "skipped"), attribute.String("reason", "first_total")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("outcome", "skipped"), attribute.String("reason", "counter_reset")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("outcome", "skipped"), attribute.String("reason", "duplicate")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("outcome", "skipped"), attribute.String("reason", "out_of_order")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("outcome", "skipped"), attribute.String("reason", "nan")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("outcome", "skipped"), attribute.String("reason", "infinite")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}

func TestHistogramMeanAndQuantile(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config), nil)
	md := pmetric.NewMetrics()
	m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("http.server.request.duration")
	hist := m.SetEmptyHistogram()
	hist.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
	dp := hist.DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(t0))
	dp.ExplicitBounds().FromRaw([]float64{0.1, 0.5, 1})
	dp.BucketCounts().FromRaw([]uint64{50, 40, 10, 0})
	dp.SetCount(100)
	dp.SetSum(25)
	require.NoError(t, h.consume(context.Background(), md))
	got := scores(h.sink.AllMetrics()[0])
	assert.Contains(t, got, "http.server.request.duration/mean/")
	assert.Contains(t, got, "http.server.request.duration/p95/")
	q, ok := bucketQuantile(dp, 0.95)
	assert.True(t, ok)
	assert.InDelta(t, 0.75, q, 1e-9, "the 95th of 100 is half way into the (0.5, 1] bucket")
}

func TestEmitAnomalousOnlyIncludeExcludeAndEvictions(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Emit = "anomalous"
	cfg.Include = []string{"system.*"}
	cfg.Exclude = []string{"system.disk.*"}
	cfg.MaxSeries = 2
	h := newHarness(t, cfg, nil)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(5, 6))
	for i := range 200 {
		at := t0.Add(time.Duration(i) * time.Minute)
		require.NoError(t, h.consume(ctx, gauge("system.cpu.utilization", at, map[string]float64{"a": 50 + r.NormFloat64()})))
		require.NoError(t, h.consume(ctx, gauge("system.disk.io", at, map[string]float64{"a": 1})))
		require.NoError(t, h.consume(ctx, gauge("app.requests", at, map[string]float64{"a": 1})))
	}
	emitted := 0
	for _, md := range h.sink.AllMetrics() {
		for key := range scores(md) {
			assert.Equal(t, "system.cpu.utilization/value/a", key, "unwatched metrics are never scored")
			emitted++
		}
	}
	assert.LessOrEqual(t, emitted, 2, "scores only for anomalous points: about the risk's share of normal ones")
	require.NoError(t, h.consume(ctx, gauge("system.cpu.utilization", t0.Add(250*time.Minute), map[string]float64{"a": 500})))
	assert.Contains(t, scores(h.sink.AllMetrics()[len(h.sink.AllMetrics())-1]), "system.cpu.utilization/value/a", "a spike is emitted")
	for i, host := range []string{"b", "c", "d"} {
		require.NoError(t, h.consume(ctx, gauge("system.cpu.utilization", t0.Add(time.Duration(300+i)*time.Minute), map[string]float64{host: 1})))
	}
	metadatatest.AssertEqualProcessorAnomalyEvictions(t, h.tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
	metadatatest.AssertEqualProcessorAnomalySeries(t, h.tel, []metricdata.DataPoint[int64]{{Value: 2}}, metricdatatest.IgnoreTimestamp())
}

// TestRestartKeepsTheModels: a processor restarted on the same storage scores the next points as the one that kept
// running does (it does not learn again, nor start a new warm-up).
func TestRestartKeepsTheModels(t *testing.T) {
	dir := t.TempDir()
	id := storagetest.NewStorageID("file_storage")
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &id
	values := make([]float64, 600)
	r := rand.New(rand.NewPCG(3, 4))
	for i := range values {
		values[i] = 20 + 2*r.NormFloat64()
	}
	values[550] = 45
	ctx := context.Background()
	run := func(h *harness, from, to int) []float64 {
		var out []float64
		for i := from; i < to; i++ {
			require.NoError(t, h.consume(ctx, gauge("queue.length", t0.Add(time.Duration(i)*time.Minute), map[string]float64{"a": values[i]})))
			out = append(out, scores(h.sink.AllMetrics()[len(h.sink.AllMetrics())-1])["queue.length/value/a"])
		}
		return out
	}
	continuous := newHarness(t, createDefaultConfig().(*Config), nil)
	want := run(continuous, 0, 600)[500:]

	first := newHarness(t, cfg, storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", dir))
	run(first, 0, 500)
	require.NoError(t, first.p.Shutdown(ctx))
	second := newHarness(t, cfg, storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", dir))
	got := run(second, 500, 600)
	require.NoError(t, second.p.Shutdown(ctx))
	assert.Equal(t, want, got)
	assert.Greater(t, got[50], 0.997, "the spike after the restart is seen")
}

func TestConditionsSelectPoints(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Conditions = []string{`attributes["host.name"] == "a"`}
	h := newHarness(t, cfg, nil)
	require.NoError(t, h.consume(context.Background(), gauge("system.cpu.utilization", t0, map[string]float64{"a": 1, "b": 2})))
	assert.Equal(t, map[string]float64{"system.cpu.utilization/value/a": 0}, scores(h.sink.AllMetrics()[0]))
}

// TestAlarmIsAddedAndCountedByView: a CPU gauge a minute that moves, then sticks: the alarm gauge is 0 while it
// moves and 1 within a few points of its sticking, and the alarm is counted by the view that raised it; an alarm
// point is emitted with emit: anomalous even when its score is below the threshold.
func TestAlarmIsAddedAndCountedByView(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.Emit = "anomalous"
	cfg.AlarmAfter = 0 // armed from the warm-up on: the series is 400 minutes long
	h := newHarness(t, cfg, nil)
	ctx := context.Background()
	r := rand.New(rand.NewPCG(7, 8))
	v := 0.0
	for i := range 400 {
		if i < 300 {
			v = 50 + r.NormFloat64()
		}
		require.NoError(t, h.consume(ctx, gauge("system.cpu.utilization", t0.Add(time.Duration(i)*time.Minute), map[string]float64{"a": v})))
	}
	first := -1
	for i, md := range h.sink.AllMetrics() {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != metricAlarm {
						continue
					}
					assert.Equal(t, "1", m.Unit())
					for _, dp := range m.Gauge().DataPoints().All() {
						if dp.DoubleValue() == 1 && first < 0 {
							first = i
						}
					}
				}
			}
		}
	}
	assert.GreaterOrEqual(t, first, 300, "no alarm while the gauge moves")
	assert.Less(t, first, 306, "an alarm within a few points of its sticking")
	metadatatest.AssertEqualProcessorAnomalyAlarms(t, h.tel, []metricdata.DataPoint[int64]{
		// raised again while the value stays stuck, less and less often as repeating becomes its habit
		{Value: 7, Attributes: attribute.NewSet(attribute.String("view", "flatline"))},
	}, metricdatatest.IgnoreTimestamp())
}
