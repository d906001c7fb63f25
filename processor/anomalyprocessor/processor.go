package anomalyprocessor // import "github.com/otelstrata/strata/processor/anomalyprocessor"

import (
	"bytes"
	"container/list"
	"context"
	"encoding/binary"
	"errors"
	"math"
	"sort"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottldatapoint"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/anomaly"
	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/internal/metrickey"
	"github.com/otelstrata/strata/internal/points"
	"github.com/otelstrata/strata/internal/semconv"
	"github.com/otelstrata/strata/internal/storageclient"
	"github.com/otelstrata/strata/processor/anomalyprocessor/internal/metadata"
)

// The metrics the processor adds beside each watched series (the event contract, docs/events.md).
const (
	metricScore    = semconv.MetricAnomalyScore
	metricExpected = semconv.MetricAnomalyExpected
	metricLower    = semconv.MetricAnomalyLower
	metricUpper    = semconv.MetricAnomalyUpper
	metricAlarm    = semconv.MetricAnomalyAlarm
	metricValue    = semconv.MetricAnomalyValue
	attrMetric     = semconv.AttrAnomalyMetric
	attrStatistic  = semconv.AttrAnomalyStatistic
)

// series is a watched series: its model and what its next point is compared with.
type series struct {
	key      metrickey.Key
	detector *anomaly.Detector
	last     pcommon.Timestamp // of the last point scored
	// previous cumulative value (sums) or count and sum (histograms), for rates and per-interval statistics
	prev, prevSum float64
	prevCount     uint64
	hasPrev       bool
	elem          *list.Element // in the least-recently-seen list
}

type anomalyProcessor struct {
	cfg       *Config
	set       processor.Settings
	telemetry *metadata.TelemetryBuilder
	detector  anomaly.Config

	conditions *ottl.ConditionSequence[*ottldatapoint.TransformContext]

	clock clock.Clock // points are checked against its time; the pipeline's from Start

	mu      sync.Mutex
	series  map[metrickey.Key]*series
	lru     *list.List      // front: most recently seen
	watched map[string]bool // whether a metric name is watched, as Config.watches said, for up to maxWatchedNames names
	client  storage.Client

	loop *clock.Loop // saves the models every save_interval
}

func newProcessor(cfg *Config, set processor.Settings) *anomalyProcessor {
	return &anomalyProcessor{cfg: cfg, set: set, detector: cfg.detectorConfig(), clock: clock.Real{},
		series: map[metrickey.Key]*series{}, lru: list.New(), watched: map[string]bool{}}
}

// maxWatchedNames bounds how many metric names the processor remembers it watches or not.
const maxWatchedNames = 10000

// watches reports whether a metric is watched, remembering the answer. The caller holds mu.
func (p *anomalyProcessor) watches(name string) bool {
	w, ok := p.watched[name]
	if !ok {
		w = p.cfg.watches(name)
		if len(p.watched) < maxWatchedNames {
			p.watched[name] = w
		}
	}
	return w
}

// Start restores the models from storage and starts saving them periodically.
func (p *anomalyProcessor) Start(ctx context.Context, host component.Host) error {
	p.clock = clock.FromHost(host, p.clock)
	var err error
	if p.telemetry, err = metadata.NewTelemetryBuilder(p.set.TelemetrySettings); err != nil {
		return err
	}
	if len(p.cfg.Conditions) > 0 {
		if p.conditions, err = parseConditions(p.cfg.Conditions, p.set.TelemetrySettings); err != nil {
			return err
		}
	}
	if p.cfg.Storage == nil {
		return nil
	}
	if p.client, err = storageclient.Open(ctx, host, p.cfg.Storage, component.KindProcessor, p.set.ID); err != nil {
		return err
	}
	if err := p.restore(ctx); err != nil {
		// A model that cannot be read is learned again: that is no reason not to start.
		p.set.Logger.Warn("the saved anomaly models could not be restored; they are learned again", zap.Error(err))
	}
	p.loop = clock.Start(p.clock, clock.Task{Every: p.cfg.SaveInterval, Run: func(ctx context.Context, _ time.Time) {
		if err := p.save(ctx); err != nil {
			p.set.Logger.Warn("saving the anomaly models failed", zap.Error(err))
		}
	}})
	return nil
}

