package samplingprocessor

import (
	"context"
	"encoding/binary"
	"flag"
	"math/rand/v2"
	"path/filepath"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/ptracetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/processor/samplingprocessor/internal/metadatatest"
)

var update = flag.Bool("update", false, "rewrite the golden files from what the code emits now")

// testClock is the processor's clock in tests: time moves only when the test says.
type testClock struct{ *clock.Manual }

func (c *testClock) advance(d time.Duration) { c.Advance(d) }
func newTestClock() *testClock {
	return &testClock{clock.NewManual(time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC))}
}
func traceIDOf(n uint64) (id pcommon.TraceID) { // random-looking, as W3C trace ids are, and reproducible
	r := rand.New(rand.NewPCG(n, 0x5eed))
	binary.BigEndian.PutUint64(id[:8], r.Uint64())
	binary.BigEndian.PutUint64(id[8:], r.Uint64())
	return id
}

// harness is a sampler on a test clock, with sinks for what it passes on and its own telemetry.
type harness struct {
	p      *sampler
	clock  *testClock
	traces *consumertest.TracesSink
	logs   *consumertest.LogsSink
	tel    *componenttest.Telemetry
}

func newHarness(t testing.TB, yamlText string) *harness {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(yamlText), &raw))
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	h := &harness{clock: newTestClock(), traces: new(consumertest.TracesSink), logs: new(consumertest.LogsSink), tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { require.NoError(t, h.tel.Shutdown(context.Background())) })
	p, err := newSampler(cfg, metadatatest.NewSettings(h.tel))
	require.NoError(t, err)
	p.clock = h.clock
	p.nextTraces, p.nextLogs = h.traces, []consumer.Logs{h.logs}
	require.NoError(t, p.prepare())
	h.p = p
	return h
}

// span describes a test span; trace and span numbers become ids.
type span struct {
	trace, id, parent uint64 // parent 0: a root span
	service, name     string
	start, duration   time.Duration // start is relative to the clock's zero
	err               bool
	attrs             map[string]any
}

func (h *harness) send(t testing.TB, spans ...span) {
	t.Helper()
	require.NoError(t, h.p.ConsumeTraces(context.Background(), makeTraces(h.clock, spans...)))
}

func makeTraces(clock *testClock, spans ...span) ptrace.Traces {
	td := ptrace.NewTraces()
	byService := map[string]ptrace.SpanSlice{}
	for _, s := range spans {
		dest, ok := byService[s.service]
		if !ok {
			rs := td.ResourceSpans().AppendEmpty()
			rs.Resource().Attributes().PutStr("service.name", s.service)
			ss := rs.ScopeSpans().AppendEmpty()
			ss.Scope().SetName("test")
			dest = ss.Spans()
			byService[s.service] = dest
		}
		sp := dest.AppendEmpty()
		sp.SetTraceID(traceIDOf(s.trace))
		var id, parent pcommon.SpanID
		binary.BigEndian.PutUint64(id[:], s.id)
		sp.SetSpanID(id)
		if s.parent != 0 {
			binary.BigEndian.PutUint64(parent[:], s.parent)
			sp.SetParentSpanID(parent)
		}
		sp.SetName(s.name)
		start := time.Date(2026, 11, 27, 10, 0, 0, 0, time.UTC).Add(s.start)
		sp.SetStartTimestamp(pcommon.NewTimestampFromTime(start))
		sp.SetEndTimestamp(pcommon.NewTimestampFromTime(start.Add(s.duration)))
		if s.err {
			sp.Status().SetCode(ptrace.StatusCodeError)
		}
		_ = sp.Attributes().FromRaw(s.attrs)
	}
	return td
}

// decideAfter moves the clock and runs the decision loop once.
func (h *harness) decideAfter(d time.Duration) {
	h.clock.advance(d)
	h.p.decideDue(context.Background())
}

