package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"

import (
	"fmt"
	"math"
	"sort"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// Metric types of values.
const (
	typeGauge     = "gauge"
	typeSum       = "sum"
	typeHistogram = "histogram"
)

// valueDef is a ValueConfig made ready: its defaults resolved and its expression compiled.
type valueDef struct {
	cfg    *ValueConfig
	id     string
	kind   string // gauge, sum or histogram
	isInt  bool
	source string // column or field
	bound  string // bucket_bound: the column or field of a bucket row's upper bound
	prog   *vm.Program
}

func newValueDefs(values []ValueConfig, incremental bool) ([]*valueDef, error) {
	defs := make([]*valueDef, len(values))
	for i := range values {
		v := &values[i]
		d := &valueDef{cfg: v, id: v.id(), kind: v.kind(incremental), isInt: v.ValueType == "int", source: v.Column, bound: v.BucketBound}
		if d.source == "" {
			d.source = v.Field
		}
		if v.Expr != "" {
			d.source = v.Expr // the expression stands for the field it computes
		}
		if v.Expr != "" {
			prog, err := compileValueExpr(v.Expr)
			if err != nil {
				return nil, err
			}
			d.prog = prog
		}
		defs[i] = d
	}
	return defs, nil
}

// compileValueExpr compiles the expression of an HTTP value: it reads the fields of the row (or document).
func compileValueExpr(src string) (*vm.Program, error) {
	return expr.Compile(src, expr.AllowUndefinedVariables())
}

// reading is what one poll of a query or endpoint read: per value, its series by attribute key.
type reading struct {
	defs    []*valueDef
	series  []map[string]*series
	buckets [][]float64
	rows    int
}

func newReading(defs []*valueDef) *reading {
	r := &reading{defs: defs, series: make([]map[string]*series, len(defs)), buckets: make([][]float64, len(defs))}
	for i, d := range defs {
		r.series[i] = map[string]*series{}
		r.buckets[i] = d.cfg.Buckets
	}
	return r
}

// add adds one row: each value's number (read by get) to the series of the row's attributes. Rows with the same
// attributes add up; a histogram observes each row's value, or with bucket_bound takes each row as a bucket count.
func (r *reading) add(attrs *attrSet, get func(name string) (any, error)) error {
	r.rows++
	key := attrs.key()
	for i, d := range r.defs {
		raw, err := get(d.source)
		if err != nil {
			return err
		}
		x, err := toFloat(raw)
		if err != nil {
			return fmt.Errorf("%s %w", d.source, err)
		}
		s := r.series[i][key]
		if s == nil {
			s = &series{attrs: attrs.pmap()}
			if d.kind == typeHistogram {
				s.counts = make([]uint64, len(d.cfg.Buckets)+1)
			}
			r.series[i][key] = s
		}
		if d.kind != typeHistogram {
			s.value += x
			continue
		}
		if d.bound == "" {
			s.counts[sort.SearchFloat64s(d.cfg.Buckets, x)]++ // bounds are inclusive upper bounds
			s.count++
			s.sum += x
			s.value = float64(s.count)
			continue
		}
		if x < 0 || x != math.Trunc(x) {
			return fmt.Errorf("%s: a bucket count must be a whole number, not %v", d.source, x)
		}
		rawBound, err := get(d.bound)
		if err != nil {
			return err
		}
		idx, err := bucketIndex(d.cfg.Buckets, rawBound)
		if err != nil {
			return fmt.Errorf("%s: %w", d.bound, err)
		}
		s.counts[idx] += uint64(x)
		s.count += uint64(x)
		s.value = float64(s.count)
	}
	return nil
}

// bucketIndex returns the bucket whose upper bound a bucket row names: one of the configured bounds, or +Inf (also
// spelled inf or NULL) for the last.
func bucketIndex(bounds []float64, raw any) (int, error) {
	if raw == nil {
		return len(bounds), nil
	}
	if s := toText(raw); s == "+Inf" || s == "inf" || s == "Inf" || s == "+inf" {
		return len(bounds), nil
	}
	b, err := toFloat(raw)
	if err != nil {
		return 0, err
	}
	for i, bound := range bounds {
		if b == bound {
			return i, nil
		}
	}
	return 0, fmt.Errorf("bound %v is not one of the buckets %v", b, bounds)
}

// metricSink appends the metrics of readings to one ScopeMetrics.
type metricSink struct {
	md pmetric.Metrics
	sm pmetric.ScopeMetrics
}

func newMetricSink(scope, version string) *metricSink {
	md := pmetric.NewMetrics()
	sm := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty()
	sm.Scope().SetName(scope)
	sm.Scope().SetVersion(version)
	return &metricSink{md: md, sm: sm}
}

// appendValue adds the metric of one value: gauges and sums from each series' number (sums cumulative since
// start), histograms with delta temporality from the poll's rows (since the previous poll).
func (m *metricSink) appendValue(d *valueDef, byKey map[string]*series, static pcommon.Map, start, prevPoll, now time.Time) {
	if d.cfg.Metric == "" || len(byKey) == 0 {
		return
	}
	metric := m.sm.Metrics().AppendEmpty()
	metric.SetName(d.cfg.Metric)
	metric.SetDescription(d.cfg.Description)
	metric.SetUnit(d.cfg.Unit)
	ts, startTS, prevTS := pcommon.NewTimestampFromTime(now), pcommon.NewTimestampFromTime(start), pcommon.NewTimestampFromTime(prevPoll)
	keys := sortedKeys(byKey)
	if d.kind == typeHistogram {
		h := metric.SetEmptyHistogram()
		h.SetAggregationTemporality(pmetric.AggregationTemporalityDelta)
		for _, k := range keys {
			s := byKey[k]
			dp := h.DataPoints().AppendEmpty()
			dp.SetStartTimestamp(prevTS)
			dp.SetTimestamp(ts)
			dp.ExplicitBounds().FromRaw(d.cfg.Buckets)
			dp.BucketCounts().FromRaw(s.counts)
			dp.SetCount(s.count)
			if d.bound == "" {
				dp.SetSum(s.sum)
			}
			putAttrs(dp.Attributes(), s.attrs, static)
		}
		return
	}
	var dps pmetric.NumberDataPointSlice
	if d.kind == typeSum {
		sum := metric.SetEmptySum()
		sum.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
		sum.SetIsMonotonic(d.cfg.Monotonic)
		dps = sum.DataPoints()
	} else {
		dps = metric.SetEmptyGauge().DataPoints()
	}
	for _, k := range keys {
		s := byKey[k]
		dp := dps.AppendEmpty()
		if d.kind == typeSum {
			dp.SetStartTimestamp(startTS)
		}
		dp.SetTimestamp(ts)
		if d.isInt {
			dp.SetIntValue(int64(math.Round(s.value)))
		} else {
			dp.SetDoubleValue(s.value)
		}
		putAttrs(dp.Attributes(), s.attrs, static)
	}
}

func putAttrs(dst, attrs, static pcommon.Map) {
	dst.EnsureCapacity(attrs.Len() + static.Len())
	static.CopyTo(dst)
	for k, v := range attrs.All() {
		v.CopyTo(dst.PutEmpty(k))
	}
}

func sortedKeys[V any](m map[string]V) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func staticMap(attrs map[string]string) pcommon.Map {
	m := pcommon.NewMap()
	for _, k := range sortedKeys(attrs) {
		m.PutStr(k, attrs[k])
	}
	return m
}
