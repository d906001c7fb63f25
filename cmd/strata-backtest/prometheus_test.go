package main

import (
	"context"
	"encoding/pem"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
)

// promAPI answers query_range as Prometheus does, for `up` only, and refuses requests without basic auth.
func promAPI(t *testing.T) *httptest.Server {
	srv := httptest.NewTLSServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		if user, pass, ok := r.BasicAuth(); !ok || user != "reader" || pass != "s3cret" {
			w.WriteHeader(http.StatusUnauthorized)
			io.WriteString(w, `{"status":"error","errorType":"unauthorized","error":"who are you"}`)
			return
		}
		require.NoError(t, r.ParseForm())
		if r.Form.Get("query") != "up" {
			w.WriteHeader(http.StatusBadRequest)
			fmt.Fprintf(w, `{"status":"error","errorType":"bad_data","error":"unknown query %s"}`, r.Form.Get("query"))
			return
		}
		fmt.Fprintf(w, `{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up","job":"ns/api","instance":"a:1"},"values":[[%s,"1"],[1764547260,"NaN"],[1764547320,"0"]]}]}}`, r.Form.Get("start"))
	}))
	t.Cleanup(srv.Close)
	return srv
}

// TestPrometheusOverTLSWithBasicAuth: the client settings file gives the CA and the Authorization header, as the
// collector's own HTTP client takes them; a refusal is an error naming the query and Prometheus' answer.
func TestPrometheusOverTLSWithBasicAuth(t *testing.T) {
	srv := promAPI(t)
	dir := t.TempDir()
	ca := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(ca, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: srv.Certificate().Raw}), 0o644))
	client := filepath.Join(dir, "client.yaml")
	require.NoError(t, os.WriteFile(client, []byte(fmt.Sprintf(`endpoint: %s
tls: {ca_file: %s}
headers: {Authorization: "Basic cmVhZGVyOnMzY3JldA=="}
timeout: 10s
`, srv.URL, ca)), 0o644))
	p, err := newPromSource("", client, []string{"up"}, nil, "1764547200", "1764547320", time.Minute)
	require.NoError(t, err)
	s := newSeriesStore()
	require.NoError(t, p.read(context.Background(), componenttest.NewNopTelemetrySettings(), s))
	s.prepare()
	assert.Equal(t, inputCounts{Points: 2, Series: 1, NaN: 1}, s.counts)
	d := s.series[0]
	assert.Equal(t, [][2]string{{"service.instance.id", "a:1"}, {"service.name", "api"}, {"service.namespace", "ns"}}, d.resource)

	p.Queries = []string{"down"}
	err = p.read(context.Background(), componenttest.NewNopTelemetrySettings(), newSeriesStore())
	require.ErrorContains(t, err, `prometheus: query "down" from 2025-12-01T00:00:00Z: bad_data: unknown query down`)

	noAuth, err := newPromSource(srv.URL, "", []string{"up"}, nil, "1764547200", "1764547320", time.Minute)
	require.NoError(t, err)
	noAuth.TLS.CAFile = ca
	err = noAuth.read(context.Background(), componenttest.NewNopTelemetrySettings(), newSeriesStore())
	require.ErrorContains(t, err, "unauthorized: who are you")

	untrusted, err := newPromSource(srv.URL, "", []string{"up"}, []string{"Authorization: Basic cmVhZGVyOnMzY3JldA=="}, "1764547200", "1764547320", time.Minute)
	require.NoError(t, err)
	err = untrusted.read(context.Background(), componenttest.NewNopTelemetrySettings(), newSeriesStore())
	require.Error(t, err)
	assert.True(t, strings.Contains(err.Error(), "certificate"), err.Error())
}

func FuzzPromResponse(f *testing.F) {
	f.Add([]byte(`{"status":"success","data":{"resultType":"matrix","result":[{"metric":{"__name__":"up"},"values":[[1,"1"]]}]}}`))
	f.Add([]byte(`{"status":"error","errorType":"bad_data","error":"x"}`))
	f.Fuzz(func(t *testing.T, body []byte) {
		srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { w.Write(body) }))
		defer srv.Close()
		p, err := newPromSource(srv.URL, "", []string{"up"}, nil, "0", "60", time.Minute)
		require.NoError(t, err)
		_ = p.read(context.Background(), componenttest.NewNopTelemetrySettings(), newSeriesStore())
	})
}
