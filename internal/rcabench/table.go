package rcabench

import (
	"fmt"
	"slices"
	"sort"
	"strings"

	"github.com/otelstrata/strata/internal/benchdoc"
)

// Score is how often a ranking named the right root cause first and within its first three, over the cases.
type Score struct {
	Cases, Top1, Top3 int
}

func (s *Score) add(rank int) {
	s.Cases++
	if rank == 1 {
		s.Top1++
	}
	if rank >= 1 && rank <= 3 {
		s.Top3++
	}
}

func share(n, of int) string {
	if of == 0 {
		return "—"
	}
	return fmt.Sprintf("%.2f", float64(n)/float64(of))
}

// Markdown returns the tables of the outcomes: per variant, the connector's rankings beside the baselines; per
// fault kind, resolution and traffic level for the first variant; and the false incidents of the normal data.
func Markdown(outcomes []*Outcome) string {
	var b strings.Builder
	var variants []string
	byVariant := map[string][]*Outcome{}
	var normal []*Outcome
	for _, o := range outcomes {
		if !slices.Contains(variants, o.Variant) {
			variants = append(variants, o.Variant)
		}
		if o.Case.Fault == nil {
			normal = append(normal, o)
		} else {
			byVariant[o.Variant] = append(byVariant[o.Variant], o)
		}
	}
	b.WriteString("| given | cases | incident opened | top-1, first ranking | top-1 | top-3 | split | incidents outside the fault |\n")
	b.WriteString("|---|---|---|---|---|---|---|---|\n")
	for _, v := range variants {
		os := byVariant[v]
		if len(os) == 0 {
			continue
		}
		var first, latest Score
		opened, split, others := 0, 0, 0
		for _, o := range os {
			first.add(o.Rank(o.First))
			latest.add(o.Rank(o.Latest))
			if !o.Opened.IsZero() {
				opened++
			}
			split += o.Split
			others += o.Others
		}
		fmt.Fprintf(&b, "| %s | %d | %s | %s | **%s** | **%s** | %d | %d |\n", v, len(os), share(opened, len(os)),
			share(first.Top1, len(os)), share(latest.Top1, len(os)), share(latest.Top3, len(os)), split, others)
	}
	if len(variants) > 0 && len(byVariant[variants[0]]) > 0 {
		fmt.Fprintf(&b, "\nThe baselines, on the same cases and scores (the anomaly processor's, while the fault is on):\n\n")
		b.WriteString("| ranking | top-1 | top-3 |\n|---|---|---|\n")
		os := byVariant[variants[0]]
		for _, name := range []string{BaselineScore, BaselineWalk} {
			var s Score
			for _, o := range os {
				if ranked, ok := o.Baselines[name]; ok {
					s.add(o.Rank(ranked))
				}
			}
			if s.Cases > 0 {
				fmt.Fprintf(&b, "| %s | %s | %s |\n", name, share(s.Top1, s.Cases), share(s.Top3, s.Cases))
			}
		}
		var latest Score
		for _, o := range os {
			latest.add(o.Rank(o.Latest))
		}
		fmt.Fprintf(&b, "| the connector (%s) | %s | %s |\n", variants[0], share(latest.Top1, latest.Cases), share(latest.Top3, latest.Cases))
		fmt.Fprintf(&b, "\nPer fault, resolution and traffic (%s; top-1 / top-3 of the latest ranking, cases):\n\n", variants[0])
		b.WriteString(breakdown(os))
	}
	if len(normal) > 0 {
		b.WriteString("\nNormal data (no fault), from the end of the models' warm-up:\n\n")
		b.WriteString("| given | recording | days | services | incidents | per day per 10 services |\n|---|---|---|---|---|---|\n")
		for _, v := range variants {
			days, serviceDays, incidents := 0.0, 0.0, 0
			for _, o := range normal {
				if o.Variant != v {
					continue
				}
				fmt.Fprintf(&b, "| %s | %s | %.1f | %d | %d | %.2f |\n", v, o.Case.Name(), o.Days, o.Case.Services,
					o.Others, perDay(o.Others, o.Days, o.Case.Services))
				days, serviceDays, incidents = days+o.Days, serviceDays+o.Days*float64(o.Case.Services), incidents+o.Others
			}
			if days > 0 {
				fmt.Fprintf(&b, "| **%s** | all | %.1f | | %d | **%.2f** |\n", v, days, incidents, float64(incidents)/serviceDays*10)
			}
		}
	}
	return b.String()
}

// perDay is n incidents over days of an estate of services, per day per ten services.
func perDay(n int, days float64, services int) float64 {
	if days == 0 || services == 0 {
		return 0
	}
	return float64(n) / days / (float64(services) / 10)
}

// breakdown returns the top-1 and top-3 of the latest ranking per fault kind (rows) and resolution and traffic
// (columns).
func breakdown(os []*Outcome) string {
	type key struct{ kind, col string }
	scores := map[key]*Score{}
	var kindsSeen, cols []string
	for _, o := range os {
		col := o.Case.column()
		k := key{o.Case.Fault.Kind, col}
		if scores[k] == nil {
			scores[k] = &Score{}
		}
		scores[k].add(o.Rank(o.Latest))
		if !slices.Contains(kindsSeen, k.kind) {
			kindsSeen = append(kindsSeen, k.kind)
		}
		if !slices.Contains(cols, col) {
			cols = append(cols, col)
		}
	}
	sort.Strings(cols)
	var b strings.Builder
	b.WriteString("| fault | " + strings.Join(cols, " | ") + " |\n|---|" + strings.Repeat("---|", len(cols)) + "\n")
	for _, kind := range kindsSeen {
		b.WriteString("| " + kind)
		for _, col := range cols {
			s := scores[key{kind, col}]
			if s == nil {
				b.WriteString(" | ")
				continue
			}
			fmt.Fprintf(&b, " | %d / %d of %d", s.Top1, s.Top3, s.Cases)
		}
		b.WriteString(" |\n")
	}
	return b.String()
}

// UpdateSection writes body into the RCA section of the BENCHMARKS.md at path.
func UpdateSection(path, body string) error { return benchdoc.Update(path, "rca", body) }
