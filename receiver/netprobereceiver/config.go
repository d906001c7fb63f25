package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"errors"
	"fmt"
	"net"
	"net/url"
	"reflect"
	"regexp"
	"strconv"
	"strings"
	"time"

	"github.com/miekg/dns"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelstrata/strata/internal/confcheck"
	"github.com/otelstrata/strata/internal/jsonpath"
	"github.com/otelstrata/strata/receiver/netprobereceiver/internal/metadata"
)

// Probe types.
const (
	typeHTTP = "http"
	typeTCP  = "tcp"
	typeTLS  = "tls"
	typeDNS  = "dns"
	typeICMP = "icmp"
	typeGRPC = "grpc"
)

var probeTypes = []string{typeHTTP, typeTCP, typeTLS, typeDNS, typeICMP, typeGRPC}

// Config is the netprobe receiver's configuration.
type Config struct {
	// Interval between two probes of a target that does not set its own. Default 30s.
	Interval time.Duration `mapstructure:"interval"`
	// Timeout of one probe of a target that does not set its own; it must be shorter than the interval. Default 5s.
	Timeout time.Duration `mapstructure:"timeout"`
	// MaxConcurrency bounds the probes running at once. A probe that comes due while every worker is busy is
	// skipped and counted. Default 256.
	MaxConcurrency int `mapstructure:"max_concurrency"`
	// Targets to probe.
	Targets []TargetConfig `mapstructure:"targets"`

	metadata.MetricsBuilderConfig `mapstructure:",squash"`
}

// TargetConfig is one target. Only the section of its type (http, tcp, dns, icmp, grpc) may be set; tls applies to
// the types that speak TLS.
type TargetConfig struct {
	// Name identifies the target in strata.probe.target. Default: the endpoint.
	Name string `mapstructure:"name"`
	// Type is one of http, tcp, tls, dns, icmp, grpc.
	Type string `mapstructure:"type"`
	// Endpoint is a URL for http, host:port for tcp, tls and grpc, the name to query for dns, a host for icmp.
	Endpoint string `mapstructure:"endpoint"`
	// Interval and Timeout override the receiver's.
	Interval time.Duration `mapstructure:"interval"`
	Timeout  time.Duration `mapstructure:"timeout"`
	// Labels become attributes of every data point of the target.
	Labels map[string]string `mapstructure:"labels"`
	// ResolveAll probes every address the endpoint's host resolves to, each as its own series
	// (network.peer.address). Not for dns.
	ResolveAll bool `mapstructure:"resolve_all"`
	// IPProtocol restricts resolution to "ip4" or "ip6"; empty uses whatever the system resolver returns first.
	IPProtocol string `mapstructure:"ip_protocol"`

	HTTP HTTPConfig `mapstructure:"http"`
	TCP  TCPConfig  `mapstructure:"tcp"`
	DNS  DNSConfig  `mapstructure:"dns"`
	ICMP ICMPConfig `mapstructure:"icmp"`
	GRPC GRPCConfig `mapstructure:"grpc"`
	// TLS settings for https URLs, tcp and grpc with tls enabled, and tls probes.
	TLS configtls.ClientConfig `mapstructure:"tls"`
}

// HTTPConfig is the http section of a target.
type HTTPConfig struct {
	// Method of the request. Default GET.
	Method string `mapstructure:"method"`
	// Headers added to the request.
	Headers map[string]configopaque.String `mapstructure:"headers"`
	// Body of the request.
	Body string `mapstructure:"body"`
	// ValidStatusCodes the final response may have. Default: any 2xx.
	ValidStatusCodes []int `mapstructure:"valid_status_codes"`
	// FollowRedirects follows up to 10 redirects. Default true.
	FollowRedirects bool `mapstructure:"follow_redirects"`
	// FailIfNotTLS fails the probe when the final response did not come over TLS.
	FailIfNotTLS bool `mapstructure:"fail_if_not_tls"`
	// BodyMatches are regular expressions the body must all match.
	BodyMatches []string `mapstructure:"body_matches"`
	// BodyNotMatches are regular expressions the body must not match.
	BodyNotMatches []string `mapstructure:"body_not_matches"`
	// JSON checks on a JSON body.
	JSON []JSONCheck `mapstructure:"json"`
	// MaxBodySize is how much of the body is read; a longer body fails the probe. Default 1 MiB.
	MaxBodySize int64 `mapstructure:"max_body_size"`
	// ProxyURL sends the request through an HTTP proxy.
	ProxyURL string `mapstructure:"proxy_url"`
}

// JSONCheck tests one field of a JSON body, found by a dot-separated path (array elements by index: items.0.id).
type JSONCheck struct {
	// Path of the field; it must be present.
	Path string `mapstructure:"path"`
	// Equals, when set, is the value the field must have (strings as they are, numbers and booleans as JSON writes them).
	Equals *string `mapstructure:"equals"`
}