// Shutdown saves the models one last time.
func (p *anomalyProcessor) Shutdown(ctx context.Context) error {
	p.loop.Stop()
	var err error
	if p.client != nil {
		err = errors.Join(p.save(ctx), p.client.Close(ctx))
		p.client = nil
	}
	if p.telemetry != nil {
		p.telemetry.Shutdown()
	}
	return err
}

// processMetrics scores the points of watched series and adds the scores and bands beside the data.
func (p *anomalyProcessor) processMetrics(ctx context.Context, md pmetric.Metrics) (pmetric.Metrics, error) {
	scored, anomalies, evicted, skipped, alarms := p.score(ctx, md)
	for view, n := range alarms {
		p.telemetry.ProcessorAnomalyAlarms.Add(ctx, int64(n), metric.WithAttributes(attribute.String("view", view)))
	}
	p.telemetry.ProcessorAnomalyPoints.Add(ctx, int64(scored), metric.WithAttributes(
		attribute.String("outcome", "scored"), attribute.String("reason", "")))
	for reason, n := range skipped {
		p.telemetry.ProcessorAnomalyPoints.Add(ctx, int64(n), metric.WithAttributes(
			attribute.String("outcome", "skipped"), attribute.String("reason", reason)))
	}
	if anomalies > 0 {
		p.telemetry.ProcessorAnomalyAnomalies.Add(ctx, int64(anomalies))
	}
	if evicted > 0 {
		p.telemetry.ProcessorAnomalyEvictions.Add(ctx, int64(evicted))
	}
	return md, nil
}

// score runs the points of watched series through their models, adds the scores, bands and alarms to md, and
// returns how many points it scored, how many were anomalous, how many series it forgot, the points it skipped by
// reason and the alarms by view.
func (p *anomalyProcessor) score(ctx context.Context, md pmetric.Metrics) (scored, anomalies, evicted int, skipped, alarms map[string]int) {
	skipped, alarms = map[string]int{}, map[string]int{}
	p.mu.Lock()
	defer p.mu.Unlock()
	future := pcommon.NewTimestampFromTime(p.clock.Now().Add(p.cfg.MaxClockSkew))
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		rm := rms.At(i)
		res := metrickey.Resource(rm.Resource())
		var out *outputs
		sms := rm.ScopeMetrics()
		n := sms.Len() // the scope added below is not read
		for j := range n {
			sm := sms.At(j)
			ms := sm.Metrics()
			if !p.cfg.KeepForeignScores {
				ms.RemoveIf(func(m pmetric.Metric) bool {
					if !strings.HasPrefix(m.Name(), semconv.PrefixAnomaly) {
						return false
					}
					skipped["foreign_score"] += pointCount(m)
					return true
				})
			}
			for k := range ms.Len() {
				m := ms.At(k)
				if !p.watches(m.Name()) {
					continue
				}
				eachValue(m, p.cfg.Quantile, func(dp any, attrs pcommon.Map, ts pcommon.Timestamp, statistic string, v value) {
					if p.conditions != nil {
						tCtx := ottldatapoint.NewTransformContextPtr(rm, sm, m, dp)
						ok, _ := p.conditions.Eval(ctx, tCtx) // a condition that fails to evaluate does not match
						tCtx.Close()
						if !ok {
							return
						}
					}
					key := metrickey.Of(res, sm.Scope(), m, attrs, statistic)
					s, ev := p.seriesOf(key)
					evicted += ev
					x, reason := s.next(ts, future, v)
					if reason != "" {
						skipped[reason]++
						return
					}
					r := s.detector.Update(ts.AsTime(), x)
					scored++
					if r.Score >= p.cfg.Threshold {
						anomalies++
					}
					if r.Alarm {
						alarms[r.View]++
					}
					if p.cfg.Emit == "all" || r.Score >= p.cfg.Threshold || r.Alarm {
						if out == nil {
							out = newOutputs(rm.ScopeMetrics().AppendEmpty(), p.set.BuildInfo.Version)
						}
						out.add(m.Name(), statistic, attrs, ts, x, r)
					}
				})
			}
		}
	}
	return scored, anomalies, evicted, skipped, alarms
}

