package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// InhibitRuleConfig suppresses the notifications of target alerts while a source alert fires, as Alertmanager's
// inhibit rules do.
type InhibitRuleConfig struct {
	// SourceMatch and TargetMatch are label values the source and target alerts have.
	SourceMatch map[string]string `mapstructure:"source_match"`
	TargetMatch map[string]string `mapstructure:"target_match"`
	// Equal are labels the source and the target must have the same values of.
	Equal []string `mapstructure:"equal"`
}

// FlappingConfig detects alerts that fire and resolve again and again.
type FlappingConfig struct {
	// Transitions within Window make an alert flapping: its notifications stop until it has been stable for Window.
	// 0 turns detection off. Default 4 in 10m.
	Transitions int           `mapstructure:"transitions"`
	Window      time.Duration `mapstructure:"window"`
}

// RateLimitConfig bounds the notifications a receiver gets: a token bucket; notifications beyond it are folded
// into one digest, sent as soon as a token is there again, instead of being dropped.
type RateLimitConfig struct {
	// PerMinute notifications, with bursts of Burst. 0 (default): no limit.
	PerMinute float64 `mapstructure:"per_minute"`
	Burst     int     `mapstructure:"burst"`
}

func matchesLabels(ls model.LabelSet, want map[string]string) bool {
	for k, v := range want {
		if string(ls[model.LabelName(k)]) != v {
			return false
		}
	}
	return true
}

// inhibited says whether an alert's notification is suppressed: by an inhibit rule whose source fires with equal
// labels, or — with inhibit_by_incident — because it is a symptom inside an incident whose alert fires: its
// service or host is among the incident's, and it is not the incident's root cause.
func (e *alertExporter) inhibited(a *alert) bool {
	if a.rule.cfg.Kind == kindIncident {
		return false
	}
	for _, ir := range e.cfg.InhibitRules {
		if !matchesLabels(a.labels, ir.TargetMatch) {
			continue
		}
		for _, src := range e.alerts {
			if src.fingerprint == a.fingerprint || src.state != stateFiring || !matchesLabels(src.labels, ir.SourceMatch) {
				continue
			}
			equal := true
			for _, l := range ir.Equal {
				equal = equal && src.labels[model.LabelName(l)] == a.labels[model.LabelName(l)]
			}
			if equal {
				return true
			}
		}
	}
	if !e.cfg.InhibitByIncident {
		return false
	}
	service, host := string(a.labels["service_name"]), string(a.labels["host_name"])
	for _, src := range e.alerts {
		if src.rule.cfg.Kind != kindIncident || src.state != stateFiring {
			continue
		}
		root := src.annotations["root_cause"]
		if root == "service "+service || root == "host "+host {
			continue // the root cause's own alert is what the incident is about: it is sent
		}
		if service != "" && listed(src.annotations["services"], service) || host != "" && listed(src.annotations["hosts"], host) {
			return true
		}
	}
	return false
}

func listed(list, name string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == name {
			return true
		}
	}
	return false
}

// flapping records a transition of an alert (firing or resolved) and says whether the alert now flaps.
func (e *alertExporter) flapping(a *alert, now time.Time) bool {
	f := e.cfg.Flapping
	if f.Transitions <= 0 {
		return false
	}
	h := e.history[a.fingerprint]
	h = append(h, now)
	kept := h[:0]
	for _, t := range h {
		if now.Sub(t) <= f.Window {
			kept = append(kept, t)
		}
	}
	if len(kept) > f.Transitions {
		kept = kept[len(kept)-f.Transitions:]
	}
	e.history[a.fingerprint] = kept
	return len(kept) >= f.Transitions
}

// pruneFlapHistory forgets the transitions of alerts whose last one is older than the flapping window: they can no
// longer make the alert flap, and the alerts they belong to may be long gone.
func (e *alertExporter) pruneFlapHistory(now time.Time) {
	for fp, h := range e.history {
		if len(h) == 0 || now.Sub(h[len(h)-1]) > e.cfg.Flapping.Window {
			delete(e.history, fp)
			delete(e.flaps, fp)
		}
	}
}

// limiter is a receiver's token bucket and the digest of what it held back.
type limiter struct {
	tokens float64
	last   time.Time
	held   []*alert
}

// admit takes what may be sent now from the held alerts and the new ones: everything while tokens last; beyond
// them, the alerts wait in the digest (one entry per fingerprint, the latest), sent whole with the next token.
func (e *alertExporter) admit(receiver string, alerts []*alert, now time.Time) []*alert {
	rl := e.cfg.RateLimit
	if rl.PerMinute <= 0 {
		return alerts
	}
	l := e.limiters[receiver]
	if l == nil {
		l = &limiter{tokens: float64(max(rl.Burst, 1)), last: now}
		e.limiters[receiver] = l
	}
	l.tokens = minFloat(float64(max(rl.Burst, 1)), l.tokens+now.Sub(l.last).Minutes()*rl.PerMinute)
	l.last = now
	pending := append(l.held, alerts...)
	l.held = nil
	if len(pending) == 0 {
		return nil
	}
	if l.tokens < 1-1e-9 { // (tokens accrue in float steps)
		l.held = dedupe(pending)
		e.digested += len(alerts)
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

func minFloat(a, b float64) float64 {
	if a < b {
		return a
	}
	return b
}

// group is a receiver's group of alerts (by the values of the group_by labels) and its timing.
type group struct {
	pending  map[model.Fingerprint]*alert // waiting for the group's next notification
	created  time.Time
	lastSent time.Time
}

// groups splits a receiver's notifications by the values of the group_by labels and times them as Alertmanager
// does: a new group's first notification waits group_wait (so that alerts firing together go together), later
// ones at least group_interval apart; alerts arriving meanwhile wait in the group (the latest state of each).
func (e *alertExporter) groups(receiver string, alerts []*alert, now time.Time) [][]*alert {
	for _, a := range alerts {
		var b strings.Builder
		b.WriteString(receiver + "\x00")
		for _, l := range e.cfg.GroupBy {
			b.WriteString(string(a.labels[model.LabelName(l)]) + "\x00")
		}
		g := e.groupsByKey[b.String()]
		if g == nil {
			g = &group{pending: map[model.Fingerprint]*alert{}, created: now}
			e.groupsByKey[b.String()] = g
		}
		g.pending[a.fingerprint] = a
	}
	var keys []string
	for k, g := range e.groupsByKey {
		if strings.HasPrefix(k, receiver+"\x00") && len(g.pending) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out [][]*alert
	for _, k := range keys {
		g := e.groupsByKey[k]
		due := g.created.Add(e.cfg.GroupWait)
		if !g.lastSent.IsZero() {
			due = g.lastSent.Add(e.cfg.GroupInterval)
		}
		if now.Before(due) {
			continue
		}
		batch := make([]*alert, 0, len(g.pending))
		for _, a := range g.pending {
			batch = append(batch, a)
		}
		sort.Slice(batch, func(i, j int) bool { return batch[i].fingerprint < batch[j].fingerprint })
		out = append(out, batch)
		g.pending, g.lastSent = map[model.Fingerprint]*alert{}, now
	}
	return out
}

// forgetGroups drops the groups that have nothing waiting and sent nothing for a while (their alerts are gone).
func (e *alertExporter) forgetGroups(now time.Time) {
	for k, g := range e.groupsByKey {
		if len(g.pending) == 0 && now.Sub(g.lastSent) > max(e.cfg.GroupInterval, e.cfg.ResendInterval)*2 {
			delete(e.groupsByKey, k)
		}
	}
}
