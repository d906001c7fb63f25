package bench

import (
	"database/sql"
	"fmt"
	"path/filepath"
	"strings"
	"testing"
	"time"

	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, as "pgx"

	"github.com/otelstrata/strata/internal/e2e"
)

// kpiReceiver is a kpi receiver over the SQLite shop database at db with the given number of KPIs, evaluated
// every 10 s: 20 queries (10 incremental over the new orders, 10 aggregates over all orders), each with 5 values
// per region (3 regions), and KPIs cycling through a ratio, a rate, a delta, a moving average and a difference
// over two of those 100 values.
func kpiReceiver(db string, kpis int) map[string]any {
	var queries, values []any
	for q := range 20 {
		var sql string
		var tracking string
		if q < 10 {
			sql = fmt.Sprintf(`SELECT id, region, 1 AS v0, status = 'failed' AS v1, amount AS v2, amount > %d AS v3, amount * 0.2 AS v4
				FROM orders WHERE id > $last ORDER BY id LIMIT 5000`, q*10)
			tracking = "id"
		} else {
			sql = fmt.Sprintf(`SELECT region, count(*) AS v0, sum(status = 'failed') AS v1, sum(amount) AS v2, avg(amount) AS v3, max(amount) AS v4
				FROM orders WHERE amount > %d GROUP BY region`, q*5)
		}
		vals := make([]any, 5)
		for v := range vals {
			id := fmt.Sprintf("q%d_v%d", q, v)
			vals[v] = map[string]any{"column": fmt.Sprintf("v%d", v), "id": id, "metric": "bench." + id}
			values = append(values, id)
		}
		query := map[string]any{"name": fmt.Sprintf("q%d", q), "sql": sql, "attributes": []any{"region"}, "values": vals}
		if tracking != "" {
			query["tracking_column"] = tracking
		}
		queries = append(queries, query)
	}
	patterns := []string{"(%[1]s - %[2]s) / %[1]s", "rate(%[1]s, 6)", "delta(%[2]s)", "avg(%[1]s, 6)", "%[1]s - %[2]s"}
	list := make([]any, kpis)
	for k := range list {
		a, b := values[k%len(values)], values[(k*7+3)%len(values)]
		list[k] = map[string]any{"name": fmt.Sprintf("kpi_%d", k), "expr": fmt.Sprintf(patterns[k%len(patterns)], a, b)}
		if k%10 == 0 {
			list[k].(map[string]any)["target"] = map[string]any{"value": 1}
		}
	}
	return map[string]any{
		"interval": "10s",
		"sources":  []any{map[string]any{"name": "shop", "sql": map[string]any{"driver": "sqlite", "dsn": "file:" + db, "queries": queries}}},
		"kpis":     list,
	}
}