// TCPConfig is the tcp section of a target.
type TCPConfig struct {
	// Send is written once connected (after the TLS handshake when tls is on).
	Send string `mapstructure:"send"`
	// Expect is a regular expression the first bytes received must match.
	Expect string `mapstructure:"expect"`
	// TLS speaks TLS on the connection, with the target's tls settings.
	TLS bool `mapstructure:"tls"`
}

// DNSConfig is the dns section of a target; the endpoint is the name asked for.
type DNSConfig struct {
	// Server is host:port of the DNS server. Default: the first nameserver of /etc/resolv.conf.
	Server string `mapstructure:"server"`
	// QueryType is one of A, AAAA, CNAME, MX, TXT, SRV, NS, SOA, PTR, CAA. Default A.
	QueryType string `mapstructure:"query_type"`
	// Transport is udp or tcp. Default udp.
	Transport string `mapstructure:"transport"`
	// ValidRcodes the response may have. Default [NOERROR].
	ValidRcodes []string `mapstructure:"valid_rcodes"`
	// ExpectedAnswers are regular expressions that must each match an answer record (in zone file format,
	// e.g. "IN\tA\t192.0.2.1$").
	ExpectedAnswers []string `mapstructure:"expected_answers"`
	// RecursionDesired sets the RD bit. Default true.
	RecursionDesired bool `mapstructure:"recursion_desired"`
}

// ICMPConfig is the icmp section of a target.
type ICMPConfig struct {
	// Count of echo requests per round. Default 3.
	Count int `mapstructure:"count"`
	// PacketInterval between two echo requests of a round. Default 100ms.
	PacketInterval time.Duration `mapstructure:"packet_interval"`
	// PayloadSize in bytes. Default 56.
	PayloadSize int `mapstructure:"payload_size"`
	// TTL of the echo requests. Default 64.
	TTL int `mapstructure:"ttl"`
}

// GRPCConfig is the grpc section of a target: a grpc.health.v1 Check.
type GRPCConfig struct {
	// Service to ask about; empty asks about the server as a whole.
	Service string `mapstructure:"service"`
	// TLS speaks TLS, with the target's tls settings.
	TLS bool `mapstructure:"tls"`
}

var (
	_ component.Config    = (*Config)(nil)
	_ xconfmap.Validator  = (*Config)(nil)
	_ confmap.Unmarshaler = (*TargetConfig)(nil)
)

const (
	defaultMaxBodySize = 1 << 20
	maxRedirects       = 10
)

// defaultTarget holds the defaults of the options of a target.
func defaultTarget() TargetConfig {
	return TargetConfig{
		HTTP: HTTPConfig{Method: "GET", FollowRedirects: true, MaxBodySize: defaultMaxBodySize},
		DNS:  DNSConfig{QueryType: "A", Transport: "udp", ValidRcodes: []string{"NOERROR"}, RecursionDesired: true},
		ICMP: ICMPConfig{Count: 3, PacketInterval: 100 * time.Millisecond, PayloadSize: 56, TTL: 64},
	}
}

// Unmarshal fills a target's defaults before its options are read, so that an option left out keeps its default.
func (t *TargetConfig) Unmarshal(conf *confmap.Conf) error {
	*t = defaultTarget()
	return conf.Unmarshal(t)
}

// Validate reports every problem of the configuration at once.
func (cfg *Config) Validate() error {
	errs := []error{
		confcheck.Duration("interval", cfg.Interval, confcheck.MinInterval, 0),
		confcheck.Duration("timeout", cfg.Timeout, time.Millisecond, 0),
		confcheck.Int("max_concurrency", cfg.MaxConcurrency, 1, maxConcurrency),
	}
	if len(cfg.Targets) == 0 {
		errs = append(errs, errors.New("targets: must contain at least one target"))
	}
	names := make(map[string]int, len(cfg.Targets))
	for i := range cfg.Targets {
		t := &cfg.Targets[i]
		key := fmt.Sprintf("targets[%d]", i)
		if err := t.validate(cfg); err != nil {
			errs = append(errs, fmt.Errorf("%s: %w", key, err))
		}
		name := t.name()
		if j, dup := names[name]; dup && name != "" {
			errs = append(errs, fmt.Errorf("%s: name %q is already used by targets[%d]; set distinct names", key, name, j))
		}
		names[name] = i
	}
	return errors.Join(errs...)
}

// maxConcurrency bounds max_concurrency: each probe in flight holds a goroutine and a connection.
const maxConcurrency = 10000

// name returns the target's name, or its endpoint without a URL's password.
func (t *TargetConfig) name() string {
	if t.Name != "" {
		return t.Name
	}
	return redacted(t.Endpoint)
}

