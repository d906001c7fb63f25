package anomalyprocessor

import (
	"context"
	"math"
	"strconv"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor/processortest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/processor/anomalyprocessor/internal/metadata"
	"github.com/otelstrata/strata/processor/anomalyprocessor/internal/metadatatest"
)

// TestExtremeValueLeavesItRunning: a gauge at 1 then 1e39 (from OTLP or a KPI) is scored, later points go on being
// scored, and the models saved after it restore on the next start.
func TestExtremeValueLeavesItRunning(t *testing.T) {
	dir := t.TempDir()
	id := storagetest.NewStorageID("file_storage")
	cfg := createDefaultConfig().(*Config)
	cfg.Storage = &id
	host := func() component.Host {
		return storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", dir)
	}
	ctx := context.Background()
	values := []float64{1, 1e39, -1e39, math.MaxFloat64, 1, 1}
	for range 2 { // the second run restores what the first saved
		h := newHarness(t, cfg, host())
		for i, v := range values {
			require.NoError(t, h.consume(ctx, gauge("shop.orders", time.Now().Add(time.Duration(i-len(values))*time.Second), map[string]float64{"a": v})))
		}
		for _, md := range h.sink.AllMetrics() {
			for _, score := range scores(md) {
				assert.True(t, score >= 0 && score <= 1, "score %v", score)
			}
		}
		require.NoError(t, h.p.Shutdown(ctx))
		time.Sleep(10 * time.Millisecond) // the second run's points are newer than the first's
	}
}

// TestFuturePointDoesNotBlindTheSeries: a point stamped in the year 2200 is skipped and counted; the series' next
// points are scored, not taken as out of order.
func TestFuturePointDoesNotBlindTheSeries(t *testing.T) {
	h := newHarness(t, createDefaultConfig().(*Config), nil)
	now := t0.Add(time.Hour)
	h.p.clock = clock.NewManual(now)
	ctx := context.Background()
	require.NoError(t, h.consume(ctx, gauge("shop.orders", t0, map[string]float64{"a": 1})))
	require.NoError(t, h.consume(ctx, gauge("shop.orders", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), map[string]float64{"a": 2})))
	require.NoError(t, h.consume(ctx, gauge("shop.orders", now.Add(9*time.Minute), map[string]float64{"a": 3})), "within the skew")
	require.NoError(t, h.consume(ctx, gauge("shop.orders", now.Add(11*time.Minute), map[string]float64{"a": 3})), "beyond it")
	metadatatest.AssertEqualProcessorAnomalyPoints(t, h.tel, []metricdata.DataPoint[int64]{
		{Value: 2, Attributes: attribute.NewSet(attribute.String("outcome", "scored"), attribute.String("reason", ""))},
		{Value: 2, Attributes: attribute.NewSet(attribute.String("outcome", "skipped"), attribute.String("reason", "future"))},
	}, metricdatatest.IgnoreTimestamp())
}

// TestRestoreRepairsAFutureClock: a model saved by a version that let a point from the year 2200 move its series'
// clock is restored with the clock reset, so the next point is scored.
func TestRestoreRepairsAFutureClock(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	id := storagetest.NewStorageID("file_storage")
	cfg.Storage = &id
	client := storagetest.NewInMemoryClient(component.KindProcessor, id, "")
	ctx := context.Background()

	first := newHarness(t, createDefaultConfig().(*Config), nil)
	first.p.clock = clock.NewManual(time.Date(2300, 1, 1, 0, 0, 0, 0, time.UTC))
	require.NoError(t, first.consume(ctx, gauge("shop.orders", time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), map[string]float64{"a": 1})))
	first.p.client = client
	require.NoError(t, first.p.save(ctx))

	second := newHarness(t, createDefaultConfig().(*Config), nil)
	second.p.client = client
	require.NoError(t, second.p.restore(ctx))
	require.Len(t, second.p.series, 1)
	for _, s := range second.p.series {
		assert.Zero(t, s.last, "the clock from the future is reset")
	}
	require.NoError(t, second.consume(ctx, gauge("shop.orders", time.Now(), map[string]float64{"a": 1})))
	metadatatest.AssertEqualProcessorAnomalyPoints(t, second.tel, []metricdata.DataPoint[int64]{
		{Value: 1, Attributes: attribute.NewSet(attribute.String("outcome", "scored"), attribute.String("reason", ""))},
	}, metricdatatest.IgnoreTimestamp())
}

