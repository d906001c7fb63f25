package netprobereceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/config/configtls"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"

	"github.com/otelstrata/strata/internal/conftest"
	"github.com/otelstrata/strata/receiver/netprobereceiver/internal/metadata"
)

// withDefaults is a target with the defaults every option that is left out keeps.
func withDefaults(f func(*TargetConfig)) TargetConfig {
	t := defaultTarget()
	f(&t)
	return t
}

func TestLoadConfig(t *testing.T) {
	ok := "ok"
	for _, tc := range []struct {
		id   component.ID
		want *Config
	}{
		{
			id: component.NewID(metadata.Type),
			want: &Config{
				Interval: 30 * time.Second, Timeout: 5 * time.Second, MaxConcurrency: 256,
				Targets: []TargetConfig{withDefaults(func(t *TargetConfig) {
					t.Type, t.Endpoint = "tcp", "localhost:5432"
				})},
				MetricsBuilderConfig: metadata.DefaultMetricsBuilderConfig(),
			},
		},
		{
			id: component.NewIDWithName(metadata.Type, "custom"),
			want: &Config{
				Interval: 10 * time.Second, Timeout: 2 * time.Second, MaxConcurrency: 32,
				Targets: []TargetConfig{
					withDefaults(func(t *TargetConfig) {
						t.Name, t.Type, t.Endpoint = "api", "http", "https://api.example.com/health"
						t.Interval, t.Timeout = 15*time.Second, 3*time.Second
						t.Labels = map[string]string{"team": "checkout"}
						t.IPProtocol = "ip4"
						t.HTTP = HTTPConfig{
							Method:           "POST",
							Headers:          map[string]configopaque.String{"Authorization": "Bearer s3cret"},
							Body:             `{"ping":1}`,
							ValidStatusCodes: []int{200, 204},
							FailIfNotTLS:     true,
							BodyMatches:      []string{`"status":\s*"ok"`},
							BodyNotMatches:   []string{"maintenance"},
							JSON:             []JSONCheck{{Path: "status", Equals: &ok}, {Path: "checks.0.name"}},
							MaxBodySize:      65536,
							ProxyURL:         "http://proxy.internal:3128",
						}
						t.TLS = configtls.ClientConfig{InsecureSkipVerify: true}
					}),
					withDefaults(func(t *TargetConfig) {
						t.Type, t.Endpoint = "dns", "example.com"
						t.DNS = DNSConfig{
							Server: "127.0.0.1:53", QueryType: "MX", Transport: "tcp",
							ValidRcodes: []string{"NOERROR", "NXDOMAIN"}, RecursionDesired: true,
							ExpectedAnswers: []string{`MX\s+10 mail\.example\.com\.$`},
						}
					}),
					withDefaults(func(t *TargetConfig) {
						t.Type, t.Endpoint = "icmp", "192.0.2.1"
						t.ICMP = ICMPConfig{Count: 5, PacketInterval: 200 * time.Millisecond, PayloadSize: 64, TTL: 32}
					}),
					withDefaults(func(t *TargetConfig) {
						t.Type, t.Endpoint = "grpc", "grpc.internal:50051"
						t.GRPC = GRPCConfig{Service: "checkout.Checkout", TLS: true}
					}),
					withDefaults(func(t *TargetConfig) {
						t.Type, t.Endpoint = "tcp", "mail.internal:25"
						t.TCP = TCPConfig{Expect: "^220 ", Send: "QUIT\r\n"}
					}),
					withDefaults(func(t *TargetConfig) {
						t.Type, t.Endpoint = "tls", "api.example.com:443"
					}),
				},
				MetricsBuilderConfig: metadata.DefaultMetricsBuilderConfig(),
			},
		},
	} {
		t.Run(tc.id.String(), func(t *testing.T) {
			cfg := conftest.Named(t, tc.id.String(), createDefaultConfig().(*Config))
			assert.Equal(t, tc.want, cfg)
			assert.NoError(t, xconfmap.Validate(cfg))
		})
	}
}

func TestConfigUnknownKey(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	err := confmap.NewFromStringMap(map[string]any{
		"targets": []any{map[string]any{"type": "tcp", "endpoint": "a:1", "tcp": map[string]any{"sned": "x"}}},
	}).Unmarshal(cfg)
	require.Error(t, err)
	assert.Contains(t, err.Error(), "sned")
}

