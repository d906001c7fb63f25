package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"context"
	"net/netip"
	"strings"

	"github.com/miekg/dns"
)

// probeDNS asks the target's server for the endpoint's name and checks the response code and the answers.
func probeDNS(ctx context.Context, t *target, _ netip.Addr, r *result) {
	msg := new(dns.Msg)
	msg.SetQuestion(dns.Fqdn(t.cfg.Endpoint), t.dnsType)
	msg.RecursionDesired = t.cfg.DNS.RecursionDesired
	client := &dns.Client{Net: t.cfg.DNS.Transport}
	resp, rtt, err := client.ExchangeContext(ctx, msg, t.dnsServer)
	if err != nil {
		r.err = err
		return
	}
	r.addPhase(phaseProcessing, rtt)
	r.dns = &dnsResult{answers: len(resp.Answer), rcode: dns.RcodeToString[resp.Rcode]}
	if !t.validRcodes[resp.Rcode] {
		r.err = failf("rcode", "response code %s is not valid", dns.RcodeToString[resp.Rcode])
		return
	}
	for _, re := range t.expectedAnswers {
		if !anyAnswerMatches(resp.Answer, re.MatchString) {
			r.err = failf("answer", "no answer matches %q", re)
			return
		}
	}
}

func anyAnswerMatches(answers []dns.RR, match func(string) bool) bool {
	for _, rr := range answers {
		if match(strings.TrimSpace(rr.String())) {
			return true
		}
	}
	return false
}
