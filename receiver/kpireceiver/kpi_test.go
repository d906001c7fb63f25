package kpireceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

var testIDs = map[string]string{"orders": "q", "failed": "q", "revenue": "q", "queue": "q"}

func mustCompile(t *testing.T, src string) *kpiProgram {
	t.Helper()
	p, err := compileKPI(&KPIConfig{Name: "k", Expr: src}, testIDs)
	require.NoError(t, err)
	return p
}

// values builds the store's view: id -> attribute key (region=...) -> value, all read at the given time.
func values(at time.Time, byID map[string]map[string]float64) map[string]*valueSeries {
	out := map[string]*valueSeries{}
	for id, byRegion := range byID {
		vs := &valueSeries{series: map[string]*series{}, updated: at, staleAfter: time.Minute}
		for region, v := range byRegion {
			var a attrSet
			if region != "" {
				a.add("region", region)
			}
			vs.series[a.key()] = &series{attrs: a.pmap(), value: v}
		}
		out[id] = vs
	}
	return out
}

// byRegion is the points of an evaluation by region ("" for a KPI without attributes): the value, or the reason.
func byRegion(points []kpiPoint) map[string]any {
	out := map[string]any{}
	for _, pt := range points {
		region := ""
		if pt.series != nil {
			if v, ok := pt.series.attrs.Get("region"); ok {
				region = v.Str()
			}
		}
		if pt.reason != "" {
			out[region] = pt.reason
		} else {
			out[region] = pt.value
		}
	}
	return out
}

func TestCompileErrorsSayWhere(t *testing.T) {
	for _, tc := range []struct{ expr, want string }{
		{"(orders - failed / orders", "unexpected token EOF (1:25)"},
		{"orders -* failed", "(1:9)"},
		{"orderz / 2", "unknown name orderz (1:1)"},
		{"rate(orders, 2, 3)", "rate takes (x, n) or (x), not 3 argument(s)"},
		{"avg(orders)", "avg takes (x, n), not 1 argument(s)"},
		{"avg(orders, 0)", "avg(x, n): n must be a whole number from 1 to 1000"},
		{"delta(orders, 1.5)", "delta(x, n): n must be a whole number"},
		{"avg(orders, failed)", "avg(x, n): n must be a whole number"},
		{"1 + 2", "reads no value"},
		{`"orders"`, "expected float64"},
	} {
		_, err := compileKPI(&KPIConfig{Name: "k", Expr: tc.expr}, testIDs)
		require.Error(t, err, tc.expr)
		assert.Contains(t, err.Error(), tc.want, tc.expr)
	}
}

func TestEvaluateRatioPerAttributeSet(t *testing.T) {
	now := time.Now()
	p := mustCompile(t, "(orders - failed) / orders")
	got := byRegion(p.evaluate(values(now, map[string]map[string]float64{
		"orders": {"eu": 4, "us": 2, "ap": 0, "sa": 3},
		"failed": {"eu": 1, "us": 0, "ap": 0, "af": 1},
	}), now, 10*time.Second))
	assert.Equal(t, map[string]any{
		"eu": 0.75,
		"us": 1.0,
		"ap": reasonNotANumber,   // 0/0: no orders, no ratio
		"sa": reasonMissingInput, // no failed value for sa
		"af": reasonMissingInput, // no orders value for af
	}, got)
}

func TestEvaluateDivisionByZeroAndInputsWithoutAttributes(t *testing.T) {
	now := time.Now()
	p := mustCompile(t, "revenue / orders")
	// revenue has no attributes: it applies to every set of orders.
	got := byRegion(p.evaluate(values(now, map[string]map[string]float64{
		"revenue": {"": 120},
		"orders":  {"eu": 4, "us": 0},
	}), now, 10*time.Second))
	assert.Equal(t, map[string]any{"eu": 30.0, "us": reasonDivisionByZero}, got)
}

func TestEvaluateStaleAndMissing(t *testing.T) {
	now := time.Now()
	p := mustCompile(t, "orders - failed")
	vals := values(now.Add(-2*time.Minute), map[string]map[string]float64{"orders": {"": 5}, "failed": {"": 1}})
	assert.Equal(t, map[string]any{"": reasonStaleInput}, byRegion(p.evaluate(vals, now, 10*time.Second)))
	delete(vals, "failed")
	vals["orders"].updated = now
	assert.Equal(t, map[string]any{"": reasonMissingInput}, byRegion(p.evaluate(vals, now, 10*time.Second)))
}

