package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"syscall"
	"time"

	"github.com/otelstrata/strata/receiver/netprobereceiver/internal/metadata"
)

// phase indexes result.phases.
type phase int

const (
	phaseResolve phase = iota
	phaseConnect
	phaseTLS
	phaseProcessing
	phaseTransfer
	phaseCount
)

var phaseAttributes = [phaseCount]metadata.AttributeStrataProbePhase{
	metadata.AttributeStrataProbePhaseResolve, metadata.AttributeStrataProbePhaseConnect, metadata.AttributeStrataProbePhaseTls,
	metadata.AttributeStrataProbePhaseProcessing, metadata.AttributeStrataProbePhaseTransfer,
}

// result is what one probe of one address found.
type result struct {
	target   *target
	start    time.Time
	duration time.Duration
	peer     string // network.peer.address
	err      error  // nil on success

	phases   [phaseCount]time.Duration
	hasPhase [phaseCount]bool

	http *httpResult
	cert *certResult
	dns  *dnsResult
	icmp *icmpResult
}

type httpResult struct {
	status    int
	version   string
	redirects int
	bodySize  int64
}

type certResult struct {
	notAfter   time.Time // the earliest NotAfter of the certificates the peer presented
	tlsVersion string
}

type dnsResult struct {
	answers int
	rcode   string
}

type icmpResult struct {
	min, avg, max, stddev time.Duration
	loss                  float64
}

// addPhase accumulates time spent in a phase (HTTP redirects pass through the phases again).
func (r *result) addPhase(p phase, d time.Duration) {
	r.phases[p] += d
	r.hasPhase[p] = true
}

// certOf reads the negotiated version and the earliest expiry from a TLS connection state.
func certOf(state *tls.ConnectionState) *certResult {
	if state == nil || len(state.PeerCertificates) == 0 {
		return nil
	}
	c := &certResult{notAfter: state.PeerCertificates[0].NotAfter, tlsVersion: tlsVersion(state.Version)}
	for _, cert := range state.PeerCertificates[1:] {
		if cert.NotAfter.Before(c.notAfter) {
			c.notAfter = cert.NotAfter
		}
	}
	return c
}

func tlsVersion(v uint16) string {
	switch v {
	case tls.VersionTLS10:
		return "1.0"
	case tls.VersionTLS11:
		return "1.1"
	case tls.VersionTLS12:
		return "1.2"
	case tls.VersionTLS13:
		return "1.3"
	}
	return fmt.Sprintf("0x%04x", v)
}

// probeError is a failure the probe itself decided (a status code not allowed, a body that does not match, ...).
type probeError struct {
	kind string // the error.type value
	msg  string
}

func (e *probeError) Error() string { return e.kind + ": " + e.msg }

func failf(kind, format string, args ...any) error {
	return &probeError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// errorType returns the error.type value of a failed probe.
func errorType(err error) string {
	var pe *probeError
	var dnsErr *net.DNSError
	var netErr net.Error
	var certErr *tls.CertificateVerificationError
	var alert tls.AlertError
	var recordErr tls.RecordHeaderError
	var unknownAuthority x509.UnknownAuthorityError
	var hostnameErr x509.HostnameError
	var invalidCert x509.CertificateInvalidError
	switch {
	case errors.As(err, &pe):
		return pe.kind
	case errors.Is(err, context.DeadlineExceeded), errors.Is(err, os.ErrDeadlineExceeded),
		errors.As(err, &netErr) && netErr.Timeout():
		return "timeout"
	case errors.As(err, &dnsErr):
		return "dns"
	case errors.Is(err, syscall.ECONNREFUSED):
		return "refused"
	case errors.Is(err, syscall.ECONNRESET), errors.Is(err, syscall.EPIPE), errors.Is(err, io.ErrUnexpectedEOF),
		errors.Is(err, io.EOF):
		return "reset"
	case errors.As(err, &certErr), errors.As(err, &alert), errors.As(err, &recordErr), errors.As(err, &unknownAuthority),
		errors.As(err, &hostnameErr), errors.As(err, &invalidCert):
		return "tls"
	case errors.Is(err, syscall.EPERM), errors.Is(err, syscall.EACCES):
		return "permission"
	case errors.Is(err, syscall.EHOSTUNREACH), errors.Is(err, syscall.ENETUNREACH):
		return "unreachable"
	}
	return "other"
}
