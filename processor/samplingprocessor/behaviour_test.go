package samplingprocessor

import (
	"context"
	"math"
	"math/rand/v2"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/internal/points"
	"github.com/otelstrata/strata/processor/samplingprocessor/internal/metadatatest"
)

// spansByTrace counts the spans passed on, by trace id.
func spansByTrace(h *harness) map[pcommon.TraceID]int {
	out := map[pcommon.TraceID]int{}
	for _, td := range h.traces.AllTraces() {
		eachSpan(td, func(s ptrace.Span) { out[s.TraceID()]++ })
	}
	return out
}

// TestErrorTracesKeptWhole is a property test: random traces (1 to 30 spans, some failing) starting at random
// times, each span arriving in random order within 800 ms of its trace's start (interleaved with the other traces,
// in random batches), under rules that keep 1 % of the rest: every trace with an error span is passed on whole, and
// no span twice. (A span that arrives after its trace's decision follows the decision: the contract is that spans
// arrive within decision_wait of their root.)
func TestErrorTracesKeptWhole(t *testing.T) {
	for seed := range uint64(5) {
		rng := rand.New(rand.NewPCG(seed, 7))
		h := newHarness(t, `
decision_wait: 1s
trace_timeout: 5s
rules:
  - {name: errors, type: error}
  - {name: rest, type: probability, probability: 0.01}
`)
		type arrival struct {
			at time.Duration
			s  span
		}
		var arrivals []arrival
		sizes := map[pcommon.TraceID]int{}
		withError := map[pcommon.TraceID]bool{}
		for n := range uint64(300) {
			start := time.Duration(rng.IntN(60000)) * time.Millisecond
			size := 1 + rng.IntN(30)
			for i := range size {
				s := span{trace: n + 1, id: uint64(i + 1), service: "svc", name: "op", duration: time.Millisecond}
				if i > 0 {
					s.parent = uint64(rng.IntN(i) + 1)
				}
				if rng.IntN(40) == 0 {
					s.err = true
					withError[traceIDOf(n+1)] = true
				}
				arrivals = append(arrivals, arrival{start + time.Duration(rng.IntN(800))*time.Millisecond, s})
			}
			sizes[traceIDOf(n+1)] = size
		}
		slices.SortFunc(arrivals, func(a, b arrival) int { return int(a.at - b.at) })
		elapsed := time.Duration(0)
		for len(arrivals) > 0 {
			h.decideAfter(arrivals[0].at - elapsed)
			elapsed = arrivals[0].at
			k := 1
			for k < len(arrivals) && k < 50 && arrivals[k].at-elapsed < 50*time.Millisecond {
				k++
			}
			var batch []span
			for _, a := range arrivals[:k] {
				batch = append(batch, a.s)
			}
			rng.Shuffle(len(batch), func(i, j int) { batch[i], batch[j] = batch[j], batch[i] })
			h.send(t, batch...)
			arrivals = arrivals[k:]
		}
		h.decideAfter(time.Minute)
		require.NoError(t, h.p.Shutdown(context.Background()))

		got := spansByTrace(h)
		require.NotEmpty(t, withError)
		for id := range withError {
			assert.Equal(t, sizes[id], got[id], "seed %d: a trace with an error is kept whole", seed)
		}
		for id, n := range got {
			assert.LessOrEqual(t, n, sizes[id], "seed %d: no span twice", seed)
		}
	}
}

