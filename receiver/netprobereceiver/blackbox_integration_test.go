//go:build integration

package netprobereceiver

import (
	"crypto/tls"
	"fmt"
	"math"
	"net"
	"net/http/httptest"
	"net/url"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelstrata/strata/internal/e2e"
)

// TestIntegrationSideBySideWithBlackbox probes the same loopback targets with netprobe and with a real
// blackbox_exporter, and checks that they agree: on success or failure for every target, on the certificate's
// expiry to the second, and on the duration of a probe slowed by a known delay.
func TestIntegrationSideBySideWithBlackbox(t *testing.T) {
	blackbox := e2e.RequireProgram(t, "prometheus-blackbox-exporter")

	httpSrv := httptest.NewServer(testHTTPServer())
	t.Cleanup(httpSrv.Close)
	ca := newTestCA(t, 45*24*time.Hour)
	tlsAddr := listen(t, func(conn net.Conn) {
		tlsConn := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{ca.leaf}})
		_ = tlsConn.Handshake()
	})
	dnsUDP, _ := startDNS(t)
	closed := closedPort(t)

	dir := t.TempDir()
	caFile := filepath.Join(dir, "ca.pem")
	require.NoError(t, os.WriteFile(caFile, []byte(ca.pem), 0o600))
	dnsModule := func(name string) map[string]any {
		return map[string]any{"prober": "dns", "timeout": "5s", "dns": map[string]any{
			"query_name": name, "query_type": "A", "valid_rcodes": []any{"NOERROR"},
			"transport_protocol": "udp", "preferred_ip_protocol": "ip4", "ip_protocol_fallback": false,
		}}
	}
	config := e2e.WriteYAML(t, filepath.Join(dir, "blackbox.yml"), map[string]any{"modules": map[string]any{
		"http_2xx":    map[string]any{"prober": "http", "timeout": "5s", "http": map[string]any{"preferred_ip_protocol": "ip4"}},
		"tcp_connect": map[string]any{"prober": "tcp", "timeout": "5s", "tcp": map[string]any{"preferred_ip_protocol": "ip4"}},
		"tls_connect": map[string]any{"prober": "tcp", "timeout": "5s", "tcp": map[string]any{
			"tls": true, "tls_config": map[string]any{"ca_file": caFile}, "preferred_ip_protocol": "ip4",
		}},
		"dns_present": dnsModule("www.strata.test"),
		"dns_absent":  dnsModule("nope.strata.test"),
	}})
	web := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(t))
	bb := e2e.StartProcess(t, blackbox, "--config.file="+config, "--web.listen-address="+web, "--log.level=warn")
	bb.WaitFor(t, "blackbox_exporter", 20*time.Second, func() error {
		_, err := e2e.HTTPGet("http://" + web + "/-/healthy")
		return err
	})

	const slowDelay = 300 * time.Millisecond // the delay of /slow in testHTTPServer
	for _, tc := range []struct {
		name, module, bbTarget string
		ours                   map[string]any
		wantSuccess            bool
		compareDuration        bool
		compareExpiry          bool
	}{
		{name: "HTTP OK", module: "http_2xx", bbTarget: httpSrv.URL + "/ok", wantSuccess: true,
			ours: map[string]any{"type": "http", "endpoint": httpSrv.URL + "/ok"}},
		{name: "HTTP slow", module: "http_2xx", bbTarget: httpSrv.URL + "/slow", wantSuccess: true, compareDuration: true,
			ours: map[string]any{"type": "http", "endpoint": httpSrv.URL + "/slow"}},
		{name: "HTTP 500", module: "http_2xx", bbTarget: httpSrv.URL + "/error",
			ours: map[string]any{"type": "http", "endpoint": httpSrv.URL + "/error"}},
		{name: "TCP closed port", module: "tcp_connect", bbTarget: closed,
			ours: map[string]any{"type": "tcp", "endpoint": closed}},
		{name: "DNS record present", module: "dns_present", bbTarget: dnsUDP, wantSuccess: true,
			ours: map[string]any{"type": "dns", "endpoint": "www.strata.test", "dns": map[string]any{"server": dnsUDP}}},
		{name: "DNS record absent", module: "dns_absent", bbTarget: dnsUDP,
			ours: map[string]any{"type": "dns", "endpoint": "nope.strata.test", "dns": map[string]any{"server": dnsUDP}}},
		{name: "TLS certificate expiry", module: "tls_connect", bbTarget: tlsAddr, wantSuccess: true, compareExpiry: true,
			ours: map[string]any{"type": "tls", "endpoint": tlsAddr, "tls": map[string]any{"ca_file": caFile}}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			theirs := blackboxProbe(t, web, tc.module, tc.bbTarget)
			ours := probeOne(t, tc.ours)

			t.Logf("blackbox: success=%v duration=%.3fs; netprobe: success=%v duration=%.3fs error=%v",
				theirs["probe_success"], theirs["probe_duration_seconds"], ours.err == nil, ours.duration.Seconds(), ours.err)
			assert.Equal(t, tc.wantSuccess, theirs["probe_success"] == 1, "blackbox_exporter's verdict")
			assert.Equal(t, tc.wantSuccess, ours.err == nil, "netprobe's verdict: %v", ours.err)
			if tc.compareDuration {
				// Both include the known delay; they differ by their own overhead on loopback, a few ms.
				assert.GreaterOrEqual(t, theirs["probe_duration_seconds"], slowDelay.Seconds())
				assert.GreaterOrEqual(t, ours.duration, slowDelay)
				assert.InDelta(t, theirs["probe_duration_seconds"], ours.duration.Seconds(), 0.1)
			}
			if tc.compareExpiry {
				require.NotNil(t, ours.cert)
				assert.Equal(t, theirs["probe_ssl_earliest_cert_expiry"], float64(ours.cert.notAfter.Unix()),
					"certificate expiry, to the second")
				assert.Equal(t, float64(ca.notAfter.Unix()), theirs["probe_ssl_earliest_cert_expiry"])
			}
		})
	}
}

// blackboxProbe asks blackbox_exporter for one probe and returns its gauges by name.
func blackboxProbe(t *testing.T, web, module, target string) map[string]float64 {
	t.Helper()
	families, err := e2e.ScrapePrometheus(fmt.Sprintf("http://%s/probe?module=%s&target=%s", web, module, url.QueryEscape(target)))
	require.NoError(t, err)
	values := map[string]float64{}
	for name, f := range families {
		if m := f.GetMetric(); len(m) == 1 && m[0].GetGauge() != nil {
			values[name] = m[0].GetGauge().GetValue()
		}
	}
	if _, ok := values["probe_success"]; !ok {
		t.Fatalf("no probe_success from blackbox_exporter: %v", families)
	}
	if math.IsNaN(values["probe_duration_seconds"]) {
		t.Fatalf("probe_duration_seconds is NaN")
	}
	return values
}
