package main

import (
	"bytes"
	"context"
	"database/sql"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.opentelemetry.io/contrib/instrumentation/net/http/otelhttp"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	_ "modernc.org/sqlite"
)

// The shop's services, in the order of their ports after the launcher's own (base port + 1, + 2, ...), each on a
// loopback address of its own (127.0.0.11, .12, ...: as on hosts of their own, so that an address names one
// service), and the address after them where nobody answers (the "network" a timeout fault sends calls to).
var services = []string{"frontend", "catalog", "checkout", "payment", "inventory", "store"}

func serviceIndex(name string) int {
	for i, s := range services {
		if s == name {
			return i
		}
	}
	return -1
}

func servicePort(base int, name string) int {
	if i := serviceIndex(name); i >= 0 {
		return base + 1 + i
	}
	return 0
}

// serviceAddr is the service's host:port.
func serviceAddr(base int, name string) string {
	return fmt.Sprintf("127.0.0.%d:%d", 11+serviceIndex(name), servicePort(base, name))
}

func blackholeAddr(base int) string {
	return fmt.Sprintf("127.0.0.%d:%d", 11+len(services), base+1+len(services))
}

// service is one of the shop's processes: its handlers, its faults and its clients to the others.
type service struct {
	name    string
	base    int
	tel     *telemetry
	faults  *faults
	client  *http.Client
	db      *sql.DB    // store only
	authLog *os.File   // frontend only
	authMu  sync.Mutex //
	leak    [][]byte   // inventory's leak, when injected

	orders metric.Int64Counter
	logins metric.Int64Counter
}

func (s *service) url(peer, path string) string {
	return "http://" + serviceAddr(s.base, peer) + path
}

// call sends a request to a peer and decodes its JSON answer into out.
func (s *service) call(ctx context.Context, method, peer, path string, in, out any) error {
	target := s.url(peer, path)
	var body io.Reader
	if in != nil {
		data, err := json.Marshal(in)
		if err != nil {
			return err
		}
		body = bytes.NewReader(data)
	}
	req, err := http.NewRequestWithContext(ctx, method, target, body)
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	if resp.StatusCode >= 300 {
		msg, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
		return fmt.Errorf("%s %s: %s: %s", method, peer+path, resp.Status, bytes.TrimSpace(msg))
	}
	if out == nil {
		return nil
	}
	return json.NewDecoder(resp.Body).Decode(out)
}

// transport dials the peers — except, under a timeout fault towards a peer, an address that accepts connections and
// never answers: the request still names the peer, and times out as on a broken network path. Connections are not
// kept between requests, so that a fault takes effect at once.
func (s *service) transport() http.RoundTripper {
	dialer := &net.Dialer{Timeout: time.Second}
	t := http.DefaultTransport.(*http.Transport).Clone()
	t.DisableKeepAlives = true
	t.DialContext = func(ctx context.Context, network, addr string) (net.Conn, error) {
		for _, peer := range services {
			if addr == serviceAddr(s.base, peer) && s.faults.active("timeout", peer) {
				addr = blackholeAddr(s.base)
			}
		}
		return dialer.DialContext(ctx, network, addr)
	}
	return t
}

// handle registers a route, instrumented, with the service's faults in front: added latency, error bursts, and
// the slowness of a leaking or CPU-starved process, which come by themselves.
func (s *service) handle(mux *http.ServeMux, pattern string, h func(w http.ResponseWriter, r *http.Request) error) {
	mux.Handle(pattern, otelhttp.NewHandler(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		ctx := r.Context()
		if d := s.faults.value("latency", ""); d > 0 {
			time.Sleep(time.Duration(d * float64(time.Second) * (0.8 + 0.4*rand.Float64())))
		}
		if p := s.faults.value("errors", ""); p > 0 && rand.Float64() < p {
			s.tel.log(ctx, otellog.SeverityError, "injected failure: internal error", otellog.String("fault", "errors"))
			http.Error(w, "internal error", http.StatusInternalServerError)
			return
		}
		work() // every request costs a little CPU, so that a starved process answers late
		if err := h(w, r); err != nil {
			s.tel.log(ctx, otellog.SeverityError, err.Error(), otellog.String("http.route", pattern))
			http.Error(w, err.Error(), http.StatusBadGateway)
		}
	}), pattern))
}

// work is about a tenth of a millisecond of computation.
func work() {
	x := 1.0
	for i := range 20000 {
		x += float64(i%7) * 1e-9
	}
	if x < 0 {
		panic("unreachable")
	}
}

func writeJSON(w http.ResponseWriter, v any) error {
	w.Header().Set("Content-Type", "application/json")
	return json.NewEncoder(w).Encode(v)
}

type order struct {
	Region string  `json:"region"`
	Amount float64 `json:"amount"`
	Items  int     `json:"items"`
}

type orderResult struct {
	Status string `json:"status"` // ok, declined
	ID     int64  `json:"id,omitempty"`
}

