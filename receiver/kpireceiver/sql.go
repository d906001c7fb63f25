package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"

import (
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"strconv"
	"strings"
	"time"

	_ "github.com/go-sql-driver/mysql" // the mysql driver
	_ "github.com/jackc/pgx/v5/stdlib" // the pgx driver, as "pgx"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	_ "modernc.org/sqlite" // the sqlite driver
)

// sqlDriverNames are the database/sql names of the drivers behind the config's names.
var sqlDriverNames = map[string]string{"sqlite": "sqlite", "postgres": "pgx", "mysql": "mysql"}

// sqlSource polls a database: each query in a read-only transaction of its own, so that one failing query
// neither aborts the others (PostgreSQL aborts a transaction at its first error) nor holds their results.
type sqlSource struct {
	name    string
	db      *sql.DB
	queries []*sqlQuery
	maxRows int
	storage storage.Client
}

// sqlQuery is a query ready to run, with the position of an incremental query.
type sqlQuery struct {
	cfg    *QueryConfig
	text   string // the SQL with $last replaced by the driver's placeholder
	nLast  int    // how many times the position is passed (? placeholders are positional)
	defs   []*valueDef
	static map[string]string

	position any // the largest tracking column value seen; nil before the first row of an incremental query
}

func newSQLSource(name string, cfg *SQLConfig, maxRows int, client storage.Client) (*sqlSource, error) {
	dsn := string(cfg.DSN)
	if cfg.Driver == "sqlite" {
		dsn = sqliteReadOnly(dsn)
	}
	db, err := sql.Open(sqlDriverNames[cfg.Driver], dsn)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", name, err) // only a DSN the driver cannot parse: it is not logged
	}
	db.SetMaxOpenConns(cfg.MaxOpenConnections)
	db.SetMaxIdleConns(cfg.MaxIdleConnections)
	db.SetConnMaxLifetime(cfg.ConnectionMaxLifetime)
	s := &sqlSource{name: name, db: db, maxRows: maxRows, storage: client}
	for i := range cfg.Queries {
		qc := &cfg.Queries[i]
		q := &sqlQuery{cfg: qc, text: qc.SQL, static: qc.StaticAttributes}
		if q.defs, err = newValueDefs(qc.Values, qc.TrackingColumn != ""); err != nil {
			return nil, err
		}
		if qc.TrackingColumn != "" {
			q.nLast = strings.Count(qc.SQL, "$last")
			placeholder := "?"
			if cfg.Driver == "postgres" {
				placeholder, q.nLast = "$1", 1
			}
			q.text = strings.ReplaceAll(qc.SQL, "$last", placeholder)
			q.position = parsePosition(qc.TrackingStart)
		}
		s.queries = append(s.queries, q)
	}
	return s, nil
}

// sqliteReadOnly makes every connection to an SQLite database query-only (writes fail), since SQLite has no
// read-only transaction, and lets readers wait for a writer's lock instead of failing at once.
func sqliteReadOnly(dsn string) string {
	sep := "?"
	if strings.Contains(dsn, "?") {
		sep = "&"
	}
	dsn += sep + "_pragma=query_only(1)"
	if !strings.Contains(dsn, "busy_timeout") {
		dsn += "&_pragma=busy_timeout(5000)"
	}
	return dsn
}

// restore reads the positions of incremental queries from storage.
func (s *sqlSource) restore(ctx context.Context) error {
	if s.storage == nil {
		return nil
	}
	for _, q := range s.queries {
		if q.cfg.TrackingColumn == "" {
			continue
		}
		data, err := s.storage.Get(ctx, s.positionKey(q))
		if err != nil {
			return fmt.Errorf("source %s: query %s: reading its position: %w", s.name, q.cfg.Name, err)
		}
		if data == nil {
			continue
		}
		pos, err := decodePosition(data)
		if err != nil {
			return fmt.Errorf("source %s: query %s: stored position: %w", s.name, q.cfg.Name, err)
		}
		q.position = pos
	}
	return nil
}

func (s *sqlSource) positionKey(q *sqlQuery) string { return "position/" + s.name + "/" + q.cfg.Name }

func (s *sqlSource) fetch(ctx context.Context) []fetchResult {
	results := make([]fetchResult, len(s.queries))
	for i, q := range s.queries {
		results[i].query = q.cfg.Name
		results[i].static = q.static
		results[i].incremental = q.cfg.TrackingColumn != ""
		r, pos, err := s.run(ctx, q)
		if err != nil {
			results[i].err = fmt.Errorf("query %s: %w", q.cfg.Name, err)
			continue
		}
		results[i].reading = r
		if results[i].incremental && pos != nil {
			q.position = pos
			results[i].commit = func(ctx context.Context) error { return s.save(ctx, q) }
		}
	}
	return results
}

