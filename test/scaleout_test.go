package test

import (
	"bytes"
	"context"
	byteorder "encoding/binary"
	"fmt"
	"net/http"
	"net/http/httptest"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"github.com/twmb/franz-go/pkg/kgo"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"

	"github.com/otelstrata/strata/internal/e2e"
)

const (
	scaleOutPartitions = 6
	scaleOutTraces     = 300 // per phase, 4 spans and 1 log record each
	scaleOutServices   = 12  // resources sending system.cpu.utilization
)

// TestScaleOut runs the gateway tier as the examples deploy it: a Kafka protocol broker on loopback (kfake), one
// agent (examples/agent/collector.yaml without its Kubernetes-only parts) and three gateways
// (examples/gateway/collector.yaml), each gateway exporting to its own OTLP sink. It checks that every trace is
// decided whole by one gateway with its log records beside it, that every resource's series are modelled by one
// gateway, that the load is shared, and that when a gateway stops its partitions move: what is sent afterwards
// reaches the others, and nothing is lost or delivered twice.
func TestScaleOut(t *testing.T) {
	kafka := e2e.StartKafka(t, scaleOutPartitions)
	accept := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {})) // remote write, Alertmanager
	t.Cleanup(accept.Close)

	var gateways []*e2e.Tier
	for i := 1; i <= 3; i++ {
		// a budget of a trace a second: the sampler drops most of what no rule keeps (phase 3)
		gateways = append(gateways, e2e.StartGateway(t, binary, repoRoot, fmt.Sprintf("gw-%d", i), kafka.Broker, accept.URL,
			"STRATA_TRACES_PER_SECOND=1"))
	}
	assignment := waitForGroup(t, kafka, 3)
	for gw, topics := range assignment {
		for _, topic := range e2e.KafkaTopics[1:] {
			assert.Equal(t, topics[e2e.KafkaTopics[0]], topics[topic], "%s: %s and %s partitions differ", gw, e2e.KafkaTopics[0], topic)
		}
	}
	agent := e2e.StartAgent(t, binary, repoRoot, kafka.Broker)

	// Bad input ahead of the data: a message that is not OTLP in every partition of every topic. Each is skipped and
	// counted; none stalls its partition.
	var poison []*kgo.Record
	for _, topic := range e2e.KafkaTopics {
		for p := range int32(scaleOutPartitions) {
			poison = append(poison, &kgo.Record{Topic: topic, Partition: p, Value: []byte("not OTLP")})
		}
	}
	require.NoError(t, kafka.Client.ProduceSync(context.Background(), poison...).FirstErr())

	// Phase 1: three gateways.
	phase1 := scaleOutData(0)
	sendToAgent(t, agent, phase1)
	sinks := func(gws []*e2e.Tier) []*e2e.OTLPSink {
		var s []*e2e.OTLPSink
		for _, gw := range gws {
			s = append(s, gw.Sink)
		}
		return s
	}
	waitForTraces(t, gateways[0].Process, sinks(gateways), phase1)
	waitForPoints(t, gateways[0].Process, sinks(gateways), 3*scaleOutServices)
	for _, signal := range []string{"spans", "log_records", "metric_points"} {
		assert.EqualValues(t, scaleOutPartitions, sumWhere(t, urls(gateways, func(gw *e2e.Tier) string { return gw.Telemetry }),
			"otelcol_kafka_receiver_unmarshal_failed_"+signal+"_total", nil),
			"messages on the %s topic that are not OTLP, counted", signal)
	}
	for _, gw := range gateways {
		share := 0
		for id := range gw.Sink.SpansByTrace() {
			if _, ok := phase1.traces[id]; ok {
				share++
			}
		}
		t.Logf("%s decided %d of the %d traces", gw.Name, share, scaleOutTraces)
		assert.Greater(t, share, scaleOutTraces/10, "%s's share of the traces", gw.Name)
	}
	before := make([]map[string]int, len(gateways))
	for i, gw := range gateways {
		before[i] = gw.Sink.PointsByResource("system.cpu.utilization", "service.name")
	}
	for svc := range scaleOutServices {
		name := fmt.Sprintf("svc-%02d", svc)
		var at []string
		for i, gw := range gateways {
			if before[i][name] > 0 {
				at = append(at, gw.Name)
			}
		}
		assert.Len(t, at, 1, "%s's series reached %v", name, at)
	}
	gateways[0].WaitFor(t, "every series modelled once", 30*time.Second, func() error {
		return modelledSeries(gateways, scaleOutServices)
	})

	// Phase 2: gw-2 stops; its partitions move to gw-1 and gw-3.
	stopped := gateways[1]
	require.NoError(t, stopped.Stop(60*time.Second), "gw-2 exits cleanly")
	survivors := []*e2e.Tier{gateways[0], gateways[2]}
	assignment = waitForGroup(t, kafka, 2)
	for gw, topics := range assignment {
		assert.Len(t, topics[e2e.KafkaTopics[0]], scaleOutPartitions/2, "%s's partitions after the move", gw)
	}
	phase2 := scaleOutData(1)
	sendToAgent(t, agent, phase2)
	waitForTraces(t, gateways[0].Process, sinks(survivors), phase2)
	waitForPoints(t, gateways[0].Process, sinks(gateways), 6*scaleOutServices)
	for svc := range scaleOutServices {
		name := fmt.Sprintf("svc-%02d", svc)
		var at []string
		for i, gw := range gateways {
			if gw.Sink.PointsByResource("system.cpu.utilization", "service.name")[name] > before[i][name] {
				at = append(at, gw.Name)
			}
		}
		assert.Len(t, at, 1, "%s's series after the move reached %v", name, at)
		assert.NotContains(t, at, stopped.Name)
	}
	gateways[0].WaitFor(t, "the moved series modelled by the survivors", 30*time.Second, func() error {
		return modelledSeries(survivors, scaleOutServices)
	})

	// Nothing lost, nothing twice: phase 1's traces are still whole and single after the move.
	checkTraces(t, sinks(gateways), phase1)
	checkTraces(t, sinks(gateways), phase2)

	// Phase 3: two rounds of traffic of which a third fails, the second after the sampler's budget has seen the
	// first (a key's first traffic is kept whole): the sampler keeps every error and drops most of the rest; the
	// service graph, read before it, counts every request and failure.
	metrics := urls(survivors, func(gw *e2e.Tier) string { return gw.Metrics })
	telemetry := urls(survivors, func(gw *e2e.Tier) string { return gw.Telemetry })
	call := map[string]string{"client": "checkout", "server": "payment"}
	requests0 := sumWhere(t, metrics, "traces_service_graph_request_total", call)
	failed0 := sumWhere(t, metrics, "traces_service_graph_request_failed_total", call)
	decided0 := sumWhere(t, telemetry, "otelcol_processor_sampling_decisions_total", nil)
	dropped0 := sumWhere(t, telemetry, "otelcol_processor_sampling_decisions_total", map[string]string{"decision": "drop"})
	for round := range uint64(2) {
		sendToAgent(t, agent, scaleOutCalls(round))
		sent := float64((round + 1) * scaleOutTraces)
		gateways[0].WaitFor(t, "every call counted and every trace decided", 60*time.Second, func() error {
			requests := sumWhere(t, metrics, "traces_service_graph_request_total", call) - requests0
			decided := sumWhere(t, telemetry, "otelcol_processor_sampling_decisions_total", nil) - decided0
			if requests < sent || decided < sent {
				return fmt.Errorf("%g of %g calls from checkout to payment counted, %g traces decided", requests, sent, decided)
			}
			return nil
		})
		if round == 0 {
			gateways[0].WaitFor(t, "the budget adjusted to the traffic", 60*time.Second, func() error {
				for _, url := range telemetry {
					if budgetOffered(t, url) == 0 {
						return fmt.Errorf("%s: no adjustment since the traffic", url)
					}
				}
				return nil
			})
		}
	}
	assert.Equal(t, float64(2*scaleOutTraces), sumWhere(t, metrics, "traces_service_graph_request_total", call)-requests0,
		"calls from checkout to payment, as sent")
	assert.Equal(t, float64(2*scaleOutTraces/3), sumWhere(t, metrics, "traces_service_graph_request_failed_total", call)-failed0,
		"failed calls, as sent")
	dropped := sumWhere(t, telemetry, "otelcol_processor_sampling_decisions_total", map[string]string{"decision": "drop"}) - dropped0
	assert.Greater(t, dropped, float64(scaleOutTraces/3), "the sampler dropped most of the second round's traces without an error")
}