// routes are the service's handlers.
func (s *service) routes(mux *http.ServeMux) error {
	switch s.name {
	case "frontend":
		s.handle(mux, "GET /products", func(w http.ResponseWriter, r *http.Request) error {
			var products []map[string]any
			if err := s.call(r.Context(), http.MethodGet, "catalog", "/products", nil, &products); err != nil {
				return err
			}
			return writeJSON(w, products)
		})
		s.handle(mux, "POST /checkout", func(w http.ResponseWriter, r *http.Request) error {
			var o order
			if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return nil
			}
			var res orderResult
			if err := s.call(r.Context(), http.MethodPost, "checkout", "/checkout", o, &res); err != nil {
				return err
			}
			return writeJSON(w, res)
		})
		s.handle(mux, "POST /login", s.login)
	case "catalog":
		s.handle(mux, "GET /products", func(w http.ResponseWriter, r *http.Request) error {
			var products []map[string]any
			if err := s.call(r.Context(), http.MethodGet, "store", "/products", nil, &products); err != nil {
				return err
			}
			return writeJSON(w, products)
		})
	case "checkout":
		s.handle(mux, "POST /checkout", s.checkout)
	case "payment":
		s.handle(mux, "POST /charge", func(w http.ResponseWriter, r *http.Request) error {
			time.Sleep(time.Duration(5+rand.IntN(10)) * time.Millisecond) // the card network
			if p := s.faults.value("decline", ""); p > 0 && rand.Float64() < p {
				s.tel.log(r.Context(), otellog.SeverityInfo, "payment declined by the issuer", otellog.String("payment.outcome", "declined"))
				return writeJSON(w, orderResult{Status: "declined"})
			}
			return writeJSON(w, orderResult{Status: "ok"})
		})
	case "inventory":
		s.handle(mux, "POST /reserve", func(w http.ResponseWriter, r *http.Request) error {
			var o order
			if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return nil
			}
			if err := s.call(r.Context(), http.MethodPost, "store", "/reserve", o, nil); err != nil {
				return err
			}
			return writeJSON(w, map[string]bool{"reserved": true})
		})
	case "store":
		if err := s.openStore(); err != nil {
			return err
		}
		s.handle(mux, "GET /products", func(w http.ResponseWriter, r *http.Request) error {
			rows, err := s.db.QueryContext(r.Context(), `SELECT id, name, price FROM products ORDER BY id`)
			if err != nil {
				return err
			}
			defer rows.Close()
			var products []map[string]any
			for rows.Next() {
				var id int
				var name string
				var price float64
				if err := rows.Scan(&id, &name, &price); err != nil {
					return err
				}
				products = append(products, map[string]any{"id": id, "name": name, "price": price})
			}
			if err := rows.Err(); err != nil {
				return err
			}
			return writeJSON(w, products)
		})
		s.handle(mux, "POST /reserve", func(w http.ResponseWriter, r *http.Request) error {
			var o order
			if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return nil
			}
			_, err := s.db.ExecContext(r.Context(), `UPDATE stock SET reserved = reserved + ? WHERE product = 1`, o.Items)
			return err
		})
		s.handle(mux, "POST /orders", func(w http.ResponseWriter, r *http.Request) error {
			var o struct {
				order
				Status string `json:"status"`
			}
			if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
				http.Error(w, err.Error(), http.StatusBadRequest)
				return nil
			}
			res, err := s.db.ExecContext(r.Context(), `INSERT INTO orders (region, status, amount) VALUES (?, ?, ?)`, o.Region, o.Status, o.Amount)
			if err != nil {
				return err
			}
			id, err := res.LastInsertId()
			if err != nil {
				return err
			}
			return writeJSON(w, orderResult{Status: o.Status, ID: id})
		})
	}
	return nil
}

// checkout reserves the items, charges the payment and records the order; a declined payment is a failed order,
// not an error.
func (s *service) checkout(w http.ResponseWriter, r *http.Request) error {
	ctx := r.Context()
	var o order
	if err := json.NewDecoder(r.Body).Decode(&o); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil
	}
	if err := s.call(ctx, http.MethodPost, "inventory", "/reserve", o, nil); err != nil {
		return err
	}
	var paid orderResult
	if err := s.call(ctx, http.MethodPost, "payment", "/charge", o, &paid); err != nil {
		return err
	}
	status := "ok"
	if paid.Status != "ok" {
		status = "failed"
	}
	var res orderResult
	record := map[string]any{"region": o.Region, "amount": o.Amount, "items": o.Items, "status": status}
	if err := s.call(ctx, http.MethodPost, "store", "/orders", record, &res); err != nil {
		return err
	}
	s.orders.Add(ctx, 1, metric.WithAttributes(regionAttr(o.Region), statusAttr(status)))
	if status == "ok" {
		s.tel.log(ctx, otellog.SeverityInfo, "order placed", otellog.Int64("order.id", res.ID))
		return writeJSON(w, res)
	}
	s.tel.log(ctx, otellog.SeverityWarn, "order failed: payment declined", otellog.Int64("order.id", res.ID))
	return writeJSON(w, orderResult{Status: "declined", ID: res.ID})
}

