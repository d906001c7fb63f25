package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"context"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"google.golang.org/grpc"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/credentials"
	"google.golang.org/grpc/credentials/insecure"
	healthpb "google.golang.org/grpc/health/grpc_health_v1"
	"google.golang.org/grpc/status"
)

// probeGRPC asks the grpc.health.v1 Health service whether the target's service is SERVING.
func probeGRPC(ctx context.Context, t *target, addr netip.Addr, r *result) {
	creds := insecure.NewCredentials()
	if t.cfg.GRPC.TLS {
		creds = credentials.NewTLS(t.tls)
	}
	port := strconv.FormatInt(t.port, 10)
	conn, err := grpc.NewClient("passthrough:///"+net.JoinHostPort(addr.String(), port),
		grpc.WithTransportCredentials(creds),
		grpc.WithAuthority(net.JoinHostPort(t.host, port)))
	if err != nil {
		r.err = failf("other", "grpc client: %v", err)
		return
	}
	defer conn.Close()
	start := time.Now()
	resp, err := healthpb.NewHealthClient(conn).Check(ctx, &healthpb.HealthCheckRequest{Service: t.cfg.GRPC.Service})
	if err != nil {
		r.err = grpcError(ctx, err)
		return
	}
	r.addPhase(phaseProcessing, time.Since(start))
	if resp.GetStatus() != healthpb.HealthCheckResponse_SERVING {
		r.err = failf("not_serving", "service %q is %s", t.cfg.GRPC.Service, resp.GetStatus())
	}
}

// grpcError turns a failed Check into the probe's error: the transport's failures keep their kind (the status
// message is all gRPC keeps of them), anything the server answered is not_serving.
func grpcError(ctx context.Context, err error) error {
	s, ok := status.FromError(err)
	switch {
	case ctx.Err() != nil || ok && s.Code() == codes.DeadlineExceeded:
		return context.DeadlineExceeded
	case !ok:
		return err
	case s.Code() == codes.Unavailable && strings.Contains(s.Message(), "connection refused"):
		return failf("refused", "%s", s.Message())
	case s.Code() == codes.Unavailable && strings.Contains(s.Message(), "tls:"):
		return failf("tls", "%s", s.Message())
	case s.Code() == codes.Unavailable:
		return failf("unavailable", "%s", s.Message())
	}
	return failf("not_serving", "health check: %s: %s", s.Code(), s.Message())
}
