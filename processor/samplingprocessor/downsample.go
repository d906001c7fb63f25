package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"slices"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/internal/metrickey"
	"github.com/otelstrata/strata/internal/points"
)

// downsampler keeps one point per series per interval: the last one, or in aggregate mode the average of a
// gauge's points, the sum of a delta sum's or a delta histogram's (cumulative series keep their last point, which
// already holds the total). Each series is held as a one-point pmetric.Metrics, emitted together at every interval.
type downsampler struct {
	cfg  MetricsConfig
	next consumer.Metrics

	mu     sync.Mutex
	series map[metrickey.Key]*heldSeries
	order  []metrickey.Key // first-seen order, so that the output keeps the input's order

	loop *clock.Loop // flushes every interval
	p    *sampler
}

type heldSeries struct {
	md     pmetric.Metrics // resource, scope and metric with the one point
	points int             // points received this interval (for the average of gauges)
}

func newDownsampler(cfg MetricsConfig, next consumer.Metrics) *downsampler {
	return &downsampler{cfg: cfg, next: next, series: map[metrickey.Key]*heldSeries{}}
}

func (ds *downsampler) start(p *sampler) {
	ds.p = p
	ds.loop = clock.Start(p.clock, clock.Task{Every: ds.cfg.Interval, Run: func(context.Context, time.Time) {
		ds.flush(context.Background())
	}})
}

func (ds *downsampler) stop(ctx context.Context) {
	ds.loop.Stop()
	ds.flush(ctx)
}

// ConsumeMetrics holds each point in its series (points of series beyond max_series pass through at once).
func (ds *downsampler) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	through := pmetric.NewMetrics()
	superseded, passed := 0, 0
	ds.mu.Lock()
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		resHash := metrickey.Resource(rm.Resource())
		sms := rm.ScopeMetrics()
		for j := range sms.Len() {
			sm := sms.At(j)
			ms := sm.Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				eachPoint(m, func(attrs pcommon.Map, copyPoint func(pmetric.Metric) pmetric.Metric) {
					key := metrickey.Of(resHash, sm.Scope(), m, attrs, "")
					s := ds.series[key]
					if s == nil {
						if len(ds.series) >= ds.cfg.MaxSeries {
							copyPoint(appendMetric(through, rm, sm, m))
							passed++
							return
						}
						s = &heldSeries{md: pmetric.NewMetrics()}
						ds.series[key] = s
						ds.order = append(ds.order, key)
					}
					held := heldMetric(s.md)
					if s.points > 0 {
						superseded++ // replaced by this point, or folded into the aggregate
					}
					if s.points == 0 || ds.cfg.Mode == "last" || !mergeable(m) {
						held = resetMetric(s.md, rm, sm, m)
						copyPoint(held)
						s.points = 1
						return
					}
					merge(held, copyPoint(pmetric.NewMetric()), s.points)
					s.points++
				})
			}
		}
	}
	ds.mu.Unlock()
	ds.count(ctx, "drop", superseded)
	ds.count(ctx, "keep", passed)
	if passed > 0 {
		return ds.next.ConsumeMetrics(ctx, through)
	}
	return nil
}

// flush emits the held point of every series that received one this interval.
func (ds *downsampler) flush(ctx context.Context) {
	out := pmetric.NewMetrics()
	ds.mu.Lock()
	kept := ds.order[:0]
	for _, key := range ds.order {
		s := ds.series[key]
		if s.points == 0 { // nothing this interval: the series is forgotten
			delete(ds.series, key)
			continue
		}
		s.md.ResourceMetrics().MoveAndAppendTo(out.ResourceMetrics())
		s.points = 0
		kept = append(kept, key)
	}
	ds.order = kept
	ds.mu.Unlock()
	if out.DataPointCount() == 0 {
		return
	}
	ds.count(ctx, "keep", out.DataPointCount())
	if err := ds.next.ConsumeMetrics(ctx, out); err != nil {
		ds.p.set.Logger.Warn("the next consumer refused downsampled metrics", zap.Int("points", out.DataPointCount()), zap.Error(err))
	}
}

func (ds *downsampler) count(ctx context.Context, decision string, n int) {
	if n > 0 {
		ds.p.telemetry.ProcessorSamplingMetricPoints.Add(ctx, int64(n), metric.WithAttributes(attribute.String("decision", decision)))
	}
}

