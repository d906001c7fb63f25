package kpireceiver

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/golden"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/pdatatest/pmetrictest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver/receivertest"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/receiver/kpireceiver/internal/metadata"
	"github.com/otelstrata/strata/receiver/kpireceiver/internal/metadatatest"
)

var update = flag.Bool("update", false, "rewrite the golden files from what the code emits now")

// shopSchema is the shop database of the tests (the quickstart's shopsim writes the same tables).
const shopSchema = `
CREATE TABLE orders (id INTEGER PRIMARY KEY, created_at TEXT NOT NULL, region TEXT NOT NULL,
                     status TEXT NOT NULL, amount REAL);
CREATE TABLE subscriptions (id INTEGER PRIMARY KEY, plan TEXT NOT NULL, active INTEGER NOT NULL);
`

// newShopDB creates an SQLite shop database in a test directory with the given orders (region, status, amount)
// and subscriptions, and returns its DSN and a handle to add rows.
func newShopDB(t testing.TB, orders [][3]any) (string, *sql.DB) {
	t.Helper()
	path := filepath.Join(t.TempDir(), "shop.db")
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)")
	require.NoError(t, err)
	t.Cleanup(func() { db.Close() })
	_, err = db.Exec(shopSchema)
	require.NoError(t, err)
	addOrders(t, db, orders)
	_, err = db.Exec(`INSERT INTO subscriptions (plan, active) VALUES ('basic',1),('basic',1),('pro',1),('pro',0)`)
	require.NoError(t, err)
	return "file:" + path, db
}

func addOrders(t testing.TB, db *sql.DB, orders [][3]any) {
	t.Helper()
	for _, o := range orders {
		_, err := db.Exec(`INSERT INTO orders (created_at, region, status, amount) VALUES (datetime('now'), ?, ?, ?)`, o[0], o[1], o[2])
		require.NoError(t, err)
	}
}

var sixOrders = [][3]any{
	{"eu", "ok", 20.0}, {"eu", "ok", 80.0}, {"eu", "failed", 45.0}, {"eu", "ok", 150.0},
	{"us", "ok", 5.0}, {"us", "ok", 60.0},
}

// shopConfig is the receiver's configuration over the shop database at dsn and a payments endpoint.
func shopConfig(t testing.TB, dsn, paymentsURL string, extra string) *Config {
	t.Helper()
	text := fmt.Sprintf(`
interval: 1s
timeout: 500ms
sources:
  - name: shop
    sql:
      driver: sqlite
      dsn: %q
      queries:
        - name: orders
          sql: SELECT id, region, 1 AS n, status = 'failed' AS failed, amount FROM orders WHERE id > $last ORDER BY id LIMIT 1000
          tracking_column: id
          attributes: [region]
          static_attributes: {shop: test}
          values:
            - {column: n, id: orders, metric: shop.orders, unit: "{order}", monotonic: true, value_type: int, description: Orders placed.}
            - {column: failed, id: failed, metric: shop.orders.failed, unit: "{order}", monotonic: true, value_type: int}
            - {column: amount, id: revenue, metric: shop.revenue, unit: "{USD}", monotonic: true}
            - {column: amount, id: amounts, metric: shop.order.amount, type: histogram, buckets: [10, 50, 100], unit: "{USD}"}
        - name: subscriptions
          sql: SELECT plan, count(*) AS active FROM subscriptions WHERE active = 1 GROUP BY plan
          attributes: [plan]
          values:
            - {column: active, metric: shop.subscriptions.active, unit: "{subscription}", value_type: int}
  - name: payments
    http:
      endpoint: %q
      rows: providers
      attributes: [name]
      values:
        - {field: latency.p99_ms, metric: payments.latency.p99, unit: ms}
        - {expr: "errors / requests", id: payment_error_ratio}
kpis:
  - name: order_success_ratio
    metric: shop.orders.success_ratio
    expr: (orders - failed) / orders
    description: Share of orders that did not fail.
    unit: "1"
    owner: checkout-team
    ratio: true
    target: {value: 0.95}
  - name: revenue_per_order
    metric: shop.revenue.per_order
    expr: revenue / orders
    unit: "{USD}"
  - name: payment_errors
    metric: payments.error_ratio
    expr: payment_error_ratio
    unit: "1"
    ratio: true
    target: {value: 0.02, direction: at_most}
%s`, dsn, paymentsURL, extra)
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &raw))
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	return cfg
}

