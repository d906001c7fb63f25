package kpireceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"go.opentelemetry.io/collector/config/confighttp"
)

// FuzzHTTPAnswer serves any bytes as a KPI source's JSON answer and reads it through the rows, attributes, fields,
// expressions and buckets of a source: an answer is read or refused with an error, never a panic.
func FuzzHTTPAnswer(f *testing.F) {
	var body atomic.Pointer[[]byte]
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		_, _ = w.Write(*body.Load())
	}))
	f.Cleanup(srv.Close)
	cfg := &HTTPSourceConfig{ClientConfig: confighttp.NewDefaultClientConfig(), Method: http.MethodGet,
		ValidStatusCodes: []int{200}, MaxBodySize: 1 << 20, Rows: "providers", Attributes: []string{"name"},
		Values: []ValueConfig{
			{Field: "error_ratio", Metric: "payments.error_ratio"},
			{Expr: "sum(items, .amount)", Metric: "payments.amount", ValueType: "int"},
			{Field: "latency", Metric: "payments.latency", Type: "histogram", Buckets: []float64{0.1, 1, 10}},
		}}
	cfg.Endpoint = srv.URL
	src, err := newHTTPSource("payments", cfg, srv.Client(), 100)
	if err != nil {
		f.Fatal(err)
	}
	f.Add([]byte(`{"providers":[{"name":"stripe","error_ratio":0.01,"items":[{"amount":3}],"latency":0.2}]}`))
	f.Add([]byte(`{"providers":[{"name":{"x":1},"error_ratio":"1e39","items":[{"amount":1e400}],"latency":-1}]}`))
	f.Add([]byte(`{"providers":[{"name":null,"error_ratio":true,"items":null,"latency":"NaN"}]}`))
	f.Add([]byte(`{"providers":{"name":"not an array"}}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		body.Store(&data)
		_, _ = src.get(context.Background())
	})
}