var accounts = map[string]string{"alice": "wonderland", "bob": "builder", "carol": "singer", "dave": "diver", "erin": "eagle"}

// login checks a user's password and writes the attempt to the auth log (JSON lines, read by the authlog receiver).
func (s *service) login(w http.ResponseWriter, r *http.Request) error {
	var c struct{ User, Password string }
	if err := json.NewDecoder(r.Body).Decode(&c); err != nil {
		http.Error(w, err.Error(), http.StatusBadRequest)
		return nil
	}
	source := r.Header.Get("X-Forwarded-For")
	if source == "" {
		source, _, _ = net.SplitHostPort(r.RemoteAddr)
	}
	ok := accounts[c.User] != "" && accounts[c.User] == c.Password
	outcome := "failure"
	if ok {
		outcome = "success"
	}
	line, err := json.Marshal(map[string]any{
		"time": time.Now().UTC().Format(time.RFC3339Nano), "user": c.User, "source_ip": source,
		"outcome": outcome, "method": "password", "host": "frontend-host", "service": "shop-frontend",
	})
	if err != nil {
		return err
	}
	s.authMu.Lock()
	_, err = s.authLog.Write(append(line, '\n'))
	s.authMu.Unlock()
	if err != nil {
		return err
	}
	s.logins.Add(r.Context(), 1, metric.WithAttributes(statusAttr(outcome)))
	if !ok {
		w.WriteHeader(http.StatusUnauthorized)
	}
	return writeJSON(w, map[string]string{"outcome": outcome})
}

const storeSchema = `
CREATE TABLE IF NOT EXISTS orders (
  id         INTEGER PRIMARY KEY AUTOINCREMENT,
  created_at TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ', 'now')),
  region     TEXT    NOT NULL,
  status     TEXT    NOT NULL CHECK (status IN ('ok', 'failed')),
  amount     REAL    NOT NULL
);
CREATE TABLE IF NOT EXISTS products (id INTEGER PRIMARY KEY, name TEXT NOT NULL, price REAL NOT NULL);
CREATE TABLE IF NOT EXISTS stock (product INTEGER PRIMARY KEY, reserved INTEGER NOT NULL DEFAULT 0);
INSERT OR IGNORE INTO products (id, name, price) VALUES (1, 'kettle', 39.9), (2, 'teapot', 24.5), (3, 'mug', 9.9);
INSERT OR IGNORE INTO stock (product) VALUES (1), (2), (3);`

func (s *service) openStore() error {
	path := flagDB
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return err
	}
	db, err := sql.Open("sqlite", "file:"+path+"?_pragma=journal_mode(WAL)&_pragma=busy_timeout(5000)")
	if err != nil {
		return err
	}
	db.SetMaxOpenConns(1)
	if _, err := db.Exec(storeSchema); err != nil {
		return errors.Join(fmt.Errorf("store schema: %w", err), db.Close())
	}
	s.db = db
	return nil
}

// serveService runs one service until ctx ends.
func serveService(ctx context.Context, name string, base int, otlp string, interval time.Duration) error {
	tel, err := newTelemetry(ctx, name, otlp, interval)
	if err != nil {
		return err
	}
	defer func() {
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = tel.shutdown(sctx)
	}()
	s := &service{name: name, base: base, tel: tel, faults: newFaults()}
	s.client = &http.Client{Timeout: 2 * time.Second, Transport: otelhttp.NewTransport(s.transport())}
	if s.orders, err = tel.meter.Int64Counter("shop.checkout.orders", metric.WithUnit("{order}"),
		metric.WithDescription("Orders checked out, by region and status.")); err != nil {
		return err
	}
	if s.logins, err = tel.meter.Int64Counter("shop.logins", metric.WithUnit("{login}"),
		metric.WithDescription("Login attempts, by outcome.")); err != nil {
		return err
	}
	if name == "frontend" {
		if s.authLog, err = os.OpenFile(flagAuthLog, os.O_CREATE|os.O_APPEND|os.O_WRONLY, 0o644); err != nil {
			return err
		}
		defer s.authLog.Close()
	}
	mux := http.NewServeMux()
	if err := s.routes(mux); err != nil {
		return err
	}
	if s.db != nil {
		defer s.db.Close()
	}
	mux.HandleFunc("GET /healthz", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	s.faults.routes(mux, s)
	server := &http.Server{Addr: serviceAddr(base, name), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		sctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		defer cancel()
		_ = server.Shutdown(sctx)
	}()
	if err := server.ListenAndServe(); !errors.Is(err, http.ErrServerClosed) {
		return err
	}
	return nil
}