func paymentsServer(t testing.TB, body string) string {
	t.Helper()
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		_, _ = w.Write([]byte(body))
	}))
	t.Cleanup(srv.Close)
	return srv.URL
}

const paymentsBody = `{"providers": [
  {"name": "stripe", "requests": 200, "errors": 2, "latency": {"p99_ms": 310}},
  {"name": "adyen", "requests": 100, "errors": 5, "latency": {"p99_ms": 450}}
]}`

// openReceiver opens a receiver (sources and KPIs ready, no goroutine started) with the given telemetry.
func openReceiver(t testing.TB, cfg *Config, tel *componenttest.Telemetry, host component.Host) *kpiReceiver {
	t.Helper()
	set := receivertest.NewNopSettings(metadata.Type)
	if tel != nil {
		set = metadatatest.NewSettings(tel)
	}
	set.ID = component.NewID(metadata.Type) // the same in every test, as in a collector restarted on one config
	r, err := newReceiver(cfg, set, consumertest.NewNop())
	require.NoError(t, err)
	if host == nil {
		host = componenttest.NewNopHost()
	}
	require.NoError(t, r.open(context.Background(), host))
	return r
}

// pollAll polls every source once and returns the metrics sent.
func pollAll(t testing.TB, r *kpiReceiver) pmetric.Metrics {
	t.Helper()
	sink := new(consumertest.MetricsSink)
	r.next = sink
	for _, s := range r.sources {
		r.poll(context.Background(), s)
	}
	out := pmetric.NewMetrics()
	for _, md := range sink.AllMetrics() {
		md.ResourceMetrics().MoveAndAppendTo(out.ResourceMetrics())
	}
	return out
}

// TestPollAndEvaluateGolden reads the shop database and the payments endpoint once, evaluates the KPIs and
// compares everything emitted with testdata/golden.yaml.
func TestPollAndEvaluateGolden(t *testing.T) {
	dsn, _ := newShopDB(t, sixOrders)
	r := openReceiver(t, shopConfig(t, dsn, paymentsServer(t, paymentsBody), ""), nil, nil)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	got := pollAll(t, r)
	mb := metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.set)
	r.evaluate(context.Background(), mb, time.Now()).ResourceMetrics().MoveAndAppendTo(got.ResourceMetrics())

	path := filepath.Join("testdata", "golden.yaml")
	if *update {
		require.NoError(t, golden.WriteMetrics(t, path, got))
	}
	want, err := golden.ReadMetrics(path)
	require.NoError(t, err)
	require.NoError(t, pmetrictest.CompareMetrics(want, got,
		pmetrictest.IgnoreTimestamp(), pmetrictest.IgnoreStartTimestamp(),
		pmetrictest.IgnoreMetricDataPointsOrder(), pmetrictest.IgnoreScopeVersion(),
	))
}

