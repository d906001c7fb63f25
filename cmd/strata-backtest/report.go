package main

import (
	"cmp"
	"encoding/json"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"text/tabwriter"
	"time"

	"github.com/otelstrata/strata/internal/semconv"
)

// ruleCount is what one alert rule did over the history.
type ruleCount struct {
	Rule          string        `json:"rule"`
	Alerts        int           `json:"alerts"`              // episodes that fired
	Resolved      int           `json:"resolved"`            // of them, resolved before the end
	NeverFired    int           `json:"pending_never_fired"` // alerts pending that recovered before their for
	Series        int           `json:"series"`              // distinct label sets that fired
	Watched       int           `json:"watched_series"`      // series of the history named by the rule's metric, when known
	FiringTime    time.Duration `json:"-"`                   // summed over its alerts, up to the end of the history
	FiringSeconds float64       `json:"firing_seconds"`
	PerSeriesDay  float64       `json:"alerts_per_series_day,omitempty"` // alerts / watched series / days
}

// incidentSummary is one incident from its open to its last record.
type incidentSummary struct {
	ID        string    `json:"id"`
	Opened    time.Time `json:"opened"`
	Resolved  time.Time `json:"resolved,omitzero"`
	RootCause string    `json:"root_cause"` // as first named, when it opened
	LastCause string    `json:"last_root_cause"`
	Records   int       `json:"records"`
	Symptoms  int64     `json:"symptoms"`
}

// summary is summary.json: the figures of the console table.
type summary struct {
	From      time.Time         `json:"from"`
	To        time.Time         `json:"to"`
	Input     inputCounts       `json:"input"`
	Elapsed   float64           `json:"elapsed_seconds"`
	Notes     []string          `json:"notes,omitempty"`
	Refused   int               `json:"refused_batches"`
	Rules     []ruleCount       `json:"rules"`
	Incidents []incidentSummary `json:"incidents"`
	Scores    int               `json:"anomaly_points,omitempty"`
}

func summarize(res *result) summary {
	s := summary{From: res.From, To: res.To, Input: res.Input, Elapsed: res.Elapsed.Seconds(), Notes: res.Notes,
		Refused: res.Errors, Scores: res.Scores, Rules: ruleCounts(res), Incidents: incidentSummaries(res.Incidents)}
	return s
}

func ruleCounts(res *result) []ruleCount {
	byRule := map[string]*ruleCount{}
	series := map[string]map[string]bool{}
	for _, a := range res.Alerts {
		rc, ok := byRule[a.Rule]
		if !ok {
			rc = &ruleCount{Rule: a.Rule}
			byRule[a.Rule] = rc
			series[a.Rule] = map[string]bool{}
		}
		rc.Alerts++
		end := res.To
		if a.EndsAt != nil {
			rc.Resolved++
			end = *a.EndsAt
		}
		rc.FiringTime += end.Sub(a.StartsAt)
		series[a.Rule][a.Fingerprint] = true
	}
	days := res.To.Sub(res.From).Hours() / 24
	for rule, n := range res.NeverFired {
		if _, ok := byRule[rule]; !ok {
			byRule[rule] = &ruleCount{Rule: rule}
		}
		byRule[rule].NeverFired = n
	}
	var out []ruleCount
	for _, rc := range byRule {
		rc.Series, rc.Watched, rc.FiringSeconds = len(series[rc.Rule]), res.Watched[rc.Rule], rc.FiringTime.Seconds()
		if days > 0 && rc.Watched > 0 {
			rc.PerSeriesDay = float64(rc.Alerts) / float64(rc.Watched) / days
		}
		out = append(out, *rc)
	}
	slices.SortFunc(out, func(a, b ruleCount) int { return cmp.Or(cmp.Compare(b.Alerts, a.Alerts), cmp.Compare(a.Rule, b.Rule)) })
	return out
}

func incidentSummaries(records []incidentRecord) []incidentSummary {
	byID := map[string]*incidentSummary{}
	var order []string
	for _, r := range records {
		s, ok := byID[r.ID]
		if !ok {
			s = &incidentSummary{ID: r.ID, Opened: r.Time, RootCause: r.RootCause}
			byID[r.ID] = s
			order = append(order, r.ID)
		}
		s.Records++
		s.LastCause = r.RootCause
		if n, ok := r.Attributes[semconv.AttrIncidentSymptoms].(int64); ok {
			s.Symptoms = n
		}
		if r.State == semconv.IncidentResolved {
			s.Resolved = r.Time
		}
	}
	out := make([]incidentSummary, 0, len(order))
	for _, id := range order {
		out = append(out, *byID[id])
	}
	return out
}

// writeOutputs writes alerts.jsonl, summary.json and report.html into the output directory.
func writeOutputs(out string, res *result, s summary) error {
	var lines []byte
	for _, a := range res.Alerts {
		data, err := json.Marshal(a)
		if err != nil {
			return err
		}
		lines = append(append(lines, data...), '\n')
	}
	if err := os.WriteFile(filepath.Join(out, "alerts.jsonl"), lines, 0o644); err != nil {
		return err
	}
	data, err := json.MarshalIndent(s, "", "  ")
	if err != nil {
		return err
	}
	if err := os.WriteFile(filepath.Join(out, "summary.json"), append(data, '\n'), 0o644); err != nil {
		return err
	}
	f, err := os.Create(filepath.Join(out, "report.html"))
	if err != nil {
		return err
	}
	err = writeHTML(f, reportData{Summary: s, Alerts: len(res.Alerts), Timelines: res.Timelines, More: res.MoreSeries,
		Generated: "strata-backtest, " + time.Now().UTC().Format(time.RFC3339)})
	if cerr := f.Close(); err == nil {
		err = cerr
	}
	return err
}

