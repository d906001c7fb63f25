package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"context"
	"crypto/tls"
	"fmt"
	"net"
	"net/netip"
	"net/url"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"sync/atomic"
	"time"

	"github.com/miekg/dns"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelstrata/strata/receiver/netprobereceiver/internal/metadata"
)

// maxResolvedAddresses bounds how many addresses of one name a resolve_all target probes in a round.
const maxResolvedAddresses = 32

// probeFunc probes one address (the zero Addr when the probe resolves nothing: dns, http through a proxy) and
// fills r.
type probeFunc func(ctx context.Context, t *target, addr netip.Addr, r *result)

// target is a configured target, ready to probe: what its probes need is built once, in Start.
type target struct {
	cfg      *TargetConfig
	name     string
	typ      metadata.AttributeStrataProbeType
	interval time.Duration
	timeout  time.Duration
	probe    probeFunc

	host      string // server.address
	port      int64  // server.port, 0 when none
	urlFull   string // url.full, credentials removed
	transport string // network.transport
	labels    pcommon.Map

	tls             *tls.Config      // http (https), tcp and grpc with tls, tls
	http            *httpProber      // http
	expect          *regexp.Regexp   // tcp
	bodyMatches     []*regexp.Regexp // http
	bodyNotMatches  []*regexp.Regexp // http
	dnsServer       string           // dns
	dnsType         uint16           // dns
	validRcodes     map[int]bool     // dns
	expectedAnswers []*regexp.Regexp // dns

	resolver *net.Resolver // the system's; tests point it at their own DNS server

	// Scheduling: next is when the target is due; running is set while a probe of it is under way.
	next    time.Time
	running atomic.Bool
}

// newTarget prepares a validated target. It reads the TLS files the target names.
func newTarget(cfg *Config, tc *TargetConfig, defaultDNSServer string) (*target, error) {
	t := &target{
		cfg:      tc,
		name:     tc.name(),
		typ:      metadata.MapAttributeStrataProbeType[tc.Type],
		interval: tc.interval(cfg),
		timeout:  tc.timeout(cfg),
		labels:   pcommon.NewMap(),
		resolver: net.DefaultResolver,
	}
	for k, v := range tc.Labels {
		t.labels.PutStr(k, v)
	}
	needsTLS := tc.Type == typeTLS || tc.Type == typeHTTP ||
		tc.Type == typeTCP && tc.TCP.TLS || tc.Type == typeGRPC && tc.GRPC.TLS
	if needsTLS {
		var err error
		if t.tls, err = tc.TLS.LoadTLSConfig(context.Background()); err != nil {
			return nil, fmt.Errorf("target %q: tls: %w", t.name, err)
		}
		if t.tls == nil {
			t.tls = &tls.Config{}
		}
	}

	switch tc.Type {
	case typeHTTP:
		u, err := url.Parse(tc.Endpoint)
		if err != nil {
			return nil, fmt.Errorf("target %q: endpoint: not a URL", t.name)
		}
		t.host, t.port = u.Hostname(), portOf(u)
		t.urlFull, t.transport = u.Redacted(), "tcp"
		t.bodyMatches = mustCompileAll(tc.HTTP.BodyMatches)
		t.bodyNotMatches = mustCompileAll(tc.HTTP.BodyNotMatches)
		if t.http, err = newHTTPProber(t); err != nil {
			return nil, fmt.Errorf("target %q: %w", t.name, err)
		}
		t.probe = probeHTTP
	case typeTCP, typeTLS, typeGRPC:
		host, port, _ := net.SplitHostPort(tc.Endpoint)
		p, _ := strconv.Atoi(port)
		t.host, t.port, t.transport = host, int64(p), "tcp"
		t.probe = map[string]probeFunc{typeTCP: probeTCP, typeTLS: probeTLS, typeGRPC: probeGRPC}[tc.Type]
		if tc.Type == typeTCP && tc.TCP.Expect != "" {
			t.expect = regexp.MustCompile(tc.TCP.Expect)
		}
	case typeDNS:
		server := tc.DNS.Server
		if server == "" {
			server = defaultDNSServer
		}
		if server == "" {
			return nil, fmt.Errorf("target %q: dns: server: not set, and /etc/resolv.conf names no nameserver", t.name)
		}
		host, port, _ := net.SplitHostPort(server)
		p, _ := strconv.Atoi(port)
		t.host, t.port, t.transport, t.dnsServer = host, int64(p), tc.DNS.Transport, server
		t.dnsType = dnsQueryTypes[strings.ToUpper(tc.DNS.QueryType)]
		t.validRcodes = map[int]bool{}
		for _, rc := range tc.DNS.ValidRcodes {
			t.validRcodes[dns.StringToRcode[strings.ToUpper(rc)]] = true
		}
		t.expectedAnswers = mustCompileAll(tc.DNS.ExpectedAnswers)
		t.probe = probeDNS
	case typeICMP:
		t.host, t.transport = tc.Endpoint, "icmp"
		t.probe = probeICMP
	}
	if t.tls != nil && t.tls.ServerName == "" {
		t.tls.ServerName = t.host // an IP address is verified against the certificate's IP SANs
	}
	return t, nil
}