// TestRatioOfARate checks that a ratio's points name the rate it is a share of, and no other KPI's points do.
func TestRatioOfARate(t *testing.T) {
	dsn, _ := newShopDB(t, sixOrders)
	cfg := shopConfig(t, dsn, paymentsServer(t, paymentsBody), `  - name: orders_per_minute
    metric: shop.orders.rate
    expr: rate(orders)
    unit: "{order}/min"
`)
	cfg.KPIs[0].Of = "orders_per_minute"
	require.NoError(t, cfg.Validate())
	r := openReceiver(t, cfg, nil, nil)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	pollAll(t, r)
	mb := metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.set)
	got := r.evaluate(context.Background(), mb, time.Now())
	ratio := points(got, "shop.orders.success_ratio", "strata.kpi.of")
	assert.Contains(t, ratio, "shop.orders.rate", "the ratio names the rate's metric")
	assert.Len(t, ratio, 1)
	others := points(got, "payments.error_ratio", "strata.kpi.of")
	assert.Contains(t, others, "", "a ratio without of")
	assert.Len(t, others, 1)
}

// points are a metric's values by the value of one attribute, over everything emitted.
func points(md pmetric.Metrics, name, attr string) map[string]float64 {
	out := map[string]float64{}
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		sms := rms.At(i).ScopeMetrics()
		for j := range sms.Len() {
			ms := sms.At(j).Metrics()
			for k := range ms.Len() {
				m := ms.At(k)
				if m.Name() != name {
					continue
				}
				var dps pmetric.NumberDataPointSlice
				switch m.Type() {
				case pmetric.MetricTypeGauge:
					dps = m.Gauge().DataPoints()
				case pmetric.MetricTypeSum:
					dps = m.Sum().DataPoints()
				default:
					continue
				}
				for l := range dps.Len() {
					dp := dps.At(l)
					key := ""
					if v, ok := dp.Attributes().Get(attr); ok {
						key = v.AsString()
					}
					if dp.ValueType() == pmetric.NumberDataPointValueTypeInt {
						out[key] = float64(dp.IntValue())
					} else {
						out[key] = dp.DoubleValue()
					}
				}
			}
		}
	}
	return out
}

// TestIncrementalQueryRestart polls, stops, adds orders, and starts a new receiver on the same file storage: it
// reads only the new orders, so an order is never counted twice; without storage every order is read again.
func TestIncrementalQueryRestart(t *testing.T) {
	dsn, db := newShopDB(t, sixOrders)
	url := paymentsServer(t, paymentsBody)
	storageDir := t.TempDir()
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", storageDir)
	cfg := shopConfig(t, dsn, url, "")
	storageID := storagetest.NewStorageID("file_storage")
	cfg.Storage = &storageID

	r1 := openReceiver(t, cfg, nil, host)
	assert.Equal(t, map[string]float64{"eu": 4, "us": 2}, points(pollAll(t, r1), "shop.orders", "region"))
	addOrders(t, db, [][3]any{{"eu", "ok", 10.0}})
	assert.Equal(t, map[string]float64{"eu": 5, "us": 2}, points(pollAll(t, r1), "shop.orders", "region"))
	require.NoError(t, r1.Shutdown(context.Background()))

	addOrders(t, db, [][3]any{{"us", "ok", 10.0}, {"us", "failed", 10.0}, {"ap", "ok", 10.0}})
	host2 := storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", storageDir)
	r2 := openReceiver(t, cfg, nil, host2)
	// A new process: its totals start again (a new start time), with only the orders placed since.
	assert.Equal(t, map[string]float64{"us": 2, "ap": 1}, points(pollAll(t, r2), "shop.orders", "region"))
	assert.Equal(t, map[string]float64{"us": 2, "ap": 1}, points(pollAll(t, r2), "shop.orders", "region"), "nothing new, nothing added")
	require.NoError(t, r2.Shutdown(context.Background()))

	noStorage := openReceiver(t, shopConfig(t, dsn, url, ""), nil, nil)
	defer func() { require.NoError(t, noStorage.Shutdown(context.Background())) }()
	assert.Equal(t, map[string]float64{"eu": 5, "us": 4, "ap": 1}, points(pollAll(t, noStorage), "shop.orders", "region"))
}