// BenchmarkKPILoad runs otelcol-strata with a kpi receiver of 1,000 KPIs (and, for comparison in the same run,
// of one KPI over one query) against an SQLite shop database that shopsim fills with 20 orders a second, and
// reports the collector's CPU and resident memory over a minute once the windows are full.
func BenchmarkKPILoad(b *testing.B) {
	const settle, window = 70 * time.Second, 60 * time.Second
	for _, kpis := range []int{1, 1000} {
		b.Run(fmt.Sprintf("kpis=%d", kpis), func(b *testing.B) {
			q := e2e.NewQuickstart(b, repoRoot, "", false) // only for its shop database and StartShop
			q.StartShop(b, binary, 20)
			receiver := kpiReceiver(q.ShopDB, kpis)
			if kpis == 1 {
				receiver["sources"].([]any)[0].(map[string]any)["sql"].(map[string]any)["queries"] =
					receiver["sources"].([]any)[0].(map[string]any)["sql"].(map[string]any)["queries"].([]any)[:1]
				receiver["kpis"].([]any)[0].(map[string]any)["expr"] = "(q0_v0 - q0_v1) / q0_v0"
			}
			telemetry := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
			config := e2e.WriteYAML(b, filepath.Join(b.TempDir(), "kpi.yaml"), collectorConfig(telemetry, map[string]any{"kpi": receiver}))
			for b.Loop() {
				c := e2e.StartCollector(b, binary, config)
				c.WaitFor(b, "telemetry", 30*time.Second, func() error { _, err := e2e.HTTPGet("http://" + telemetry + "/metrics"); return err })
				time.Sleep(settle)
				evals0, err := kpiEvaluations(telemetry)
				if err != nil {
					b.Fatal(err)
				}
				cpu0 := cpuTicks(b, c.PID())
				time.Sleep(window)
				evals1, err := kpiEvaluations(telemetry)
				if err != nil {
					b.Fatal(err)
				}
				seconds := window.Seconds()
				b.ReportMetric(float64(cpuTicks(b, c.PID())-cpu0)/seconds, "CPU-%")
				b.ReportMetric(float64(rssKiB(b, c.PID()))/1024, "RSS-MiB")
				b.ReportMetric((evals1["success"]-evals0["success"])/seconds, "points/s")
				b.ReportMetric((evals1["failure"]-evals0["failure"])/seconds, "no-point/s")
				if err := c.Stop(30 * time.Second); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// kpiEvaluations reads otelcol_receiver_kpi_evaluations_total by outcome.
func kpiEvaluations(telemetry string) (map[string]float64, error) {
	return counterByLabel(telemetry, "otelcol_receiver_kpi_evaluations_total", "outcome")
}

// sqlComparisonQueries are the queries both the kpi receiver and sql_exporter run every 10 s against PostgreSQL:
// 50 aggregates over an orders table of 200,000 rows, each returning 1,000 rows (one per shard) of two values:
// 5,000 rows a second to map.
func sqlComparisonQueries() []string {
	queries := make([]string, 50)
	for i := range queries {
		queries[i] = fmt.Sprintf(`SELECT (id %% 1000)::text AS shard, count(*)::float8 AS n, sum(amount)::float8 AS s
			FROM orders WHERE amount > %d GROUP BY 1`, i)
	}
	return queries
}

// BenchmarkSQLPollingPostgres runs the same 50 queries every 10 s against one real PostgreSQL with otelcol-strata's
// kpi receiver (values mapped to metrics, no KPI) and with Prometheus's sql_exporter (Debian's
// prometheus-sql-exporter, the nearest job available: contrib's sqlquery receiver is not in this distribution), and
// reports each process's CPU and resident memory over a minute.
func BenchmarkSQLPollingPostgres(b *testing.B) {
	const settle, window = 15 * time.Second, 60 * time.Second
	sqlExporter := e2e.RequireProgram(b, "prometheus-sql-exporter")
	dsn := e2e.StartPostgres(b)
	db, err := sql.Open("pgx", dsn)
	if err != nil {
		b.Fatal(err)
	}
	defer db.Close()
	if _, err := db.Exec(`CREATE TABLE orders AS SELECT i AS id, (ARRAY['eu','us','ap'])[1 + i % 3] AS region,
		(i % 100)::numeric AS amount FROM generate_series(1, 200000) AS i; ANALYZE orders;`); err != nil {
		b.Fatal(err)
	}
	// measure reports a process's CPU and RSS over the window, checks that it did the work, and stops it.
	measure := func(b *testing.B, p *e2e.Process, check func() error) {
		time.Sleep(settle)
		cpu0 := cpuTicks(b, p.PID())
		time.Sleep(window)
		b.ReportMetric(float64(cpuTicks(b, p.PID())-cpu0)/window.Seconds(), "CPU-%")
		b.ReportMetric(float64(rssKiB(b, p.PID()))/1024, "RSS-MiB")
		if err := check(); err != nil {
			b.Fatal(err)
		}
	}

	b.Run("kpi", func(b *testing.B) {
		var queries []any
		for i, q := range sqlComparisonQueries() {
			queries = append(queries, map[string]any{"name": fmt.Sprintf("q%d", i), "sql": q, "attributes": []any{"shard"},
				"values": []any{
					map[string]any{"column": "n", "id": fmt.Sprintf("q%d_n", i), "metric": fmt.Sprintf("sql.q%d.n", i)},
					map[string]any{"column": "s", "id": fmt.Sprintf("q%d_s", i), "metric": fmt.Sprintf("sql.q%d.s", i)},
				}})
		}
		telemetry := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
		config := e2e.WriteYAML(b, filepath.Join(b.TempDir(), "kpi.yaml"), collectorConfig(telemetry, map[string]any{"kpi": map[string]any{
			"interval": "10s",
			"sources":  []any{map[string]any{"name": "pg", "sql": map[string]any{"driver": "postgres", "dsn": dsn, "queries": queries}}},
		}}))
		for b.Loop() {
			c := e2e.StartCollector(b, binary, config)
			measure(b, c, func() error {
				polls, err := counterByLabel(telemetry, "otelcol_receiver_kpi_polls_total", "outcome")
				if err != nil {
					return err
				}
				if polls["failure"] > 0 || polls["success"] < 50*7 {
					return fmt.Errorf("polls of the 50 queries: %v", polls)
				}
				return c.Stop(30 * time.Second)
			})
		}
	})
	b.Run("sql_exporter", func(b *testing.B) {
		var queries []any
		for i, q := range sqlComparisonQueries() {
			queries = append(queries, map[string]any{"name": fmt.Sprintf("q%d", i), "help": "a query", "labels": []any{"shard"},
				"values": []any{"n", "s"}, "query": q})
		}
		config := e2e.WriteYAML(b, filepath.Join(b.TempDir(), "sql_exporter.yml"), map[string]any{"jobs": []any{map[string]any{
			"name": "pg", "interval": "10s", "connections": []any{dsn}, "queries": queries,
		}}})
		listen := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
		for b.Loop() {
			p := e2e.StartProcess(b, sqlExporter, "-config.file="+config, "-web.listen-address="+listen)
			p.WaitFor(b, "sql_exporter's metrics", 30*time.Second, func() error {
				body, err := e2e.HTTPGet("http://" + listen + "/metrics")
				if err == nil && !strings.Contains(string(body), "sql_q49{") {
					err = fmt.Errorf("no sql_q49 yet")
				}
				return err
			})
			measure(b, p, func() error {
				_ = p.Stop(30 * time.Second) // it exits on SIGTERM without a clean shutdown (status: terminated)
				return nil
			})
		}
	})
}