// TestLateSpans sends spans after their trace was decided: those of a kept trace are passed on with the rule,
// those of a dropped one are dropped, and both are counted.
func TestLateSpans(t *testing.T) {
	h := newHarness(t, `
rules:
  - {name: errors, type: error}
  - {name: drop-rest, type: always, action: drop}
`)
	h.send(t, span{trace: 1, id: 1, service: "a", name: "root", err: true}, span{trace: 2, id: 1, service: "a", name: "root"})
	h.decideAfter(3 * time.Second)
	require.Equal(t, map[uint64]string{1: "errors"}, h.kept(1, 2))
	h.traces.Reset()
	h.send(t, span{trace: 1, id: 7, parent: 1, service: "b", name: "late"}, span{trace: 2, id: 7, parent: 1, service: "b", name: "late"})
	assert.Equal(t, map[uint64]string{1: "errors"}, h.kept(1, 2), "a late span follows its trace, at once")
	assert.Equal(t, 1, h.traces.SpanCount())

	metadatatest.AssertEqualProcessorSamplingSpans(t, h.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("decision", "keep"), attribute.String("reason", "")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("decision", "drop"), attribute.String("reason", "")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("decision", "keep"), attribute.String("reason", "late")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("decision", "drop"), attribute.String("reason", "late")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}

// TestTimeoutsCapacityAndBadInput: a trace without a root is decided at its timeout; past max_traces the oldest
// traces are decided early (by the rules, so an error trace is kept); spans without a trace id are passed on;
// duplicates dropped; a root that ends before it starts counted.
func TestTimeoutsCapacityAndBadInput(t *testing.T) {
	h := newHarness(t, `
decision_wait: 1s
trace_timeout: 10s
max_traces: 3
rules:
  - {name: errors, type: error}
  - {name: drop-rest, type: always, action: drop}
`)
	h.send(t, span{trace: 1, id: 2, parent: 1, service: "a", name: "child", err: true}) // its root never comes
	h.decideAfter(5 * time.Second)
	assert.Empty(t, h.traces.AllTraces())
	h.decideAfter(6 * time.Second)
	assert.Equal(t, map[uint64]string{1: "errors"}, h.kept(1), "decided at its timeout")

	h.send(t, span{trace: 2, id: 2, parent: 1, service: "a", name: "child", err: true})
	for n := range uint64(4) {
		h.send(t, span{trace: 10 + n, id: 2, parent: 1, service: "a", name: "child"})
	}
	h.decideAfter(10 * time.Millisecond)
	assert.Equal(t, map[uint64]string{1: "errors", 2: "errors"}, h.kept(1, 2), "the oldest, decided early, by its rules")
	assert.LessOrEqual(t, len(h.p.traces), 3)

	orphan := makeTraces(h.clock, span{trace: 99, id: 1, service: "a", name: "orphan"})
	orphan.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).SetTraceID(pcommon.NewTraceIDEmpty())
	require.NoError(t, h.p.ConsumeTraces(context.Background(), orphan))
	h.send(t, span{trace: 20, id: 1, service: "a", name: "root", duration: -time.Second, err: true},
		span{trace: 20, id: 1, service: "a", name: "root", err: true})
	h.send(t, span{trace: 20, id: 1, service: "a", name: "root", err: true})
	h.decideAfter(2 * time.Second)
	assert.Equal(t, 1, spansByTrace(h)[traceIDOf(20)], "duplicates dropped")

	metadatatest.AssertEqualProcessorSamplingBadInput(t, h.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("reason", "no_root")), Value: 3}, // 1 (timeout), 2 and 10 (capacity)
		{Attributes: attribute.NewSet(attribute.String("reason", "no_trace_id")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("reason", "duplicate")), Value: 2},
		{Attributes: attribute.NewSet(attribute.String("reason", "clock_skew")), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
	decisions := map[string]int64{}
	m, err := h.tel.GetMetric("otelcol_processor_sampling_decisions")
	require.NoError(t, err)
	for _, dp := range m.Data.(metricdata.Sum[int64]).DataPoints {
		trigger, _ := dp.Attributes.Value("trigger")
		decisions[trigger.AsString()] += dp.Value
	}
	assert.Equal(t, int64(1), decisions["timeout"])
	assert.GreaterOrEqual(t, decisions["capacity"], int64(2))
}