// maxIncidentRows is how many incidents the console lists.
const maxIncidentRows = 20

// printSummary writes the console's summary: the history, what was passed over, alerts per rule, incidents and
// the series that alerted most.
func printSummary(w io.Writer, res *result, s summary, out string) {
	in := s.Input
	fmt.Fprintf(w, "history  %s → %s (%s): %d points in %d series", s.From.Format(time.RFC3339), s.To.Format(time.RFC3339),
		s.To.Sub(s.From).Round(time.Second), in.Points, in.Series)
	if in.Spans > 0 || in.Records > 0 {
		fmt.Fprintf(w, ", %d spans, %d log records", in.Spans, in.Records)
	}
	fmt.Fprintf(w, "; replayed in %.1fs\n", s.Elapsed)
	fmt.Fprintf(w, "input    %d duplicates dropped, %d out of order (sorted), %d counter resets, %d gaps, %d not a number (left out)\n",
		in.Duplicates, in.OutOfOrder, in.Resets, in.Gaps, in.NaN)
	for _, n := range s.Notes {
		fmt.Fprintf(w, "note     %s\n", n)
	}
	if s.Refused > 0 {
		fmt.Fprintf(w, "refused  %d batches; the first: %s\n", s.Refused, res.FirstError)
	}

	fmt.Fprintf(w, "\nALERTS (%d)\n", len(res.Alerts))
	tw := tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
	fmt.Fprintln(tw, "RULE\tALERTS\tRESOLVED\tPENDING ONLY\tSERIES ALERTING/WATCHED\tFIRING\tPER SERIES-DAY")
	for _, rc := range s.Rules {
		watched, perDay := "?", "?"
		if rc.Watched > 0 {
			watched, perDay = fmt.Sprint(rc.Watched), fmt.Sprintf("%.3f", rc.PerSeriesDay)
		}
		fmt.Fprintf(tw, "%s\t%d\t%d\t%d\t%d/%s\t%s\t%s\n", rc.Rule, rc.Alerts, rc.Resolved, rc.NeverFired, rc.Series, watched, rc.FiringTime.Round(time.Second), perDay)
	}
	tw.Flush()

	fmt.Fprintf(w, "\nINCIDENTS (%d)\n", len(s.Incidents))
	if len(s.Incidents) > 0 {
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "OPENED\tFOR\tROOT CAUSE\tLAST ROOT CAUSE\tSYMPTOMS")
		for i, inc := range s.Incidents {
			if i == maxIncidentRows {
				fmt.Fprintf(tw, "… %d more in incidents.jsonl\n", len(s.Incidents)-i)
				break
			}
			dur := "open at end"
			if !inc.Resolved.IsZero() {
				dur = inc.Resolved.Sub(inc.Opened).Round(time.Second).String()
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\t%d\n", inc.Opened.Format(time.RFC3339), dur, inc.RootCause, inc.LastCause, inc.Symptoms)
		}
		tw.Flush()
	}

	if busiest := busiestSeries(res.Alerts, 10); len(busiest) > 0 {
		fmt.Fprintf(w, "\nBUSIEST SERIES\n")
		tw = tabwriter.NewWriter(w, 0, 0, 2, ' ', 0)
		fmt.Fprintln(tw, "ALERTS\tSERIES")
		for _, b := range busiest {
			fmt.Fprintf(tw, "%d\t%s\n", b.n, b.labels)
		}
		tw.Flush()
	}
	fmt.Fprintf(w, "\nwritten  %s: report.html, alerts.jsonl, incidents.jsonl, summary.json", out)
	if s.Scores > 0 {
		fmt.Fprint(w, ", scores.jsonl")
	}
	fmt.Fprintln(w, ", notifications/")
}

type seriesAlerts struct {
	labels string
	n      int
}

// busiestSeries returns the label sets with the most alerts, at most n.
func busiestSeries(alerts []alertEpisode, n int) []seriesAlerts {
	counts := map[string]int{}
	for _, a := range alerts {
		counts[labelText(a.Labels)]++
	}
	out := make([]seriesAlerts, 0, len(counts))
	for l, c := range counts {
		out = append(out, seriesAlerts{l, c})
	}
	slices.SortFunc(out, func(a, b seriesAlerts) int { return cmp.Or(cmp.Compare(b.n, a.n), cmp.Compare(a.labels, b.labels)) })
	return out[:min(n, len(out))]
}

// labelText writes labels as Prometheus does: alertname{k="v",...}.
func labelText(labels map[string]string) string {
	keys := make([]string, 0, len(labels))
	for k := range labels {
		if k != "alertname" {
			keys = append(keys, k)
		}
	}
	slices.Sort(keys)
	parts := make([]string, len(keys))
	for i, k := range keys {
		parts[i] = fmt.Sprintf("%s=%q", k, labels[k])
	}
	return labels["alertname"] + "{" + strings.Join(parts, ",") + "}"
}
