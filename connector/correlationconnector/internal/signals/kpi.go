package signals // import "github.com/otelstrata/strata/connector/correlationconnector/internal/signals"

import (
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"
	"github.com/otelstrata/strata/internal/points"
	"github.com/otelstrata/strata/internal/semconv"
)

// kpiKey is a point of a business figure in one resource of a request: its metric, attributes and time.
type kpiKey struct {
	metric, attrs string
	ts            pcommon.Timestamp
}

// kpiBand is a business figure's point and the anomaly processor's expectation of it, as they are read.
type kpiBand struct {
	dp                      pmetric.NumberDataPoint
	unit                    string
	observed                bool
	value, expected, lo, hi float64
	bands                   int // of expected, lower and upper, how many were read
}

// kpiPairs pairs the points of business figures (gauges) of one resource with the anomaly processor's expected
// value and band of each, from the same request.
type kpiPairs map[kpiKey]*kpiBand

// maxKPIPoints bounds the business points paired in one resource of a request.
const maxKPIPoints = 10000

// attrsKey returns attributes as a key, without the anomaly processor's own.
func attrsKey(m pcommon.Map) string {
	var kv []string
	for k, v := range m.All() {
		if !strings.HasPrefix(k, semconv.PrefixAnomaly) {
			kv = append(kv, k+"="+v.AsString())
		}
	}
	sort.Strings(kv)
	return strings.Join(kv, "\x00")
}

func (p kpiPairs) at(k kpiKey) *kpiBand {
	b := p[k]
	if b == nil && len(p) < maxKPIPoints {
		b = &kpiBand{}
		p[k] = b
	}
	return b
}

// read takes the points of a gauge: a business figure's own, or the anomaly processor's expected value or band of
// one (of its statistic "value": the figure as it is).
func (p kpiPairs) read(m pmetric.Metric) {
	name := m.Name()
	switch name {
	case semconv.MetricAnomalyExpected, semconv.MetricAnomalyLower, semconv.MetricAnomalyUpper:
		for _, dp := range m.Gauge().DataPoints().All() {
			watched := attrOf(dp.Attributes(), semconv.AttrAnomalyMetric)
			if layerOf(watched) != incidents.LayerBusiness || attrOf(dp.Attributes(), semconv.AttrAnomalyStatistic) != "value" {
				continue
			}
			b := p.at(kpiKey{watched, attrsKey(dp.Attributes()), dp.Timestamp()})
			if b == nil {
				continue
			}
			v := points.Value(dp)
			switch name {
			case semconv.MetricAnomalyExpected:
				b.expected = v
			case semconv.MetricAnomalyLower:
				b.lo = v
			default:
				b.hi = v
			}
			b.bands++
		}
	default:
		if layerOf(name) != incidents.LayerBusiness || strings.HasPrefix(name, semconv.PrefixAnomaly) {
			return
		}
		for _, dp := range m.Gauge().DataPoints().All() {
			if b := p.at(kpiKey{name, attrsKey(dp.Attributes()), dp.Timestamp()}); b != nil {
				b.dp, b.unit, b.observed, b.value = dp, m.Unit(), true, points.Value(dp)
			}
		}
	}
}

// kpiPoints returns the business points read with their expected value and band, each of the entity it is about.
func (w *Watcher) kpiPoints(p kpiPairs, res []incidents.Entity, now time.Time) []incidents.KPIPoint {
	var out []incidents.KPIPoint
	for k, b := range p {
		if !b.observed || b.bands != 3 {
			continue
		}
		at := k.ts.AsTime()
		if at.IsZero() || at.After(now) {
			at = now
		}
		subject := w.subject(b.dp.Attributes(), res, true, at)
		if owner := attrOf(b.dp.Attributes(), semconv.AttrKPIOwner); owner != "" && subject.Kind != incidents.KindService {
			// a KPI's value (the kpi receiver names no service): the service that owns it
			subject = incidents.Entity{Kind: incidents.KindService, Name: owner}
		}
		if subject.Name == "" {
			continue
		}
		out = append(out, incidents.KPIPoint{Entity: subject, Metric: k.metric, Unit: b.unit,
			Of: attrOf(b.dp.Attributes(), semconv.AttrKPIOf), At: at, Observed: b.value, Expected: b.expected, Lower: b.lo, Upper: b.hi})
	}
	return out
}
