package netprobereceiver

import (
	"bufio"
	"crypto/tls"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptest"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// testHTTPServer answers the paths the HTTP tests probe.
func testHTTPServer() http.Handler {
	mux := http.NewServeMux()
	mux.HandleFunc("/ok", func(w http.ResponseWriter, _ *http.Request) {
		w.Header().Set("Content-Type", "application/json")
		fmt.Fprint(w, `{"status":"ok","checks":[{"name":"db","latency_ms":3}],"ready":true}`)
	})
	mux.HandleFunc("/slow", func(w http.ResponseWriter, r *http.Request) {
		select {
		case <-time.After(300 * time.Millisecond):
		case <-r.Context().Done():
		}
		fmt.Fprint(w, "slow")
	})
	mux.HandleFunc("/error", func(w http.ResponseWriter, _ *http.Request) {
		http.Error(w, "boom", http.StatusInternalServerError)
	})
	mux.HandleFunc("/loop", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/loop", http.StatusFound)
	})
	mux.HandleFunc("/moved", func(w http.ResponseWriter, r *http.Request) {
		http.Redirect(w, r, "/ok", http.StatusMovedPermanently)
	})
	mux.HandleFunc("/endless", func(w http.ResponseWriter, r *http.Request) {
		chunk := []byte(strings.Repeat("x", 32<<10))
		for r.Context().Err() == nil {
			if _, err := w.Write(chunk); err != nil {
				return
			}
		}
	})
	mux.HandleFunc("/echo", func(w http.ResponseWriter, r *http.Request) {
		fmt.Fprintf(w, "%s %s auth=%s", r.Method, r.Header.Get("X-Probe"), r.Header.Get("Authorization"))
	})
	return mux
}

func TestHTTPProbe(t *testing.T) {
	srv := httptest.NewServer(testHTTPServer())
	t.Cleanup(srv.Close)

	for _, tc := range []struct {
		name      string
		path      string
		timeout   string
		http      map[string]any
		wantErr   string // error.type, "" for success
		wantCode  int
		redirects int
	}{
		{name: "ok", path: "/ok", wantCode: 200},
		{name: "server error", path: "/error", wantErr: "status", wantCode: 500},
		{name: "server error allowed", path: "/error", http: map[string]any{"valid_status_codes": []any{500}}, wantCode: 500},
		{name: "slow beyond timeout", path: "/slow", timeout: "100ms", wantErr: "timeout"},
		{name: "slow within timeout", path: "/slow", timeout: "2s", wantCode: 200},
		{name: "redirect loop", path: "/loop", wantErr: "redirects", redirects: maxRedirects},
		{name: "redirect followed", path: "/moved", wantCode: 200, redirects: 1},
		{name: "redirect not followed", path: "/moved", http: map[string]any{"follow_redirects": false}, wantErr: "status", wantCode: 301},
		{name: "endless body", path: "/endless", http: map[string]any{"max_body_size": 1 << 20}, wantErr: "body_too_large", wantCode: 200},
		{name: "endless body, no limit reached before timeout", path: "/endless", timeout: "200ms",
			http: map[string]any{"max_body_size": 1 << 40}, wantErr: "timeout", wantCode: 200},
		{name: "body matches", path: "/ok", http: map[string]any{"body_matches": []any{`"status":\s*"ok"`}}, wantCode: 200},
		{name: "body does not match", path: "/ok", http: map[string]any{"body_matches": []any{`degraded`}}, wantErr: "body", wantCode: 200},
		{name: "body must not match", path: "/ok", http: map[string]any{"body_not_matches": []any{`"ok"`}}, wantErr: "body", wantCode: 200},
		{name: "json equals", path: "/ok", wantCode: 200, http: map[string]any{"json": []any{
			map[string]any{"path": "status", "equals": "ok"},
			map[string]any{"path": "checks.0.latency_ms", "equals": "3"},
			map[string]any{"path": "ready", "equals": "true"},
			map[string]any{"path": "checks.0.name"},
		}}},
		{name: "json field absent", path: "/ok", wantErr: "body", wantCode: 200,
			http: map[string]any{"json": []any{map[string]any{"path": "checks.1.name"}}}},
		{name: "json value differs", path: "/ok", wantErr: "body", wantCode: 200,
			http: map[string]any{"json": []any{map[string]any{"path": "status", "equals": "degraded"}}}},
		{name: "json on a body that is not", path: "/slow", wantErr: "body", wantCode: 200,
			http: map[string]any{"json": []any{map[string]any{"path": "status"}}}},
		{name: "fail if not tls", path: "/ok", http: map[string]any{"fail_if_not_tls": true}, wantErr: "tls", wantCode: 200},
		{name: "method, headers and body", path: "/echo", wantCode: 200, http: map[string]any{
			"method": "POST", "body": "x", "headers": map[string]any{"X-Probe": "1", "Authorization": "Bearer t"},
			"body_matches": []any{`^POST 1 auth=Bearer t$`},
		}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			target := map[string]any{"type": "http", "endpoint": srv.URL + tc.path}
			if tc.timeout != "" {
				target["timeout"] = tc.timeout
			}
			if tc.http != nil {
				target["http"] = tc.http
			}
			r := probeOne(t, target)
			assert.Equal(t, tc.wantErr, errType(r), "error: %v", r.err)
			require.NotNil(t, r.http)
			assert.Equal(t, tc.wantCode, r.http.status)
			assert.Equal(t, tc.redirects, r.http.redirects)
			assert.Equal(t, "127.0.0.1", r.peer)
			assert.Positive(t, r.duration)
			if tc.wantCode != 0 {
				assert.Equal(t, "1.1", r.http.version)
				for _, p := range []phase{phaseResolve, phaseConnect, phaseProcessing, phaseTransfer} {
					assert.True(t, r.hasPhase[p], "phase %d not measured", p)
				}
				assert.False(t, r.hasPhase[phaseTLS])
			}
		})
	}
}