// scaleOutCalls is a round of phase 3's data: 300 traces of a frontend request calling checkout, which calls
// payment (server and client spans), every third failing at payment, sent as two requests (frontend's spans, then
// the others').
func scaleOutCalls(round uint64) scaleOutBatch {
	d := scaleOutBatch{traces: map[pcommon.TraceID]bool{}, logs: plog.NewLogs()}
	first, rest, spans := shopSpans()
	now := time.Now()
	for n := range uint64(scaleOutTraces) {
		var id pcommon.TraceID
		byteorder.BigEndian.PutUint64(id[:8], ((3+round)*scaleOutTraces+n+1)*0x9e3779b97f4a7c15)
		byteorder.BigEndian.PutUint64(id[8:], (n+11)*0xbf58476d1ce4e5b9)
		d.traces[id] = true
		for s, x := range []struct {
			service string
			kind    ptrace.SpanKind
		}{{"frontend", ptrace.SpanKindServer}, {"frontend", ptrace.SpanKindClient}, {"checkout", ptrace.SpanKindServer},
			{"checkout", ptrace.SpanKindClient}, {"payment", ptrace.SpanKindServer}} {
			span := spans[x.service].AppendEmpty()
			span.SetTraceID(id)
			span.SetKind(x.kind)
			var sid, parent pcommon.SpanID
			byteorder.BigEndian.PutUint64(sid[:], uint64(s+1))
			span.SetSpanID(sid)
			if s > 0 {
				byteorder.BigEndian.PutUint64(parent[:], uint64(s))
				span.SetParentSpanID(parent)
			}
			span.SetName(fmt.Sprintf("%s-%d", x.service, s))
			span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second + time.Duration(s)*10*time.Millisecond)))
			span.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Duration(s) * 10 * time.Millisecond)))
			if x.service == "payment" && n%3 == 0 {
				span.Status().SetCode(ptrace.StatusCodeError)
			}
		}
	}
	d.spans = []ptrace.Traces{first, rest}
	return d
}