func TestValidate(t *testing.T) {
	for _, tc := range []struct {
		name    string
		config  map[string]any
		target  map[string]any // the single target, when config has none
		wantErr []string
	}{
		{name: "no targets", config: map[string]any{}, wantErr: []string{"targets: must contain at least one target"}},
		{name: "interval not positive", config: map[string]any{"interval": "0s"}, target: map[string]any{"type": "tcp", "endpoint": "a:1"},
			wantErr: []string{"interval: must be at least 100ms, not 0s"}},
		{name: "interval of nanoseconds", config: map[string]any{"interval": "2ns"}, target: map[string]any{"type": "tcp", "endpoint": "a:1", "interval": "1ns"},
			wantErr: []string{"interval: must be at least 100ms, not 2ns", "targets[0]: interval: must be at least 100ms, not 1ns"}},
		{name: "password not echoed", target: map[string]any{"type": "http", "endpoint": "ftp://probe:s3cret@a/"},
			wantErr: []string{`targets[0]: endpoint: "ftp://probe:xxxxx@a/" must be an http:// or https:// URL`}},
		{name: "password not echoed, bad port", target: map[string]any{"type": "http", "endpoint": "http://probe:s3cret@a:port/"},
			wantErr: []string{`targets[0]: endpoint: "http://probe:xxxxx@a:port/" is not a URL: invalid port`}},
		{name: "timeout not shorter than interval", target: map[string]any{"type": "tcp", "endpoint": "a:1", "interval": "5s", "timeout": "5s"},
			wantErr: []string{"targets[0]: timeout: 5s must be shorter than the interval 5s"}},
		{name: "max_concurrency", config: map[string]any{"max_concurrency": 0}, target: map[string]any{"type": "tcp", "endpoint": "a:1"},
			wantErr: []string{"max_concurrency: must be from 1 to 10000, not 0"}},
		{name: "max_concurrency huge", config: map[string]any{"max_concurrency": 1e12}, target: map[string]any{"type": "tcp", "endpoint": "a:1"},
			wantErr: []string{"max_concurrency: must be from 1 to 10000, not 1000000000000"}},
		{name: "unknown type", target: map[string]any{"type": "smtp", "endpoint": "a:25"},
			wantErr: []string{`targets[0]: type: "smtp" is not one of http, tcp, tls, dns, icmp, grpc`}},
		{name: "missing type", target: map[string]any{"endpoint": "a:25"}, wantErr: []string{"targets[0]: type: must be one of"}},
		{name: "missing endpoint", target: map[string]any{"type": "tcp"}, wantErr: []string{"targets[0]: endpoint: must be set"}},
		{name: "malformed URL", target: map[string]any{"type": "http", "endpoint": "http://exa mple.com/"},
			wantErr: []string{"targets[0]: endpoint:", "invalid character"}},
		{name: "URL without scheme", target: map[string]any{"type": "http", "endpoint": "example.com/health"},
			wantErr: []string{`endpoint: "example.com/health" must be an http:// or https:// URL`}},
		{name: "tcp without port", target: map[string]any{"type": "tcp", "endpoint": "db.internal"},
			wantErr: []string{`targets[0]: endpoint: "db.internal" is not host:port`}},
		{name: "tcp bad port", target: map[string]any{"type": "tcp", "endpoint": "db:99999"},
			wantErr: []string{`endpoint: "db:99999" has no valid port`}},
		{name: "invalid regex", target: map[string]any{"type": "http", "endpoint": "http://a/", "http": map[string]any{"body_matches": []any{"("}}},
			wantErr: []string{"targets[0]: http: body_matches[0]: error parsing regexp"}},
		{name: "bad status code", target: map[string]any{"type": "http", "endpoint": "http://a/", "http": map[string]any{"valid_status_codes": []any{999}}},
			wantErr: []string{"valid_status_codes: 999 is not an HTTP status code"}},
		{name: "bad json path", target: map[string]any{"type": "http", "endpoint": "http://a/", "http": map[string]any{"json": []any{map[string]any{"path": "a..b"}}}},
			wantErr: []string{`json[0]: path: "a..b" is not a dot-separated path`}},
		{name: "section of another type", target: map[string]any{"type": "tcp", "endpoint": "a:1", "dns": map[string]any{"query_type": "MX"}},
			wantErr: []string{`targets[0]: dns: set, but the target's type is "tcp"`}},
		{name: "dns query type", target: map[string]any{"type": "dns", "endpoint": "example.com", "dns": map[string]any{"query_type": "AXFR"}},
			wantErr: []string{`dns: query_type: "AXFR" is not one of`}},
		{name: "dns rcode", target: map[string]any{"type": "dns", "endpoint": "example.com", "dns": map[string]any{"valid_rcodes": []any{"FINE"}}},
			wantErr: []string{`dns: valid_rcodes: "FINE" is not a DNS response code`}},
		{name: "dns transport", target: map[string]any{"type": "dns", "endpoint": "example.com", "dns": map[string]any{"transport": "quic"}},
			wantErr: []string{`dns: transport: "quic" is not udp or tcp`}},
		{name: "resolve_all through a proxy", target: map[string]any{"type": "http", "endpoint": "http://a/", "resolve_all": true,
			"http": map[string]any{"proxy_url": "http://proxy:3128"}},
			wantErr: []string{"resolve_all: does not apply through a proxy"}},
		{name: "dns resolve_all", target: map[string]any{"type": "dns", "endpoint": "example.com", "resolve_all": true},
			wantErr: []string{"resolve_all: does not apply to dns probes"}},
		{name: "icmp round longer than timeout", target: map[string]any{"type": "icmp", "endpoint": "10.0.0.1", "timeout": "1s",
			"icmp": map[string]any{"count": 20, "packet_interval": "100ms"}},
			wantErr: []string{"icmp: 20 packets 100ms apart take 1.9s, longer than the timeout 1s"}},
		{name: "icmp endpoint", target: map[string]any{"type": "icmp", "endpoint": "http://host/"},
			wantErr: []string{`endpoint: "http://host/" is not a host name or IP address`}},
		{name: "reserved label", target: map[string]any{"type": "tcp", "endpoint": "a:1", "labels": map[string]any{"server.address": "x"}},
			wantErr: []string{`labels: "server.address" is set by the receiver itself`}},
		{name: "ip_protocol", target: map[string]any{"type": "tcp", "endpoint": "a:1", "ip_protocol": "ipx"},
			wantErr: []string{`ip_protocol: "ipx" is not one of ip4, ip6`}},
		{name: "bad tls", target: map[string]any{"type": "tls", "endpoint": "a:443", "tls": map[string]any{"min_version": "0.9"}},
			wantErr: []string{"targets[0]: tls:"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			raw := map[string]any{}
			for k, v := range tc.config {
				raw[k] = v
			}
			if tc.target != nil {
				raw["targets"] = []any{tc.target}
			}
			cfg := createDefaultConfig().(*Config)
			require.NoError(t, confmap.NewFromStringMap(raw).Unmarshal(cfg))
			err := xconfmap.Validate(cfg)
			require.Error(t, err)
			for _, want := range tc.wantErr {
				assert.Contains(t, err.Error(), want)
			}
		})
	}
}