// redacted returns s with the password of a URL's user information replaced by "xxxxx", also when s is not a URL
// Go can parse; s as it is when it holds none.
func redacted(s string) string {
	scheme, rest, ok := strings.Cut(s, "://")
	if !ok {
		return s
	}
	authority := rest
	if i := strings.IndexAny(rest, "/?#"); i >= 0 {
		authority = rest[:i]
	}
	at := strings.LastIndex(authority, "@")
	if at < 0 {
		return s
	}
	user, _, hasPassword := strings.Cut(authority[:at], ":")
	if !hasPassword {
		return s
	}
	return scheme + "://" + user + ":xxxxx" + rest[at:]
}

// interval and timeout are the target's own, or the receiver's.
func (t *TargetConfig) interval(cfg *Config) time.Duration {
	if t.Interval > 0 {
		return t.Interval
	}
	return cfg.Interval
}

func (t *TargetConfig) timeout(cfg *Config) time.Duration {
	if t.Timeout > 0 {
		return t.Timeout
	}
	return cfg.Timeout
}

// reservedAttributes are the attributes the receiver sets itself; labels may not use them.
var reservedAttributes = map[string]bool{
	"strata.probe.type": true, "strata.probe.target": true, "strata.probe.phase": true, "strata.probe.icmp.statistic": true,
	"server.address": true, "server.port": true, "url.full": true, "network.transport": true, "network.peer.address": true,
	"dns.question.name": true, "error.type": true, "http.request.method": true, "network.protocol.version": true,
	"tls.protocol.version": true, "strata.dns.response_code": true,
}

func (t *TargetConfig) validate(cfg *Config) error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }

	if t.Interval != 0 {
		if err := confcheck.Duration("interval", t.Interval, confcheck.MinInterval, 0); err != nil {
			add("%w", err)
		}
	}
	if t.Timeout < 0 {
		add("timeout: must be positive")
	}
	if iv, to := t.interval(cfg), t.timeout(cfg); iv > 0 && to >= iv {
		add("timeout: %s must be shorter than the interval %s, or probes of the target would overlap", to, iv)
	}
	for k := range t.Labels {
		if reservedAttributes[k] {
			add("labels: %q is set by the receiver itself", k)
		}
	}
	switch t.IPProtocol {
	case "", "ip4", "ip6":
	default:
		add("ip_protocol: %q is not one of ip4, ip6", t.IPProtocol)
	}
	if t.Endpoint == "" {
		add("endpoint: must be set")
	}

	// Only the section of the target's type may differ from its defaults.
	defaults := defaultTarget()
	sections := map[string][2]any{
		typeHTTP: {t.HTTP, defaults.HTTP}, typeTCP: {t.TCP, defaults.TCP}, typeDNS: {t.DNS, defaults.DNS},
		typeICMP: {t.ICMP, defaults.ICMP}, typeGRPC: {t.GRPC, defaults.GRPC},
	}
	for section, v := range sections {
		if section != t.Type && !reflect.DeepEqual(v[0], v[1]) {
			add("%s: set, but the target's type is %q", section, t.Type)
		}
	}

	switch t.Type {
	case typeHTTP:
		errs = append(errs, t.HTTP.validate(t.Endpoint)...)
		if t.ResolveAll && t.HTTP.ProxyURL != "" {
			add("resolve_all: does not apply through a proxy, which resolves the name itself")
		}
	case typeTCP:
		errs = append(errs, validateHostPort(t.Endpoint)...)
		if _, err := regexp.Compile(t.TCP.Expect); err != nil {
			add("tcp: expect: %w", err)
		}
	case typeTLS, typeGRPC:
		errs = append(errs, validateHostPort(t.Endpoint)...)
	case typeDNS:
		errs = append(errs, t.DNS.validate()...)
		if t.ResolveAll {
			add("resolve_all: does not apply to dns probes")
		}
	case typeICMP:
		if strings.Contains(t.Endpoint, "/") || strings.Contains(t.Endpoint, ":") && net.ParseIP(t.Endpoint) == nil {
			add("endpoint: %q is not a host name or IP address", t.Endpoint)
		}
		errs = append(errs, t.ICMP.validate()...)
		if round := time.Duration(t.ICMP.Count-1) * t.ICMP.PacketInterval; round >= t.timeout(cfg) {
			add("icmp: %d packets %s apart take %s, longer than the timeout %s", t.ICMP.Count, t.ICMP.PacketInterval, round, t.timeout(cfg))
		}
	case "":
		add("type: must be one of %s", strings.Join(probeTypes, ", "))
	default:
		add("type: %q is not one of %s", t.Type, strings.Join(probeTypes, ", "))
	}
	if err := t.TLS.Validate(); err != nil {
		add("tls: %w", err)
	}
	return errors.Join(errs...)
}

