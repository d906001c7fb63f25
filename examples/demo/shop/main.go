// Command shop is the demo's distributed shop: six services (frontend, catalog, checkout, payment, inventory,
// store), each its own process on a loopback port, instrumented with the OpenTelemetry Go SDK (traces, metrics and
// logs over OTLP); a login endpoint that writes an auth log (JSON lines); orders in an SQLite database; a load
// generator with a daily pattern and noise; and faults injected on command.
//
//	shop run   [flags]   starts the six services and the load, and serves /faults on the base port
//	shop fault [flags]   injects a fault through a running shop's /faults
//	shop serve [flags]   one service (run starts these)
//
// Faults (shop fault -service S -kind K [-value V] [-target T] -for D):
//
//	latency  on any service: V seconds added to each request (the store: a slow dependency)
//	errors   on any service: a share V of requests fails with 500
//	cpu      on any service: V goroutines spinning in its process (1 starves it: each service runs on one CPU)
//	leak     on any service: V MiB a second allocated and kept
//	timeout  on a caller, -target the callee: its calls hang until the client's 2 s timeout
//	decline  on payment: a share V of payments declined (orders fail without any technical error)
//	bruteforce, spray on the load (-service load): V failed logins a second from one address, for one user
//	                   (brute force) or each for a new user (password spraying)
package main

import (
	"bytes"
	"context"
	"encoding/json"
	"flag"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"runtime"
	"strconv"
	"sync"
	"syscall"
	"time"

	"go.opentelemetry.io/otel/attribute"
)

var (
	flagDB      string
	flagAuthLog string
)

func regionAttr(r string) attribute.KeyValue { return attribute.String("shop.region", r) }
func statusAttr(s string) attribute.KeyValue { return attribute.String("shop.status", s) }

func main() {
	if len(os.Args) < 2 {
		fmt.Fprintln(os.Stderr, "usage: shop run|serve|fault [flags] (see the package documentation)")
		os.Exit(2)
	}
	fs := flag.NewFlagSet("shop "+os.Args[1], flag.ExitOnError)
	base := fs.Int("base-port", 7100, "the launcher's port; the services take the next six, and the one after")
	otlp := fs.String("otlp", "localhost:4317", "the collector's OTLP/gRPC endpoint")
	interval := fs.Duration("metrics-interval", 10*time.Second, "how often the services export their metrics")
	fs.StringVar(&flagDB, "db", "_build/demo/shop.db", "the store's SQLite database (orders, products, stock)")
	fs.StringVar(&flagAuthLog, "auth-log", "_build/demo/auth.jsonl", "the frontend's auth log (JSON lines)")
	rate := fs.Float64("rate", 20, "run: mean requests a second of the load")
	day := fs.Duration("day", 20*time.Minute, "run: the period of the load's daily pattern")
	service := fs.String("service", "", "serve, fault: the service (fault: or load)")
	kind := fs.String("kind", "", "fault: the fault's kind")
	value := fs.Float64("value", 0, "fault: its strength")
	target := fs.String("target", "", "fault: the callee of a timeout")
	lasts := fs.Duration("for", 2*time.Minute, "fault: how long it lasts")
	_ = fs.Parse(os.Args[2:])
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	switch os.Args[1] {
	case "serve":
		runtime.GOMAXPROCS(1)
		must(serveService(ctx, *service, *base, *otlp, *interval), *service)
	case "run":
		must(run(ctx, *base, *rate, *day, os.Args[2:]), "run")
	case "fault":
		f := map[string]any{"service": *service, "kind": *kind, "value": *value, "target": *target, "for": lasts.String()}
		out, err := postFault(fmt.Sprintf("127.0.0.1:%d", *base), f)
		must(err, "fault")
		fmt.Println(out)
	default:
		fmt.Fprintf(os.Stderr, "shop: unknown command %q\n", os.Args[1])
		os.Exit(2)
	}
}

// postFault asks a running shop's launcher for a fault and returns its answer.
func postFault(launcher string, f map[string]any) (string, error) {
	data, err := json.Marshal(f)
	if err != nil {
		return "", err
	}
	resp, err := http.Post("http://"+launcher+"/faults", "application/json", bytes.NewReader(data))
	if err != nil {
		return "", err
	}
	defer resp.Body.Close()
	body, _ := io.ReadAll(resp.Body)
	if resp.StatusCode != http.StatusOK {
		return "", fmt.Errorf("%s: %s", resp.Status, bytes.TrimSpace(body))
	}
	return string(bytes.TrimSpace(body)), nil
}