// TestBudgetLongRun simulates 20 minutes of bursty traffic over keys of very different frequencies (one service
// takes 80 % of it, with bursts of 3× its rate) against a budget of 50 traces a second: after the first minute the
// budget keeps 50 a second within ±10 %, every rare key keeps most of its traces, and each kept trace carries its
// adjusted count in tracestate.
func TestBudgetLongRun(t *testing.T) {
	h := newHarness(t, `
decision_wait: 1s
budget: {traces_per_second: 50, keys: [service.name], adjustment_interval: 15s}
`)
	rng := rand.New(rand.NewPCG(1, 2))
	services := []string{"frontend", "checkout", "search", "admin", "batch"}
	weights := []float64{0.8, 0.1, 0.07, 0.02, 0.01}
	next := uint64(1)
	keptByBudget := func() (n float64, adjusted float64, bySvc map[string]int) {
		bySvc = map[string]int{}
		for _, td := range h.traces.AllTraces() {
			rss := td.ResourceSpans()
			for i := range rss.Len() {
				svc, _ := rss.At(i).Resource().Attributes().Get("service.name")
				spans := rss.At(i).ScopeSpans().At(0).Spans()
				for k := range spans.Len() {
					n++
					bySvc[svc.Str()]++
					ts, err := sampling.NewW3CTraceState(spans.At(k).TraceState().AsRaw())
					require.NoError(t, err)
					if th, ok := ts.OTelValue().TValueThreshold(); ok {
						adjusted += th.AdjustedCount()
					} else {
						adjusted++
					}
				}
			}
		}
		return n, adjusted, bySvc
	}
	sent := map[string]int{}
	var sentTotal float64
	for second := range 20 * 60 {
		rate := 400.0
		if (second/30)%4 == 3 { // every two minutes, 30 s of triple traffic
			rate = 1200
		}
		n := int(rate)
		for range n {
			x, svc := rng.Float64(), services[len(services)-1]
			for i, w := range weights {
				if x < w {
					svc = services[i]
					break
				}
				x -= w
			}
			h.send(t, span{trace: next, id: 1, service: svc, name: "op"})
			next++
			if second >= 60 {
				sent[svc]++
				sentTotal++
			}
		}
		h.decideAfter(time.Second)
		if second == 59 {
			h.traces.Reset() // the first minute learns the traffic
		}
	}
	kept, adjusted, bySvc := keptByBudget()
	seconds := float64(19 * 60)
	t.Logf("kept %.1f traces/s of %.1f sent (budget 50); by service kept/sent: %v / %v", kept/seconds, sentTotal/seconds, bySvc, sent)
	assert.InDelta(t, 50, kept/seconds, 5, "kept per second, against a budget of 50")
	assert.InDelta(t, sentTotal, adjusted, 0.05*sentTotal, "the adjusted counts add up to the traffic")
	for _, svc := range []string{"admin", "batch"} {
		assert.Greater(t, float64(bySvc[svc])/float64(sent[svc]), 0.5, "rare key %s keeps most of its traces", svc)
	}
	assert.Less(t, float64(bySvc["frontend"])/float64(sent["frontend"]), 0.1, "the frequent key is thinned")
	metadatatest.AssertEqualProcessorSamplingBudgetTarget(t, h.tel, []metricdata.DataPoint[float64]{{Value: 50}}, metricdatatest.IgnoreTimestamp())
}

// TestTraceStateKeepsTheHigherThreshold: a trace head-sampled upstream at 1 % and kept here at 50 % keeps the
// upstream threshold (its adjusted count stays 100); one head-sampled at 100 % gets ours.
func TestTraceStateKeepsTheHigherThreshold(t *testing.T) {
	h := newHarness(t, `rules: [{name: half, type: probability, probability: 0.5}]`)
	upstream, err := sampling.ProbabilityToThreshold(0.01)
	require.NoError(t, err)
	var sentIDs []uint64
	for n := uint64(1); len(sentIDs) < 20; n++ {
		rnd := sampling.TraceIDToRandomness(traceIDOf(n))
		if !upstream.ShouldSample(rnd) {
			continue // the head sampler would not have kept it
		}
		td := makeTraces(h.clock, span{trace: n, id: 1, service: "a", name: "root"})
		td.ResourceSpans().At(0).ScopeSpans().At(0).Spans().At(0).TraceState().FromRaw("ot=th:" + upstream.TValue() + ",vendor=x")
		require.NoError(t, h.p.ConsumeTraces(context.Background(), td))
		sentIDs = append(sentIDs, n)
	}
	h.decideAfter(3 * time.Second)
	require.Len(t, h.kept(sentIDs...), 20, "a trace kept at 1 % passes a 50 % threshold")
	for _, td := range h.traces.AllTraces() {
		eachSpan(td, func(s ptrace.Span) {
			assert.Equal(t, "ot=th:"+upstream.TValue()+",vendor=x", s.TraceState().AsRaw())
		})
	}
}

