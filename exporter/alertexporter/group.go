package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// group is a receiver's group of alerts (by the values of the group_by labels) and its timing.
type group struct {
	pending  map[model.Fingerprint]*alert // waiting for the group's next notification
	created  time.Time
	lastSent time.Time
}

// grouper is the stage that splits a receiver's alerts by the values of the group_by labels and times them as
// Alertmanager does: a new group's first notification waits group_wait (so that alerts firing together go
// together), later ones at least group_interval apart; alerts arriving meanwhile wait in the group (the latest
// state of each).
type grouper struct {
	by             []string
	wait, interval time.Duration
	forgetAfter    time.Duration // a group with nothing waiting that sent nothing for this long is dropped
	groups         map[string]*group
}

func (s *grouper) run(receiver string, notes [][]*alert, now time.Time) [][]*alert {
	for _, n := range notes {
		s.add(receiver, n, now)
	}
	return s.due(receiver, now)
}

// add puts alerts into their groups.
func (s *grouper) add(receiver string, alerts []*alert, now time.Time) {
	for _, a := range alerts {
		var b strings.Builder
		b.WriteString(receiver + "\x00")
		for _, l := range s.by {
			b.WriteString(string(a.labels[model.LabelName(l)]) + "\x00")
		}
		g := s.groups[b.String()]
		if g == nil {
			g = &group{pending: map[model.Fingerprint]*alert{}, created: now}
			s.groups[b.String()] = g
		}
		g.pending[a.fingerprint] = a
	}
}

// due returns the notifications of the receiver's groups that are due now, in a stable order, and empties them.
func (s *grouper) due(receiver string, now time.Time) [][]*alert {
	var keys []string
	for k, g := range s.groups {
		if strings.HasPrefix(k, receiver+"\x00") && len(g.pending) > 0 {
			keys = append(keys, k)
		}
	}
	sort.Strings(keys)
	var out [][]*alert
	for _, k := range keys {
		g := s.groups[k]
		due := g.created.Add(s.wait)
		if !g.lastSent.IsZero() {
			due = g.lastSent.Add(s.interval)
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

// forget drops the groups that have nothing waiting and sent nothing for a while (their alerts are gone).
func (s *grouper) forget(now time.Time) {
	for k, g := range s.groups {
		if len(g.pending) == 0 && now.Sub(g.lastSent) > s.forgetAfter {
			delete(s.groups, k)
		}
	}
}
