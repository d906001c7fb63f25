package main

import (
	"cmp"
	"math"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// resourcePrefixes are the attribute namespaces of OpenTelemetry's resource conventions: a label in one of them
// describes the resource a series comes from, not the point.
var resourcePrefixes = []string{"service.", "host.", "k8s.", "container.", "cloud.", "deployment.", "os.",
	"process.", "faas.", "telemetry.", "device.", "net.host.", "server."}

// seriesDesc is one series of history: its metric, its resource and point attributes, and whether it is a
// counter (a monotonic cumulative sum).
type seriesDesc struct {
	name     string
	resource [][2]string // sorted by key
	attrs    [][2]string // sorted by key
	counter  bool
	resKey   string // the resource's identity
}

// newSeriesDesc returns the series of a metric and its labels, placed as the collector's prometheus receiver
// places them: job becomes service.name (a "namespace/name" job also service.namespace), instance
// service.instance.id, a label in a resource namespace (host.name, k8s.pod.name, ...) a resource attribute, and
// every other label a point attribute. A name ending in _total is a counter.
func newSeriesDesc(name string, labels map[string]string) seriesDesc {
	d := seriesDesc{name: name, counter: strings.HasSuffix(name, "_total")}
	for k, v := range labels {
		switch {
		case k == "__name__":
		case k == "job":
			if ns, svc, ok := strings.Cut(v, "/"); ok {
				d.resource = append(d.resource, [2]string{"service.namespace", ns}, [2]string{"service.name", svc})
			} else {
				d.resource = append(d.resource, [2]string{"service.name", v})
			}
		case k == "instance":
			d.resource = append(d.resource, [2]string{"service.instance.id", v})
		case isResourceKey(k):
			d.resource = append(d.resource, [2]string{k, v})
		default:
			d.attrs = append(d.attrs, [2]string{k, v})
		}
	}
	byKey := func(a, b [2]string) int { return cmp.Compare(a[0], b[0]) }
	slices.SortFunc(d.resource, byKey)
	slices.SortFunc(d.attrs, byKey)
	d.resKey = joinPairs(d.resource)
	return d
}

func isResourceKey(k string) bool {
	for _, p := range resourcePrefixes {
		if strings.HasPrefix(k, p) {
			return true
		}
	}
	return false
}

func joinPairs(pairs [][2]string) string {
	var b strings.Builder
	for _, kv := range pairs {
		b.WriteString(kv[0])
		b.WriteByte(0)
		b.WriteString(kv[1])
		b.WriteByte(0)
	}
	return b.String()
}

// key returns the series' identity.
func (d seriesDesc) key() string { return d.name + "\x01" + d.resKey + "\x01" + joinPairs(d.attrs) }

// sample is one point of a series.
type sample struct {
	t      int64 // unix nanoseconds
	series int32
	v      float64
}

// inputCounts are what the history held besides its points, as the summary reports them.
type inputCounts struct {
	Points     int `json:"points"`
	Spans      int `json:"spans,omitempty"`
	Records    int `json:"log_records,omitempty"`
	Series     int `json:"series"`
	Duplicates int `json:"duplicates"`   // a second point of a series at the same time: the last one is kept
	OutOfOrder int `json:"out_of_order"` // points older than one before them in their series: sorted into place
	Resets     int `json:"resets"`       // a counter that went down: passed on, as the live receiver would
	Gaps       int `json:"gaps"`         // more than twice a series' usual step without a point: passed on
	NaN        int `json:"not_a_number"` // NaN or infinite values (a ratio of zeros, a stale marker): left out
}

func (c *inputCounts) add(o inputCounts) {
	c.Points += o.Points
	c.Spans += o.Spans
	c.Records += o.Records
	c.Series += o.Series
	c.Duplicates += o.Duplicates
	c.OutOfOrder += o.OutOfOrder
	c.Resets += o.Resets
	c.Gaps += o.Gaps
	c.NaN += o.NaN
}

// seriesStore holds the history of many series compactly (24 bytes a point) and replays it by time.
type seriesStore struct {
	series  []seriesDesc
	index   map[string]int32
	samples []sample
	counts  inputCounts
	next    int       // the replay's position in samples
	starts  []int64   // each counter's start time, moved at a reset
	lastV   []float64 // each series' last value replayed
}

func newSeriesStore() *seriesStore { return &seriesStore{index: map[string]int32{}} }

// reserve makes room for n more points.
func (s *seriesStore) reserve(n int) { s.samples = slices.Grow(s.samples, n) }

// add appends a point of the series d; a value that is not a number is counted and left out.
func (s *seriesStore) add(d seriesDesc, t time.Time, v float64) {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		s.counts.NaN++
		return
	}
	k := d.key()
	i, ok := s.index[k]
	if !ok {
		i = int32(len(s.series))
		s.series = append(s.series, d)
		s.index[k] = i
	}
	s.samples = append(s.samples, sample{t: t.UnixNano(), series: i, v: v})
}

