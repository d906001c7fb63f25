package main

import (
	"cmp"
	"math"
	"slices"
	"strings"

	"github.com/cespare/xxhash/v2"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelstrata/strata/internal/semconv"
)

// timelineBuckets is how many buckets a timeline has across the history: each keeps its lowest and highest value.
const timelineBuckets = 600

// labelKey returns a series' identity as its alert would show it: the metric, then its attributes as Prometheus
// label names, sorted.
func labelKey(metric string, labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		keys = append(keys, k)
	}
	slices.Sort(keys)
	var b strings.Builder
	b.WriteString(metric)
	for _, k := range keys {
		b.WriteString("\x00" + k + "=" + labels[k])
	}
	return b.String()
}

// promLabels returns attributes as Prometheus labels, leaving out those named in skip.
func promLabels(maps []pcommon.Map, skip ...string) map[string]string {
	out := map[string]string{}
	for _, m := range maps {
		for k, v := range m.All() {
			if !slices.Contains(skip, k) {
				out[semconv.PromLabel(k)] = v.AsString()
			}
		}
	}
	return out
}

// buckets are a series' lowest and highest values in each bucket of the history's time.
type buckets struct{ lo, hi []float64 }

func newBuckets() *buckets {
	b := &buckets{lo: make([]float64, timelineBuckets), hi: make([]float64, timelineBuckets)}
	for i := range b.lo {
		b.lo[i], b.hi[i] = math.NaN(), math.NaN()
	}
	return b
}

// add puts a value into bucket i.
func (b *buckets) add(i int, lo, hi float64) {
	if math.IsNaN(b.lo[i]) || lo < b.lo[i] {
		b.lo[i] = lo
	}
	if math.IsNaN(b.hi[i]) || hi > b.hi[i] {
		b.hi[i] = hi
	}
}

// span is the history's time, in Unix nanoseconds, that the timelines cover.
type span struct{ from, to int64 }

// bucket returns the bucket of time t.
func (s span) bucket(t int64) int {
	if s.to <= s.from {
		return 0
	}
	return min(max(int((t-s.from)*timelineBuckets/(s.to-s.from+1)), 0), timelineBuckets-1)
}

// bucketSet keeps series in buckets for the report's timelines: the anomaly processor's expected bands (its lower
// and upper points), and the values of OTLP/JSON history.
type bucketSet struct {
	span   span
	series map[uint64]*bucketSeries // by seriesHash of the metric and its attributes
	max    int
}

// bucketSeries is one series' buckets and its labelKey.
type bucketSeries struct {
	key string
	*buckets
}

func newBucketSet(sp span, maxSeries int) *bucketSet {
	return &bucketSet{span: sp, series: map[uint64]*bucketSeries{}, max: maxSeries}
}

// add records a point of the series that metric and its attributes name (the anomaly processor's own left out).
func (b *bucketSet) add(metric string, res, attrs pcommon.Map, t int64, v float64) {
	h := seriesHash(metric, res, attrs)
	bs, ok := b.series[h]
	if !ok {
		if len(b.series) >= b.max {
			return
		}
		key := labelKey(metric, promLabels([]pcommon.Map{res, attrs}, semconv.AttrAnomalyMetric, semconv.AttrAnomalyStatistic))
		bs = &bucketSeries{key: key, buckets: newBuckets()}
		b.series[h] = bs
	}
	bs.add(b.span.bucket(t), v, v)
}

// byKey returns the series' buckets by labelKey.
func (b *bucketSet) byKey() map[string]*buckets {
	out := make(map[string]*buckets, len(b.series))
	for _, bs := range b.series {
		out[bs.key] = bs.buckets
	}
	return out
}

// seriesHash returns a hash of a metric and its attributes (but the anomaly processor's own) that does not depend
// on their order: the sum of each pair's hash. It is computed for every band point, where labelKey would cost a map
// and a sort.
func seriesHash(metric string, maps ...pcommon.Map) uint64 {
	h := xxhash.Sum64String(metric)
	var d xxhash.Digest
	for _, m := range maps {
		for k, v := range m.All() {
			if k == semconv.AttrAnomalyMetric || k == semconv.AttrAnomalyStatistic {
				continue
			}
			d.Reset()
			d.WriteString(k)
			d.WriteString("\x00")
			d.WriteString(v.AsString())
			h += d.Sum64()
		}
	}
	return h
}

// alertSeriesKey returns the labelKey of the series an alert watches: its labels without those the rule adds, and
// the metric of the rule (an anomaly rule's alert names it).
func alertSeriesKey(a alertEpisode, rule ruleInfo) string {
	labels := map[string]string{}
	for k, v := range a.Labels {
		switch {
		case k == "alertname" || k == "severity" || slices.Contains(rule.labels, k):
		case k == semconv.PromLabel(semconv.AttrAnomalyMetric) || k == semconv.PromLabel(semconv.AttrAnomalyStatistic):
		default:
			labels[k] = v
		}
	}
	metric := cmp.Or(a.Labels[semconv.PromLabel(semconv.AttrAnomalyMetric)], rule.metric)
	return labelKey(metric, labels)
}

// ruleInfo is what the report needs of an alert rule.
type ruleInfo struct {
	kind, metric string
	value        float64
	labels       []string // the label names the rule adds
}