// run starts the services as child processes, the black hole a timeout fault sends calls to, the load and the
// launcher's /faults, and stops them all when ctx ends.
func run(ctx context.Context, base int, rate float64, day time.Duration, args []string) error {
	for _, p := range []string{flagDB, flagAuthLog} {
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			return err
		}
	}
	hole, err := net.Listen("tcp", blackholeAddr(base))
	if err != nil {
		return err
	}
	defer hole.Close()
	go blackHole(hole)

	self, err := os.Executable()
	if err != nil {
		return err
	}
	var children []*exec.Cmd
	defer func() {
		for _, c := range children {
			_ = c.Process.Signal(syscall.SIGTERM)
		}
		for _, c := range children {
			_ = c.Wait()
		}
	}()
	for _, s := range services {
		cmd := exec.Command(self, append([]string{"serve", "-service", s}, args...)...)
		cmd.Stdout, cmd.Stderr = os.Stdout, os.Stderr
		if err := cmd.Start(); err != nil {
			return err
		}
		children = append(children, cmd)
	}
	for _, s := range services {
		if err := waitHealthy(ctx, serviceAddr(base, s)); err != nil {
			return fmt.Errorf("%s: %w", s, err)
		}
	}
	l := newLoad(base, rate, day)
	mux := http.NewServeMux()
	mux.HandleFunc("POST /faults", func(w http.ResponseWriter, r *http.Request) {
		var f struct {
			fault
			Service string `json:"service"`
		}
		body, _ := io.ReadAll(io.LimitReader(r.Body, 1<<16))
		if err := json.Unmarshal(body, &f); err != nil {
			http.Error(w, "fault: "+err.Error(), http.StatusBadRequest)
			return
		}
		if f.Service == "load" {
			a, err := l.attack(f.fault)
			if err != nil {
				http.Error(w, "fault: "+err.Error(), http.StatusBadRequest)
				return
			}
			_ = writeJSON(w, a)
			return
		}
		if serviceIndex(f.Service) < 0 {
			http.Error(w, fmt.Sprintf("fault: service %q: want one of %v or load", f.Service, services), http.StatusBadRequest)
			return
		}
		resp, err := http.Post("http://"+serviceAddr(base, f.Service)+"/admin/faults", "application/json", bytes.NewReader(body))
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	})
	mux.HandleFunc("GET /{$}", func(w http.ResponseWriter, _ *http.Request) { _, _ = io.WriteString(w, "ok\n") })
	server := &http.Server{Addr: "127.0.0.1:" + strconv.Itoa(base), Handler: mux, ReadHeaderTimeout: 5 * time.Second}
	go func() {
		<-ctx.Done()
		_ = server.Close()
	}()
	fmt.Printf("shop: %d services (frontend at http://%s), faults at http://127.0.0.1:%d/faults, %g requests a second\n",
		len(services), serviceAddr(base, "frontend"), base, rate)
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		l.run(ctx)
	}()
	if err := server.ListenAndServe(); err != http.ErrServerClosed {
		return err
	}
	wg.Wait()
	return nil
}

// blackHole accepts connections and never answers: calls sent there time out.
func blackHole(l net.Listener) {
	var held []net.Conn
	for {
		c, err := l.Accept()
		if err != nil {
			for _, c := range held {
				c.Close()
			}
			return
		}
		held = append(held, c)
		if len(held) > 1000 {
			held[0].Close()
			held = held[1:]
		}
	}
}

func waitHealthy(ctx context.Context, addr string) error {
	deadline := time.Now().Add(30 * time.Second)
	for {
		resp, err := http.Get("http://" + addr + "/healthz")
		if err == nil {
			resp.Body.Close()
			if resp.StatusCode == http.StatusOK {
				return nil
			}
		}
		if time.Now().After(deadline) || ctx.Err() != nil {
			return fmt.Errorf("not healthy at %s: %v", addr, err)
		}
		time.Sleep(100 * time.Millisecond)
	}
}
