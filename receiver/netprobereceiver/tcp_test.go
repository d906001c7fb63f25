package netprobereceiver

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// listen serves every connection with handle until the test ends.
func listen(t *testing.T, handle func(net.Conn)) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	go func() {
		for {
			conn, err := l.Accept()
			if err != nil {
				return
			}
			go func() {
				defer conn.Close()
				handle(conn)
			}()
		}
	}()
	return l.Addr().String()
}

// smtpLike greets, then answers QUIT like a mail server.
func smtpLike(conn net.Conn) {
	_, _ = io.WriteString(conn, "220 mail.test ESMTP\r\n")
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err == nil && line == "QUIT\r\n" {
		_, _ = io.WriteString(conn, "221 bye\r\n")
	}
}

func TestTCPProbe(t *testing.T) {
	closes := listen(t, func(net.Conn) {})
	smtp := listen(t, smtpLike)
	silent := listen(t, func(conn net.Conn) { _, _ = io.Copy(io.Discard, conn) })
	refused := closedPort(t)

	for _, tc := range []struct {
		name    string
		target  map[string]any
		wantErr string
	}{
		{name: "accepts and closes", target: map[string]any{"endpoint": closes}},
		{name: "refused", target: map[string]any{"endpoint": refused}, wantErr: "refused"},
		{name: "expect greeting", target: map[string]any{"endpoint": smtp, "tcp": map[string]any{"expect": "^220 "}}},
		{name: "send and expect", target: map[string]any{"endpoint": smtp, "tcp": map[string]any{"expect": "221 bye", "send": "QUIT\r\n"}}},
		{name: "expect what never comes", target: map[string]any{"endpoint": smtp, "timeout": "300ms", "tcp": map[string]any{"expect": "^250 "}}, wantErr: "timeout"},
		{name: "peer closes before the expected bytes", target: map[string]any{"endpoint": closes, "tcp": map[string]any{"expect": "hello"}}, wantErr: "expect"},
		{name: "peer silent", target: map[string]any{"endpoint": silent, "timeout": "200ms", "tcp": map[string]any{"expect": "hello"}}, wantErr: "timeout"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			tc.target["type"] = "tcp"
			r := probeOne(t, tc.target)
			assert.Equal(t, tc.wantErr, errType(r), "error: %v", r.err)
			if tc.wantErr != "refused" {
				assert.True(t, r.hasPhase[phaseConnect])
			}
		})
	}
}

// closedPort is a loopback address nothing listens on.
func closedPort(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	addr := l.Addr().String()
	l.Close()
	return addr
}

func TestTLSProbe(t *testing.T) {
	const validFor = 30 * 24 * time.Hour
	ca := newTestCA(t, validFor)
	addr := listen(t, func(conn net.Conn) {
		tlsConn := tls.Server(conn, &tls.Config{Certificates: []tls.Certificate{ca.leaf}})
		_ = tlsConn.Handshake()
		_, _ = io.Copy(io.Discard, tlsConn)
	})

	r := probeOne(t, map[string]any{"type": "tls", "endpoint": addr, "tls": map[string]any{"ca_pem": ca.pem}})
	require.NoError(t, r.err)
	require.NotNil(t, r.cert)
	assert.True(t, ca.notAfter.Equal(r.cert.notAfter))
	assert.True(t, r.hasPhase[phaseConnect] && r.hasPhase[phaseTLS])

	r = probeOne(t, map[string]any{"type": "tls", "endpoint": addr})
	assert.Equal(t, "tls", errType(r), "an unknown authority fails the probe: %v", r.err)

	r = probeOne(t, map[string]any{"type": "tls", "endpoint": addr, "tls": map[string]any{"ca_pem": ca.pem, "server_name_override": "other.test"}})
	assert.Equal(t, "tls", errType(r), "a certificate for another name fails the probe: %v", r.err)

	r = probeOne(t, map[string]any{"type": "tcp", "endpoint": addr, "tcp": map[string]any{"tls": true}, "tls": map[string]any{"ca_pem": ca.pem}})
	require.NoError(t, r.err)
	assert.NotNil(t, r.cert, "tcp with tls reports the certificate too")
}

// TestResolveAll probes every address of a name, each as its own result: two.strata.test has 127.0.0.1, where a
// listener waits, and 127.0.0.2, where none does.
func TestResolveAll(t *testing.T) {
	dnsServer, _ := startDNS(t)
	l, err := net.Listen("tcp4", "127.0.0.1:0")
	require.NoError(t, err)
	t.Cleanup(func() { l.Close() })
	endpoint := net.JoinHostPort("two.strata.test", strconv.Itoa(l.Addr().(*net.TCPAddr).Port))
	resolver := &net.Resolver{PreferGo: true, Dial: func(ctx context.Context, _, _ string) (net.Conn, error) {
		var d net.Dialer
		return d.DialContext(ctx, "udp", dnsServer)
	}}

	probe := func(target map[string]any) []result {
		cfg := newTestConfig(t, map[string]any{"targets": []any{target}})
		tg, err := newTarget(cfg, &cfg.Targets[0], "")
		require.NoError(t, err)
		tg.resolver = resolver
		return tg.run(context.Background())
	}

	results := probe(map[string]any{"type": "tcp", "endpoint": endpoint, "resolve_all": true})
	require.Len(t, results, 2)
	byPeer := map[string]string{}
	for _, r := range results {
		byPeer[r.peer] = errType(r)
		assert.True(t, r.hasPhase[phaseResolve])
	}
	assert.Equal(t, map[string]string{"127.0.0.1": "", "127.0.0.2": "refused"}, byPeer)

	results = probe(map[string]any{"type": "tcp", "endpoint": endpoint})
	require.Len(t, results, 1, "without resolve_all, only the first address")
}
