// Command shopsim is the quickstart's shop: it creates an SQLite shop database and keeps taking orders, with
// failures and revenue, so that the kpi receiver has a business to watch on a machine with no database of its own.
//
// Orders come at -rate per second from three regions; 2 % fail, except during a payment outage in eu that starts
// -outage-after the start (2 minutes) and then every -outage-every (5 minutes), for -outage-for (a minute), when a
// quarter of eu's orders fail (the order success KPI misses its target, the error budget burns, an alert fires). Subscriptions sign up and cancel. The database
// keeps the last -keep orders; order ids are never reused, so incremental queries stay correct.
package main

import (
	"context"
	"database/sql"
	"flag"
	"fmt"
	"log"
	"math"
	"math/rand/v2"
	"os"
	"os/signal"
	"path/filepath"
	"syscall"
	"time"

	_ "modernc.org/sqlite"
)

const schema = `
CREATE TABLE IF NOT EXISTS orders (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  region     TEXT    NOT NULL,
  status     TEXT    NOT NULL CHECK (status IN ('ok', 'failed')),
  amount     REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS subscriptions (
  id     INTEGER PRIMARY KEY AUTOINCREMENT,
  plan   TEXT    NOT NULL,
  active INTEGER NOT NULL
);`

func main() {
	path := flag.String("db", "_build/quickstart/shop.db", "the SQLite database file (created when absent)")
	rate := flag.Float64("rate", 3, "orders per second")
	keep := flag.Int("keep", 100000, "orders kept; older ones are deleted")
	flag.DurationVar(&outage.after, "outage-after", 2*time.Minute, "when eu's payment outage first begins")
	flag.DurationVar(&outage.every, "outage-every", 5*time.Minute, "how often it begins again")
	flag.DurationVar(&outage.lasts, "outage-for", time.Minute, "how long it lasts")
	flag.Parse()
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	if outage.after < 0 || outage.lasts <= 0 || outage.every < outage.lasts {
		log.Fatal("shopsim: -outage-after must not be negative, -outage-for positive and -outage-every at least -outage-for")
	}
	if err := run(ctx, *path, *rate, *keep); err != nil {
		log.Fatalf("shopsim: %v", err)
	}
}

func run(ctx context.Context, path string, rate float64, keep int) error {
	if rate <= 0 || keep < 1 {
		return fmt.Errorf("-rate and -keep must be positive")
	}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	// WAL: the collector reads while the shop writes.
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	defer db.Close()
	db.SetMaxOpenConns(1)
	if _, err := db.ExecContext(ctx, schema); err != nil {
		return fmt.Errorf("creating the schema in %s: %w", path, err)
	}
	var subscriptions int
	if err := db.QueryRowContext(ctx, `SELECT count(*) FROM subscriptions`).Scan(&subscriptions); err != nil {
		return err
	}
	for ; subscriptions < 40; subscriptions++ {
		if _, err := db.ExecContext(ctx, `INSERT INTO subscriptions (plan, active) VALUES (?, 1)`, plan()); err != nil {
			return err
		}
	}
	log.Printf("shopsim: taking %.1f orders per second into %s", rate, path)

	start := time.Now()
	orders := time.NewTicker(time.Duration(float64(time.Second) / rate))
	defer orders.Stop()
	housekeeping := time.NewTicker(10 * time.Second)
	defer housekeeping.Stop()
	for {
		select {
		case <-ctx.Done():
			return nil
		case now := <-orders.C:
			region := pick([]string{"eu", "us", "ap"}, []float64{0.5, 0.35, 0.15})
			status := "ok"
			if rand.Float64() < failureRate(region, now.Sub(start)) {
				status = "failed"
			}
			amount := math.Round(math.Exp(rand.NormFloat64()*0.8+3.5)*100) / 100 // log-normal, median ~33
			if _, err := db.ExecContext(ctx, `INSERT INTO orders (region, status, amount) VALUES (?, ?, ?)`, region, status, amount); err != nil {
				return err
			}
		case <-housekeeping.C:
			if err := churn(ctx, db); err != nil {
				return err
			}
			if _, err := db.ExecContext(ctx, `DELETE FROM orders WHERE id <= (SELECT max(id) FROM orders) - ?`, keep); err != nil {
				return err
			}
		}
	}
}

// outage is when eu's payments fail.
var outage struct{ after, every, lasts time.Duration }

// failureRate is the share of failed orders: 2 %, and 25 % in eu during the payment outage.
func failureRate(region string, since time.Duration) float64 {
	if region == "eu" && since >= outage.after && (since-outage.after)%outage.every < outage.lasts {
		return 0.25
	}
	return 0.02
}

// churn signs up one subscription and, one time in three, cancels one.
func churn(ctx context.Context, db *sql.DB) error {
	if _, err := db.ExecContext(ctx, `INSERT INTO subscriptions (plan, active) VALUES (?, 1)`, plan()); err != nil {
		return err
	}
	if rand.IntN(3) == 0 {
		_, err := db.ExecContext(ctx, `UPDATE subscriptions SET active = 0 WHERE id = (SELECT id FROM subscriptions WHERE active = 1 ORDER BY random() LIMIT 1)`)
		return err
	}
	return nil
}

func plan() string { return pick([]string{"basic", "pro", "enterprise"}, []float64{0.6, 0.3, 0.1}) }

func pick(items []string, weights []float64) string {
	x := rand.Float64()
	for i, w := range weights {
		if x < w {
			return items[i]
		}
		x -= w
	}
	return items[len(items)-1]
}
