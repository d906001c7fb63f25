package kpireceiver

import (
	"context"
	"math"
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

// FuzzSQLValues reads any text and bytes as a database's column values (numbers, bucket bounds) and as a saved
// position: each is a number, an error, or a position that goes back to storage, never a panic.
func FuzzSQLValues(f *testing.F) {
	f.Add("12.5", []byte(`{"type":"int","value":"42"}`), 1e39)
	f.Add("+Inf", []byte(`{"type":"time","value":"2026-11-27T12:00:00.123456789Z"}`), math.Copysign(0, -1))
	f.Add("NaN", []byte(`{"type":"float","value":"1e400"}`), 0.1)
	f.Add("0x1p-2", []byte(`{"type":"string","value":"2026-11-27 12:00:00"}`), 5.0)
	bounds := []float64{0.1, 1, 10}
	f.Fuzz(func(t *testing.T, text string, stored []byte, x float64) {
		for _, v := range []any{text, []byte(text), x, int64(x), x > 0, nil} {
			_, _ = toFloat(v)
			_, _ = bucketIndex(bounds, v)
		}
		p, err := decodePosition(stored)
		if err != nil {
			return
		}
		_ = positionLess(p, parsePosition(text))
		if _, err := encodePosition(p); err != nil {
			t.Fatalf("a position read from storage cannot be kept again: %v", err)
		}
	})
}