func TestConfigValidateReportsEveryProblem(t *testing.T) {
	cfg := createDefaultConfig().(*Config)
	require.NoError(t, confmap.NewFromStringMap(map[string]any{
		"interval": "0s",
		"targets": []any{
			map[string]any{"type": "tcp"},
			map[string]any{"type": "http", "endpoint": "ftp://a/"},
			map[string]any{"name": "x", "type": "tcp", "endpoint": "a:1"},
			map[string]any{"name": "x", "type": "tcp", "endpoint": "b:1"},
		},
	}).Unmarshal(cfg))
	err := xconfmap.Validate(cfg)
	require.Error(t, err)
	for _, want := range []string{"interval: must be at least 100ms", "targets[0]: endpoint: must be set",
		"targets[1]: endpoint:", `targets[3]: name "x" is already used by targets[2]`} {
		assert.Contains(t, err.Error(), want)
	}
}

// TestRedacted: a URL's password never reaches an error, a log or the strata.probe.target attribute.
func TestRedacted(t *testing.T) {
	for in, want := range map[string]string{
		"http://probe:s3cret@a:8080/health?x=1": "http://probe:xxxxx@a:8080/health?x=1",
		"http://probe:s3:cr@t@a/":               "http://probe:xxxxx@a/",
		"http://probe@a/":                       "http://probe@a/",
		"http://a/p@th":                         "http://a/p@th",
		"db:5432":                               "db:5432",
		"http://probe:s3cret@a:port/":           "http://probe:xxxxx@a:port/",
	} {
		assert.Equal(t, want, redacted(in), in)
	}
	target := TargetConfig{Endpoint: "https://probe:s3cret@shop.example/health"}
	assert.Equal(t, "https://probe:xxxxx@shop.example/health", target.name())
}