// send posts the data to the agent over OTLP/HTTP; each trace's spans come in two requests.
func sendToAgent(t *testing.T, agent *e2e.Tier, d scaleOutBatch) {
	t.Helper()
	var bodies []struct {
		path string
		body []byte
	}
	add := func(path string, body []byte, err error) {
		require.NoError(t, err)
		bodies = append(bodies, struct {
			path string
			body []byte
		}{path, body})
	}
	for _, td := range d.spans {
		body, err := ptraceotlp.NewExportRequestFromTraces(td).MarshalProto()
		add("/v1/traces", body, err)
	}
	body, err := plogotlp.NewExportRequestFromLogs(d.logs).MarshalProto()
	add("/v1/logs", body, err)
	for _, md := range d.metrics {
		body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
		add("/v1/metrics", body, err)
	}
	for _, b := range bodies {
		resp, err := http.Post("http://"+agent.OTLP+b.path, "application/x-protobuf", bytes.NewReader(b.body))
		require.NoError(t, err)
		resp.Body.Close()
		require.Equal(t, http.StatusOK, resp.StatusCode, b.path)
	}
}

type scaleOutBatch struct {
	traces  map[pcommon.TraceID]bool
	spans   []ptrace.Traces
	logs    plog.Logs
	metrics []pmetric.Metrics
}

// shopSpans returns two requests' traces — frontend's, then checkout's and payment's — and the span slice of each
// service's resource in them.
func shopSpans() (first, rest ptrace.Traces, spans map[string]ptrace.SpanSlice) {
	first, rest, spans = ptrace.NewTraces(), ptrace.NewTraces(), map[string]ptrace.SpanSlice{}
	for _, s := range []struct {
		td      ptrace.Traces
		service string
	}{{first, "frontend"}, {rest, "checkout"}, {rest, "payment"}} {
		rs := s.td.ResourceSpans().AppendEmpty()
		rs.Resource().Attributes().PutStr("service.name", s.service)
		spans[s.service] = rs.ScopeSpans().AppendEmpty().Spans()
	}
	return first, rest, spans
}

