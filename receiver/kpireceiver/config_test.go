package kpireceiver

import (
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/internal/conftest"
	"github.com/otelstrata/strata/receiver/kpireceiver/internal/metadata"
)

func TestLoadConfigDefaults(t *testing.T) {
	cfg := conftest.Named(t, component.NewID(metadata.Type).String(), createDefaultConfig().(*Config))
	assert.Equal(t, 10*time.Second, cfg.Interval)
	assert.Equal(t, 5*time.Second, cfg.Timeout)
	assert.Equal(t, 5*time.Minute, cfg.MaxBackoff)
	assert.Equal(t, 10000, cfg.MaxRows)
	assert.Equal(t, 10000, cfg.MaxSeries)
	assert.Nil(t, cfg.Storage)
	s := cfg.Sources[0].SQL
	assert.Equal(t, "sqlite", s.Driver)
	assert.Equal(t, 2, s.MaxOpenConnections)
	assert.Equal(t, 2, s.MaxIdleConnections)
	assert.Equal(t, 30*time.Minute, s.ConnectionMaxLifetime)
	assert.Equal(t, typeSum, s.Queries[0].Values[0].kind(true), "an incremental query's values add up")
}

func TestLoadConfigFull(t *testing.T) {
	cfg := conftest.Named(t, component.MustNewIDWithName("kpi", "full").String(), createDefaultConfig().(*Config))
	storage := component.MustNewID("file_storage")
	assert.Equal(t, &storage, cfg.Storage)
	assert.Equal(t, 500, cfg.MaxRows)
	billing := cfg.Sources[0]
	assert.Equal(t, time.Minute, billing.interval(cfg))
	assert.Equal(t, 20*time.Second, billing.timeout(cfg))
	assert.Equal(t, configopaque.String("postgres://kpi:secret@db.internal:5432/billing?sslmode=require"), billing.SQL.DSN)
	assert.NotContains(t, billing.SQL.DSN.String(), "secret", "the DSN is never printed")
	assert.Equal(t, 4, billing.SQL.MaxOpenConnections)
	assert.Equal(t, 1, billing.SQL.MaxIdleConnections)
	assert.Equal(t, map[string]string{"service.name": "billing"}, billing.SQL.Queries[0].StaticAttributes)

	payments := cfg.Sources[1].HTTP
	want := confighttp.NewDefaultClientConfig()
	want.Endpoint = "https://payments.internal/stats"
	want.Headers = configopaque.MapList{{Name: "X-Api-Key", Value: "abc"}}
	assert.Equal(t, want, payments.ClientConfig)
	assert.Equal(t, "POST", payments.Method)
	assert.Equal(t, []int{200, 203}, payments.ValidStatusCodes)
	assert.Equal(t, int64(65536), payments.MaxBodySize)
	assert.Equal(t, "errors / requests", payments.Values[1].Expr)

	k := cfg.KPIs[0]
	assert.Equal(t, "payments.success_ratio", k.metricName())
	assert.Equal(t, &TargetConfig{Value: 0.995}, k.Target)
}

