package main

import (
	"bufio"
	"context"
	"encoding/json"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pipeline"

	"github.com/otelstrata/strata/internal/points"
	"github.com/otelstrata/strata/internal/semconv"
)

// incidentRecord is one record of the correlation connector, as incidents.jsonl holds it.
type incidentRecord struct {
	Time       time.Time      `json:"time"`
	Event      string         `json:"event"`
	ID         string         `json:"id"`
	State      string         `json:"state"`
	RootCause  string         `json:"root_cause,omitempty"`
	Resource   map[string]any `json:"resource,omitempty"`
	Attributes map[string]any `json:"attributes"`
	Body       string         `json:"body,omitempty"`
}

// scorePoint is one point of the anomaly processor's metrics, as scores.jsonl holds it.
type scorePoint struct {
	Time       time.Time      `json:"time"`
	Metric     string         `json:"metric"`
	Value      float64        `json:"value"`
	Resource   map[string]any `json:"resource,omitempty"`
	Attributes map[string]any `json:"attributes,omitempty"`
}

// recorder stands in for the exporters a backtest does not run: it keeps the incident records reaching them, and
// the anomaly processor's points when asked, as JSON lines in the output directory.
type recorder struct {
	mu        sync.Mutex
	incidents []incidentRecord
	incFile   *os.File
	incOut    *bufio.Writer
	scores    *bufio.Writer
	scoreFile *os.File
	nScores   int
	from      time.Time  // the first time of the points kept in scores.jsonl
	bands     *bucketSet // the anomaly processor's expected bands
	values    *bucketSet // the values of OTLP/JSON history (the series store keeps the rest)
}

func newRecorder(out string, scores bool, from time.Time, sp span) (*recorder, error) {
	r := &recorder{bands: newBucketSet(sp, maxBandSeries), values: newBucketSet(sp, maxBandSeries), from: from}
	var err error
	if r.incFile, err = os.Create(filepath.Join(out, "incidents.jsonl")); err != nil {
		return nil, err
	}
	r.incOut = bufio.NewWriter(r.incFile)
	if scores {
		if r.scoreFile, err = os.Create(filepath.Join(out, "scores.jsonl")); err != nil {
			r.incFile.Close()
			return nil, err
		}
		r.scores = bufio.NewWriterSize(r.scoreFile, 1<<20)
	}
	return r, nil
}

// close writes what is buffered and closes the files.
func (r *recorder) close() error {
	err := r.incOut.Flush()
	if cerr := r.incFile.Close(); err == nil {
		err = cerr
	}
	if r.scores != nil {
		if ferr := r.scores.Flush(); err == nil {
			err = ferr
		}
		if cerr := r.scoreFile.Close(); err == nil {
			err = cerr
		}
	}
	return err
}

// consumer returns the recorder's consumer of sig.
func (r *recorder) consumer(sig pipeline.Signal) any {
	switch sig {
	case pipeline.SignalMetrics:
		c, _ := consumer.NewMetrics(r.consumeMetrics)
		return c
	case pipeline.SignalLogs:
		c, _ := consumer.NewLogs(r.consumeLogs)
		return c
	}
	return consumertest.NewNop() // traces are not kept
}

func (r *recorder) consumeLogs(_ context.Context, ld plog.Logs) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, lr := range sl.LogRecords().All() {
				if semconv.EventName(lr) != semconv.EventIncident {
					continue
				}
				attrs := lr.Attributes().AsRaw()
				rec := incidentRecord{Time: lr.Timestamp().AsTime().UTC(), Event: semconv.EventIncident,
					ID: str(attrs[semconv.AttrIncidentID]), State: str(attrs[semconv.AttrIncidentState]),
					RootCause: str(attrs[semconv.AttrIncidentRootCause]), Resource: rl.Resource().Attributes().AsRaw(),
					Attributes: attrs, Body: lr.Body().AsString()}
				r.incidents = append(r.incidents, rec)
				data, err := json.Marshal(rec)
				if err != nil {
					return err
				}
				r.incOut.Write(append(data, '\n'))
			}
		}
	}
	return nil
}

func str(v any) string {
	s, _ := v.(string)
	return s
}

// maxBandSeries bounds how many series' bands, and how many series' values of OTLP/JSON history, the report keeps
// (12 KiB each).
const maxBandSeries = 20000

// tapBands returns next, with the anomaly processor's bands in what it takes kept for the report first.
func (r *recorder) tapBands(next consumer.Metrics) consumer.Metrics {
	c, _ := consumer.NewMetrics(func(ctx context.Context, md pmetric.Metrics) error {
		r.mu.Lock()
		r.keepBands(md)
		r.mu.Unlock()
		return next.ConsumeMetrics(ctx, md)
	})
	return c
}

// keepBands keeps the lower and upper points of the anomaly processor's bands. The caller holds mu.
func (r *recorder) keepBands(md pmetric.Metrics) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if m.Type() != pmetric.MetricTypeGauge || (m.Name() != semconv.MetricAnomalyLower && m.Name() != semconv.MetricAnomalyUpper) {
					continue
				}
				for _, dp := range m.Gauge().DataPoints().All() {
					if metric, ok := dp.Attributes().Get(semconv.AttrAnomalyMetric); ok {
						r.bands.add(metric.Str(), rm.Resource().Attributes(), dp.Attributes(), int64(dp.Timestamp()), points.Value(dp))
					}
				}
			}
		}
	}
}

// keepValues keeps the number points of history replayed from OTLP/JSON, for the report's timelines.
func (r *recorder) keepValues(md pmetric.Metrics) {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, rm := range md.ResourceMetrics().All() {
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				for _, dp := range points.Numbers(m).All() {
					r.values.add(m.Name(), rm.Resource().Attributes(), dp.Attributes(), int64(dp.Timestamp()), points.Value(dp))
				}
			}
		}
	}
}

func (r *recorder) consumeMetrics(_ context.Context, md pmetric.Metrics) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.keepBands(md)
	if r.scores == nil {
		return nil
	}
	for _, rm := range md.ResourceMetrics().All() {
		var res map[string]any
		for _, sm := range rm.ScopeMetrics().All() {
			for _, m := range sm.Metrics().All() {
				if !strings.HasPrefix(m.Name(), semconv.PrefixAnomaly) || m.Type() != pmetric.MetricTypeGauge {
					continue
				}
				if res == nil {
					res = rm.Resource().Attributes().AsRaw()
				}
				for _, dp := range m.Gauge().DataPoints().All() {
					if dp.Timestamp().AsTime().Before(r.from) {
						continue
					}
					data, err := json.Marshal(scorePoint{Time: dp.Timestamp().AsTime().UTC(), Metric: m.Name(),
						Value: points.Value(dp), Resource: res, Attributes: dp.Attributes().AsRaw()})
					if err != nil {
						return err
					}
					r.scores.Write(append(data, '\n'))
					r.nScores++
				}
			}
		}
	}
	return nil
}
