package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"text/tabwriter"
	"time"
)

// ruleChange is what a second configuration changes of one rule's alerts on the same history.
type ruleChange struct {
	Rule    string         `json:"rule"`
	A       int            `json:"alerts_a"`
	B       int            `json:"alerts_b"`
	Removed []alertEpisode `json:"removed"` // fired with the first configuration only
	Added   []alertEpisode `json:"added"`   // fired with the second only
}

// comparison is compare.json: two configurations on the same history, alert by alert.
type comparison struct {
	A          string       `json:"a"`
	B          string       `json:"b"`
	Rules      []ruleChange `json:"rules"`
	IncidentsA int          `json:"incidents_a"`
	IncidentsB int          `json:"incidents_b"`
}

// compare matches the alerts of two runs: an alert of one is the same as an alert of the other when they share
// their rule and labels and their firing overlaps (a longer `for` starts the same alert later).
func compare(a, b *result, nameA, nameB string) comparison {
	c := comparison{A: nameA, B: nameB, IncidentsA: len(incidentSummaries(a.Incidents)), IncidentsB: len(incidentSummaries(b.Incidents))}
	byRule := map[string]*ruleChange{}
	change := func(rule string) *ruleChange {
		if byRule[rule] == nil {
			byRule[rule] = &ruleChange{Rule: rule, Removed: []alertEpisode{}, Added: []alertEpisode{}}
		}
		return byRule[rule]
	}
	matched := make([]bool, len(b.Alerts))
	for _, x := range a.Alerts {
		rc := change(x.Rule)
		rc.A++
		found := false
		for i, y := range b.Alerts {
			if !matched[i] && y.Rule == x.Rule && labelText(y.Labels) == labelText(x.Labels) && overlap(x, y, a.To) {
				matched[i], found = true, true
				break
			}
		}
		if !found {
			rc.Removed = append(rc.Removed, x)
		}
	}
	for i, y := range b.Alerts {
		rc := change(y.Rule)
		rc.B++
		if !matched[i] {
			rc.Added = append(rc.Added, y)
		}
	}
	for _, rc := range byRule {
		c.Rules = append(c.Rules, *rc)
	}
	slices.SortFunc(c.Rules, func(x, y ruleChange) int { return cmp.Compare(x.Rule, y.Rule) })
	return c
}

// overlap reports whether two alerts fired at a common time (one firing at the end fires until end).
func overlap(x, y alertEpisode, end time.Time) bool {
	until := func(a alertEpisode) time.Time {
		if a.EndsAt == nil {
			return end
		}
		return *a.EndsAt
	}
	return !x.StartsAt.After(until(y)) && !y.StartsAt.After(until(x))
}

// writeComparison writes compare.json into out and the comparison's table to w.
func writeComparison(w io.Writer, out string, c comparison) error {
	data, err := json.MarshalIndent(c, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "compare.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	fmt.Fprintf(w, "\nCOMPARED  %s (a) with %s (b), on the same history\n", c.A, c.B)
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tALERTS A\tALERTS B\tONLY IN A\tONLY IN B")
	for _, rc := range c.Rules {
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d\n", rc.Rule, rc.A, rc.B, len(rc.Removed), len(rc.Added))
	}
	fmt.Fprintf(tw, "incidents\t%d\t%d\t\t\n", c.IncidentsA, c.IncidentsB)
	tw.Flush()
	fmt.Fprintf(w, "written  %s: compare.json (the alerts only in a, removed by b, and only in b, added)\n", out)
	return nil
}