// TestWindowFunctions steps rate, delta and avg over readings 30 s apart, evaluated every 10 s: a window steps
// only when a new reading arrives, so evaluating more often than the source is read changes nothing.
func TestWindowFunctions(t *testing.T) {
	rate := mustCompile(t, "rate(orders)")
	delta := mustCompile(t, "delta(orders)")
	avg := mustCompile(t, "avg(queue, 3)")
	rate2 := mustCompile(t, "rate(orders, 2)")
	delta2 := mustCompile(t, "delta(orders, 2)")
	t0 := time.Now()
	type step struct {
		orders, queue float64
		rate, delta   any
		avg           float64
		rate2, delta2 any
	}
	steps := []step{
		{orders: 100, queue: 3, rate: reasonWarmingUp, delta: reasonWarmingUp, avg: 3, rate2: reasonWarmingUp, delta2: reasonWarmingUp},
		// +30 in 30 s: 60 per minute
		{orders: 130, queue: 6, rate: 60.0, delta: 30.0, avg: 4.5, rate2: 60.0, delta2: 30.0},
		{orders: 190, queue: 9, rate: 120.0, delta: 60.0, avg: 6, rate2: 90.0, delta2: 90.0},
		// a reset: 10 counted since; over two steps 60 + 10 in a minute
		{orders: 10, queue: 0, rate: 20.0, delta: -180.0, avg: 5, rate2: 70.0, delta2: -120.0},
	}
	for i, s := range steps {
		readAt := t0.Add(time.Duration(i) * 30 * time.Second)
		vals := values(readAt, map[string]map[string]float64{"orders": {"": s.orders}, "queue": {"": s.queue}})
		for _, evalAt := range []time.Duration{time.Second, 11 * time.Second, 21 * time.Second} {
			now := readAt.Add(evalAt)
			assert.Equal(t, map[string]any{"": s.rate}, byRegion(rate.evaluate(vals, now, 10*time.Second)), "rate, step %d", i)
			assert.Equal(t, map[string]any{"": s.delta}, byRegion(delta.evaluate(vals, now, 10*time.Second)), "delta, step %d", i)
			assert.Equal(t, map[string]any{"": s.rate2}, byRegion(rate2.evaluate(vals, now, 10*time.Second)), "rate(x, 2), step %d", i)
			assert.Equal(t, map[string]any{"": s.delta2}, byRegion(delta2.evaluate(vals, now, 10*time.Second)), "delta(x, 2), step %d", i)
			got := byRegion(avg.evaluate(vals, now, 10*time.Second))[""]
			assert.InDelta(t, s.avg, got, 1e-9, "avg, step %d", i)
		}
	}
}

// TestWindowHistoryIsForgotten checks that the history of attribute sets no longer seen is dropped (the bound of
// the window state is the live attribute sets).
func TestWindowHistoryIsForgotten(t *testing.T) {
	p := mustCompile(t, "rate(orders)")
	t0 := time.Now()
	p.evaluate(values(t0, map[string]map[string]float64{"orders": {"eu": 1, "us": 1}}), t0, time.Second)
	require.Len(t, p.windows[0].history, 2)
	later := t0.Add(time.Minute)
	p.evaluate(values(later, map[string]map[string]float64{"orders": {"eu": 2}}), later, time.Second)
	assert.Len(t, p.windows[0].history, 1)
}

func TestJudgeTargets(t *testing.T) {
	atLeast := &TargetConfig{Value: 0.99}
	met, burn := atLeast.judge(0.98)
	assert.Equal(t, int64(0), met)
	assert.InDelta(t, 2.0, burn, 1e-9) // 2 % bad where 1 % is allowed: the budget burns twice as fast
	met, burn = atLeast.judge(0.999)
	assert.Equal(t, int64(1), met)
	assert.InDelta(t, 0.1, burn, 1e-9)

	atMost := &TargetConfig{Value: 0.05, Direction: "at_most"}
	met, burn = atMost.judge(0.10)
	assert.Equal(t, int64(0), met)
	assert.InDelta(t, 2.0, burn, 1e-9)
	met, _ = atMost.judge(0.05)
	assert.Equal(t, int64(1), met)
}

func TestToFloat(t *testing.T) {
	for in, want := range map[any]float64{int64(3): 3, 2.5: 2.5, "12.50": 12.5, true: 1, " 7 ": 7} {
		got, err := toFloat(in)
		require.NoError(t, err, in)
		assert.Equal(t, want, got)
	}
	got, err := toFloat([]byte("19.99")) // MySQL's DECIMAL
	require.NoError(t, err)
	assert.Equal(t, 19.99, got)
	for _, bad := range []any{nil, "abc", "NaN", "Inf", time.Now(), pcommon.NewMap()} {
		_, err := toFloat(bad)
		assert.Error(t, err, "%v", bad)
	}
}

// TestEveryWindowRecordsItsFirstReading checks that a KPI with two window functions gives a value at the second
// reading: the first window's warming up must not keep the second from recording its first reading.
func TestEveryWindowRecordsItsFirstReading(t *testing.T) {
	p := mustCompile(t, "delta(failed) / delta(orders)")
	t0 := time.Now()
	first := values(t0, map[string]map[string]float64{"orders": {"": 10}, "failed": {"": 1}})
	assert.Equal(t, map[string]any{"": reasonWarmingUp}, byRegion(p.evaluate(first, t0, time.Second)))
	t1 := t0.Add(10 * time.Second)
	second := values(t1, map[string]map[string]float64{"orders": {"": 20}, "failed": {"": 2}})
	assert.Equal(t, map[string]any{"": 0.1}, byRegion(p.evaluate(second, t1, time.Second)))
}
