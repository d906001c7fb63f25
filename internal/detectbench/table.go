package detectbench

import (
	"fmt"
	"sort"
	"strings"
	"time"
)

// Markdown returns the report's tables: per fault, detected and detected by chance on the twins at each resolution
// and the median delay; on the controls, the false alarms per series-day in the first week and after at each
// resolution and per kind, and what a host of 1,000 series would raise in a day.
func (r Report) Markdown() string {
	var b strings.Builder
	b.WriteString("| fault | deadline | cases | detected (10s / 1m / 5m) | by chance on the twin | median delay |\n|---|---|---|---|---|---|\n")
	for _, f := range Faults {
		all := r.of(f)
		if len(all) == 0 {
			continue
		}
		var perStep []string
		for _, step := range Resolutions {
			var of []Outcome
			for _, o := range all {
				if o.Step == step {
					of = append(of, o)
				}
			}
			perStep = append(perStep, pct(count(of, func(o Outcome) bool { return o.Detected }), len(of)))
		}
		fmt.Fprintf(&b, "| %s | %s | %d | **%s** (%s) | %s | %s |\n", f, deadlineText(f), len(all),
			pct(count(all, func(o Outcome) bool { return o.Detected }), len(all)), strings.Join(perStep, " / "),
			pct(count(all, func(o Outcome) bool { return o.Chance }), len(all)), medianDelay(all))
	}
	b.WriteString("\n| controls | series | false alarms per series-day, first week | after | a day, 1,000 series (after) | after, by view |\n|---|---|---|---|---|---|\n")
	rows := []struct {
		name string
		keep func(ControlOutcome) bool
	}{{"all", func(ControlOutcome) bool { return true }}}
	for _, step := range Resolutions {
		rows = append(rows, struct {
			name string
			keep func(ControlOutcome) bool
		}{"every " + stepText(step), func(o ControlOutcome) bool { return o.Step == step }})
	}
	for _, k := range Kinds {
		rows = append(rows, struct {
			name string
			keep func(ControlOutcome) bool
		}{string(k), func(o ControlOutcome) bool { return o.Kind == k }})
	}
	for _, row := range rows {
		week1, late, n := r.FalseAlarms(row.keep)
		fmt.Fprintf(&b, "| %s | %d | %.3f | **%.3f** | %.0f | %s |\n", row.name, n, week1, late, late*1000, r.views(row.keep))
	}
	return b.String()
}

// FalseAlarms returns the false alarms per series-day of the controls keep selects, in the first week and after,
// and how many controls it selected.
func (r Report) FalseAlarms(keep func(ControlOutcome) bool) (week1, late float64, n int) {
	var a1, aLate int
	var d1, dLate float64
	for _, o := range r.Controls {
		if keep(o) {
			a1, aLate, d1, dLate, n = a1+o.Week1, aLate+o.Late, d1+o.Days1, dLate+o.Days, n+1
		}
	}
	if d1 > 0 {
		week1 = float64(a1) / d1
	}
	if dLate > 0 {
		late = float64(aLate) / dLate
	}
	return week1, late, n
}

// views returns the false alarms after the first week of the controls keep selects, by view.
func (r Report) views(keep func(ControlOutcome) bool) string {
	n := map[string]int{}
	for _, o := range r.Controls {
		if keep(o) {
			for v, c := range o.Views {
				n[v] += c
			}
		}
	}
	var parts []string
	for v, c := range n {
		parts = append(parts, fmt.Sprintf("%s %d", v, c))
	}
	sort.Strings(parts)
	return strings.Join(parts, ", ")
}

// of returns the outcomes of the cases of fault f.
func (r Report) of(f Fault) []Outcome {
	var out []Outcome
	for _, o := range r.Cases {
		if o.Fault == f {
			out = append(out, o)
		}
	}
	return out
}

func count(os []Outcome, keep func(Outcome) bool) int {
	n := 0
	for _, o := range os {
		if keep(o) {
			n++
		}
	}
	return n
}

func pct(n, of int) string {
	if of == 0 {
		return "–"
	}
	return fmt.Sprintf("%.0f %%", 100*float64(n)/float64(of))
}

func medianDelay(os []Outcome) string {
	var points []int
	var delays []time.Duration
	for _, o := range os {
		if o.Detected {
			points, delays = append(points, o.Points), append(delays, o.Delay)
		}
	}
	if len(points) == 0 {
		return "–"
	}
	sort.Ints(points)
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	return fmt.Sprintf("%d points, %s", points[len(points)/2], delays[len(delays)/2])
}

func deadlineText(f Fault) string {
	if points, d := Deadline(f); points > 0 {
		return fmt.Sprintf("%d points", points)
	} else {
		return d.String()
	}
}

func stepText(d time.Duration) string {
	if d < time.Minute {
		return fmt.Sprintf("%ds", int(d.Seconds()))
	}
	return fmt.Sprintf("%dm", int(d.Minutes()))
}

// ByKind returns a table of the share of cases detected, per fault and kind of series.
func (r Report) ByKind() string {
	var b strings.Builder
	b.WriteString("| fault |")
	for _, k := range Kinds {
		fmt.Fprintf(&b, " %s |", k)
	}
	b.WriteString("\n|---|" + strings.Repeat("---|", len(Kinds)) + "\n")
	for _, f := range Faults {
		fmt.Fprintf(&b, "| %s |", f)
		for _, k := range Kinds {
			var of []Outcome
			for _, o := range r.Cases {
				if o.Fault == f && o.Kind == k {
					of = append(of, o)
				}
			}
			fmt.Fprintf(&b, " %s |", pct(count(of, func(o Outcome) bool { return o.Detected }), len(of)))
		}
		b.WriteString("\n")
	}
	return b.String()
}

// Sweep returns one row per report of a sweep (labelled by its setting): the false alarms per series-day of all
// controls in the first week and after, and the share of each fault detected.
func Sweep(setting string, labels []string, reps []Report) string {
	var b strings.Builder
	fmt.Fprintf(&b, "| %s | false alarms per series-day, first week | after |", setting)
	for _, f := range Faults {
		fmt.Fprintf(&b, " %s |", f)
	}
	b.WriteString("\n|---|---|---|" + strings.Repeat("---|", len(Faults)) + "\n")
	for i, r := range reps {
		week1, late, _ := r.FalseAlarms(func(ControlOutcome) bool { return true })
		fmt.Fprintf(&b, "| %s | %.3f | **%.3f** |", labels[i], week1, late)
		for _, f := range Faults {
			of := r.of(f)
			fmt.Fprintf(&b, " %s |", pct(count(of, func(o Outcome) bool { return o.Detected }), len(of)))
		}
		b.WriteString("\n")
	}
	return b.String()
}