// seriesOf finds or creates a series (forgetting the least recently seen beyond max_series). The caller holds mu.
func (p *anomalyProcessor) seriesOf(key metrickey.Key) (*series, int) {
	if s := p.series[key]; s != nil {
		p.lru.MoveToFront(s.elem)
		return s, 0
	}
	evicted := 0
	for len(p.series) >= p.cfg.MaxSeries {
		oldest := p.lru.Back()
		delete(p.series, oldest.Value.(*series).key)
		p.lru.Remove(oldest)
		evicted++
	}
	s := &series{key: key, detector: anomaly.New(p.detector)}
	s.elem = p.lru.PushFront(s)
	p.series[key] = s
	p.telemetry.ProcessorAnomalySeries.Add(context.Background(), int64(1-evicted))
	return s, evicted
}

// value is what a data point gives a series: a number, or a cumulative total to turn into a rate, or a
// cumulative histogram's count and sum to turn into the mean of the interval.
type value struct {
	x          float64
	cumulative bool // x is a growing total: the series watches its rate per second
	count      uint64
	sum        float64
	histogram  bool // count and sum of a cumulative histogram: the series watches the interval's mean
	bad        string
}

// next returns the number the detector sees for a point, or why the point is skipped. Points must be newer than the
// last and no later than future (a point from a clock far ahead would make every later point look out of order);
// rates need the previous total; a total that went down was reset (the point only starts the next rate).
func (s *series) next(ts, future pcommon.Timestamp, v value) (float64, string) {
	if v.bad != "" {
		return 0, v.bad
	}
	switch {
	case ts > future:
		return 0, "future"
	case s.last != 0 && ts == s.last:
		return 0, "duplicate"
	case s.last != 0 && ts < s.last:
		return 0, "out_of_order"
	}
	if math.IsNaN(v.x) || math.IsNaN(v.sum) {
		return 0, "nan"
	}
	if math.IsInf(v.x, 0) || math.IsInf(v.sum, 0) {
		return 0, "infinite"
	}
	prevTS, prev, prevSum, prevCount, hasPrev := s.last, s.prev, s.prevSum, s.prevCount, s.hasPrev
	s.last, s.prev, s.prevSum, s.prevCount, s.hasPrev = ts, v.x, v.sum, v.count, true
	switch {
	case v.histogram:
		if !hasPrev {
			return 0, "first_total"
		}
		if v.count < prevCount {
			return 0, "counter_reset"
		}
		if v.count == prevCount {
			return 0, "empty_histogram"
		}
		return (v.sum - prevSum) / float64(v.count-prevCount), ""
	case v.cumulative:
		if !hasPrev {
			return 0, "first_total"
		}
		if v.x < prev {
			return 0, "counter_reset"
		}
		seconds := float64(ts-prevTS) / 1e9
		return (v.x - prev) / seconds, ""
	}
	return v.x, ""
}

// eachValue calls f for each series value of a metric's points: gauges and non-monotonic sums as they are,
// monotonic cumulative sums as rates, delta sums as the interval's value, histograms as the mean of the interval
// (delta ones: of the point) and a quantile of the point's buckets, summaries by quantile.
func eachValue(m pmetric.Metric, quantile float64, f func(any, pcommon.Map, pcommon.Timestamp, string, value)) {
	q := "p" + strconv.FormatFloat(quantile*100, 'f', -1, 64)
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		dps := m.Gauge().DataPoints()
		for i := range dps.Len() {
			f(dps.At(i), dps.At(i).Attributes(), dps.At(i).Timestamp(), "value", value{x: points.Value(dps.At(i))})
		}
	case pmetric.MetricTypeSum:
		sum := m.Sum()
		rate := sum.IsMonotonic() && sum.AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		statistic := "value"
		if rate {
			statistic = "rate"
		}
		dps := sum.DataPoints()
		for i := range dps.Len() {
			f(dps.At(i), dps.At(i).Attributes(), dps.At(i).Timestamp(), statistic, value{x: points.Value(dps.At(i)), cumulative: rate})
		}
	case pmetric.MetricTypeHistogram:
		cumulative := m.Histogram().AggregationTemporality() == pmetric.AggregationTemporalityCumulative
		dps := m.Histogram().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			if cumulative {
				f(dp, dp.Attributes(), dp.Timestamp(), "mean", value{count: dp.Count(), sum: dp.Sum(), histogram: true})
			} else if dp.Count() == 0 {
				f(dp, dp.Attributes(), dp.Timestamp(), "mean", value{bad: "empty_histogram"})
			} else {
				f(dp, dp.Attributes(), dp.Timestamp(), "mean", value{x: dp.Sum() / float64(dp.Count())})
			}
			x, ok := bucketQuantile(dp, quantile)
			v := value{x: x}
			if !ok {
				v.bad = "empty_histogram"
			}
			f(dp, dp.Attributes(), dp.Timestamp(), q, v)
		}
	case pmetric.MetricTypeSummary:
		dps := m.Summary().DataPoints()
		for i := range dps.Len() {
			dp := dps.At(i)
			v := value{bad: "no_quantile"}
			qs := dp.QuantileValues()
			for j := range qs.Len() {
				if math.Abs(qs.At(j).Quantile()-quantile) < 1e-9 {
					v = value{x: qs.At(j).Value()}
				}
			}
			f(dp, dp.Attributes(), dp.Timestamp(), q, v)
		}
	}
}

