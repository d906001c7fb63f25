package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"bytes"
	"context"
	"crypto/tls"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"net/http/httptrace"
	"net/netip"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otelstrata/strata/internal/jsonpath"
)

// httpProber holds the client of an http target. Connections are never reused, so that every probe measures name
// resolution, connect and TLS handshake as a new client would (as blackbox_exporter does).
type httpProber struct {
	client *http.Client
}

// probeAddrKey carries the address a probe aims at through the request's context to the dialer.
type probeAddrKey struct{}

// redirectsKey carries the redirect counter of one probe to CheckRedirect.
type redirectsKey struct{}

func newHTTPProber(t *target) (*httpProber, error) {
	dialer := &net.Dialer{}
	transport := &http.Transport{
		DisableKeepAlives:      true,
		TLSClientConfig:        t.tls,
		ForceAttemptHTTP2:      true,
		MaxResponseHeaderBytes: 64 << 10,
		DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
			// The target's own host goes to the address the probe resolved (and times); redirects elsewhere and
			// proxies are dialled as usual, their name resolution traced by httptrace.
			host, port, err := net.SplitHostPort(addr)
			if ip, ok := ctx.Value(probeAddrKey{}).(netip.Addr); ok && ip.IsValid() && err == nil && host == t.host {
				return dialer.DialContext(ctx, dialNetwork(ip), net.JoinHostPort(ip.String(), port))
			}
			return dialer.DialContext(ctx, network, addr)
		},
	}
	if t.cfg.HTTP.ProxyURL != "" {
		proxy, err := url.Parse(t.cfg.HTTP.ProxyURL)
		if err != nil {
			return nil, fmt.Errorf("http: proxy_url: %w", err)
		}
		transport.Proxy = http.ProxyURL(proxy)
	}
	client := &http.Client{
		Transport: transport,
		CheckRedirect: func(req *http.Request, via []*http.Request) error {
			if !t.cfg.HTTP.FollowRedirects {
				return http.ErrUseLastResponse
			}
			if len(via) > maxRedirects {
				return failf("redirects", "more than %d redirects", maxRedirects)
			}
			if n, ok := req.Context().Value(redirectsKey{}).(*int); ok {
				*n++
			}
			return nil
		},
	}
	return &httpProber{client: client}, nil
}

// phaseTrace records the phases of the requests of one probe (one per hop of a redirect chain).
type phaseTrace struct {
	mu                                      sync.Mutex
	r                                       *result
	dnsStart, connectStart, tlsStart, wrote time.Time
	firstByte                               time.Time
}

func (p *phaseTrace) clientTrace() *httptrace.ClientTrace {
	lock := func(f func()) { p.mu.Lock(); f(); p.mu.Unlock() }
	return &httptrace.ClientTrace{
		DNSStart: func(httptrace.DNSStartInfo) { lock(func() { p.dnsStart = time.Now() }) },
		DNSDone: func(httptrace.DNSDoneInfo) {
			lock(func() { p.r.addPhase(phaseResolve, time.Since(p.dnsStart)) })
		},
		ConnectStart: func(string, string) { lock(func() { p.connectStart = time.Now() }) },
		ConnectDone: func(_, _ string, err error) {
			lock(func() {
				if err == nil {
					p.r.addPhase(phaseConnect, time.Since(p.connectStart))
				}
			})
		},
		TLSHandshakeStart: func() { lock(func() { p.tlsStart = time.Now() }) },
		TLSHandshakeDone: func(_ tls.ConnectionState, err error) {
			lock(func() {
				if err == nil {
					p.r.addPhase(phaseTLS, time.Since(p.tlsStart))
				}
			})
		},
		GotConn: func(info httptrace.GotConnInfo) {
			lock(func() {
				if addr, ok := info.Conn.RemoteAddr().(*net.TCPAddr); ok {
					p.r.peer = addr.IP.String()
				}
			})
		},
		WroteRequest: func(httptrace.WroteRequestInfo) { lock(func() { p.wrote = time.Now() }) },
		GotFirstResponseByte: func() {
			lock(func() {
				p.firstByte = time.Now()
				p.r.addPhase(phaseProcessing, p.firstByte.Sub(p.wrote))
			})
		},
	}
}

