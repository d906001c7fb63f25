package bench

import (
	"bytes"
	"context"
	byteorder "encoding/binary"
	"fmt"
	"net/http"
	"path/filepath"
	"sync/atomic"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelstrata/strata/internal/e2e"
)

// Equivalent policies for the sampling processor and contrib's tail_sampling: keep errors, keep traces slower
// than 500 ms, keep 10 % of the rest.
func samplingProcessors(decisionWait time.Duration) map[string]map[string]any {
	return map[string]map[string]any{
		"sampling": {"sampling": map[string]any{
			"decision_wait": decisionWait.String(), "trace_timeout": (2 * decisionWait).String(), "max_traces": 200000, "max_spans": 5000000,
			"rules": []any{
				map[string]any{"name": "errors", "type": "error"},
				map[string]any{"name": "slow", "type": "latency", "threshold": "500ms"},
				map[string]any{"name": "rest", "type": "probability", "probability": 0.1},
			},
		}},
		"tail_sampling": {"tail_sampling": map[string]any{
			"decision_wait": decisionWait.String(), "num_traces": 200000,
			"policies": []any{
				map[string]any{"name": "errors", "type": "status_code", "status_code": map[string]any{"status_codes": []any{"ERROR"}}},
				map[string]any{"name": "slow", "type": "latency", "latency": map[string]any{"threshold_ms": 500}},
				map[string]any{"name": "rest", "type": "probabilistic", "probabilistic": map[string]any{"sampling_percentage": 10}},
			},
		}},
	}
}

// tracesCollector is a collector receiving OTLP/HTTP on otlp, with one processor, exporting to debug (basic).
func tracesCollector(otlp, telemetry string, processor map[string]any) map[string]any {
	cfg := collectorConfig(telemetry, map[string]any{"otlp": map[string]any{"protocols": map[string]any{"http": map[string]any{"endpoint": otlp}}}})
	var name string
	for name = range processor {
	}
	cfg["processors"] = processor
	service := cfg["service"].(map[string]any)
	service["pipelines"] = map[string]any{"traces": map[string]any{"receivers": []any{"otlp"}, "processors": []any{name}, "exporters": []any{"debug"}}}
	return cfg
}

// traceLoad is a round of OTLP/HTTP request templates of e2e.LoadTraces' spans (1,000 spans each, 1 % of traces
// failing, 1 % slow). Each round sent gets new trace ids, written into the serialized templates where their ids are.
type traceLoad struct {
	bodies  [][]byte
	offsets [][]int // where each trace id of a template is in its body
	next    atomic.Uint64
}

// newTraceLoad returns whole traces, 100 of 10 spans in each request, when interleaved is false. When it is true,
// a round of 10 requests carries 1,000 traces and each request one span of every trace, as an SDK's batch processor
// sends spans of many traces mixed.
func newTraceLoad(b *testing.B, interleaved bool) *traceLoad {
	templates := []ptrace.Traces{e2e.LoadTraces(0)}
	if interleaved {
		templates = interleave(10)
	}
	l := &traceLoad{}
	for _, td := range templates {
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		if err != nil {
			b.Fatal(err)
		}
		var offsets []int
		seen := map[pcommon.TraceID]bool{}
		for _, rs := range td.ResourceSpans().All() {
			for _, span := range rs.ScopeSpans().At(0).Spans().All() {
				id := span.TraceID()
				if seen[id] {
					continue
				}
				seen[id] = true
				for off := 0; ; {
					i := bytes.Index(body[off:], id[:])
					if i < 0 {
						break
					}
					offsets = append(offsets, off+i)
					off += i + 16
				}
			}
		}
		if len(offsets) != 1000 {
			b.Fatalf("found %d trace ids in a template, want 1000", len(offsets))
		}
		l.bodies, l.offsets = append(l.bodies, body), append(l.offsets, offsets)
	}
	return l
}

