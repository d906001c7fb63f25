package netprobereceiver

import (
	"bufio"
	"crypto/tls"
	"io"
	"net"
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