// FuzzRestore reads any bytes as the saved models: a model that cannot be read is learned again, the others are
// restored, and nothing panics.
func FuzzRestore(f *testing.F) {
	ctx := context.Background()
	id := storagetest.NewStorageID("file_storage")
	newStarted := func(t testing.TB) *anomalyProcessor {
		p := newProcessor(createDefaultConfig().(*Config), processortest.NewNopSettings(metadata.Type))
		require.NoError(t, p.Start(ctx, componenttest.NewNopHost()))
		p.client = storagetest.NewInMemoryClient(component.KindProcessor, id, "")
		return p
	}
	seed := newStarted(f)
	for i := range 100 {
		_, err := seed.processMetrics(ctx, gauge("shop.orders", t0.Add(time.Duration(i)*time.Minute), map[string]float64{"a": float64(i % 7), "b": 1e39}))
		require.NoError(f, err)
	}
	require.NoError(f, seed.save(ctx))
	state, err := seed.client.Get(ctx, stateKey)
	require.NoError(f, err)
	require.NoError(f, seed.Shutdown(ctx))
	f.Add(state)
	f.Add(state[:len(state)/2])
	f.Fuzz(func(t *testing.T, data []byte) {
		p := newStarted(t)
		require.NoError(t, p.client.Set(ctx, stateKey, data))
		_ = p.restore(ctx) // a blob cut short is an error; what came before it is restored
		_, err := p.processMetrics(ctx, gauge("shop.orders", t0.Add(time.Hour), map[string]float64{"a": 1, "b": 2}))
		require.NoError(t, err)
		require.NoError(t, p.Shutdown(ctx))
	})
}

// TestForeignScoresAreRemoved: a strata.anomaly.score a client sends is removed and counted, so nothing after the
// processor takes it for its own; keep_foreign_scores keeps it (a gateway behind another collector's processor).
func TestForeignScoresAreRemoved(t *testing.T) {
	for _, keep := range []bool{false, true} {
		cfg := createDefaultConfig().(*Config)
		cfg.KeepForeignScores = keep
		h := newHarness(t, cfg, nil)
		md := gauge(metricScore, time.Now(), map[string]float64{"a": 1})
		md.ResourceMetrics().At(0).ScopeMetrics().At(0).Scope().SetName(metadata.ScopeName) // a forged scope too
		require.NoError(t, h.consume(context.Background(), md))
		got := h.sink.AllMetrics()[0]
		if keep {
			assert.Equal(t, 1, got.DataPointCount())
			continue
		}
		assert.Zero(t, got.DataPointCount())
		metadatatest.AssertEqualProcessorAnomalyPoints(t, h.tel, []metricdata.DataPoint[int64]{
			{Value: 0, Attributes: attribute.NewSet(attribute.String("outcome", "scored"), attribute.String("reason", ""))},
			{Value: 1, Attributes: attribute.NewSet(attribute.String("outcome", "skipped"), attribute.String("reason", "foreign_score"))},
		}, metricdatatest.IgnoreTimestamp())
	}
}

// TestMillionSeriesStayBounded: a million distinct series (untrusted attribute values) keep the processor at
// max_series models, forgetting the least recently seen, and counted.
func TestMillionSeriesStayBounded(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	cfg.MaxSeries = 1000
	h := newHarness(t, cfg, nil)
	const n = 1_000_000
	at := time.Now()
	for start := 0; start < n; start += 10_000 {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("http.server.active_requests")
		dps := m.SetEmptyGauge().DataPoints()
		for i := start; i < start+10_000; i++ {
			dp := dps.AppendEmpty()
			dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
			dp.SetDoubleValue(1)
			dp.Attributes().PutStr("user.name", strconv.Itoa(i))
		}
		_, err := h.p.processMetrics(context.Background(), md)
		require.NoError(t, err)
	}
	assert.Len(t, h.p.series, 1000)
	assert.Equal(t, 1000, h.p.lru.Len())
	metadatatest.AssertEqualProcessorAnomalyEvictions(t, h.tel, []metricdata.DataPoint[int64]{{Value: n - 1000}}, metricdatatest.IgnoreTimestamp())
}