func probeHTTP(ctx context.Context, t *target, addr netip.Addr, r *result) {
	cfg := &t.cfg.HTTP
	r.http = &httpResult{}
	trace := &phaseTrace{r: r}
	ctx = httptrace.WithClientTrace(ctx, trace.clientTrace())
	ctx = context.WithValue(ctx, probeAddrKey{}, addr)
	ctx = context.WithValue(ctx, redirectsKey{}, &r.http.redirects)

	var body io.Reader
	if cfg.Body != "" {
		body = strings.NewReader(cfg.Body)
	}
	req, err := http.NewRequestWithContext(ctx, cfg.Method, t.cfg.Endpoint, body)
	if err != nil {
		r.err = failf("other", "building the request: %v", err)
		return
	}
	req.Header.Set("User-Agent", "otelcol-strata netprobe")
	for k, v := range cfg.Headers {
		if strings.EqualFold(k, "Host") {
			req.Host = string(v)
			continue
		}
		req.Header.Set(k, string(v))
	}

	resp, err := t.http.client.Do(req)
	if err != nil {
		var urlErr *url.Error
		if errors.As(err, &urlErr) {
			err = urlErr.Err
		}
		if errorType(err) == "other" {
			err = failf("protocol", "%v", err) // not the network's fault: the peer does not speak HTTP
		}
		r.err = err
		return
	}
	defer resp.Body.Close()
	r.http.status = resp.StatusCode
	r.http.version = strconv.Itoa(resp.ProtoMajor)
	if resp.ProtoMajor == 1 {
		r.http.version = fmt.Sprintf("1.%d", resp.ProtoMinor)
	}
	r.cert = certOf(resp.TLS)

	// The body, bounded: read one byte more than allowed to know whether it was longer.
	needBody := len(t.bodyMatches) > 0 || len(t.bodyNotMatches) > 0 || len(cfg.JSON) > 0
	limited := io.LimitReader(resp.Body, cfg.MaxBodySize+1)
	var buf bytes.Buffer
	if needBody {
		r.http.bodySize, err = buf.ReadFrom(limited)
	} else {
		r.http.bodySize, err = io.Copy(io.Discard, limited)
	}
	trace.mu.Lock()
	if !trace.firstByte.IsZero() {
		r.addPhase(phaseTransfer, time.Since(trace.firstByte))
	}
	trace.mu.Unlock()
	switch {
	case err != nil:
		r.err = err
	case r.http.bodySize > cfg.MaxBodySize:
		r.http.bodySize = cfg.MaxBodySize
		r.err = failf("body_too_large", "the body is longer than max_body_size (%d bytes)", cfg.MaxBodySize)
	default:
		r.err = checkHTTPResponse(t, resp, buf.Bytes())
	}
}

// checkHTTPResponse applies the target's checks to a response whose body was read completely.
func checkHTTPResponse(t *target, resp *http.Response, body []byte) error {
	cfg := &t.cfg.HTTP
	if len(cfg.ValidStatusCodes) == 0 && (resp.StatusCode < 200 || resp.StatusCode > 299) ||
		len(cfg.ValidStatusCodes) > 0 && !slices.Contains(cfg.ValidStatusCodes, resp.StatusCode) {
		return failf("status", "status code %d is not valid", resp.StatusCode)
	}
	if cfg.FailIfNotTLS && resp.TLS == nil {
		return failf("tls", "the final response did not come over TLS")
	}
	for _, re := range t.bodyMatches {
		if !re.Match(body) {
			return failf("body", "the body does not match %q", re)
		}
	}
	for _, re := range t.bodyNotMatches {
		if re.Match(body) {
			return failf("body", "the body matches %q", re)
		}
	}
	if len(cfg.JSON) == 0 {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(body))
	dec.UseNumber()
	var doc any
	if err := dec.Decode(&doc); err != nil {
		return failf("body", "the body is not JSON: %v", err)
	}
	for _, check := range cfg.JSON {
		v, ok := jsonpath.Lookup(doc, check.Path)
		if !ok {
			return failf("body", "the JSON body has no %q", check.Path)
		}
		if check.Equals != nil {
			if got := jsonpath.Text(v); got != *check.Equals {
				return failf("body", "%q is %s, not %s", check.Path, got, *check.Equals)
			}
		}
	}
	return nil
}