// interleave returns n requests of the spans of n × 100 traces (e2e.LoadTraces 0 to n-1): request k holds the k-th
// span of every trace, so that each trace is spread over all n requests.
func interleave(n int) []ptrace.Traces {
	out := make([]ptrace.Traces, n)
	for k := range out {
		out[k] = ptrace.NewTraces()
	}
	for r := range uint64(n) {
		for _, rs := range e2e.LoadTraces(r).ResourceSpans().All() {
			for _, span := range rs.ScopeSpans().At(0).Spans().All() {
				id := span.SpanID()
				k := (byteorder.BigEndian.Uint64(id[:]) - 1) % uint64(n) // span ids are trace*10 + position + 1
				dest := out[k].ResourceSpans()
				var spans ptrace.SpanSlice
				for _, d := range dest.All() {
					if name, _ := d.Resource().Attributes().Get("service.name"); name.Str() == serviceName(rs) {
						spans = d.ScopeSpans().At(0).Spans()
					}
				}
				if spans == (ptrace.SpanSlice{}) {
					d := dest.AppendEmpty()
					rs.Resource().CopyTo(d.Resource())
					spans = d.ScopeSpans().AppendEmpty().Spans()
				}
				span.CopyTo(spans.AppendEmpty())
			}
		}
	}
	return out
}

func serviceName(rs ptrace.ResourceSpans) string {
	name, _ := rs.Resource().Attributes().Get("service.name")
	return name.Str()
}

// request is the next template of the round with the round's fresh trace ids (the same within each trace).
func (l *traceLoad) request() []byte {
	i := l.next.Add(1) - 1
	n, k := i/uint64(len(l.bodies))+1, i%uint64(len(l.bodies))
	body := bytes.Clone(l.bodies[k])
	for _, off := range l.offsets[k] {
		// keep the low bits (which trace of the template) and make the rest unique to this round
		byteorder.BigEndian.PutUint64(body[off:], byteorder.BigEndian.Uint64(body[off:])^n<<20)
		byteorder.BigEndian.PutUint64(body[off+8:], byteorder.BigEndian.Uint64(body[off+8:])^(n*0x9e3779b97f4a7c15))
	}
	return body
}

// send posts requests to url from workers goroutines until ctx ends, at most perSecond requests a second (0: as
// fast as the collector takes them), and returns how many were accepted.
func (l *traceLoad) send(ctx context.Context, url string, workers int, perSecond float64) int64 {
	var accepted atomic.Int64
	client := &http.Client{Transport: &http.Transport{MaxIdleConnsPerHost: workers}}
	paced(ctx, workers, perSecond, func() {
		req, _ := http.NewRequestWithContext(ctx, http.MethodPost, url, bytes.NewReader(l.request()))
		req.Header.Set("Content-Type", "application/x-protobuf")
		resp, err := client.Do(req)
		if err != nil {
			return
		}
		resp.Body.Close()
		if resp.StatusCode == http.StatusOK {
			accepted.Add(1)
		}
	})
	return accepted.Load()
}

// samplingRun is a processor and a kind of request.
type samplingRun struct {
	name, processor string
	interleaved     bool
}

// samplingRuns are both processors with whole traces in each request, then both with interleaved batches.
func samplingRuns() []samplingRun {
	var runs []samplingRun
	for _, interleaved := range []bool{false, true} {
		for _, processor := range []string{"sampling", "tail_sampling"} {
			batches := map[bool]string{false: "whole", true: "interleaved"}[interleaved]
			runs = append(runs, samplingRun{processor + "/batches=" + batches, processor, interleaved})
		}
	}
	return runs
}