// bucketQuantile estimates a quantile of a histogram point by linear interpolation in the bucket that holds it (the
// counts of a cumulative point: the distribution since its start).
func bucketQuantile(dp pmetric.HistogramDataPoint, q float64) (float64, bool) {
	counts, bounds := dp.BucketCounts().AsRaw(), dp.ExplicitBounds().AsRaw()
	if dp.Count() == 0 || len(counts) == 0 || len(counts) != len(bounds)+1 {
		return 0, false
	}
	rank := q * float64(dp.Count())
	cum := 0.0
	for i, c := range counts {
		if cum+float64(c) >= rank && c > 0 {
			lower, upper := 0.0, 0.0
			switch {
			case len(bounds) == 0:
				return dp.Sum() / float64(dp.Count()), true
			case i == 0:
				lower, upper = math.Min(0, bounds[0]), bounds[0]
			case i == len(bounds):
				return bounds[len(bounds)-1], true // the overflow bucket: its lower bound
			default:
				lower, upper = bounds[i-1], bounds[i]
			}
			return lower + (upper-lower)*(rank-cum)/float64(c), true
		}
		cum += float64(c)
	}
	return bounds[len(bounds)-1], true
}

// pointCount returns how many points a metric holds.
func pointCount(m pmetric.Metric) int {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		return m.Gauge().DataPoints().Len()
	case pmetric.MetricTypeSum:
		return m.Sum().DataPoints().Len()
	case pmetric.MetricTypeHistogram:
		return m.Histogram().DataPoints().Len()
	case pmetric.MetricTypeExponentialHistogram:
		return m.ExponentialHistogram().DataPoints().Len()
	case pmetric.MetricTypeSummary:
		return m.Summary().DataPoints().Len()
	}
	return 0
}

// outputs are the score, value, band and alarm gauges added to one resource, in a scope of the processor's.
type outputs struct {
	score, value, expected, lower, upper, alarm pmetric.NumberDataPointSlice
}

func newOutputs(sm pmetric.ScopeMetrics, version string) *outputs {
	sm.Scope().SetName(metadata.ScopeName)
	sm.Scope().SetVersion(version)
	gauge := func(name, description string) pmetric.NumberDataPointSlice {
		m := sm.Metrics().AppendEmpty()
		m.SetName(name)
		m.SetDescription(description)
		if name == metricScore || name == metricAlarm {
			m.SetUnit("1")
		}
		return m.SetEmptyGauge().DataPoints()
	}
	return &outputs{
		score:    gauge(metricScore, "How anomalous the watched series' point is, from 0 (normal) to 1."),
		value:    gauge(metricValue, "The value of the watched series that was scored: the point's own, a counter's rate per second, a histogram's mean or quantile of the interval."),
		expected: gauge(metricExpected, "The value the watched series was expected to have (in its own unit)."),
		lower:    gauge(metricLower, "The lower bound of the watched series' normal band."),
		upper:    gauge(metricUpper, "The upper bound of the watched series' normal band."),
		alarm:    gauge(metricAlarm, "1 where the watched series' point raised the alarm (held to alarm_budget false alarms a day), else 0."),
	}
}