func TestHTTPProbeBodyIsBounded(t *testing.T) {
	srv := httptest.NewServer(testHTTPServer())
	t.Cleanup(srv.Close)
	r := probeOne(t, map[string]any{"type": "http", "endpoint": srv.URL + "/endless",
		"http": map[string]any{"max_body_size": 4096, "body_matches": []any{"x"}}})
	assert.Equal(t, "body_too_large", errType(r))
	assert.Equal(t, int64(4096), r.http.bodySize)
}

func TestHTTPProbeRefused(t *testing.T) {
	srv := httptest.NewServer(testHTTPServer())
	url := srv.URL
	srv.Close()
	r := probeOne(t, map[string]any{"type": "http", "endpoint": url + "/ok"})
	assert.Equal(t, "refused", errType(r), "error: %v", r.err)
	assert.Equal(t, 0, r.http.status)
}

func TestHTTPProbeUnknownHost(t *testing.T) {
	r := probeOne(t, map[string]any{"type": "http", "endpoint": "http://no-such-host.invalid/"})
	assert.Equal(t, "dns", errType(r), "error: %v", r.err)
	assert.True(t, r.hasPhase[phaseResolve])
}

func TestHTTPProbeTLS(t *testing.T) {
	const validFor = 10 * 24 * time.Hour
	ca := newTestCA(t, validFor)
	srv := httptest.NewUnstartedServer(testHTTPServer())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf}}
	srv.EnableHTTP2 = true
	srv.StartTLS()
	t.Cleanup(srv.Close)

	t.Run("trusted", func(t *testing.T) {
		r := probeOne(t, map[string]any{"type": "http", "endpoint": srv.URL + "/ok",
			"http": map[string]any{"fail_if_not_tls": true}, "tls": map[string]any{"ca_pem": ca.pem}})
		require.NoError(t, r.err)
		require.NotNil(t, r.cert)
		assert.True(t, ca.notAfter.Equal(r.cert.notAfter), "the earliest expiry is the leaf's: %s", r.cert.notAfter)
		assert.Equal(t, "1.3", r.cert.tlsVersion)
		assert.Equal(t, "2", r.http.version, "HTTP/2 is negotiated over TLS")
		assert.True(t, r.hasPhase[phaseTLS])
	})
	t.Run("unknown authority", func(t *testing.T) {
		r := probeOne(t, map[string]any{"type": "http", "endpoint": srv.URL + "/ok"})
		assert.Equal(t, "tls", errType(r), "error: %v", r.err)
	})
	t.Run("verification skipped", func(t *testing.T) {
		r := probeOne(t, map[string]any{"type": "http", "endpoint": srv.URL + "/ok", "tls": map[string]any{"insecure_skip_verify": true}})
		require.NoError(t, r.err)
		assert.True(t, ca.notAfter.Equal(r.cert.notAfter))
	})
}

func TestHTTPProbeExpiredCertificate(t *testing.T) {
	ca := newTestCA(t, -time.Minute)
	srv := httptest.NewUnstartedServer(testHTTPServer())
	srv.TLS = &tls.Config{Certificates: []tls.Certificate{ca.leaf}}
	srv.StartTLS()
	t.Cleanup(srv.Close)
	r := probeOne(t, map[string]any{"type": "http", "endpoint": srv.URL + "/ok", "tls": map[string]any{"ca_pem": ca.pem}})
	assert.Equal(t, "tls", errType(r), "error: %v", r.err)
	assert.Contains(t, r.err.Error(), "expired")
}

func TestHTTPProbeBadPeers(t *testing.T) {
	garbage := listen(t, func(conn net.Conn) {
		_, _ = io.WriteString(conn, "\x00\x01garbage that is not HTTP\r\n\r\n")
	})
	resets := listen(t, func(conn net.Conn) {
		_, _ = bufio.NewReader(conn).ReadString('\n') // read the request line, then hang up
	})
	for _, tc := range []struct{ name, addr, want string }{
		{"garbage", garbage, "protocol"},
		{"hangs up", resets, "reset"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			r := probeOne(t, map[string]any{"type": "http", "endpoint": "http://" + tc.addr + "/"})
			assert.Equal(t, tc.want, errType(r), "error: %v", r.err)
		})
	}
}

// TestHTTPProbeThroughProxy sends the probe through a forward proxy on loopback. The target's name does not
// resolve here: only the proxy knows where it is, as in networks where only the proxy reaches out.
func TestHTTPProbeThroughProxy(t *testing.T) {
	srv := httptest.NewServer(testHTTPServer())
	t.Cleanup(srv.Close)
	var relayed []string
	proxy := httptest.NewServer(http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
		relayed = append(relayed, r.URL.String()) // a forward proxy gets the absolute URL
		r.URL.Host = strings.TrimPrefix(srv.URL, "http://")
		resp, err := http.DefaultTransport.RoundTrip(r)
		if err != nil {
			http.Error(w, err.Error(), http.StatusBadGateway)
			return
		}
		defer resp.Body.Close()
		w.WriteHeader(resp.StatusCode)
		_, _ = io.Copy(w, resp.Body)
	}))
	t.Cleanup(proxy.Close)

	r := probeOne(t, map[string]any{"type": "http", "endpoint": "http://shop.strata.invalid/ok", "http": map[string]any{"proxy_url": proxy.URL}})
	require.NoError(t, r.err)
	assert.Equal(t, []string{"http://shop.strata.invalid/ok"}, relayed)
	assert.Equal(t, 200, r.http.status)
	assert.Equal(t, "127.0.0.1", r.peer, "the peer is the proxy")
}