// scaleOutData is a phase's data: 300 traces of 4 spans over frontend, checkout and payment, whose payment span
// fails (the gateways' sampling keeps errors: every trace must arrive), sent as two requests (frontend's spans, then
// the others'); a log record of checkout's in each trace; and three rounds of system.cpu.utilization from 12 services.
func scaleOutData(phase uint64) scaleOutBatch {
	d := scaleOutBatch{traces: map[pcommon.TraceID]bool{}, logs: plog.NewLogs()}
	first, rest, services := shopSpans()
	rl := d.logs.ResourceLogs().AppendEmpty()
	rl.Resource().Attributes().PutStr("service.name", "checkout")
	records := rl.ScopeLogs().AppendEmpty().LogRecords()
	now := time.Now()
	for n := range uint64(scaleOutTraces) {
		var id pcommon.TraceID
		byteorder.BigEndian.PutUint64(id[:8], (phase*scaleOutTraces+n+1)*0x9e3779b97f4a7c15)
		byteorder.BigEndian.PutUint64(id[8:], (n+7)*0xbf58476d1ce4e5b9)
		d.traces[id] = true
		for s, service := range []string{"frontend", "frontend", "checkout", "payment"} {
			span := services[service].AppendEmpty()
			span.SetTraceID(id)
			var sid, parent pcommon.SpanID
			byteorder.BigEndian.PutUint64(sid[:], uint64(s+1))
			span.SetSpanID(sid)
			if s > 0 {
				byteorder.BigEndian.PutUint64(parent[:], uint64(s))
				span.SetParentSpanID(parent)
			}
			span.SetName(fmt.Sprintf("%s-%d", service, s))
			span.SetStartTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Second)))
			span.SetEndTimestamp(pcommon.NewTimestampFromTime(now.Add(-time.Duration(s) * 100 * time.Millisecond)))
			if service == "payment" {
				span.Status().SetCode(ptrace.StatusCodeError)
			}
		}
		lr := records.AppendEmpty()
		lr.SetTraceID(id)
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.Body().SetStr(fmt.Sprintf("order %d placed", n))
		lr.SetTimestamp(pcommon.NewTimestampFromTime(now))
	}
	d.spans = []ptrace.Traces{first, rest}
	for round := range 3 {
		md := pmetric.NewMetrics()
		for svc := range scaleOutServices {
			rm := md.ResourceMetrics().AppendEmpty()
			rm.Resource().Attributes().PutStr("service.name", fmt.Sprintf("svc-%02d", svc))
			m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
			m.SetName("system.cpu.utilization")
			m.SetUnit("1")
			p := m.SetEmptyGauge().DataPoints().AppendEmpty()
			p.SetTimestamp(pcommon.NewTimestampFromTime(now.Add(time.Duration(round) * time.Second)))
			p.SetDoubleValue(0.2 + 0.01*float64(svc))
		}
		d.metrics = append(d.metrics, md)
	}
	return d
}

// waitForTraces waits until every trace of the batch arrived whole at the sinks, then checks it arrived once, at
// one sink, with its log record.
func waitForTraces(t *testing.T, p *e2e.Process, sinks []*e2e.OTLPSink, d scaleOutBatch) {
	t.Helper()
	p.WaitFor(t, "every span and log record", 60*time.Second, func() error {
		spans, logs := 0, 0
		for _, s := range sinks {
			for id, n := range s.SpansByTrace() {
				if d.traces[id] {
					spans += n
				}
			}
			for id, n := range s.LogsByTrace() {
				if d.traces[id] {
					logs += n
				}
			}
		}
		if spans < 4*len(d.traces) || logs < len(d.traces) {
			return fmt.Errorf("%d of %d spans, %d of %d log records", spans, 4*len(d.traces), logs, len(d.traces))
		}
		return nil
	})
	checkTraces(t, sinks, d)
}

// checkTraces asserts that each trace of the batch is at exactly one sink, with its 4 spans and its log record.
func checkTraces(t *testing.T, sinks []*e2e.OTLPSink, d scaleOutBatch) {
	t.Helper()
	spans := make([]map[pcommon.TraceID]int, len(sinks))
	logs := make([]map[pcommon.TraceID]int, len(sinks))
	for i, s := range sinks {
		spans[i], logs[i] = s.SpansByTrace(), s.LogsByTrace()
	}
	var bad []string
	for id := range d.traces {
		var at []string
		for i := range sinks {
			if spans[i][id] > 0 || logs[i][id] > 0 {
				at = append(at, fmt.Sprintf("sink %d: %d spans, %d logs", i+1, spans[i][id], logs[i][id]))
			}
		}
		if len(at) != 1 || !strings.HasSuffix(at[0], ": 4 spans, 1 logs") {
			bad = append(bad, fmt.Sprintf("%s: %v", id, at))
		}
	}
	slices.Sort(bad)
	assert.Empty(t, bad, "traces not whole at one gateway (%d)", len(bad))
}

