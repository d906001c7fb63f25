package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"context"
	"errors"
	"net"
	"net/netip"
	"sync/atomic"
	"syscall"
	"time"

	probing "github.com/prometheus-community/pro-bing"
)

// icmpPrivileged remembers which kind of socket works here, once one has: 0 not known yet, 1 unprivileged ping
// sockets (net.ipv4.ping_group_range), 2 raw sockets (CAP_NET_RAW).
var icmpPrivileged atomic.Int32

const (
	icmpUnknown int32 = iota
	icmpUnprivileged
	icmpRaw
)

// probeICMP sends one round of echo requests and reports round trip statistics and loss. A round with no reply
// at all fails; a round with some loss succeeds and says how much in the packet loss metric.
func probeICMP(ctx context.Context, t *target, addr netip.Addr, r *result) {
	var stats *probing.Statistics
	var err error
	switch icmpPrivileged.Load() {
	case icmpUnprivileged:
		stats, err = ping(ctx, t, addr, false)
	case icmpRaw:
		stats, err = ping(ctx, t, addr, true)
	default:
		if stats, err = ping(ctx, t, addr, false); err == nil {
			icmpPrivileged.Store(icmpUnprivileged)
		} else if isPermission(err) {
			if stats, err = ping(ctx, t, addr, true); err == nil {
				icmpPrivileged.Store(icmpRaw)
			} else if isPermission(err) {
				err = failf("permission", "neither unprivileged ICMP sockets (sysctl net.ipv4.ping_group_range must "+
					"include the collector's group) nor raw sockets (capability CAP_NET_RAW) are permitted: %v", err)
			}
		}
	}
	if err != nil {
		r.err = err
		return
	}
	r.icmp = &icmpResult{min: stats.MinRtt, avg: stats.AvgRtt, max: stats.MaxRtt, stddev: stats.StdDevRtt, loss: stats.PacketLoss / 100}
	if stats.PacketsRecv == 0 {
		r.err = failf("timeout", "no reply to %d echo requests", stats.PacketsSent)
	}
}

func ping(ctx context.Context, t *target, addr netip.Addr, privileged bool) (*probing.Statistics, error) {
	p := probing.New("")
	p.SetIPAddr(&net.IPAddr{IP: addr.AsSlice()})
	p.SetPrivileged(privileged)
	p.SetLogger(probing.NoopLogger{})
	p.Count = t.cfg.ICMP.Count
	p.Interval = t.cfg.ICMP.PacketInterval
	p.Size = t.cfg.ICMP.PayloadSize
	p.TTL = t.cfg.ICMP.TTL
	// End the round on its own before the probe's deadline, so that its statistics are kept.
	p.Timeout = time.Until(deadlineOf(ctx)) - 10*time.Millisecond
	if p.Timeout <= 0 {
		return nil, context.DeadlineExceeded
	}
	if err := p.RunWithContext(ctx); err != nil {
		return nil, err
	}
	return p.Statistics(), nil
}

func deadlineOf(ctx context.Context) time.Time {
	if d, ok := ctx.Deadline(); ok {
		return d
	}
	return time.Now().Add(time.Minute)
}

func isPermission(err error) bool {
	return errors.Is(err, syscall.EPERM) || errors.Is(err, syscall.EACCES) || errors.Is(err, syscall.EPROTONOSUPPORT)
}
