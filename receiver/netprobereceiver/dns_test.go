package netprobereceiver

import (
	"net"
	"testing"

	"github.com/miekg/dns"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// startDNS serves a small zone on loopback over UDP and TCP: known records, NXDOMAIN for other names in it, and
// SERVFAIL for broken.test.
func startDNS(t *testing.T) (udp, tcp string) {
	t.Helper()
	zone := map[uint16][]string{
		dns.TypeA: {"www.strata.test. 300 IN A 192.0.2.10", "www.strata.test. 300 IN A 192.0.2.11",
			"two.strata.test. 300 IN A 127.0.0.1", "two.strata.test. 300 IN A 127.0.0.2"},
		dns.TypeAAAA: {"www.strata.test. 300 IN AAAA 2001:db8::10"},
		dns.TypeMX:   {"strata.test. 300 IN MX 10 mail.strata.test."},
		dns.TypeTXT:  {`strata.test. 300 IN TXT "v=spf1 -all"`},
	}
	handler := dns.HandlerFunc(func(w dns.ResponseWriter, req *dns.Msg) {
		resp := new(dns.Msg)
		resp.SetReply(req)
		q := req.Question[0]
		switch {
		case q.Name == "broken.test.":
			resp.Rcode = dns.RcodeServerFailure
		default:
			for _, s := range zone[q.Qtype] {
				rr, err := dns.NewRR(s)
				if err == nil && rr.Header().Name == q.Name {
					resp.Answer = append(resp.Answer, rr)
				}
			}
			if len(resp.Answer) == 0 && q.Name != "strata.test." && q.Name != "www.strata.test." && q.Name != "two.strata.test." {
				resp.Rcode = dns.RcodeNameError
			}
		}
		_ = w.WriteMsg(resp)
	})
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	l, err := net.Listen("tcp", "127.0.0.1:0")
	require.NoError(t, err)
	udpSrv := &dns.Server{PacketConn: pc, Handler: handler}
	tcpSrv := &dns.Server{Listener: l, Handler: handler}
	go func() { _ = udpSrv.ActivateAndServe() }()
	go func() { _ = tcpSrv.ActivateAndServe() }()
	t.Cleanup(func() {
		_ = udpSrv.Shutdown()
		_ = tcpSrv.Shutdown()
	})
	return pc.LocalAddr().String(), l.Addr().String()
}

func TestDNSProbe(t *testing.T) {
	udp, tcp := startDNS(t)
	for _, tc := range []struct {
		name, endpoint string
		dns            map[string]any
		wantErr        string
		wantAnswers    int
		wantRcode      string
	}{
		{name: "A record", endpoint: "www.strata.test", dns: map[string]any{}, wantAnswers: 2, wantRcode: "NOERROR"},
		{name: "over TCP", endpoint: "www.strata.test", dns: map[string]any{"transport": "tcp"}, wantAnswers: 2, wantRcode: "NOERROR"},
		{name: "AAAA", endpoint: "www.strata.test", dns: map[string]any{"query_type": "AAAA"}, wantAnswers: 1, wantRcode: "NOERROR"},
		{name: "expected answer", endpoint: "strata.test", wantAnswers: 1, wantRcode: "NOERROR",
			dns: map[string]any{"query_type": "MX", "expected_answers": []any{`MX\s+10 mail\.strata\.test\.$`}}},
		{name: "expected answer missing", endpoint: "www.strata.test", wantAnswers: 2, wantRcode: "NOERROR", wantErr: "answer",
			dns: map[string]any{"expected_answers": []any{`192\.0\.2\.99$`}}},
		{name: "absent name", endpoint: "nope.strata.test", dns: map[string]any{}, wantErr: "rcode", wantRcode: "NXDOMAIN"},
		{name: "absent name allowed", endpoint: "nope.strata.test", dns: map[string]any{"valid_rcodes": []any{"NXDOMAIN"}}, wantRcode: "NXDOMAIN"},
		{name: "SERVFAIL", endpoint: "broken.test", dns: map[string]any{}, wantErr: "rcode", wantRcode: "SERVFAIL"},
		{name: "no answer for the type", endpoint: "www.strata.test", dns: map[string]any{"query_type": "MX"}, wantRcode: "NOERROR"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			server := udp
			if tc.dns["transport"] == "tcp" {
				server = tcp
			}
			tc.dns["server"] = server
			r := probeOne(t, map[string]any{"type": "dns", "endpoint": tc.endpoint, "dns": tc.dns})
			assert.Equal(t, tc.wantErr, errType(r), "error: %v", r.err)
			require.NotNil(t, r.dns)
			assert.Equal(t, tc.wantAnswers, r.dns.answers)
			assert.Equal(t, tc.wantRcode, r.dns.rcode)
		})
	}
}

func TestDNSProbeServerDown(t *testing.T) {
	pc, err := net.ListenPacket("udp", "127.0.0.1:0")
	require.NoError(t, err)
	silent := pc.LocalAddr().String() // a socket that never answers
	t.Cleanup(func() { pc.Close() })
	r := probeOne(t, map[string]any{"type": "dns", "endpoint": "www.strata.test", "timeout": "200ms", "dns": map[string]any{"server": silent}})
	assert.Equal(t, "timeout", errType(r), "error: %v", r.err)
	assert.Nil(t, r.dns)
}