// add adds the gauges' points of the watched point whose scored value is v.
func (o *outputs) add(name, statistic string, attrs pcommon.Map, ts pcommon.Timestamp, v float64, r anomaly.Result) {
	for _, x := range []struct {
		dps pmetric.NumberDataPointSlice
		v   float64
	}{{o.score, r.Score}, {o.value, v}, {o.expected, r.Expected}, {o.lower, r.Lower}, {o.upper, r.Upper}, {o.alarm, alarmValue(r.Alarm)}} {
		dp := x.dps.AppendEmpty()
		dp.SetTimestamp(ts)
		dp.SetDoubleValue(x.v)
		attrs.CopyTo(dp.Attributes())
		dp.Attributes().PutStr(attrMetric, name)
		dp.Attributes().PutStr(attrStatistic, statistic)
	}
}

func alarmValue(alarm bool) float64 {
	if alarm {
		return 1
	}
	return 0
}

// The models are saved as one blob: per series, its key, its last timestamp and totals, and its detector's model.
const stateKey = "models"

func (p *anomalyProcessor) save(ctx context.Context) error {
	p.mu.Lock()
	var buf bytes.Buffer
	keys := make([]metrickey.Key, 0, len(p.series))
	for k := range p.series {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return bytes.Compare(keys[i][:], keys[j][:]) < 0 })
	for _, k := range keys {
		s := p.series[k]
		model, err := s.detector.MarshalBinary()
		if err != nil {
			p.mu.Unlock()
			return err
		}
		buf.Write(k[:])
		var hdr [8 + 8 + 8 + 8 + 1 + 4]byte
		binary.LittleEndian.PutUint64(hdr[0:], uint64(s.last))
		binary.LittleEndian.PutUint64(hdr[8:], math.Float64bits(s.prev))
		binary.LittleEndian.PutUint64(hdr[16:], math.Float64bits(s.prevSum))
		binary.LittleEndian.PutUint64(hdr[24:], s.prevCount)
		if s.hasPrev {
			hdr[32] = 1
		}
		binary.LittleEndian.PutUint32(hdr[33:], uint32(len(model)))
		buf.Write(hdr[:])
		buf.Write(model)
	}
	p.mu.Unlock()
	return p.client.Set(ctx, stateKey, buf.Bytes())
}

func (p *anomalyProcessor) restore(ctx context.Context) error {
	data, err := p.client.Get(ctx, stateKey)
	if err != nil || data == nil {
		return err
	}
	p.mu.Lock()
	defer p.mu.Unlock()
	future := pcommon.NewTimestampFromTime(p.clock.Now().Add(p.cfg.MaxClockSkew))
	refused, repaired := 0, 0
	const hdrLen = 16 + 8 + 8 + 8 + 8 + 1 + 4
	for len(data) > 0 && len(p.series) < p.cfg.MaxSeries {
		if len(data) < hdrLen {
			return errors.New("saved models: truncated")
		}
		var key metrickey.Key
		copy(key[:], data)
		h := data[16:]
		s := &series{key: key, detector: anomaly.New(p.detector),
			last:      pcommon.Timestamp(binary.LittleEndian.Uint64(h[0:])),
			prev:      math.Float64frombits(binary.LittleEndian.Uint64(h[8:])),
			prevSum:   math.Float64frombits(binary.LittleEndian.Uint64(h[16:])),
			prevCount: binary.LittleEndian.Uint64(h[24:]),
			hasPrev:   h[32] == 1,
		}
		n := int(binary.LittleEndian.Uint32(h[33:]))
		data = data[hdrLen:]
		if len(data) < n {
			return errors.New("saved models: truncated")
		}
		err := s.detector.UnmarshalBinary(data[:n])
		data = data[n:]
		if err != nil {
			refused++ // this series is learned again; the others are restored
			continue
		}
		if s.last > future || math.IsNaN(s.prev) || math.IsInf(s.prev, 0) || math.IsNaN(s.prevSum) || math.IsInf(s.prevSum, 0) {
			// Saved by a version that let a point from a clock far ahead in: the next point starts afresh.
			s.last, s.hasPrev = 0, false
			repaired++
		}
		s.elem = p.lru.PushBack(s)
		p.series[key] = s
	}
	p.telemetry.ProcessorAnomalySeries.Add(ctx, int64(len(p.series)))
	if refused > 0 || repaired > 0 {
		p.set.Logger.Warn("some saved anomaly models were not restored whole",
			zap.Int("learned_again", refused), zap.Int("clock_reset", repaired))
	}
	return nil
}
