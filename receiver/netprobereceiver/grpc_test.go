package netprobereceiver

import (
	"net"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"google.golang.org/grpc"
	"google.golang.org/grpc/health"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
)

func TestGRPCProbe(t *testing.T) {
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	srv := grpc.NewServer()
	hs := health.NewServer()
	hs.SetServingStatus("checkout.Checkout", healthpb.HealthCheckResponse_SERVING)
	hs.SetServingStatus("payment.Payment", healthpb.HealthCheckResponse_NOT_SERVING)
	healthpb.RegisterHealthServer(srv, hs)
	go func() { _ = srv.Serve(l) }()
	t.Cleanup(srv.Stop)

	for _, tc := range []struct {
		service, wantErr string
	}{
		{"", ""},
		{"checkout.Checkout", ""},
		{"payment.Payment", "not_serving"},
		{"unknown.Service", "not_serving"},
	} {
		t.Run(tc.service, func(t *testing.T) {
			r := probeOne(t, map[string]any{"type": "grpc", "endpoint": l.Addr().String(), "grpc": map[string]any{"service": tc.service}})
			assert.Equal(t, tc.wantErr, errType(r), "error: %v", r.err)
		})
	}

	r := probeOne(t, map[string]any{"type": "grpc", "endpoint": closedPort(t)})
	assert.Equal(t, "refused", errType(r), "error: %v", r.err)
}