// TestTrackingByTimestamp tracks a text timestamp column (SQLite's datetime) with a tracking_start.
func TestTrackingByTimestamp(t *testing.T) {
	dsn, db := newShopDB(t, nil)
	_, err := db.Exec(`INSERT INTO orders (created_at, region, status, amount) VALUES
		('2026-01-01 10:00:00','eu','ok',1), ('2026-01-01 10:00:01','eu','ok',1), ('2025-12-31 23:59:59','eu','ok',1)`)
	require.NoError(t, err)
	cfg := shopConfig(t, dsn, paymentsServer(t, paymentsBody), "")
	q := &cfg.Sources[0].SQL.Queries[0]
	q.SQL = "SELECT created_at, region, 1 AS n, status = 'failed' AS failed, amount FROM orders WHERE created_at > $last"
	q.TrackingColumn, q.TrackingStart = "created_at", "2026-01-01 00:00:00"
	r := openReceiver(t, cfg, nil, nil)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
	assert.Equal(t, map[string]float64{"eu": 2}, points(pollAll(t, r), "shop.orders", "region"))
	_, err = db.Exec(`INSERT INTO orders (created_at, region, status, amount) VALUES ('2026-01-01 10:00:02','eu','ok',1)`)
	require.NoError(t, err)
	assert.Equal(t, map[string]float64{"eu": 3}, points(pollAll(t, r), "shop.orders", "region"))
	assert.Equal(t, "2026-01-01 10:00:02", r.sources[0].fetcher.(*sqlSource).queries[0].position)
}

