package main

import (
	"bufio"
	"cmp"
	"encoding/json"
	"errors"
	"fmt"
	"io/fs"
	"os"
	"slices"
	"time"

	"github.com/otelstrata/strata/internal/alertwatch"
)

// alertEpisode is one alert from firing to resolved, as alerts.jsonl holds it.
type alertEpisode struct {
	Rule        string            `json:"rule"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	PendingAt   time.Time         `json:"pendingAt,omitzero"` // when its condition began to hold, for a rule with a for
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      *time.Time        `json:"endsAt,omitempty"` // none while firing at the end of the history
	Receivers   []string          `json:"receivers"`        // those it was sent to
	Sent        int               `json:"notifications"`    // how many notifications carried it
}

// episodes returns each alert that fired, from the alert exporters' changes of state, in order of start, and how
// many alerts of each rule were pending and never fired.
func episodes(changes []alertwatch.Change) ([]alertEpisode, map[string]int) {
	open := map[string]*alertEpisode{}        // firing, by fingerprint
	pending := map[string]alertwatch.Change{} // pending, by fingerprint
	neverFired := map[string]int{}
	var out []*alertEpisode
	for _, c := range changes {
		switch c.State {
		case "pending":
			if _, ok := pending[c.Fingerprint]; ok {
				neverFired[c.Rule]++ // pending again: the last pending recovered without firing
			}
			pending[c.Fingerprint] = c
		case "firing":
			ep := &alertEpisode{Rule: c.Rule, Fingerprint: c.Fingerprint, Labels: c.Labels, Annotations: c.Annotations,
				PendingAt: pending[c.Fingerprint].At, StartsAt: c.At, Receivers: []string{}}
			delete(pending, c.Fingerprint)
			open[c.Fingerprint] = ep
			out = append(out, ep)
		case "resolved":
			if ep := open[c.Fingerprint]; ep != nil {
				at := c.At
				ep.EndsAt = &at
				delete(open, c.Fingerprint)
			}
		}
	}
	for _, c := range pending {
		neverFired[c.Rule]++
	}
	eps := make([]alertEpisode, len(out))
	for i, ep := range out {
		eps[i] = *ep
	}
	slices.SortStableFunc(eps, func(a, b alertEpisode) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	return eps, neverFired
}

// notification is the part of Alertmanager's webhook payload a backtest reads.
type notification struct {
	Receiver string `json:"receiver"`
	Alerts   []struct {
		StartsAt    time.Time `json:"startsAt"`
		Fingerprint string    `json:"fingerprint"`
	} `json:"alerts"`
}

// countNotifications reads the notifications the alert exporters wrote and adds to each episode the receivers
// that were sent it and how many notifications carried it (flapping, inhibition and rate limits may hold some).
func countNotifications(paths []string, eps []alertEpisode) error {
	type key struct {
		fp    string
		start time.Time
	}
	byKey := map[key]*alertEpisode{}
	for i := range eps {
		byKey[key{eps[i].Fingerprint, eps[i].StartsAt}] = &eps[i]
	}
	for _, path := range paths {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the receiver got nothing
		}
		if err != nil {
			return err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		for sc.Scan() {
			var n notification
			if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
				f.Close()
				return fmt.Errorf("%s: %w", path, err)
			}
			for _, a := range n.Alerts {
				ep := byKey[key{a.Fingerprint, a.StartsAt}]
				if ep == nil {
					continue
				}
				if !slices.Contains(ep.Receivers, n.Receiver) {
					ep.Receivers = append(ep.Receivers, n.Receiver)
					slices.Sort(ep.Receivers)
				}
				ep.Sent++
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
	}
	return nil
}