// run runs one query and reads its rows; nothing of a query that fails on any row is used.
func (s *sqlSource) run(ctx context.Context, q *sqlQuery) (*reading, any, error) {
	tx, err := s.db.BeginTx(ctx, &sql.TxOptions{ReadOnly: true})
	if err != nil {
		return nil, nil, err
	}
	defer tx.Rollback() //nolint:errcheck // a read-only transaction: nothing to keep
	args := make([]any, q.nLast)
	for i := range args {
		args[i] = q.position
	}
	rows, err := tx.QueryContext(ctx, q.text, args...)
	if err != nil {
		return nil, nil, err
	}
	defer rows.Close()
	columns, err := rows.Columns()
	if err != nil {
		return nil, nil, err
	}
	index := make(map[string]int, len(columns))
	for i, c := range columns {
		index[c] = i
	}
	for _, name := range append(append([]string{q.cfg.TrackingColumn}, q.cfg.Attributes...), columnsOf(q.defs)...) {
		if _, ok := index[name]; !ok && name != "" {
			return nil, nil, failf(reasonMissing, "has no column %q (it returns %s)", name, strings.Join(columns, ", "))
		}
	}
	cells := make([]any, len(columns))
	ptrs := make([]any, len(columns))
	for i := range cells {
		ptrs[i] = &cells[i]
	}
	r := newReading(q.defs)
	var attrs attrSet
	var last any
	for rows.Next() {
		if r.rows == s.maxRows {
			return nil, nil, failf(reasonTooManyRows, "returned more than max_rows (%d) rows%s", s.maxRows, catchUpHint(q))
		}
		if err := rows.Scan(ptrs...); err != nil {
			return nil, nil, err
		}
		attrs.reset()
		for _, a := range q.cfg.Attributes {
			attrs.add(a, toText(cells[index[a]]))
		}
		row := r.rows + 1
		err := r.add(&attrs, func(name string) (any, error) {
			v := cells[index[name]]
			if v == nil {
				return nil, failf(reasonNull, "row %d: column %s is NULL", row, name)
			}
			return v, nil
		})
		if err != nil {
			var pe *pollError
			if !errors.As(err, &pe) {
				err = failf(reasonNotANumber, "row %d: %w", row, err)
			}
			return nil, nil, err
		}
		if q.cfg.TrackingColumn != "" {
			v := cells[index[q.cfg.TrackingColumn]]
			if v == nil {
				return nil, nil, failf(reasonNull, "row %d: tracking column %s is NULL", row, q.cfg.TrackingColumn)
			}
			if b, ok := v.([]byte); ok {
				v = string(b)
			}
			if last == nil || positionLess(last, v) {
				last = v
			}
		}
	}
	if err := rows.Err(); err != nil {
		return nil, nil, err
	}
	if r.rows == 0 && q.cfg.TrackingColumn == "" && len(q.cfg.Attributes) == 0 {
		return nil, nil, failf(reasonNoRows, "returned no rows")
	}
	return r, last, nil
}

func catchUpHint(q *sqlQuery) string {
	if q.cfg.TrackingColumn == "" {
		return ""
	}
	return fmt.Sprintf("; an incremental query catches up in steps with ORDER BY %s LIMIT n", q.cfg.TrackingColumn)
}

func columnsOf(defs []*valueDef) []string {
	var names []string
	for _, d := range defs {
		names = append(names, d.source)
		if d.bound != "" {
			names = append(names, d.bound)
		}
	}
	return names
}

func (s *sqlSource) save(ctx context.Context, q *sqlQuery) error {
	if s.storage == nil {
		return nil
	}
	data, err := encodePosition(q.position)
	if err != nil {
		return err
	}
	return s.storage.Set(ctx, s.positionKey(q), data)
}

func (s *sqlSource) close(context.Context) error { return s.db.Close() }

// storedPosition is a kept position with its type, so that it goes back to the database as what the column holds.
type storedPosition struct {
	Type  string `json:"type"` // int, float, time or string
	Value string `json:"value"`
}

func encodePosition(v any) ([]byte, error) {
	var p storedPosition
	switch x := v.(type) {
	case int64:
		p = storedPosition{"int", strconv.FormatInt(x, 10)}
	case float64:
		p = storedPosition{"float", strconv.FormatFloat(x, 'g', -1, 64)}
	case time.Time:
		p = storedPosition{"time", x.Format(time.RFC3339Nano)}
	case string:
		p = storedPosition{"string", x}
	default:
		return nil, fmt.Errorf("a tracking column of type %T cannot be kept", v)
	}
	return json.Marshal(p)
}

func decodePosition(data []byte) (any, error) {
	var p storedPosition
	if err := json.Unmarshal(data, &p); err != nil {
		return nil, err
	}
	switch p.Type {
	case "int":
		return strconv.ParseInt(p.Value, 10, 64)
	case "float":
		return strconv.ParseFloat(p.Value, 64)
	case "time":
		return time.Parse(time.RFC3339Nano, p.Value)
	case "string":
		return p.Value, nil
	}
	return nil, fmt.Errorf("unknown type %q", p.Type)
}

// parsePosition returns tracking_start as the database should get it: a whole number, a number, or text (a
// timestamp in the database's own spelling, say).
func parsePosition(s string) any {
	if s == "" {
		return int64(0)
	}
	if i, err := strconv.ParseInt(s, 10, 64); err == nil {
		return i
	}
	if f, err := strconv.ParseFloat(s, 64); err == nil {
		return f
	}
	return s
}

// positionLess orders tracking column values: numbers by value, times by time, anything else as text.
func positionLess(a, b any) bool {
	if ia, ok := a.(int64); ok {
		if ib, ok := b.(int64); ok {
			return ia < ib
		}
	}
	if ta, ok := a.(time.Time); ok {
		if tb, ok := b.(time.Time); ok {
			return ta.Before(tb)
		}
	}
	fa, errA := toFloat(a)
	fb, errB := toFloat(b)
	_, aText := a.(string)
	_, bText := b.(string)
	if errA == nil && errB == nil && !aText && !bText {
		return fa < fb
	}
	return toText(a) < toText(b)
}
