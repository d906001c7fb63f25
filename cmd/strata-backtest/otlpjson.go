package main

import (
	"bufio"
	"bytes"
	"cmp"
	"fmt"
	"os"
	"slices"
	"time"

	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// batch is what arrives at one time of the history: metrics, traces or logs.
type batch struct {
	t       time.Time
	metrics pmetric.Metrics
	traces  ptrace.Traces
	logs    plog.Logs
	// keepValues asks for the metrics' values to be kept for the report (the series store keeps its own).
	keepValues bool
}

// readOTLPJSON reads a file the contrib file exporter writes in its json format: one OTLP/JSON request a line, of
// metrics, traces or logs. Each request becomes a batch at its latest time (a point's, a span's end, a record's),
// and the batches are sorted by it. A line that is not such a request is an error naming the file and the line.
func readOTLPJSON(path string, counts *inputCounts) ([]batch, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 0, 1<<20), 256<<20)
	var batches []batch
	var latest time.Time
	for line := 1; sc.Scan(); line++ {
		data := bytes.TrimSpace(sc.Bytes())
		if len(data) == 0 {
			continue
		}
		b, err := decodeRequest(data)
		if err != nil {
			return nil, fmt.Errorf("%s:%d: %w", path, line, err)
		}
		if b.t.Unix() <= 0 {
			continue // a request with no time holds nothing
		}
		counts.Points += b.metrics.DataPointCount()
		counts.Spans += b.traces.SpanCount()
		counts.Records += b.logs.LogRecordCount()
		if b.t.Before(latest) {
			counts.OutOfOrder++
		}
		latest = maxTime(latest, b.t)
		batches = append(batches, b)
	}
	if err := sc.Err(); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	slices.SortStableFunc(batches, func(a, b batch) int { return a.t.Compare(b.t) })
	return batches, nil
}

// decodeRequest reads one OTLP/JSON request, whichever signal it holds, and counts its points.
func decodeRequest(data []byte) (batch, error) {
	switch {
	case bytes.Contains(data, []byte(`"resourceMetrics"`)):
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(data)
		if err != nil {
			return batch{}, fmt.Errorf("metrics: %w", err)
		}
		return batch{t: latestOfMetrics(md), metrics: md, traces: ptrace.NewTraces(), logs: plog.NewLogs(), keepValues: true}, nil
	case bytes.Contains(data, []byte(`"resourceSpans"`)):
		td, err := (&ptrace.JSONUnmarshaler{}).UnmarshalTraces(data)
		if err != nil {
			return batch{}, fmt.Errorf("traces: %w", err)
		}
		return batch{t: latestOfTraces(td), metrics: pmetric.NewMetrics(), traces: td, logs: plog.NewLogs()}, nil
	case bytes.Contains(data, []byte(`"resourceLogs"`)):
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(data)
		if err != nil {
			return batch{}, fmt.Errorf("logs: %w", err)
		}
		return batch{t: latestOfLogs(ld), metrics: pmetric.NewMetrics(), traces: ptrace.NewTraces(), logs: ld}, nil
	}
	return batch{}, fmt.Errorf("not an OTLP/JSON request of metrics, traces or logs")
}

func maxTime(a, b time.Time) time.Time {
	if b.After(a) {
		return b
	}
	return a
}

func latestOfMetrics(md pmetric.Metrics) (t time.Time) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				t = maxTime(t, latestOfMetric(m))
			}
		}
	}
	return t
}

func latestOfMetric(m pmetric.Metric) (t time.Time) {
	switch m.Type() {
	case pmetric.MetricTypeGauge:
		for _, dp := range m.Gauge().DataPoints().All() {
			t = maxTime(t, dp.Timestamp().AsTime())
		}
	case pmetric.MetricTypeSum:
		for _, dp := range m.Sum().DataPoints().All() {
			t = maxTime(t, dp.Timestamp().AsTime())
		}
	case pmetric.MetricTypeHistogram:
		for _, dp := range m.Histogram().DataPoints().All() {
			t = maxTime(t, dp.Timestamp().AsTime())
		}
	case pmetric.MetricTypeExponentialHistogram:
		for _, dp := range m.ExponentialHistogram().DataPoints().All() {
			t = maxTime(t, dp.Timestamp().AsTime())
		}
	case pmetric.MetricTypeSummary:
		for _, dp := range m.Summary().DataPoints().All() {
			t = maxTime(t, dp.Timestamp().AsTime())
		}
	}
	return t
}

func latestOfTraces(td ptrace.Traces) (t time.Time) {
	for _, rs := range td.ResourceSpans().All() {
		for _, ss := range rs.ScopeSpans().All() {
			for _, s := range ss.Spans().All() {
				t = maxTime(t, s.EndTimestamp().AsTime())
			}
		}
	}
	return t
}

func latestOfLogs(ld plog.Logs) (t time.Time) {
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, r := range sl.LogRecords().All() {
				t = maxTime(t, cmp.Or(r.Timestamp(), r.ObservedTimestamp()).AsTime())
			}
		}
	}
	return t
}