func portOf(u *url.URL) int64 {
	if p, err := strconv.Atoi(u.Port()); err == nil {
		return int64(p)
	}
	if u.Scheme == "https" {
		return 443
	}
	return 80
}

// mustCompileAll compiles expressions that Validate already compiled.
func mustCompileAll(exprs []string) []*regexp.Regexp {
	res := make([]*regexp.Regexp, len(exprs))
	for i, e := range exprs {
		res[i] = regexp.MustCompile(e)
	}
	return res
}

// run probes the target once: it resolves its host (timed as the resolve phase) and probes the first address, or
// every address with resolve_all, in parallel. It returns one result per address probed.
func (t *target) run(ctx context.Context) []result {
	ctx, cancel := context.WithTimeout(ctx, t.timeout)
	defer cancel()
	start := time.Now()

	// A dns probe asks its server, not the resolver; through a proxy, the proxy resolves the target's name.
	if t.cfg.Type == typeDNS || t.cfg.Type == typeHTTP && t.cfg.HTTP.ProxyURL != "" {
		r := result{target: t, start: start}
		t.probe(ctx, t, netip.Addr{}, &r)
		r.duration = time.Since(start)
		return []result{r}
	}

	addrs, err := resolve(ctx, t.resolver, t.host, t.cfg.IPProtocol)
	resolved := time.Since(start)
	if err != nil {
		r := result{target: t, start: start, duration: resolved, err: err}
		r.addPhase(phaseResolve, resolved)
		return []result{r}
	}
	if !t.cfg.ResolveAll {
		addrs = addrs[:1]
	} else if len(addrs) > maxResolvedAddresses {
		addrs = addrs[:maxResolvedAddresses]
	}

	results := make([]result, len(addrs))
	probe := func(i int) {
		r := &results[i]
		r.target, r.start, r.peer = t, start, addrs[i].String()
		r.addPhase(phaseResolve, resolved)
		t.probe(ctx, t, addrs[i], r)
		r.duration = time.Since(start)
	}
	if len(addrs) == 1 {
		probe(0)
		return results
	}
	var wg sync.WaitGroup
	for i := range addrs {
		wg.Add(1)
		go func() {
			defer wg.Done()
			probe(i)
		}()
	}
	wg.Wait()
	return results
}

// resolve returns the addresses of host, restricted to ip4 or ip6 when ipProtocol says so. An IP literal resolves
// to itself without a lookup.
func resolve(ctx context.Context, resolver *net.Resolver, host, ipProtocol string) ([]netip.Addr, error) {
	if addr, err := netip.ParseAddr(host); err == nil {
		return []netip.Addr{addr.Unmap()}, nil
	}
	network := "ip"
	if ipProtocol != "" {
		network = ipProtocol
	}
	addrs, err := resolver.LookupNetIP(ctx, network, host)
	if err != nil {
		return nil, err
	}
	if len(addrs) == 0 {
		return nil, &net.DNSError{Err: "no " + network + " address", Name: host, IsNotFound: true}
	}
	for i := range addrs {
		addrs[i] = addrs[i].Unmap()
	}
	return addrs, nil
}

// dialNetwork returns "tcp4" or "tcp6" for the address, so that a dial goes exactly where it was aimed.
func dialNetwork(addr netip.Addr) string {
	if addr.Is4() {
		return "tcp4"
	}
	return "tcp6"
}
