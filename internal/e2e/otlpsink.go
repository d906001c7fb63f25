package e2e

import (
	"compress/gzip"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"sync"
	"testing"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/plog/plogotlp"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pdata/ptrace/ptraceotlp"
)

// OTLPSink is an OTLP/HTTP (protobuf) server on loopback that keeps what the collector's `otlphttp` exporter sends,
// so a test can read the collector's output exactly as a backend would receive it.
type OTLPSink struct {
	// URL is the base URL to configure as an otlp_http exporter endpoint.
	URL string

	mu      sync.Mutex
	traces  []ptrace.Traces
	metrics []pmetric.Metrics
	logs    []plog.Logs
}

// NewOTLPSink starts the sink; it closes when the test ends.
func NewOTLPSink(t testing.TB) *OTLPSink {
	t.Helper()
	s := &OTLPSink{}
	mux := http.NewServeMux()
	mux.HandleFunc("POST /v1/traces", func(w http.ResponseWriter, r *http.Request) {
		req := ptraceotlp.NewExportRequest()
		s.handle(w, r, req.UnmarshalProto, func() ([]byte, error) {
			s.traces = append(s.traces, req.Traces())
			return ptraceotlp.NewExportResponse().MarshalProto()
		})
	})
	mux.HandleFunc("POST /v1/metrics", func(w http.ResponseWriter, r *http.Request) {
		req := pmetricotlp.NewExportRequest()
		s.handle(w, r, req.UnmarshalProto, func() ([]byte, error) {
			s.metrics = append(s.metrics, req.Metrics())
			return pmetricotlp.NewExportResponse().MarshalProto()
		})
	})
	mux.HandleFunc("POST /v1/logs", func(w http.ResponseWriter, r *http.Request) {
		req := plogotlp.NewExportRequest()
		s.handle(w, r, req.UnmarshalProto, func() ([]byte, error) {
			s.logs = append(s.logs, req.Logs())
			return plogotlp.NewExportResponse().MarshalProto()
		})
	})
	server := httptest.NewServer(mux)
	t.Cleanup(server.Close)
	s.URL = server.URL
	return s
}

// handle decodes one export request (gzip or plain protobuf), keeps it and answers with the encoded response.
func (s *OTLPSink) handle(w http.ResponseWriter, r *http.Request, unmarshal func([]byte) error, keep func() ([]byte, error)) {
	body := io.Reader(r.Body)
	if r.Header.Get("Content-Encoding") == "gzip" {
		zr, err := gzip.NewReader(r.Body)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadRequest)
			return
		}
		defer zr.Close()
		body = zr
	}
	data, err := io.ReadAll(body)
	if err == nil {
		err = unmarshal(data)
	}
	if err != nil {
		http.Error(w, fmt.Sprintf("decoding the export request: %v", err), http.StatusBadRequest)
		return
	}
	s.mu.Lock()
	resp, err := keep()
	s.mu.Unlock()
	if err != nil {
		http.Error(w, err.Error(), http.StatusInternalServerError)
		return
	}
	w.Header().Set("Content-Type", "application/x-protobuf")
	_, _ = w.Write(resp)
}

// SpanNames returns the names of the spans that arrived so far (MetricNames and LogBodies: of metrics and logs).
func (s *OTLPSink) SpanNames() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[string]bool{}
	for _, td := range s.traces {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					names[span.Name()] = true
				}
			}
		}
	}
	return names
}

func (s *OTLPSink) MetricNames() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	names := map[string]bool{}
	for _, md := range s.metrics {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					names[m.Name()] = true
				}
			}
		}
	}
	return names
}

func (s *OTLPSink) LogBodies() map[string]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	bodies := map[string]bool{}
	for _, ld := range s.logs {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					bodies[lr.Body().AsString()] = true
				}
			}
		}
	}
	return bodies
}

// SpansByTrace counts the spans that arrived, by trace id.
func (s *OTLPSink) SpansByTrace() map[pcommon.TraceID]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[pcommon.TraceID]int{}
	for _, td := range s.traces {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					counts[span.TraceID()]++
				}
			}
		}
	}
	return counts
}

// TracesOf returns the traces that arrived with a span of service (its resource's service.name) that started in
// [from, to).
func (s *OTLPSink) TracesOf(service string, from, to time.Time) map[pcommon.TraceID]bool {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := map[pcommon.TraceID]bool{}
	for _, td := range s.traces {
		for _, rs := range td.ResourceSpans().All() {
			if v, ok := rs.Resource().Attributes().Get("service.name"); !ok || v.AsString() != service {
				continue
			}
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					if at := span.StartTimestamp().AsTime(); !at.Before(from) && at.Before(to) {
						out[span.TraceID()] = true
					}
				}
			}
		}
	}
	return out
}

// LastSpanWith returns the latest start of a span that arrived with the string attribute key=value; zero for none.
func (s *OTLPSink) LastSpanWith(key, value string) time.Time {
	s.mu.Lock()
	defer s.mu.Unlock()
	var last time.Time
	for _, td := range s.traces {
		for _, rs := range td.ResourceSpans().All() {
			for _, ss := range rs.ScopeSpans().All() {
				for _, span := range ss.Spans().All() {
					if v, ok := span.Attributes().Get(key); ok && v.AsString() == value && span.StartTimestamp().AsTime().After(last) {
						last = span.StartTimestamp().AsTime()
					}
				}
			}
		}
	}
	return last
}

// LogsByTrace counts the log records that arrived, by trace id (records without one under the zero id).
func (s *OTLPSink) LogsByTrace() map[pcommon.TraceID]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[pcommon.TraceID]int{}
	for _, ld := range s.logs {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					counts[lr.TraceID()]++
				}
			}
		}
	}
	return counts
}

// PointsByResource counts the data points of metric that arrived, by the value of the resource attribute attr.
func (s *OTLPSink) PointsByResource(metric, attr string) map[string]int {
	s.mu.Lock()
	defer s.mu.Unlock()
	counts := map[string]int{}
	for _, md := range s.metrics {
		for _, rm := range md.ResourceMetrics().All() {
			v, ok := rm.Resource().Attributes().Get(attr)
			if !ok {
				continue
			}
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					switch {
					case m.Name() != metric:
					case m.Type() == pmetric.MetricTypeGauge:
						counts[v.AsString()] += m.Gauge().DataPoints().Len()
					case m.Type() == pmetric.MetricTypeSum:
						counts[v.AsString()] += m.Sum().DataPoints().Len()
					}
				}
			}
		}
	}
	return counts
}

// Traces, Metrics and Logs return what arrived so far (the sink's own copies: read, do not change).
func (s *OTLPSink) Traces() []ptrace.Traces {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]ptrace.Traces(nil), s.traces...)
}

func (s *OTLPSink) Metrics() []pmetric.Metrics {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]pmetric.Metrics(nil), s.metrics...)
}

func (s *OTLPSink) Logs() []plog.Logs {
	s.mu.Lock()
	defer s.mu.Unlock()
	return append([]plog.Logs(nil), s.logs...)
}
