package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"bufio"
	"context"
	"crypto/tls"
	"io"
	"net"
	"net/netip"
	"strconv"
	"time"
)

// maxExpectBytes bounds what a tcp probe reads while it waits for its expect pattern.
const maxExpectBytes = 64 << 10

// dial connects to addr on the target's port and times the connect phase; with useTLS it also handshakes, timed
// as the tls phase, and records the certificate. The connection closes when ctx ends.
func dial(ctx context.Context, t *target, addr netip.Addr, useTLS bool, r *result) (net.Conn, error) {
	var d net.Dialer
	start := time.Now()
	conn, err := d.DialContext(ctx, dialNetwork(addr), net.JoinHostPort(addr.String(), strconv.FormatInt(t.port, 10)))
	if err != nil {
		return nil, err
	}
	r.addPhase(phaseConnect, time.Since(start))
	if deadline, ok := ctx.Deadline(); ok {
		_ = conn.SetDeadline(deadline)
	}
	if !useTLS {
		return conn, nil
	}
	start = time.Now()
	tlsConn := tls.Client(conn, t.tls)
	if err := tlsConn.HandshakeContext(ctx); err != nil {
		conn.Close()
		return nil, err
	}
	r.addPhase(phaseTLS, time.Since(start))
	state := tlsConn.ConnectionState()
	r.cert = certOf(&state)
	return tlsConn, nil
}

// probeTCP connects (with TLS when the target asks), writes send and waits for expect.
func probeTCP(ctx context.Context, t *target, addr netip.Addr, r *result) {
	conn, err := dial(ctx, t, addr, t.cfg.TCP.TLS, r)
	if err != nil {
		r.err = err
		return
	}
	defer conn.Close()
	if t.cfg.TCP.Send == "" && t.expect == nil {
		return
	}
	start := time.Now()
	if t.cfg.TCP.Send != "" {
		if _, err := io.WriteString(conn, t.cfg.TCP.Send); err != nil {
			r.err = err
			return
		}
	}
	if t.expect != nil {
		// Read until the pattern matches what has arrived, the peer closes, or maxExpectBytes have come.
		reader := bufio.NewReader(io.LimitReader(conn, maxExpectBytes))
		var got []byte
		for !t.expect.Match(got) {
			b, err := reader.ReadByte()
			if err != nil {
				if err == io.EOF {
					err = failf("expect", "the peer sent %d bytes without a match for %q", len(got), t.expect)
				}
				r.err = err
				return
			}
			got = append(got, b)
		}
	}
	r.addPhase(phaseProcessing, time.Since(start))
}

// probeTLS handshakes and reports the certificate chain; verification failures (expired, unknown authority, wrong
// name) fail the probe unless the target's tls settings skip verification.
func probeTLS(ctx context.Context, t *target, addr netip.Addr, r *result) {
	conn, err := dial(ctx, t, addr, true, r)
	if err != nil {
		r.err = err
		return
	}
	conn.Close()
}