// eachPoint calls f for each data point of m with its attributes and a function that copies the point, alone,
// into a metric (setting the metric's type and temporality) and returns that metric.
func eachPoint(m pmetric.Metric, f func(pcommon.Map, func(pmetric.Metric) pmetric.Metric)) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f(dp.Attributes(), func(dst pmetric.Metric) pmetric.Metric {
				dp.CopyTo(dst.SetEmptyGauge().DataPoints().AppendEmpty())
				return dst
			})
		}
	case pmetric.MetricTypeSum:
		dps := m.Sum().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f(dp.Attributes(), func(dst pmetric.Metric) pmetric.Metric {
				sum := dst.SetEmptySum()
				sum.SetAggregationTemporality(m.Sum().AggregationTemporality())
				sum.SetIsMonotonic(m.Sum().IsMonotonic())
				dp.CopyTo(sum.DataPoints().AppendEmpty())
				return dst
			})
		}
	case pmetric.MetricTypeHistogram:
		dps := m.Histogram().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f(dp.Attributes(), func(dst pmetric.Metric) pmetric.Metric {
				h := dst.SetEmptyHistogram()
				h.SetAggregationTemporality(m.Histogram().AggregationTemporality())
				dp.CopyTo(h.DataPoints().AppendEmpty())
				return dst
			})
		}
	case pmetric.MetricTypeExponentialHistogram:
		dps := m.ExponentialHistogram().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f(dp.Attributes(), func(dst pmetric.Metric) pmetric.Metric {
				h := dst.SetEmptyExponentialHistogram()
				h.SetAggregationTemporality(m.ExponentialHistogram().AggregationTemporality())
				dp.CopyTo(h.DataPoints().AppendEmpty())
				return dst
			})
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			f(dp.Attributes(), func(dst pmetric.Metric) pmetric.Metric {
				dp.CopyTo(dst.SetEmptySummary().DataPoints().AppendEmpty())
				return dst
			})
		}
	}
}

func appendMetric(md pmetric.Metrics, rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, m pmetric.Metric) pmetric.Metric {
	out := md.ResourceMetrics().AppendEmpty()
	rm.Resource().CopyTo(out.Resource())
	out.SetSchemaUrl(rm.SchemaUrl())
	scope := out.ScopeMetrics().AppendEmpty()
	sm.Scope().CopyTo(scope.Scope())
	scope.SetSchemaUrl(sm.SchemaUrl())
	dst := scope.Metrics().AppendEmpty()
	dst.SetName(m.Name())
	dst.SetDescription(m.Description())
	dst.SetUnit(m.Unit())
	m.Metadata().CopyTo(dst.Metadata())
	return dst
}

// resetMetric makes md the series' resource, scope and (empty) metric again and returns the metric.
func resetMetric(md pmetric.Metrics, rm pmetric.ResourceMetrics, sm pmetric.ScopeMetrics, m pmetric.Metric) pmetric.Metric {
	md.ResourceMetrics().RemoveIf(func(pmetric.ResourceMetrics) bool { return true })
	return appendMetric(md, rm, sm, m)
}

func heldMetric(md pmetric.Metrics) pmetric.Metric {
	if md.ResourceMetrics().Len() == 0 {
		return pmetric.NewMetric()
	}
	return md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().At(0)
}

// mergeable reports whether aggregate mode combines the metric's points: gauges, and delta sums and histograms.
func mergeable(m pmetric.Metric) bool {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return true
	case pmetric.MetricTypeSum:
		return m.Sum().AggregationTemporality() == pmetric.AggregationTemporalityDelta
	case pmetric.MetricTypeHistogram:
		return m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityDelta
	}
	return false
}

// merge folds the one point of next into the one point of held, which already combines n points.
func merge(held, next pmetric.Metric, n int) {
	switch held.Type() {
	case pmetric.MetricTypeGauge:
		h, x := held.Gauge().DataPoints().At(0), next.Gauge().DataPoints().At(0)
		avg := (points.Value(h)*float64(n) + points.Value(x)) / float64(n+1)
		x.CopyTo(h)
		h.SetDoubleValue(avg)
	case pmetric.MetricTypeSum:
		h, x := held.Sum().DataPoints().At(0), next.Sum().DataPoints().At(0)
		start := h.StartTimestamp()
		if h.ValueType() == pmetric.NumberDataPointValueTypeInt && x.ValueType() == pmetric.NumberDataPointValueTypeInt {
			total := h.IntValue() + x.IntValue()
			x.CopyTo(h)
			h.SetIntValue(total)
		} else {
			total := points.Value(h) + points.Value(x)
			x.CopyTo(h)
			h.SetDoubleValue(total)
		}
		h.SetStartTimestamp(start)
	case pmetric.MetricTypeHistogram:
		h, x := held.Histogram().DataPoints().At(0), next.Histogram().DataPoints().At(0)
		if !slices.Equal(h.ExplicitBounds().AsRaw(), x.ExplicitBounds().AsRaw()) {
			x.CopyTo(h) // the bounds changed: the newest point stands alone
			return
		}
		counts := h.BucketCounts().AsRaw()
		for i, c := range x.BucketCounts().AsRaw() {
			counts[i] += c
		}
		h.BucketCounts().FromRaw(counts)
		h.SetCount(h.Count() + x.Count())
		h.SetSum(h.Sum() + x.Sum())
		if x.HasMin() && (!h.HasMin() || x.Min() < h.Min()) {
			h.SetMin(x.Min())
		}
		if x.HasMax() && (!h.HasMax() || x.Max() > h.Max()) {
			h.SetMax(x.Max())
		}
		h.SetTimestamp(x.Timestamp())
	}
}