func (h *HTTPConfig) validate(endpoint string) []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if endpoint != "" {
		u, err := url.Parse(endpoint)
		var urlErr *url.Error
		switch {
		case errors.As(err, &urlErr):
			add("endpoint: %q is not a URL: %w", redacted(endpoint), urlErr.Err)
		case err != nil:
			add("endpoint: %q is not a URL", redacted(endpoint))
		case u.Scheme != "http" && u.Scheme != "https":
			add("endpoint: %q must be an http:// or https:// URL", redacted(endpoint))
		case u.Host == "":
			add("endpoint: %q has no host", redacted(endpoint))
		}
	}
	if h.Method == "" || strings.ContainsAny(h.Method, " \t\r\n") {
		add("http: method: %q is not an HTTP method", h.Method)
	}
	for _, code := range h.ValidStatusCodes {
		if code < 100 || code > 599 {
			add("http: valid_status_codes: %d is not an HTTP status code", code)
		}
	}
	for i, re := range h.BodyMatches {
		if _, err := regexp.Compile(re); err != nil {
			add("http: body_matches[%d]: %w", i, err)
		}
	}
	for i, re := range h.BodyNotMatches {
		if _, err := regexp.Compile(re); err != nil {
			add("http: body_not_matches[%d]: %w", i, err)
		}
	}
	for i, c := range h.JSON {
		if !jsonpath.Valid(c.Path) {
			add("http: json[%d]: path: %q is not a dot-separated path", i, c.Path)
		}
	}
	if h.MaxBodySize <= 0 {
		add("http: max_body_size: must be positive")
	}
	if h.ProxyURL != "" {
		if u, err := url.Parse(h.ProxyURL); err != nil || u.Host == "" {
			add("http: proxy_url: %q is not a URL", redacted(h.ProxyURL))
		}
	}
	return errs
}

func validateHostPort(endpoint string) []error {
	if endpoint == "" {
		return nil
	}
	host, port, err := net.SplitHostPort(endpoint)
	if err != nil {
		return []error{fmt.Errorf("endpoint: %q is not host:port: %w", endpoint, err)}
	}
	var errs []error
	if host == "" {
		errs = append(errs, fmt.Errorf("endpoint: %q has no host", endpoint))
	}
	if p, err := strconv.Atoi(port); err != nil || p < 1 || p > 65535 {
		errs = append(errs, fmt.Errorf("endpoint: %q has no valid port", endpoint))
	}
	return errs
}

var dnsQueryTypes = map[string]uint16{
	"A": dns.TypeA, "AAAA": dns.TypeAAAA, "CNAME": dns.TypeCNAME, "MX": dns.TypeMX, "TXT": dns.TypeTXT,
	"SRV": dns.TypeSRV, "NS": dns.TypeNS, "SOA": dns.TypeSOA, "PTR": dns.TypePTR, "CAA": dns.TypeCAA,
}

func (d *DNSConfig) validate() []error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if _, ok := dnsQueryTypes[strings.ToUpper(d.QueryType)]; !ok {
		add("dns: query_type: %q is not one of A, AAAA, CNAME, MX, TXT, SRV, NS, SOA, PTR, CAA", d.QueryType)
	}
	if d.Transport != "udp" && d.Transport != "tcp" {
		add("dns: transport: %q is not udp or tcp", d.Transport)
	}
	if d.Server != "" {
		for _, err := range validateHostPort(d.Server) {
			add("dns: server: %w", err)
		}
	}
	if len(d.ValidRcodes) == 0 {
		add("dns: valid_rcodes: must name at least one response code")
	}
	for _, rc := range d.ValidRcodes {
		if _, ok := dns.StringToRcode[strings.ToUpper(rc)]; !ok {
			add("dns: valid_rcodes: %q is not a DNS response code", rc)
		}
	}
	for i, re := range d.ExpectedAnswers {
		if _, err := regexp.Compile(re); err != nil {
			add("dns: expected_answers[%d]: %w", i, err)
		}
	}
	return errs
}

func (c *ICMPConfig) validate() []error {
	var errs []error
	if c.Count < 1 || c.Count > 100 {
		errs = append(errs, fmt.Errorf("icmp: count: %d is not between 1 and 100", c.Count))
	}
	if err := confcheck.Duration("icmp: packet_interval", c.PacketInterval, time.Millisecond, 0); err != nil {
		errs = append(errs, err)
	}
	if c.PayloadSize < 24 || c.PayloadSize > 65000 {
		errs = append(errs, fmt.Errorf("icmp: payload_size: %d is not between 24 and 65000 (the probe carries a timestamp and a tracker)", c.PayloadSize))
	}
	if c.TTL < 1 || c.TTL > 255 {
		errs = append(errs, fmt.Errorf("icmp: ttl: %d is not between 1 and 255", c.TTL))
	}
	return errs
}
