package netprobereceiver

import (
	"context"
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"math/big"
	"net"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
)

// probeOnce builds one target from its YAML form, as a user writes it, and probes it once.
func probeOnce(t *testing.T, target map[string]any) []result {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{"targets": []any{target}}).Unmarshal(cfg))
	require.NoError(t, xconfmap.Validate(cfg))
	tg, err := newTarget(cfg, &cfg.Targets[0], "")
	require.NoError(t, err)
	return tg.run(context.Background())
}

// probeOne is probeOnce for a target that probes a single address.
func probeOne(t *testing.T, target map[string]any) result {
	t.Helper()
	results := probeOnce(t, target)
	require.Len(t, results, 1)
	return results[0]
}

// errType is the error.type a result would carry, "" on success.
func errType(r result) string {
	if r.err == nil {
		return ""
	}
	return errorType(r.err)
}

// testCA is a certificate authority made by the test, and a leaf certificate for 127.0.0.1 and localhost.
type testCA struct {
	pem  string
	leaf tls.Certificate
	// notAfter of the leaf
	notAfter time.Time
}

// newTestCA makes a CA and a leaf that expires in validFor (negative: already expired).
func newTestCA(t *testing.T, validFor time.Duration) testCA {
	t.Helper()
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	now := time.Now().Truncate(time.Second)
	caTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "strata test CA"},
		NotBefore: now.Add(-2 * time.Hour), NotAfter: now.Add(365 * 24 * time.Hour),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, caTemplate, caTemplate, &caKey.PublicKey, caKey)
	require.NoError(t, err)
	caCert, err := x509.ParseCertificate(caDER)
	require.NoError(t, err)

	leafKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	require.NoError(t, err)
	notAfter := now.Add(validFor)
	leafTemplate := &x509.Certificate{
		SerialNumber: big.NewInt(2), Subject: pkix.Name{CommonName: "localhost"},
		NotBefore: now.Add(-time.Hour), NotAfter: notAfter,
		DNSNames: []string{"localhost"}, IPAddresses: []net.IP{net.IPv4(127, 0, 0, 1)},
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
	}
	leafDER, err := x509.CreateCertificate(rand.Reader, leafTemplate, caCert, &leafKey.PublicKey, caKey)
	require.NoError(t, err)
	return testCA{
		pem:      string(pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: caDER})),
		leaf:     tls.Certificate{Certificate: [][]byte{leafDER, caDER}, PrivateKey: leafKey},
		notAfter: notAfter,
	}
}