// TestBadQueriesAreCountedAndOthersKeepWorking runs, beside a good query, queries that fail in each way the
// receiver names, and a write that the read-only connection refuses.
func TestBadQueriesAreCountedAndOthersKeepWorking(t *testing.T) {
	dsn, db := newShopDB(t, sixOrders)
	_, err := db.Exec(`CREATE TABLE notes (id INTEGER PRIMARY KEY, body TEXT, n INTEGER);
		INSERT INTO notes (body, n) VALUES ('12.5', NULL), ('many', 1), ('three', 2);`)
	require.NoError(t, err)
	cfg := shopConfig(t, dsn, paymentsServer(t, paymentsBody), "")
	cfg.MaxRows = 2
	queries := map[string]string{
		"null":         "SELECT n FROM notes WHERE id = 1",
		"not_a_number": "SELECT body AS n FROM notes WHERE id = 2",
		"no_rows":      "SELECT n FROM notes WHERE id = 99",
		"too_many":     "SELECT id AS n FROM notes",
		"no_table":     "SELECT n FROM missing_table",
		"no_column":    "SELECT id FROM notes WHERE id = 3",
		"write":        "WITH x AS (SELECT 9 AS n) INSERT INTO notes (n) SELECT n FROM x RETURNING n",
		"text_number":  "SELECT body AS n FROM notes WHERE id = 1", // '12.5' is a number
	}
	cfg.Sources[0].SQL.Queries = cfg.Sources[0].SQL.Queries[1:] // subscriptions: the good query
	cfg.KPIs = cfg.KPIs[2:]                                     // payment_errors: the orders are gone
	for _, name := range sortedKeys(queries) {
		cfg.Sources[0].SQL.Queries = append(cfg.Sources[0].SQL.Queries, QueryConfig{
			Name: name, SQL: queries[name], Values: []ValueConfig{{Column: "n", ID: name, Metric: "notes." + name}},
		})
	}
	require.NoError(t, cfg.Validate())
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	r := openReceiver(t, cfg, tel, nil)
	defer func() { require.NoError(t, r.Shutdown(context.Background())) }()

	md := pollAll(t, r)
	assert.Equal(t, map[string]float64{"basic": 2, "pro": 1}, points(md, "shop.subscriptions.active", "plan"))
	assert.Equal(t, map[string]float64{"": 12.5}, points(md, "notes.text_number", ""))
	for _, name := range []string{"null", "not_a_number", "no_rows", "too_many", "no_table", "no_column", "write"} {
		assert.Empty(t, points(md, "notes."+name, ""), name)
	}
	var count int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM notes`).Scan(&count))
	assert.Equal(t, 3, count, "the write was refused")

	shop, payments := attribute.String("strata.kpi.source", "shop"), attribute.String("strata.kpi.source", "payments")
	fail := func(reason string) attribute.Set {
		return attribute.NewSet(shop, attribute.String("outcome", "failure"), attribute.String("reason", reason))
	}
	metadatatest.AssertEqualReceiverKpiPolls(t, tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(shop, attribute.String("outcome", "success"), attribute.String("reason", "")), Value: 2},
		{Attributes: attribute.NewSet(payments, attribute.String("outcome", "success"), attribute.String("reason", "")), Value: 1},
		{Attributes: fail(reasonNull), Value: 1},
		{Attributes: fail(reasonNotANumber), Value: 1},
		{Attributes: fail(reasonNoRows), Value: 1},
		{Attributes: fail(reasonTooManyRows), Value: 1},
		{Attributes: fail(reasonQueryError), Value: 2}, // the missing table, the refused write
		{Attributes: fail(reasonMissing), Value: 1},
	}, metricdatatest.IgnoreTimestamp())
}

// TestHTTPBadAnswers checks each way an endpoint can answer badly: the error names it and its reason.
func TestHTTPBadAnswers(t *testing.T) {
	for _, tc := range []struct {
		name, body string
		status     int
		reason     string
		message    string
	}{
		{"status", `{"error": "maintenance"}`, 503, reasonHTTPStatus, `status 503 is not one of [200]: {"error": "maintenance"}`},
		{"invalid json", `{"providers": [`, 200, reasonInvalidJSON, "the response is not JSON"},
		{"two documents", `{} {}`, 200, reasonInvalidJSON, "more than one JSON value"},
		{"no rows", `{"other": []}`, 200, reasonMissing, "the response has no providers"},
		{"rows not an array", `{"providers": 3}`, 200, reasonMissing, "providers is not an array but 3"},
		{"missing field", `{"providers": [{"name": "x", "requests": 1, "errors": 0}]}`, 200, reasonMissing, "providers.0: has no field latency.p99_ms"},
		{"null field", `{"providers": [{"name": "x", "requests": 1, "errors": 0, "latency": {"p99_ms": null}}]}`, 200, reasonNull, "field latency.p99_ms is null"},
		{"text field", `{"providers": [{"name": "x", "requests": 1, "errors": 0, "latency": {"p99_ms": "slow"}}]}`, 200, reasonNotANumber, `latency.p99_ms "slow" is not a number`},
		{"missing attribute", `{"providers": [{"requests": 1}]}`, 200, reasonMissing, "providers.0: has no field name"},
		{"too large", `{"providers": [], "pad": "` + strings.Repeat("x", 200) + `"}`, 200, reasonTooLarge, "longer than max_body_size (100 bytes)"},
		{"too many rows", `{"providers": [{}, {}, {}]}`, 200, reasonTooManyRows, "providers has 3 rows, more than max_rows (2)"},
		{"expression fails", `{"providers": [{"name": "x", "requests": "many", "errors": 1, "latency": {"p99_ms": 1}}]}`, 200, reasonExpression, "providers.0: expression errors / requests: invalid operation"},
		{"expression over missing fields", `{"providers": [{"name": "x", "latency": {"p99_ms": 1}}]}`, 200, reasonExpression, "invalid operation: <nil> / <nil>"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
				w.WriteHeader(tc.status)
				_, _ = w.Write([]byte(tc.body))
			}))
			defer srv.Close()
			cfg := shopConfig(t, "file::memory:", srv.URL, "")
			cfg.MaxRows = 2
			cfg.Sources[1].HTTP.MaxBodySize = 100
			r := openReceiver(t, cfg, nil, nil)
			defer func() { require.NoError(t, r.Shutdown(context.Background())) }()
			res := r.sources[1].fetcher.fetch(context.Background())
			require.Len(t, res, 1)
			require.Error(t, res[0].err)
			assert.Equal(t, tc.reason, reasonOf(res[0].err))
			assert.Contains(t, res[0].err.Error(), tc.message)
		})
	}
}

// TestReceiverRuns starts the receiver as the collector does: the sources are polled on their schedule, the
// KPIs evaluated, and a KPI whose input fails is counted with its reason while the others keep going.
func TestReceiverRuns(t *testing.T) {
	dsn, db := newShopDB(t, sixOrders)
	cfg := shopConfig(t, dsn, paymentsServer(t, paymentsBody), `
  - name: order_rate
    expr: rate(orders)
    unit: "{order}/min"
`)
	cfg.Interval = 200 * time.Millisecond
	cfg.Timeout = 150 * time.Millisecond
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { require.NoError(t, tel.Shutdown(context.Background())) })
	sink := new(consumertest.MetricsSink)
	rcv, err := NewFactory().CreateMetrics(context.Background(), metadatatest.NewSettings(tel), cfg, sink)
	require.NoError(t, err)
	require.NoError(t, rcv.Start(context.Background(), componenttest.NewNopHost()))

	all := func() pmetric.Metrics { // every batch received so far (CopyTo would keep the last one only)
		out := pmetric.NewMetrics()
		for _, md := range sink.AllMetrics() {
			for _, rm := range md.ResourceMetrics().All() {
				rm.CopyTo(out.ResourceMetrics().AppendEmpty())
			}
		}
		return out
	}
	stop := make(chan struct{})
	go func() { // a shop taking orders
		for {
			select {
			case <-stop:
				return
			case <-time.After(50 * time.Millisecond):
				addOrders(t, db, [][3]any{{"eu", "ok", 10.0}})
			}
		}
	}()
	require.Eventually(t, func() bool {
		return points(all(), "order_rate", "region")["eu"] > 0
	}, 10*time.Second, 50*time.Millisecond, "a rate of orders per minute")
	close(stop)
	// the HTTP source on its own schedule (a poll may time out on a loaded machine: the next one answers)
	require.Eventually(t, func() bool {
		_, ok := points(all(), "payments.error_ratio", "name")["stripe"]
		return ok
	}, 10*time.Second, 50*time.Millisecond, "the payments' error ratio")
	assert.InDelta(t, 0.01, points(all(), "payments.error_ratio", "name")["stripe"], 1e-9) // 2 errors in 200
	require.NoError(t, rcv.Shutdown(context.Background()))

	// The first evaluations of the rate had one reading: counted as warming up, never a wrong number.
	warming := false
	for _, dp := range evaluationPoints(t, tel) {
		if v, _ := dp.Attributes.Value("reason"); v.AsString() == reasonWarmingUp && dp.Value > 0 {
			warming = true
		}
	}
	assert.True(t, warming, "warming_up evaluations counted")
}

func evaluationPoints(t *testing.T, tel *componenttest.Telemetry) []metricdata.DataPoint[int64] {
	t.Helper()
	m, err := tel.GetMetric("otelcol_receiver_kpi_evaluations")
	require.NoError(t, err)
	return m.Data.(metricdata.Sum[int64]).DataPoints
}

// TestStartFailsOnMissingStorage names a storage extension that is not there.
func TestStartFailsOnMissingStorage(t *testing.T) {
	cfg := shopConfig(t, "file::memory:", "http://127.0.0.1:1", "storage: file_storage/missing\n")
	r, err := newReceiver(cfg, receivertest.NewNopSettings(metadata.Type), consumertest.NewNop())
	require.NoError(t, err)
	err = r.Start(context.Background(), componenttest.NewNopHost())
	require.ErrorContains(t, err, "storage: extension file_storage/missing is not configured")
	require.NoError(t, r.Shutdown(context.Background()))
}