// waitForPoints waits until the sinks hold n points of system.cpu.utilization, then checks they hold no more.
func waitForPoints(t *testing.T, p *e2e.Process, sinks []*e2e.OTLPSink, n int) {
	t.Helper()
	count := func() int {
		total := 0
		for _, s := range sinks {
			for _, c := range s.PointsByResource("system.cpu.utilization", "service.name") {
				total += c
			}
		}
		return total
	}
	p.WaitFor(t, "the metric points", 60*time.Second, func() error {
		if got := count(); got < n {
			return fmt.Errorf("%d of %d points", got, n)
		}
		return nil
	})
	time.Sleep(time.Second) // a duplicate would arrive now
	assert.Equal(t, n, count(), "points of system.cpu.utilization")
}

// modelledSeries checks that the gateways together model the n series once each (otelcol_processor_anomaly_series).
func modelledSeries(gateways []*e2e.Tier, n int) error {
	total := 0.0
	var each []string
	for _, gw := range gateways {
		families, err := e2e.ScrapePrometheus(gw.Telemetry)
		if err != nil {
			return err
		}
		f, ok := families["otelcol_processor_anomaly_series"]
		if !ok {
			return fmt.Errorf("%s has no otelcol_processor_anomaly_series yet", gw.Name)
		}
		v := 0.0
		for _, m := range f.GetMetric() {
			v += m.GetGauge().GetValue()
		}
		each = append(each, fmt.Sprintf("%s %g", gw.Name, v))
		total += v
	}
	if int(total) != n {
		return fmt.Errorf("series modelled: %v, want %d in all", each, n)
	}
	return nil
}

// budgetOffered returns what reached the sampler's budget over its last adjustment interval, per second, at the
// telemetry endpoint url (the gauge's Prometheus name carries its unit).
func budgetOffered(t *testing.T, url string) float64 {
	t.Helper()
	families, err := e2e.ScrapePrometheus(url)
	require.NoError(t, err)
	for name, f := range families {
		if strings.HasPrefix(name, "otelcol_processor_sampling_budget_offered") && len(f.GetMetric()) > 0 {
			return f.GetMetric()[0].GetGauge().GetValue()
		}
	}
	return 0
}

// urls returns one URL of each gateway.
func urls(gateways []*e2e.Tier, of func(*e2e.Tier) string) []string {
	out := make([]string, len(gateways))
	for i, gw := range gateways {
		out[i] = of(gw)
	}
	return out
}

// sumWhere returns the sum of the counter name's series whose labels include where, over the Prometheus
// endpoints at urls.
func sumWhere(t *testing.T, urls []string, name string, where map[string]string) float64 {
	t.Helper()
	total := 0.0
	for _, url := range urls {
		families, err := e2e.ScrapePrometheus(url)
		require.NoError(t, err)
	series:
		for _, m := range families[name].GetMetric() {
			for k, v := range where {
				if !slices.ContainsFunc(m.GetLabel(), func(l *dto.LabelPair) bool { return l.GetName() == k && l.GetValue() == v }) {
					continue series
				}
			}
			total += m.GetCounter().GetValue()
		}
	}
	return total
}

// waitForGroup waits until the gateways' consumer group is stable with each of them consuming all three topics,
// and returns each gateway's partitions by topic.
func waitForGroup(t *testing.T, kafka e2e.Kafka, gateways int) map[string]map[string][]int32 {
	t.Helper()
	deadline := time.Now().Add(60 * time.Second)
	for {
		assignment, err := kafka.Assignment()
		if err == nil && len(assignment) == gateways {
			complete := true
			for _, topics := range assignment {
				complete = complete && len(topics) == len(e2e.KafkaTopics)
			}
			if complete {
				return assignment
			}
			err = fmt.Errorf("assignment %v", assignment)
		}
		if time.Now().After(deadline) {
			t.Fatalf("the consumer group of %d gateways: %v", gateways, err)
		}
		time.Sleep(500 * time.Millisecond)
	}
}