// prepare sorts the points by time, drops duplicates and counts what the history held.
func (s *seriesStore) prepare() {
	last := make([]int64, len(s.series))
	for _, p := range s.samples {
		if p.t < last[p.series] {
			s.counts.OutOfOrder++
		}
		last[p.series] = max(last[p.series], p.t)
	}
	// Stable: of two points of a series at one time, the one added last stays last, and is kept.
	slices.SortStableFunc(s.samples, func(a, b sample) int {
		return cmp.Or(cmp.Compare(a.t, b.t), cmp.Compare(a.series, b.series))
	})
	kept := s.samples[:0]
	for i, p := range s.samples {
		if i+1 < len(s.samples) && s.samples[i+1].t == p.t && s.samples[i+1].series == p.series {
			s.counts.Duplicates++
			continue
		}
		kept = append(kept, p)
	}
	s.samples = kept
	s.countResetsAndGaps()
	s.counts.Points += len(s.samples)
	s.counts.Series += len(s.series)
	s.starts = make([]int64, len(s.series))
	s.lastV = make([]float64, len(s.series))
}

// countResetsAndGaps counts counters that went down, and intervals over twice a series' shortest step.
func (s *seriesStore) countResetsAndGaps() {
	type state struct {
		t, step int64
		v       float64
		seen    bool
	}
	st := make([]state, len(s.series))
	for _, p := range s.samples {
		x := &st[p.series]
		if x.seen {
			d := p.t - x.t
			if x.step > 0 && d > 2*x.step {
				s.counts.Gaps++
			}
			if x.step == 0 || d < x.step {
				x.step = d
			}
			if s.series[p.series].counter && p.v < x.v {
				s.counts.Resets++
			}
		}
		x.t, x.v, x.seen = p.t, p.v, true
	}
}

// nextBatch returns the points of the next time in the history as metrics, one resource metrics per resource
// and one metric per name, and false at the end.
// A counter's start time is its first point's, and the time of the point after a reset, as the prometheus
// receiver sets it.
func (s *seriesStore) nextBatch() (time.Time, pmetric.Metrics, bool) {
	if s.next >= len(s.samples) {
		return time.Time{}, pmetric.Metrics{}, false
	}
	t := s.samples[s.next].t
	md := pmetric.NewMetrics()
	type metricKey struct {
		res  string
		name string
	}
	resources := map[string]pmetric.ScopeMetrics{}
	metrics := map[metricKey]pmetric.Metric{}
	for ; s.next < len(s.samples) && s.samples[s.next].t == t; s.next++ {
		p := s.samples[s.next]
		d := &s.series[p.series]
		sm, ok := resources[d.resKey]
		if !ok {
			rm := md.ResourceMetrics().AppendEmpty()
			for _, kv := range d.resource {
				rm.Resource().Attributes().PutStr(kv[0], kv[1])
			}
			sm = rm.ScopeMetrics().AppendEmpty()
			sm.Scope().SetName("strata-backtest")
			resources[d.resKey] = sm
		}
		mk := metricKey{d.resKey, d.name}
		m, ok := metrics[mk]
		if !ok {
			m = sm.Metrics().AppendEmpty()
			m.SetName(d.name)
			if d.counter {
				sum := m.SetEmptySum()
				sum.SetIsMonotonic(true)
				sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			} else {
				m.SetEmptyGauge()
			}
			metrics[mk] = m
		}
		var dp pmetric.NumberDataPoint
		if d.counter {
			dp = m.Sum().DataPoints().AppendEmpty()
			if s.starts[p.series] == 0 || p.v < s.lastV[p.series] {
				s.starts[p.series] = p.t
			}
			dp.SetStartTimestamp(pcommon.Timestamp(s.starts[p.series]))
		} else {
			dp = m.Gauge().DataPoints().AppendEmpty()
		}
		dp.SetTimestamp(pcommon.Timestamp(p.t))
		dp.SetDoubleValue(p.v)
		s.lastV[p.series] = p.v
		for _, kv := range d.attrs {
			dp.Attributes().PutStr(kv[0], kv[1])
		}
	}
	return time.Unix(0, t).UTC(), md, true
}
