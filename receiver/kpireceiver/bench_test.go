package kpireceiver

import (
	"context"
	"fmt"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"
)

// BenchmarkEvaluate is the cost of one evaluated KPI point: a ratio and a rate over 100 attribute sets.
func BenchmarkEvaluate(b *testing.B) {
	for _, expr := range []string{"(orders - failed) / orders", "rate(orders, 6)"} {
		b.Run(expr, func(b *testing.B) {
			p, err := compileKPI(&KPIConfig{Name: "k", Expr: expr}, testIDs)
			if err != nil {
				b.Fatal(err)
			}
			byRegion := map[string]float64{}
			for i := range 100 {
				byRegion[fmt.Sprintf("r%03d", i)] = float64(100 + i)
			}
			now := time.Now()
			vals := values(now, map[string]map[string]float64{"orders": byRegion, "failed": {"": 3}})
			for b.Loop() {
				now = now.Add(time.Second) // a new reading at every evaluation: every window steps
				for _, vs := range vals {
					vs.updated = now
				}
				p.evaluate(vals, now, time.Second)
			}
			b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*100), "ns/point")
		})
	}
}

// BenchmarkSQLiteRows is the cost per fetched row of an incremental query over SQLite: 10,000 new rows with one
// attribute and three values (a count, a flag and an amount), read from the start at every iteration.
func BenchmarkSQLiteRows(b *testing.B) {
	const rows = 10000
	dsn, db := newShopDB(b, nil)
	tx, err := db.Begin()
	if err != nil {
		b.Fatal(err)
	}
	for i := range rows {
		if _, err := tx.Exec(`INSERT INTO orders (created_at, region, status, amount) VALUES (datetime('now'), ?, ?, ?)`,
			[]string{"eu", "us", "ap"}[i%3], []string{"ok", "failed"}[min(i%50, 1)], float64(i%300)); err != nil {
			b.Fatal(err)
		}
	}
	if err := tx.Commit(); err != nil {
		b.Fatal(err)
	}
	cfg := shopConfig(b, dsn, "http://127.0.0.1:1", "")
	cfg.Sources = cfg.Sources[:1]
	cfg.Sources[0].SQL.Queries = cfg.Sources[0].SQL.Queries[:1]
	cfg.Sources[0].SQL.Queries[0].SQL = strings.Replace(cfg.Sources[0].SQL.Queries[0].SQL, "LIMIT 1000", "LIMIT 10000", 1)
	cfg.KPIs = cfg.KPIs[:2]
	r := openReceiver(b, cfg, nil, nil)
	defer r.Shutdown(context.Background())
	src := r.sources[0].fetcher.(*sqlSource)
	for b.Loop() {
		src.queries[0].position = int64(0)
		res := src.fetch(context.Background())
		if res[0].err != nil || res[0].reading.rows != rows {
			b.Fatalf("%v, %d rows", res[0].err, res[0].reading.rows)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}

// BenchmarkHTTPRows is the cost per row of a JSON document of 1,000 rows with a field, an expression and an
// attribute, served on loopback.
func BenchmarkHTTPRows(b *testing.B) {
	const rows = 1000
	var body strings.Builder
	body.WriteString(`{"providers": [`)
	for i := range rows {
		if i > 0 {
			body.WriteByte(',')
		}
		fmt.Fprintf(&body, `{"name": "p%d", "requests": %d, "errors": %d, "latency": {"p99_ms": %d}}`, i, 1000+i, i%7, 100+i)
	}
	body.WriteString(`]}`)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) { _, _ = w.Write([]byte(body.String())) }))
	defer srv.Close()
	cfg := shopConfig(b, "file::memory:", srv.URL, "")
	cfg.MaxRows = rows
	r := openReceiver(b, cfg, nil, nil)
	defer r.Shutdown(context.Background())
	src := r.sources[1].fetcher
	for b.Loop() {
		if res := src.fetch(context.Background()); res[0].err != nil {
			b.Fatal(res[0].err)
		}
	}
	b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*rows), "ns/row")
}