// BenchmarkSamplingThroughput saturates otelcol-strata with OTLP/HTTP traces (8 senders, 1,000 spans a request) for
// each of the sampling and tail_sampling processors with equivalent policies, whole traces in each request and then
// interleaved batches, and reports the spans a second accepted and exported, and the collector's CPU and resident
// memory. The load generator runs on the same 2 cores.
func BenchmarkSamplingThroughput(b *testing.B) {
	const warmup, window = 10 * time.Second, 30 * time.Second
	for _, run := range samplingRuns() {
		name := run.processor
		b.Run(run.name, func(b *testing.B) {
			load := newTraceLoad(b, run.interleaved)
			otlp, telemetry := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b)), fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
			config := e2e.WriteYAML(b, filepath.Join(b.TempDir(), name+".yaml"), tracesCollector(otlp, telemetry, samplingProcessors(2 * time.Second)[name]))
			for b.Loop() {
				c := e2e.StartCollector(b, binary, config)
				c.WaitFor(b, "telemetry", 30*time.Second, func() error { _, err := e2e.HTTPGet("http://" + telemetry + "/metrics"); return err })
				ctx, cancel := context.WithTimeout(context.Background(), warmup+window)
				done := make(chan int64)
				go func() { done <- load.send(ctx, "http://"+otlp+"/v1/traces", 8, 0) }()
				time.Sleep(warmup)
				in0, out0 := spanCounts(b, "http://"+telemetry+"/metrics")
				cpu0 := cpuTicks(b, c.PID())
				time.Sleep(window)
				in1, out1 := spanCounts(b, "http://"+telemetry+"/metrics")
				cpu := cpuTicks(b, c.PID()) - cpu0
				rss := rssKiB(b, c.PID())
				cancel()
				<-done
				seconds := window.Seconds()
				b.ReportMetric((in1-in0)/seconds, "accepted-spans/s")
				b.ReportMetric((out1-out0)/seconds, "exported-spans/s")
				b.ReportMetric(float64(cpu)/seconds, "CPU-%")
				b.ReportMetric((in1-in0)/(float64(cpu)/100), "spans/CPU-s")
				b.ReportMetric(float64(rss)/1024, "RSS-MiB")
				if err := c.Stop(30 * time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkSamplingMemoryPerSpan sends 20,000 spans a second for 15 s (whole traces in each request, then
// interleaved batches) to each processor with a decision wait of a minute, so that every span stays buffered, and
// reports the resident memory they take per span (RSS after, less RSS before the load).
func BenchmarkSamplingMemoryPerSpan(b *testing.B) {
	const window = 15 * time.Second
	for _, run := range samplingRuns() {
		name := run.processor
		b.Run(run.name, func(b *testing.B) {
			load := newTraceLoad(b, run.interleaved)
			otlp, telemetry := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b)), fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
			config := e2e.WriteYAML(b, filepath.Join(b.TempDir(), name+".yaml"), tracesCollector(otlp, telemetry, samplingProcessors(time.Minute)[name]))
			for b.Loop() {
				c := e2e.StartCollector(b, binary, config)
				c.WaitFor(b, "telemetry", 30*time.Second, func() error { _, err := e2e.HTTPGet("http://" + telemetry + "/metrics"); return err })
				time.Sleep(2 * time.Second)
				rss0 := rssKiB(b, c.PID())
				ctx, cancel := context.WithTimeout(context.Background(), window)
				accepted := load.send(ctx, "http://"+otlp+"/v1/traces", 2, 20)
				cancel()
				time.Sleep(2 * time.Second)
				spans := float64(accepted * 1000)
				b.ReportMetric(spans, "buffered-spans")
				b.ReportMetric(float64(rssKiB(b, c.PID())-rss0)*1024/spans, "RSS-B/span")
				if err := c.Stop(30 * time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// spanCounts reads the spans the receiver accepted and the exporter sent from the collector's own metrics (their URL).
func spanCounts(b *testing.B, telemetry string) (accepted, sent float64) {
	families, err := e2e.ScrapePrometheus(telemetry)
	if err != nil {
		b.Fatal(err)
	}
	for _, m := range families["otelcol_receiver_accepted_spans_total"].GetMetric() {
		accepted += m.GetCounter().GetValue()
	}
	for _, m := range families["otelcol_exporter_sent_spans_total"].GetMetric() {
		sent += m.GetCounter().GetValue()
	}
	return accepted, sent
}
