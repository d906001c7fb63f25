//go:build integration

package kpireceiver

import (
	"context"
	"database/sql"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelstrata/strata/internal/e2e"
	"github.com/otelstrata/strata/receiver/kpireceiver/internal/metadata"
)

// TestPostgresIntegration runs the README's PostgreSQL example against a real PostgreSQL server, as the read-only
// role the README recommends: an incremental query tracking a timestamptz column (tracking_start honoured, the
// position kept in file storage across a restart), a histogram from bucket rows, a KPI over windows, and a write
// refused by the read-only transaction.
func TestPostgresIntegration(t *testing.T) {
	superuser := e2e.StartPostgres(t)
	db, err := sql.Open("pgx", superuser)
	require.NoError(t, err)
	defer db.Close()
	_, err = db.Exec(`
		CREATE TABLE orders (id bigserial PRIMARY KEY, created_at timestamptz NOT NULL, region text NOT NULL,
		                     status text NOT NULL, amount numeric(10,2) NOT NULL);
		CREATE ROLE kpi_reader LOGIN PASSWORD 'reader-secret';
		GRANT SELECT ON orders TO kpi_reader;
		INSERT INTO orders (created_at, region, status, amount) VALUES
		  ('2025-06-01T00:00:00Z', 'eu', 'ok', 1),  -- before tracking_start: never read
		  (now() - interval '60 seconds', 'eu', 'ok', 5),
		  (now() - interval '50 seconds', 'eu', 'failed', 50),
		  (now() - interval '40 seconds', 'eu', 'ok', 500),
		  (now() - interval '30 seconds', 'us', 'ok', 20);`)
	require.NoError(t, err)
	addOrder := func(region string) {
		_, err := db.Exec(`INSERT INTO orders (created_at, region, status, amount) VALUES (clock_timestamp(), $1, 'ok', 10)`, region)
		require.NoError(t, err)
	}

	raw := readmeExample(t, readmePostgres)
	delete(raw, "storage") // the test's own file storage, below
	raw["sources"].([]any)[0].(map[string]any)["sql"].(map[string]any)["dsn"] =
		strings.Replace(superuser, "strata@", "kpi_reader:reader-secret@", 1)
	cfg := exampleConfig(t, raw)
	storageID := storagetest.NewStorageID("file_storage")
	cfg.Storage = &storageID
	storageDir := t.TempDir()

	r1 := openReceiver(t, cfg, nil, storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", storageDir))
	md := pollAll(t, r1)
	assert.Equal(t, map[string]float64{"eu": 3, "us": 1}, points(md, "billing.orders", "region"))
	assert.Equal(t, map[string]float64{"eu": 1, "us": 0}, points(md, "billing.orders.failed", "region"))
	assertBands(t, md, []uint64{1, 2, 1}) // 5 | 50, 20 | 500
	position := r1.sources[0].fetcher.(*sqlSource).queries[0].position
	require.IsType(t, time.Time{}, position, "a timestamptz position is kept as a time")
	mb := metadata.NewMetricsBuilder(r1.cfg.MetricsBuilderConfig, r1.set)
	r1.evaluate(context.Background(), mb, time.Now()) // the windows' first readings

	addOrder("eu")
	addOrder("eu")
	md = pollAll(t, r1)
	assert.Equal(t, map[string]float64{"eu": 5, "us": 1}, points(md, "billing.orders", "region"))
	kpis := r1.evaluate(context.Background(), mb, time.Now())
	assert.Equal(t, map[string]float64{"eu": 0}, points(kpis, "billing_failure_ratio", "region"),
		"no failure among eu's two new orders; us had no new order (0/0: no point)")
	assert.Equal(t, map[string]float64{"eu": 1}, points(kpis, "strata.kpi.target_met", "region"))
	require.NoError(t, r1.Shutdown(context.Background()))

	addOrder("us")
	r2 := openReceiver(t, cfg, nil, storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", storageDir))
	assert.Equal(t, map[string]float64{"us": 1}, points(pollAll(t, r2), "billing.orders", "region"),
		"after the restart, only the order placed since")
	require.NoError(t, r2.Shutdown(context.Background()))

	// A write that passes the check (it starts with WITH) is refused by the READ ONLY transaction, even for the
	// superuser.
	raw["sources"].([]any)[0].(map[string]any)["sql"].(map[string]any)["dsn"] = superuser
	cfg = exampleConfig(t, raw)
	cfg.Sources[0].SQL.Queries = []QueryConfig{{
		Name:   "sneaky",
		SQL:    "WITH gone AS (DELETE FROM orders RETURNING 1) SELECT count(*) AS n FROM gone",
		Values: []ValueConfig{{Column: "n", ID: "gone"}},
	}}
	cfg.KPIs = nil
	r3 := openReceiver(t, cfg, nil, nil)
	defer func() { require.NoError(t, r3.Shutdown(context.Background())) }()
	res := r3.sources[0].fetcher.fetch(context.Background())
	require.Error(t, res[0].err)
	assert.Contains(t, res[0].err.Error(), "in a read-only transaction (SQLSTATE 25006)")
	var count int
	require.NoError(t, db.QueryRow(`SELECT count(*) FROM orders`).Scan(&count))
	assert.Equal(t, 8, count)
}

func assertBands(t *testing.T, md pmetric.Metrics, want []uint64) {
	t.Helper()
	rms := md.ResourceMetrics()
	for i := range rms.Len() {
		ms := rms.At(i).ScopeMetrics().At(0).Metrics()
		for j := range ms.Len() {
			if m := ms.At(j); m.Name() == "billing.order.amount.recent" {
				dp := m.Histogram().DataPoints().At(0)
				assert.Equal(t, want, dp.BucketCounts().AsRaw())
				assert.Equal(t, []float64{10, 100}, dp.ExplicitBounds().AsRaw())
				return
			}
		}
	}
	t.Fatal("no billing.order.amount.recent histogram")
}