// TestLogsFollowTheirTraces: records of a trace wait for its decision (even when they come before its spans),
// records of decided traces follow at once, and records without a trace go by severity and rate.
func TestLogsFollowTheirTraces(t *testing.T) {
	h := newHarness(t, `
rules:
  - {name: errors, type: error}
  - {name: drop-rest, type: always, action: drop}
logs: {keep_severity: WARN, rate: 0}
`)
	logs := func(records ...[2]any) plog.Logs { // trace number (0: none), severity
		ld := plog.NewLogs()
		sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
		for _, r := range records {
			rec := sl.LogRecords().AppendEmpty()
			if n := r[0].(int); n > 0 {
				rec.SetTraceID(traceIDOf(uint64(n)))
			}
			rec.SetSeverityNumber(r[1].(plog.SeverityNumber))
			rec.Body().SetStr(strings.Repeat("x", 3))
		}
		return ld
	}
	ctx := context.Background()
	require.NoError(t, h.p.ConsumeLogs(ctx, logs([2]any{1, plog.SeverityNumberInfo}, [2]any{2, plog.SeverityNumberInfo},
		[2]any{0, plog.SeverityNumberInfo}, [2]any{0, plog.SeverityNumberError}), 0))
	assert.Equal(t, 1, h.logs.LogRecordCount(), "only the error without a trace passes at once")
	h.send(t, span{trace: 1, id: 1, service: "a", name: "root", err: true}, span{trace: 2, id: 1, service: "a", name: "root"})
	h.decideAfter(3 * time.Second)
	assert.Equal(t, 2, h.logs.LogRecordCount(), "trace 1's record came out with its kept trace; trace 2's was dropped")
	require.NoError(t, h.p.ConsumeLogs(ctx, logs([2]any{1, plog.SeverityNumberDebug}, [2]any{2, plog.SeverityNumberFatal}), 0))
	assert.Equal(t, 3, h.logs.LogRecordCount(), "late records follow their trace's decision, whatever their severity")

	// A trace of logs only is decided at its timeout as records without a trace.
	require.NoError(t, h.p.ConsumeLogs(ctx, logs([2]any{5, plog.SeverityNumberWarn}, [2]any{6, plog.SeverityNumberInfo}), 0))
	h.decideAfter(31 * time.Second)
	assert.Equal(t, 4, h.logs.LogRecordCount())
}

// TestDownsample keeps the last point of each series per interval, or averages gauges and adds delta sums.
func TestDownsample(t *testing.T) {
	point := func(md pmetric.Metrics, name string, temporality pmetric.AggregationTemporality, host string, v float64) {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("host.name", host)
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(name)
		var dp pmetric.NumberDataPoint
		if temporality == pmetric.AggregationTemporalityUnspecified {
			dp = m.SetEmptyGauge().DataPoints().AppendEmpty()
		} else {
			sum := m.SetEmptySum()
			sum.SetAggregationTemporality(temporality)
			dp = sum.DataPoints().AppendEmpty()
		}
		dp.SetDoubleValue(v)
	}
	for _, tc := range []struct {
		mode string
		want map[string]float64
	}{
		{"last", map[string]float64{"cpu/a": 30, "cpu/b": 5, "requests/a": 3, "total/a": 300}},
		{"aggregate", map[string]float64{"cpu/a": 20, "cpu/b": 5, "requests/a": 6, "total/a": 300}},
	} {
		t.Run(tc.mode, func(t *testing.T) {
			h := newHarness(t, `metrics: {interval: 1m, mode: `+tc.mode+`}`)
			sink := new(consumertest.MetricsSink)
			ds := newDownsampler(h.p.cfg.Metrics, sink)
			ds.p = h.p
			ctx := context.Background()
			for i, v := range []float64{10, 20, 30} {
				md := pmetric.NewMetrics()
				point(md, "cpu", pmetric.AggregationTemporalityUnspecified, "a", v)
				point(md, "requests", pmetric.AggregationTemporalityDelta, "a", float64(i+1))
				point(md, "total", pmetric.AggregationTemporalityCumulative, "a", 100*float64(i+1))
				if i == 0 {
					point(md, "cpu", pmetric.AggregationTemporalityUnspecified, "b", 5)
				}
				require.NoError(t, ds.ConsumeMetrics(ctx, md))
			}
			assert.Zero(t, sink.DataPointCount(), "nothing passes before the interval ends")
			ds.flush(ctx)
			assert.Equal(t, tc.want, downsampled(sink))
			ds.flush(ctx)
			assert.Equal(t, 4, sink.DataPointCount(), "a series without new points is not repeated")
		})
	}
}

// downsampled is the points a sink received, by metric name and host.
func downsampled(sink *consumertest.MetricsSink) map[string]float64 {
	values := map[string]float64{}
	for _, md := range sink.AllMetrics() {
		rms := md.ResourceMetrics()
		for i := range rms.Len() {
			host, _ := rms.At(i).Resource().Attributes().Get("host.name")
			ms := rms.At(i).ScopeMetrics().At(0).Metrics()
			for j := range ms.Len() {
				m := ms.At(j)
				dp := pmetric.NumberDataPoint{}
				if m.Type() == pmetric.MetricTypeGauge {
					dp = m.Gauge().DataPoints().At(0)
				} else {
					dp = m.Sum().DataPoints().At(0)
				}
				values[m.Name()+"/"+host.Str()] = math.Round(points.Value(dp)*1000) / 1000
			}
		}
	}
	return values
}