// kept is the rule recorded on the kept spans, by trace number, over the given trace numbers.
func (h *harness) kept(traces ...uint64) map[uint64]string {
	byID := map[pcommon.TraceID]uint64{}
	for _, n := range traces {
		byID[traceIDOf(n)] = n
	}
	out := map[uint64]string{}
	for _, td := range h.traces.AllTraces() {
		eachSpan(td, func(s ptrace.Span) {
			if n, ok := byID[s.TraceID()]; ok {
				rule, _ := s.Attributes().Get(attrRule)
				out[n] = rule.Str()
			}
		})
	}
	return out
}

func eachSpan(td ptrace.Traces, f func(ptrace.Span)) {
	rss := td.ResourceSpans()
	for i := range rss.Len() {
		sss := rss.At(i).ScopeSpans()
		for j := range sss.Len() {
			spans := sss.At(j).Spans()
			for k := range spans.Len() {
				f(spans.At(k))
			}
		}
	}
}

const rulesConfig = `
decision_wait: 2s
trace_timeout: 30s
rules:
  - {name: health-checks, type: condition, action: drop, root_only: true, conditions: ['attributes["http.route"] == "/healthz"']}
  - {name: errors, type: error}
  - {name: slow, type: latency, threshold: 2s}
  - {name: slow-for-route, type: latency, quantile: 0.95, factor: 1.5, min_samples: 50}
  - {name: vip, type: attribute, key: customer.tier, values: [gold]}
  - {name: rest, type: probability, probability: 0.25}
`

// TestRulesGolden sends one trace per rule (and one the probability drops) and compares what is kept, with the
// rule recorded on each span and the threshold of the probability in tracestate, with testdata/rules.yaml.
func TestRulesGolden(t *testing.T) {
	h := newHarness(t, rulesConfig)
	// Teach the quantile rule what "normal" is for checkout: 100 traces of 100 ms.
	for i := range uint64(100) {
		h.send(t, span{trace: 1000 + i, id: 1, service: "shop", name: "checkout", duration: 100 * time.Millisecond, attrs: map[string]any{"customer.tier": "silver"}})
	}
	h.decideAfter(3 * time.Second)
	h.traces.Reset()

	h.send(t,
		span{trace: 1, id: 1, service: "shop", name: "GET /healthz", duration: time.Millisecond, attrs: map[string]any{"http.route": "/healthz"}, err: true},
		span{trace: 2, id: 1, service: "shop", name: "checkout", duration: 50 * time.Millisecond},
		span{trace: 2, id: 2, parent: 1, service: "payments", name: "charge", duration: 40 * time.Millisecond, err: true},
		span{trace: 3, id: 1, service: "shop", name: "search", duration: 3 * time.Second},
		span{trace: 4, id: 1, service: "shop", name: "checkout", duration: 400 * time.Millisecond},
		span{trace: 5, id: 1, service: "shop", name: "checkout", duration: 10 * time.Millisecond, attrs: map[string]any{"customer.tier": "gold"}},
	)
	// Traces 6 to 45: ordinary, left to the probability.
	for i := range uint64(40) {
		h.send(t, span{trace: 6 + i, id: 1, service: "shop", name: "checkout", duration: 90 * time.Millisecond})
	}
	h.decideAfter(time.Second)
	assert.Empty(t, h.traces.AllTraces(), "nothing decided before decision_wait")
	h.decideAfter(1500 * time.Millisecond)

	kept := h.kept(1, 2, 3, 4, 5)
	assert.Equal(t, map[uint64]string{2: "errors", 3: "slow", 4: "slow-for-route", 5: "vip"}, kept)
	got := ptrace.NewTraces()
	for _, td := range h.traces.AllTraces() {
		td.ResourceSpans().MoveAndAppendTo(got.ResourceSpans())
	}
	path := filepath.Join("testdata", "rules.yaml")
	if *update {
		require.NoError(t, golden.WriteTraces(t, path, got))
	}
	want, err := golden.ReadTraces(path)
	require.NoError(t, err)
	require.NoError(t, ptracetest.CompareTraces(want, got, ptracetest.IgnoreResourceSpansOrder(), ptracetest.IgnoreSpansOrder(),
		ptracetest.IgnoreScopeSpansOrder()))
}
