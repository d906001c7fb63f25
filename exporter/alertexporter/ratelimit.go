package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"sort"
	"time"

	"github.com/prometheus/common/model"
)

// limiter is a receiver's token bucket and the digest of what it held back.
type limiter struct {
	tokens float64
	last   time.Time
	held   []*alert
}

// rateLimiter is the stage that bounds the notifications each receiver gets with a token bucket; notifications
// beyond it are folded into one digest, sent with the next token, instead of being dropped.
type rateLimiter struct {
	cfg      RateLimitConfig
	buckets  map[string]*limiter
	digested int // notifications folded into digests since the last log line
}

func (s *rateLimiter) run(receiver string, notes [][]*alert, now time.Time) [][]*alert {
	if s.cfg.PerMinute <= 0 {
		return notes
	}
	var out [][]*alert
	for _, n := range notes {
		if admitted := s.admit(receiver, n, now); len(admitted) > 0 {
			out = append(out, admitted)
		}
	}
	// a digest waiting for a token goes out with the next evaluation that has one
	if digest := s.admit(receiver, nil, now); len(digest) > 0 {
		out = append(out, digest)
	}
	return out
}

// admit takes what may be sent now from the held alerts and the new ones: everything while tokens last; beyond
// them, the alerts wait in the digest (one entry per fingerprint, the latest), sent whole with the next token.
func (s *rateLimiter) admit(receiver string, alerts []*alert, now time.Time) []*alert {
	rl := s.cfg
	l := s.buckets[receiver]
	if l == nil {
		l = &limiter{tokens: float64(max(rl.Burst, 1)), last: now}
		s.buckets[receiver] = l
	}
	l.tokens = min(float64(max(rl.Burst, 1)), l.tokens+now.Sub(l.last).Minutes()*rl.PerMinute)
	l.last = now
	pending := append(l.held, alerts...)
	l.held = nil
	if len(pending) == 0 {
		return nil
	}
	if l.tokens < 1-1e-9 { // (tokens accrue in float steps)
		l.held = dedupe(pending)
		s.digested += len(alerts)
		return nil
	}
	l.tokens--
	return dedupe(pending) // one notification: the digest of everything held, and the new
}

// dedupe keeps the latest of each fingerprint, in a stable order.
func dedupe(alerts []*alert) []*alert {
	latest := map[model.Fingerprint]*alert{}
	for _, a := range alerts {
		latest[a.fingerprint] = a
	}
	out := make([]*alert, 0, len(latest))
	for _, a := range latest {
		out = append(out, a)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].fingerprint < out[j].fingerprint })
	return out
}
