package netprobereceiver

import (
	"context"
	"net"
	"net/http"
	"net/http/httptest"
	"sync/atomic"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
)

// fuzzTargets builds targets from their YAML form, as a user writes them.
func fuzzTargets(f *testing.F, targets ...map[string]any) []*target {
	cfg := createDefaultConfig().(*Config)
	list := make([]any, len(targets))
	for i, tc := range targets {
		list[i] = tc
	}
	require.NoError(f, confmap.NewFromStringMap(map[string]any{"targets": list}).Unmarshal(cfg))
	require.NoError(f, xconfmap.Validate(cfg))
	out := make([]*target, len(cfg.Targets))
	for i := range cfg.Targets {
		var err error
		out[i], err = newTarget(cfg, &cfg.Targets[i], "")
		require.NoError(f, err)
	}
	return out
}

// FuzzAnswers serves any bytes as the answer of an HTTP server (status from the first byte, then the body) and of
// a TCP server, probed with body, JSON and expect checks: an answer passes or fails its checks, never panics.
func FuzzAnswers(f *testing.F) {
	var answer atomic.Pointer[[]byte]
	empty := []byte{}
	answer.Store(&empty)
	srv := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, _ *http.Request) {
		data := *answer.Load()
		status := http.StatusOK
		if len(data) > 0 {
			status, data = 200+int(data[0])%300, data[1:]
		}
		w.WriteHeader(status)
		_, _ = w.Write(data)
	}))
	f.Cleanup(srv.Close)
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(f, err)
	f.Cleanup(func() { _ = ln.Close() })
	go func() {
		for {
			conn, err := ln.Accept()
			if err != nil {
				return
			}
			_, _ = conn.Write(*answer.Load())
			_ = conn.Close()
		}
	}()
	targets := fuzzTargets(f,
		map[string]any{"name": "http", "type": "http", "endpoint": srv.URL + "/health", "timeout": "2s", "http": map[string]any{
			"body_matches": []any{`"status":\s*"(up|ok)"`}, "body_not_matches": []any{"(?i)error"},
			"json": []any{map[string]any{"path": "checks.0.status", "equals": "up"}, map[string]any{"path": "version"}},
		}},
		map[string]any{"name": "tcp", "type": "tcp", "endpoint": ln.Addr().String(), "timeout": "2s",
			"tcp": map[string]any{"send": "PING\r\n", "expect": `^\+PONG`}},
	)
	f.Add([]byte("\x00" + `{"status":"up","checks":[{"status":"up"}],"version":"1.2"}`))
	f.Add([]byte("+PONG\r\n"))
	f.Add([]byte("\xff{\"checks\":{\"0\":null}}"))
	f.Fuzz(func(t *testing.T, data []byte) {
		answer.Store(&data)
		for _, tg := range targets {
			for _, r := range tg.run(context.Background()) {
				_ = errType(r)
			}
		}
	})
}
