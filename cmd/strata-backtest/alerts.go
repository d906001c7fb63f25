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
)

// alertEpisode is one alert from firing to resolved, as alerts.jsonl holds it.
type alertEpisode struct {
	Rule        string            `json:"rule"`
	Fingerprint string            `json:"fingerprint"`
	Labels      map[string]string `json:"labels"`
	Annotations map[string]string `json:"annotations,omitempty"`
	StartsAt    time.Time         `json:"startsAt"`
	EndsAt      *time.Time        `json:"endsAt,omitempty"` // none while firing at the end of the history
	Receivers   []string          `json:"receivers"`
	Sent        int               `json:"notifications"` // how many notifications carried it
}

// notification is the part of Alertmanager's webhook payload a backtest reads.
type notification struct {
	Receiver string `json:"receiver"`
	Alerts   []struct {
		Status      string            `json:"status"`
		Labels      map[string]string `json:"labels"`
		Annotations map[string]string `json:"annotations"`
		StartsAt    time.Time         `json:"startsAt"`
		EndsAt      *time.Time        `json:"endsAt"`
		Fingerprint string            `json:"fingerprint"`
	} `json:"alerts"`
}

// readAlerts reads the notifications the alert exporters wrote and returns each alert once, from its first
// notification to its resolution, in order of start.
func readAlerts(paths []string) ([]alertEpisode, error) {
	type key struct {
		fp    string
		start time.Time
	}
	byKey := map[key]*alertEpisode{}
	for _, path := range paths {
		f, err := os.Open(path)
		if errors.Is(err, fs.ErrNotExist) {
			continue // the receiver got nothing
		}
		if err != nil {
			return nil, err
		}
		sc := bufio.NewScanner(f)
		sc.Buffer(make([]byte, 0, 1<<20), 64<<20)
		for sc.Scan() {
			var n notification
			if err := json.Unmarshal(sc.Bytes(), &n); err != nil {
				f.Close()
				return nil, fmt.Errorf("%s: %w", path, err)
			}
			for _, a := range n.Alerts {
				k := key{a.Fingerprint, a.StartsAt}
				ep, ok := byKey[k]
				if !ok {
					ep = &alertEpisode{Rule: a.Labels["alertname"], Fingerprint: a.Fingerprint, Labels: a.Labels,
						Annotations: a.Annotations, StartsAt: a.StartsAt}
					byKey[k] = ep
				}
				if !slices.Contains(ep.Receivers, n.Receiver) {
					ep.Receivers = append(ep.Receivers, n.Receiver)
				}
				ep.Sent++
				if a.Status == "resolved" && a.EndsAt != nil {
					ep.EndsAt = a.EndsAt
				}
			}
		}
		f.Close()
		if err := sc.Err(); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
	}
	episodes := make([]alertEpisode, 0, len(byKey))
	for _, ep := range byKey {
		slices.Sort(ep.Receivers)
		episodes = append(episodes, *ep)
	}
	slices.SortFunc(episodes, func(a, b alertEpisode) int {
		return cmp.Or(a.StartsAt.Compare(b.StartsAt), cmp.Compare(a.Rule, b.Rule), cmp.Compare(a.Fingerprint, b.Fingerprint))
	})
	return episodes, nil
}
