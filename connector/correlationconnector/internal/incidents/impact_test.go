package incidents

import (
	"fmt"
	"math"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelstrata/strata/internal/semconv"
)

// TestImpactOfAnIncident: an order rate of a service of the incident that leaves its band is accounted over its
// excursion: the share of its expected value lost, and, for a rate, the orders short so far (expected − observed over
// the time between points); noise inside the band on the other side of the expected value counts nothing, and the
// stretch on the excursion's side that precedes it counts. A figure of an unrelated service is not the incident's.
// The record and its summary carry the impact.
func TestImpactOfAnIncident(t *testing.T) {
	e := New(testConfig(), 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	checkout, host := Entity{KindService, "checkout"}, Entity{KindHost, "checkout-host"}
	e.Link(checkout, host, SourceResource, t0)
	e.AddAll([]Symptom{{Entity: host, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: t0}})
	require.Len(t, e.incidents, 1)
	inc := e.incidents[0]
	_, moved := inc.Impact()
	assert.False(t, moved)

	point := func(svc string, i int, observed float64) {
		e.AddKPI(KPIPoint{Entity: Entity{KindService, svc}, Metric: "shop.orders.rate", Unit: "{order}/s",
			At: t0.Add(time.Duration(i) * 5 * time.Second), Observed: observed, Expected: 10, Lower: 8, Upper: 12})
	}
	point("checkout", 0, 10)
	point("checkout", 1, 11) // in band, above: nothing lost
	point("checkout", 2, 9)  // in band, below: the excursion's start
	for i := 3; i < 8; i++ {
		point("checkout", i, 4)
	}
	point("checkout", 7, 0) // the same point again: ignored
	point("catalog", 3, 0)  // not related to the incident
	impact, moved := inc.Impact()
	require.True(t, moved)
	assert.InDelta(t, 31.0/60, impact, 1e-9, "1, then 6 of 10 orders a second lost, from where the rate fell below 10")
	require.Len(t, inc.kpis, 1)
	assert.InDelta(t, 155, inc.kpis["service checkout\x00shop.orders.rate"].shortfall, 1e-9, "1 for 5 s, 6 orders a second for 25 s")

	r := plog.NewLogRecord()
	Record(r, inc, t0.Add(40*time.Second))
	got, ok := r.Attributes().Get(semconv.AttrIncidentImpact)
	require.True(t, ok)
	assert.InDelta(t, 31.0/60, got.Double(), 1e-9)
	kpis, ok := r.Attributes().Get(semconv.AttrIncidentKPIs)
	require.True(t, ok)
	require.Equal(t, 1, kpis.Slice().Len())
	k := kpis.Slice().At(0).Map().AsRaw()
	assert.Equal(t, map[string]any{"entity": "checkout", "kind": "service", "metric": "shop.orders.rate", "unit": "{order}/s",
		"observed": 4.0, "expected": 10.0, "lower": 8.0, "upper": 12.0, "share_lost": 31.0 / 60, "shortfall": 155.0, "shortfall_unit": "{order}"}, k)
	assert.True(t, strings.Contains(r.Body().Str(), "Business impact: shop.orders.rate of checkout 52 % below expected (4 {order}/s, expected 10), 155 {order} short so far."),
		r.Body().Str())
}

// TestImpactUpdates: an open incident is queued for an update record when a business figure first leaves its band
// and when its impact moves by impactStep from the one its last record said; not for every point.
func TestImpactUpdates(t *testing.T) {
	e := New(testConfig(), 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	svc := Entity{KindService, "checkout"}
	e.AddAll([]Symptom{{Entity: svc, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: t0}})
	require.Len(t, e.incidents, 1)
	inc := e.incidents[0]
	emit := func() int {
		n := 0
		for _, q := range e.Dequeue() {
			Record(plog.NewLogRecord(), q, t0)
			n++
		}
		return n
	}
	require.Equal(t, 1, emit(), "the open record")
	i := 0
	point := func(observed float64) {
		i++
		e.AddKPI(KPIPoint{Entity: svc, Metric: "shop.orders.rate", Unit: "{order}/s", At: t0.Add(time.Duration(i) * 5 * time.Second),
			Observed: observed, Expected: 10, Lower: 8, Upper: 12})
	}
	point(9)
	assert.Zero(t, emit(), "in band: nothing to say")
	point(7)
	assert.Equal(t, 1, emit(), "the figure left its band")
	point(7)
	point(7.5)
	assert.Zero(t, emit(), "the impact moved less than a step")
	for range 4 {
		point(2)
	}
	assert.Equal(t, 1, emit(), "the impact moved by more than a step")
	impact, _ := inc.Impact()
	assert.InDelta(t, impact, inc.impactSaid, 1e-9)
}

// TestImpactBoundsAndBadPoints: an incident accounts at most maxKPIs figures; NaN and infinite points are ignored;
// a gap longer than maxGap adds nothing to the shortfall.
func TestImpactBoundsAndBadPoints(t *testing.T) {
	e := New(testConfig(), 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	svc := Entity{KindService, "shop"}
	e.AddAll([]Symptom{{Entity: svc, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: t0}})
	inc := e.incidents[0]
	for _, bad := range []float64{math.NaN(), math.Inf(1), math.Inf(-1)} {
		e.AddKPI(KPIPoint{Entity: svc, Metric: "bad", Unit: "1", At: t0, Observed: bad, Expected: 1, Lower: 0.5, Upper: 1.5})
		e.AddKPI(KPIPoint{Entity: svc, Metric: "bad", Unit: "1", At: t0, Observed: 1, Expected: bad, Lower: 0.5, Upper: 1.5})
	}
	assert.Empty(t, inc.kpis, "NaN and infinite points are no figure's")
	for i := range 2 * maxKPIs {
		e.AddKPI(KPIPoint{Entity: svc, Metric: "kpi." + string(rune('a'+i)), Unit: "1", At: t0, Observed: 0, Expected: 1, Lower: 0.5, Upper: 1.5})
	}
	assert.Len(t, inc.kpis, maxKPIs)

	k := &kpiImpact{unit: "{order}/min"}
	p := KPIPoint{Entity: svc, Metric: "orders", At: t0, Observed: 0, Expected: 60, Lower: 50, Upper: 70}
	k.account(p, true)
	p.At = t0.Add(time.Hour) // a gap
	k.account(p, true)
	p.At, p.Observed = t0.Add(time.Hour+time.Minute), 30
	k.account(p, true)
	assert.InDelta(t, 30, k.shortfall, 1e-9, "only the last minute: 30 orders a minute short for one minute")
}

// TestImpactAgainstTheLevelBefore: the anomaly processor adopts a lasting drop as its new level (its expected value
// jumps to the value observed the point before); the incident still measures the figure against the level before,
// until the processor adopts the recovery too. The excursion ends where the figure is back at that level; noise
// inside the band after it adds nothing, and the band widened by the drop is held to the one before.
func TestImpactAgainstTheLevelBefore(t *testing.T) {
	e := New(testConfig(), 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	svc := Entity{KindService, "checkout"}
	e.AddAll([]Symptom{{Entity: svc, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: t0}})
	inc := e.incidents[0]
	i := 0
	point := func(observed, expected, half float64) {
		e.AddKPI(KPIPoint{Entity: svc, Metric: "shop.orders.paid.rate", Unit: "{order}/min", At: t0.Add(time.Duration(i) * 5 * time.Second),
			Observed: observed, Expected: expected, Lower: expected - half, Upper: expected + half})
		i++
	}
	point(600, 600, 60)
	point(400, 600, 60) // the drop
	point(400, 600, 60)
	for range 10 {
		point(400, 400, 80) // the processor's level is the drop's
	}
	point(600, 400, 80) // the recovery: in the band of the level before
	point(600, 600, 80) // the processor adopts it
	for range 3 {
		point(650, 600, 80) // noise in the band, after the excursion
	}
	k := inc.kpis["service checkout\x00shop.orders.paid.rate"]
	require.NotNil(t, k)
	assert.InDelta(t, 200, k.shortfall, 1e-9, "200 orders a minute short for 12 points of 5 s")
	assert.InDelta(t, 200.0/600, k.share(), 1e-9, "12 points 200 short of 600")
	assert.Equal(t, 600.0, k.last.Expected)
	assert.Zero(t, k.offset, "the processor's return to the level before undid its drop")
}

// TestImpactFromTheFirstSymptom: an incident that opens after a business figure began to move (confirmed later than
// its first symptom) accounts the figure's points from that symptom, measured against the level of the point before
// it.
func TestImpactFromTheFirstSymptom(t *testing.T) {
	e := New(testConfig(), 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	svc := Entity{KindService, "checkout"}
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 10 * time.Second) }
	add := func(i int, observed, expected float64) {
		e.AddKPI(KPIPoint{Entity: svc, Metric: "orders", Unit: "{order}/s", At: at(i), Observed: observed, Expected: expected,
			Lower: expected - 1, Upper: expected + 1})
	}
	add(-2, 10, 10)
	add(-1, 10, 10)
	add(0, 4, 10)
	add(1, 4, 10)
	add(2, 4, 4) // the processor adopted the drop
	e.AddAll([]Symptom{{Entity: svc, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: at(0)}})
	require.Len(t, e.incidents, 1)
	add(3, 4, 4)
	k := e.incidents[0].kpis["service checkout\x00orders"]
	require.NotNil(t, k)
	assert.InDelta(t, 4*60, k.shortfall, 1e-9, "6 orders a second short for 4 points of 10 s, from the first symptom")
	add(3, 0, 4)
	assert.InDelta(t, 4*60, k.shortfall, 1e-9, "a point seen already is ignored")
}

// TestImpactFiguresBounded: the engine keeps the latest points of at most max_signals figures, forgetting the one
// seen least recently, and at most figurePoints of each.
func TestImpactFiguresBounded(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSignals = 3
	e := New(cfg, 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	for i := range 5 {
		for j := range 2 * figurePoints {
			e.AddKPI(KPIPoint{Entity: Entity{KindService, "svc"}, Metric: string(rune('a' + i)), At: t0.Add(time.Duration(i*100+j) * time.Second),
				Observed: 1, Expected: 1, Lower: 0, Upper: 2})
		}
	}
	require.Len(t, e.figures, 3)
	for _, m := range []string{"c", "d", "e"} {
		require.Contains(t, e.figures, "service svc\x00"+m)
		assert.Len(t, e.figures["service svc\x00"+m].points, figurePoints, m)
	}
}

// TestImpactWhileActive: a figure's points count from the incident's first symptom to activeAfter past its last; past
// it the incident only waits to resolve. A symptom that comes later makes the points after it count again, and the
// time the incident was quiet is not counted.
func TestImpactWhileActive(t *testing.T) {
	e := New(testConfig(), 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	svc := Entity{KindService, "checkout"}
	e.AddAll([]Symptom{{Entity: svc, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: t0}})
	inc := e.incidents[0]
	point := func(at time.Duration) {
		e.AddKPI(KPIPoint{Entity: svc, Metric: "orders", Unit: "{order}/s", At: t0.Add(at), Observed: 4, Expected: 10, Lower: 8, Upper: 12})
	}
	for at := 10 * time.Second; at <= 3*time.Minute; at += 10 * time.Second {
		point(at)
	}
	k := inc.kpis["service checkout\x00orders"]
	require.NotNil(t, k)
	assert.InDelta(t, 6*50, k.shortfall, 1e-9, "6 orders a second short from its first point, 10 s in, to a minute after the last symptom")
	e.AddAll([]Symptom{{Entity: svc, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: t0.Add(3 * time.Minute)}})
	point(3*time.Minute + 10*time.Second)
	assert.InDelta(t, 6*60, k.shortfall, 1e-9, "10 s more after the new symptom, not the quiet 2 minutes")
}

// TestImpactOfARatioInItsRate: a ratio that names the rate it is a share of (a success ratio of orders) counts what
// it lost in what the rate counts, at the rate's value of each point, so that its shortfall follows the load; the
// rate need not be the incident's. A ratio whose rate is not known has no shortfall.
func TestImpactOfARatioInItsRate(t *testing.T) {
	e := New(testConfig(), 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	checkout := Entity{KindService, "checkout"}
	e.AddAll([]Symptom{{Entity: checkout, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: t0}})
	inc := e.incidents[0]
	at := func(i int) time.Time { return t0.Add(time.Duration(i) * 5 * time.Second) }
	for i := range 7 {
		perMinute := 60 * float64(1+i) // the load climbs: 1, 2, ... 7 orders a second
		e.AddKPI(KPIPoint{Entity: Entity{KindService, "sales"}, Metric: "shop.orders.rate", Unit: "{order}/min", At: at(i),
			Observed: perMinute, Expected: 60, Lower: 0, Upper: 1000})
		observed := 0.5
		if i == 0 {
			observed = 0.98
		}
		e.AddKPI(KPIPoint{Entity: checkout, Metric: "shop.orders.success_ratio", Unit: "1", Of: "shop.orders.rate", At: at(i),
			Observed: observed, Expected: 0.98, Lower: 0.96, Upper: 1})
		e.AddKPI(KPIPoint{Entity: checkout, Metric: "shop.refunds.ratio", Unit: "1", Of: "shop.refunds.rate", At: at(i),
			Observed: observed, Expected: 0.98, Lower: 0.96, Upper: 1})
	}
	k := inc.kpis["service checkout\x00shop.orders.success_ratio"]
	require.NotNil(t, k)
	assert.InDelta(t, 0.48*5*(2+3+4+5+6+7), k.shortfall, 1e-9, "0.48 of 2, 3, ... 7 orders a second, 5 s each")
	assert.Equal(t, "{order}", k.counted)
	unknown := inc.kpis["service checkout\x00shop.refunds.ratio"]
	require.NotNil(t, unknown)
	assert.Empty(t, unknown.counted, "its rate never came")

	r := plog.NewLogRecord()
	Record(r, inc, at(7))
	assert.Contains(t, r.Body().Str(), "64.8 {order} short so far", r.Body().Str())
	kpis, _ := r.Attributes().Get(semconv.AttrIncidentKPIs)
	for _, kv := range kpis.Slice().All() {
		m := kv.Map().AsRaw()
		if m["metric"] == "shop.orders.success_ratio" {
			assert.Equal(t, "{order}", m["shortfall_unit"])
		} else {
			assert.NotContains(t, m, "shortfall")
		}
	}
}

// TestRatioFindsItsRateAmongTheFigures: a ratio finds its rate among the business figures kept, so ratios that name
// rates never seen keep nothing, and a rate forgotten with its figure (max_signals) weighs nothing.
func TestRatioFindsItsRateAmongTheFigures(t *testing.T) {
	cfg := testConfig()
	cfg.MaxSignals = 3
	e := New(cfg, 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	svc := Entity{KindService, "checkout"}
	e.AddKPI(KPIPoint{Entity: svc, Metric: "orders", Unit: "{order}/s", At: t0, Observed: 2, Expected: 2, Lower: 1, Upper: 3})
	for i := range 100 {
		e.AddKPI(KPIPoint{Entity: svc, Metric: "ratio", Unit: "1", Of: fmt.Sprint("unknown", i), At: t0.Add(time.Duration(i+1) * time.Millisecond),
			Observed: 1, Expected: 1, Lower: 0.9, Upper: 1})
	}
	assert.Len(t, e.latest, 2, "orders and ratio, nothing of the rates never seen")
	p := KPIPoint{Entity: svc, Metric: "ratio", Of: "orders", At: t0.Add(time.Second)}
	e.weigh(&p)
	assert.InDelta(t, 2, p.volume, 1e-9)
	assert.Equal(t, "{order}", p.counted)
	for _, m := range []string{"a", "b"} {
		e.AddKPI(KPIPoint{Entity: svc, Metric: m, At: t0.Add(time.Second), Observed: 1, Expected: 1, Lower: 0, Upper: 2})
	}
	p = KPIPoint{Entity: svc, Metric: "ratio", Of: "orders", At: t0.Add(2 * time.Second)}
	e.weigh(&p)
	assert.Empty(t, p.counted, "orders, seen least recently, was forgotten")
	assert.NotContains(t, e.latest, "orders")
}