// TestDryRun decides but drops nothing: every span passes, with its decision and rule.
func TestDryRun(t *testing.T) {
	h := newHarness(t, `
dry_run: true
rules:
  - {name: errors, type: error}
  - {name: drop-rest, type: always, action: drop}
`)
	h.send(t, span{trace: 1, id: 1, service: "a", name: "root", err: true}, span{trace: 2, id: 1, service: "a", name: "root"})
	h.decideAfter(3 * time.Second)
	h.send(t, span{trace: 2, id: 2, parent: 1, service: "a", name: "late"})
	decisions := map[string]string{}
	for _, td := range h.traces.AllTraces() {
		eachSpan(td, func(s ptrace.Span) {
			d, _ := s.Attributes().Get(attrDecision)
			r, _ := s.Attributes().Get(attrRule)
			decisions[s.Name()+"/"+s.TraceID().String()[:4]] = d.Str() + " by " + r.Str()
		})
	}
	assert.Equal(t, map[string]string{
		"root/" + traceIDOf(1).String()[:4]: "keep by errors",
		"root/" + traceIDOf(2).String()[:4]: "drop by drop-rest",
		"late/" + traceIDOf(2).String()[:4]: "drop by drop-rest",
	}, decisions)
}

// TestMillionTracesStayBounded: a million traces of distinct ids, services and routes (untrusted values; 200,000
// under the race detector, which makes a million take minutes) keep the buffered traces, the decision cache, the
// budget's keys and the latency quantiles' keys within their bounds.
func TestMillionTracesStayBounded(t *testing.T) {
	h := newHarness(t, `
decision_wait: 1s
max_traces: 1000
decision_cache: 2000
rules:
  - {name: slow, type: latency, quantile: 0.95, min_samples: 10}
budget:
  traces_per_second: 100
  keys: [service.name, http.route]
  max_keys: 500
`)
	n := uint64(1_000_000)
	if raceEnabled {
		n = 200_000
	}
	for start := uint64(0); start < n; start += 10_000 {
		spans := make([]span, 0, 10_000)
		for i := start; i < start+10_000; i++ {
			spans = append(spans, span{trace: i + 1, id: 1, service: "svc-" + strconv.FormatUint(i%50_000, 10), name: "GET",
				attrs: map[string]any{"http.route": "/r/" + strconv.FormatUint(i, 10)}})
		}
		h.send(t, spans...)
		h.decideAfter(100 * time.Millisecond)
	}
	h.decideAfter(2 * time.Second)
	assert.LessOrEqual(t, len(h.p.traces), 1000)
	assert.LessOrEqual(t, len(h.p.decisions.newer)+len(h.p.decisions.older), 2000)
	assert.LessOrEqual(t, len(h.p.budget.ema), 500+1, "max_keys and the key of the rest")
	assert.LessOrEqual(t, len(h.p.budget.counts), 500+1)
	assert.LessOrEqual(t, len(h.p.latency.byKey), h.p.latency.maxKeys)
}

// TestRecordsBeyondMaxPerTraceAreCounted: the records of a trace beyond logs.max_per_trace are decided as records
// without a trace, and counted as such (they were passed or dropped uncounted before).
func TestRecordsBeyondMaxPerTraceAreCounted(t *testing.T) {
	h := newHarness(t, `
logs: {keep_severity: ERROR, rate: 0, max_per_trace: 2}
`)
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	for _, sev := range []plog.SeverityNumber{plog.SeverityNumberInfo, plog.SeverityNumberInfo, plog.SeverityNumberError} {
		r := sl.LogRecords().AppendEmpty()
		r.SetTraceID(traceIDOf(7))
		r.SetSeverityNumber(sev)
	}
	require.NoError(t, h.p.ConsumeLogs(context.Background(), ld, 0))
	assert.Equal(t, 3, h.logs.LogRecordCount(), "three records of one trace, over its bound of two: kept by the error's severity")
	metadatatest.AssertEqualProcessorSamplingLogRecords(t, h.tel, []metricdata.DataPoint[int64]{{
		Value:      3,
		Attributes: attribute.NewSet(attribute.String("decision", "keep"), attribute.String("reason", "severity_or_rate")),
	}}, metricdatatest.IgnoreTimestamp())
}
