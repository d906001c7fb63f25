package kpireceiver

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelstrata/strata/internal/conftest"
	"github.com/otelstrata/strata/receiver/kpireceiver/internal/metadata"
)

// README examples, in the order of the README.
const (
	readmeSQLite = iota
	readmePostgres
	readmeHTTP
)

// readmeExample is the kpi receiver of the README's i-th YAML example, as parsed YAML.
func readmeExample(t testing.TB, i int) map[string]any {
	t.Helper()
	return conftest.ReadmeExample(t, "receivers", 3, i, "kpi")
}

// exampleConfig is raw over the default configuration, validated.
func exampleConfig(t testing.TB, raw map[string]any) *Config {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	conftest.Load(t, raw, cfg)
	return cfg
}

// TestReadmeExamples validates every example of the README.
func TestReadmeExamples(t *testing.T) {
	for i := range 3 {
		exampleConfig(t, readmeExample(t, i))
	}
}

// TestReadmeSQLiteExampleRuns runs the SQLite example over a shop database with the quickstart's tables.
func TestReadmeSQLiteExampleRuns(t *testing.T) {
	dsn, _ := newShopDB(t, sixOrders)
	raw := readmeExample(t, readmeSQLite)
	raw["sources"].([]any)[0].(map[string]any)["sql"].(map[string]any)["dsn"] = dsn
	r := openReceiver(t, exampleConfig(t, raw), nil, nil)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	md := pollAll(t, r)
	assert.Equal(t, map[string]float64{"eu": 4, "us": 2}, points(md, "shop.orders", "region"))
	assert.Equal(t, map[string]float64{"eu": 295, "us": 65}, points(md, "shop.revenue", "region"))
	assert.Equal(t, map[string]float64{"basic": 2, "pro": 1}, points(md, "shop.subscriptions.active", "plan"))
	kpis := r.evaluate(context.Background(), metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.set), time.Now())
	assert.Equal(t, map[string]float64{"eu": 73.75, "us": 32.5}, points(kpis, "shop.order.average_value", "region"))
	assert.Empty(t, points(kpis, "shop.orders.rate", "region"), "one reading: warming up")
}

// TestReadmeHTTPExampleRuns runs the HTTP example against a payments endpoint on loopback (without the TLS and
// the authenticator, which need files and an extension).
func TestReadmeHTTPExampleRuns(t *testing.T) {
	body := `{"providers": [
	  {"name": "stripe", "requests": 1000, "errors": 5, "latency": {"p99_ms": 310}},
	  {"name": "adyen", "requests": 400, "errors": 20, "latency": {"p99_ms": 450}}]}`
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body)) }))
	defer srv.Close()
	raw := readmeExample(t, readmeHTTP)
	src := raw["sources"].([]any)[0].(map[string]any)["http"].(map[string]any)
	src["endpoint"] = srv.URL
	delete(src, "auth")
	delete(src, "tls")
	r := openReceiver(t, exampleConfig(t, raw), nil, nil)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	md := pollAll(t, r)
	assert.Equal(t, map[string]float64{"stripe": 310, "adyen": 450}, points(md, "payments.latency.p99", "name"))
	assert.Equal(t, map[string]float64{"stripe": 1000, "adyen": 400}, points(md, "payments.requests", "name"))
	kpis := r.evaluate(context.Background(), metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.set), time.Now())
	assert.Equal(t, map[string]float64{"stripe": 0.995, "adyen": 0.95}, points(kpis, "payments.success_ratio", "name"))
	assert.Equal(t, map[string]float64{"stripe": 1, "adyen": 0}, points(kpis, "strata.kpi.target_met", "name"))
	burn := points(kpis, "strata.kpi.error_budget.burn_rate", "name")
	assert.InDelta(t, 0.5, burn["stripe"], 1e-9)
	assert.InDelta(t, 5, burn["adyen"], 1e-9)
}