// TestValidateErrors checks that each mistake is reported, naming where it is.
func TestValidate(t *testing.T) {
	base := `
sources:
  - name: shop
    sql:
      dsn: file:shop.db
      queries:
        - name: orders
          sql: SELECT count(*) AS orders, sum(failed) AS failed FROM orders
          values:
            - {column: orders, id: orders}
            - {column: failed, id: failed}
kpis:
  - {name: ratio, expr: (orders - failed) / orders}
`
	for _, tc := range []struct {
		name, find, replace, want string
	}{
		{"broken expression", "(orders - failed) / orders", "(orders - failed / orders", "kpis[0] (ratio): expr: unexpected token EOF (1:25)"},
		{"unknown value", "(orders - failed) / orders", "orders / refunds", "kpis[0] (ratio): expr: unknown name refunds (1:10)"},
		{"a write", "SELECT count(*) AS orders, sum(failed) AS failed FROM orders", "DELETE FROM orders", "queries[0] (orders): sql: must be a query (SELECT or WITH ...), not DELETE"},
		{"two statements", "FROM orders\n", "FROM orders; DROP TABLE orders\n", "must be one statement: nothing may follow a semicolon"},
		{"comment then write", "sql: SELECT count(*) AS orders, sum(failed) AS failed FROM orders", "sql: \"-- hi\\nUPDATE orders SET failed = 0\"", "not UPDATE"},
		{"driver", "dsn: file:shop.db", "driver: oracle\n      dsn: file:shop.db", `driver: "oracle" is not one of sqlite, postgres, mysql`},
		{"no dsn", "dsn: file:shop.db", "dsn: \"\"", "sql: dsn: must be set"},
		{"bad postgres dsn", "dsn: file:shop.db", "driver: postgres\n      dsn: \"postgres://kpi:s3cret@db:port/shop\"", "sql: dsn: the postgres driver cannot read it"},
		{"bad mysql dsn", "dsn: file:shop.db", "driver: mysql\n      dsn: \"kpi:s3cret@tcp(db:3306\"", "sql: dsn: the mysql driver cannot read it"},
		{"nan target", "expr: (orders - failed) / orders}", "expr: (orders - failed) / orders, target: {value: .nan}}", "target: value: must be a finite number, not NaN"},
		{"interval of nanoseconds", "sources:", "interval: 2ns\ntimeout: 1ns\nmax_backoff: 1s\nsources:", "interval: must be at least 100ms, not 2ns"},
		{"pool", "dsn: file:shop.db", "dsn: file:shop.db\n      max_open_connections: 1\n      max_idle_connections: 3", "max_idle_connections between 0 and it"},
		{"last without tracking", "FROM orders\n", "FROM orders WHERE id > $last\n", "$last needs tracking_column"},
		{"tracking without last", "          values:", "          tracking_column: id\n          values:", "must say $last where the position goes"},
		{"duplicate id", "{column: failed, id: failed}", "{column: failed, id: orders}", `values[1]: id: "orders" is already used`},
		{"reserved id", "{column: failed, id: failed}", "{column: failed, id: rate}", `id: "rate" is a name of the expression language`},
		{"bad type", "{column: failed, id: failed}", "{column: failed, id: failed, type: counter}", `type: "counter" is not one of gauge, sum, histogram`},
		{"monotonic gauge", "{column: failed, id: failed}", "{column: failed, id: failed, monotonic: true}", "monotonic: only for sums"},
		{"histogram without buckets", "{column: failed, id: failed}", "{column: failed, id: failed, metric: f, type: histogram}", "a histogram needs increasing bucket bounds"},
		{"unsorted buckets", "{column: failed, id: failed}", "{column: failed, id: failed, metric: f, type: histogram, buckets: [5, 1]}", "a histogram needs increasing bucket bounds"},
		{"expr in sql", "{column: failed, id: failed}", "{column: failed, id: failed, expr: x + 1}", "expr: only for HTTP values"},
		{"timeout", "sources:", "timeout: 20s\nsources:", "timeout: must be positive and shorter than the interval"},
		{"ratio target", "expr: (orders - failed) / orders}", "expr: (orders - failed) / orders, ratio: true, target: {value: 99}}", "a ratio's target must be between 0 and 1, not 99"},
		{"direction", "expr: (orders - failed) / orders}", "expr: (orders - failed) / orders, target: {value: 1, direction: above}}", `direction: "above" is not at_least or at_most`},
		{"of a rate", "kpis:\n", "kpis:\n  - {name: share, expr: orders, ratio: true, of: ratio}\n", `kpis[0] (share): of: KPI "ratio" has unit "", not a rate`},
		{"of without ratio", "kpis:\n", "kpis:\n  - {name: per_minute, expr: rate(orders), unit: \"{order}/min\"}\n  - {name: share, expr: orders, of: per_minute}\n", "kpis[1] (share): of: only a ratio (ratio: true) is a share of a rate"},
		{"of unknown", "kpis:\n", "kpis:\n  - {name: share, expr: orders, ratio: true, of: refunds}\n", `kpis[0] (share): of: "refunds" is not another KPI of this receiver`},
		{"duplicate kpi", "kpis:\n", "kpis:\n  - {name: ratio, expr: orders}\n", "kpis[1] (ratio): name: used by another KPI"},
		{"bad metric", "{name: ratio,", "{name: ratio, metric: \"9 lives\",", `metric: "9 lives" is not a metric name`},
		{"http and sql", "    sql:\n", "    http: {endpoint: http://x}\n    sql:\n", "must have exactly one of sql, http"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			require.Contains(t, base, tc.find)
			var raw map[string]any
			require.NoError(t, yaml.Unmarshal([]byte(strings.Replace(base, tc.find, tc.replace, 1)), &raw))
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
			err := xconfmap.Validate(cfg)
			require.Error(t, err)
			assert.Contains(t, err.Error(), tc.want)
			assert.NotContains(t, err.Error(), "s3cret", "a DSN is a secret")
		})
	}
}

func TestValidateDefaultConfigNeedsASource(t *testing.T) {
	assert.ErrorContains(t, xconfmap.Validate(createDefaultConfig()), "sources: must contain at least one source")
}

func TestValidateHTTPErrors(t *testing.T) {
	text := `
sources:
  - name: api
    http:
      endpoint: ""
      valid_status_codes: [700]
      max_body_size: -1
      rows: "items..x"
      values:
        - {field: a, expr: b, id: both}
        - {id: neither}
        - {expr: "1 +", id: broken}
kpis:
  - {name: k, expr: both}
`
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(text), &raw))
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
	err := xconfmap.Validate(cfg)
	require.Error(t, err)
	for _, want := range []string{
		"http: endpoint: must be set",
		"valid_status_codes: 700 is not an HTTP status code",
		"max_body_size: must be positive",
		`"items..x" is not a dot-separated path`,
		"values[0]: must have exactly one of field, expr",
		"values[1]: must have exactly one of field, expr",
		"values[2]: expr: unexpected token EOF",
	} {
		assert.Contains(t, err.Error(), want)
	}
}

func TestCheckReadOnly(t *testing.T) {
	for _, ok := range []string{
		"SELECT 1",
		"select 1;",
		"  -- comment\n/* block */ WITH x AS (SELECT 1) SELECT * FROM x",
		"SELECT ';' AS semi, 'it''s; fine' FROM t",
	} {
		assert.NoError(t, checkReadOnly(ok), ok)
	}
	for _, bad := range []string{"", "-- only a comment\n", "INSERT INTO t VALUES (1)", "SELECT 1; SELECT 2", "vacuum"} {
		assert.Error(t, checkReadOnly(bad), bad)
	}
}
