// Command detect-bench runs the anomaly detector over the detection suite (internal/detectbench): on the
// development seeds by default, where parameters are chosen, or on the evaluation seeds (-eval), whose results
// `make detect-bench` writes into BENCHMARKS.md. -threshold scores alarms as a fixed score threshold instead of
// the detector's own alarm, as the processor did before alarm_budget; -sweep adds a row per alarm budget listed.
package main

import (
	"flag"
	"fmt"
	"log"
	"strconv"
	"strings"
	"time"

	"github.com/otelstrata/strata/internal/anomaly"
	"github.com/otelstrata/strata/internal/detectbench"
)

func main() {
	cfg := anomaly.DefaultConfig()
	eval := flag.Bool("eval", false, "the evaluation seeds (default: the development seeds)")
	threshold := flag.Float64("threshold", 0, "an alarm is a score at or above this (default: the detector's alarm)")
	benchmarks := flag.String("benchmarks", "", "update the detection section of this BENCHMARKS.md (-eval, the defaults only)")
	byKind := flag.Bool("kinds", false, "also print the detections per fault and kind of series")
	sweep := flag.String("sweep", "", "alarm budgets to compare, separated by commas (e.g. 0.001,0.1,1)")
	flag.Float64Var(&cfg.AlarmBudget, "alarm-budget", cfg.AlarmBudget, "false alarms per series per day")
	flag.DurationVar(&cfg.AlarmAfter, "alarm-after", cfg.AlarmAfter, "how long after its first point a series may alarm")
	flag.Parse()
	if *benchmarks != "" && (!*eval || *threshold != 0 || cfg != anomaly.DefaultConfig()) {
		log.Fatal("detect-bench: BENCHMARKS.md holds the defaults' results on the evaluation seeds")
	}
	var budgets []float64
	if *sweep != "" {
		for f := range strings.SplitSeq(*sweep, ",") {
			b, err := strconv.ParseFloat(strings.TrimSpace(f), 64)
			if err != nil || b <= 0 || *threshold != 0 {
				log.Fatalf("detect-bench: -sweep %q: budgets above 0, separated by commas, without -threshold", *sweep)
			}
			budgets = append(budgets, b)
		}
	}
	seeds := detectbench.DevSeeds
	if *eval {
		seeds = detectbench.EvalSeeds
	}
	alarmsOf := func(cfg anomaly.Config) detectbench.Alarms {
		return func(s *detectbench.Series) []string {
			d := anomaly.New(cfg)
			out := make([]string, len(s.Times))
			for i, t := range s.Times {
				r := d.Update(t, s.Values[i])
				out[i] = r.View
				if *threshold > 0 && r.Score >= *threshold {
					out[i] = "score"
				} else if *threshold > 0 {
					out[i] = ""
				}
			}
			return out
		}
	}
	var cases []detectbench.Case
	var controls []detectbench.Series
	for _, seed := range seeds {
		cases = append(cases, detectbench.Cases(seed)...)
		controls = append(controls, detectbench.Controls(seed)...)
	}
	start := time.Now()
	rep := detectbench.Run(cases, controls, alarmsOf(cfg))
	var b strings.Builder
	which := "development"
	if *eval {
		which = "evaluation"
	}
	fmt.Fprintf(&b, "Seeds: %s %v; %d cases (each with its twin), %d controls of %d days; %d points in %s.\n\n",
		which, seeds, len(cases), len(controls), detectbench.Days, rep.Points, time.Since(start).Round(time.Second))
	b.WriteString(rep.Markdown())
	if *byKind {
		b.WriteString("\nDetected, per kind of series:\n\n" + rep.ByKind())
	}
	if len(budgets) > 0 {
		labels, reps := []string{fmt.Sprint(cfg.AlarmBudget, " (the tables above)")}, []detectbench.Report{rep}
		for _, budget := range budgets {
			c := cfg
			c.AlarmBudget = budget
			labels, reps = append(labels, fmt.Sprint(budget)), append(reps, detectbench.Run(cases, controls, alarmsOf(c)))
		}
		b.WriteString("\nThe same series at other alarm budgets (detected: within the deadlines above):\n\n" +
			detectbench.Sweep("alarm_budget", labels, reps))
	}
	fmt.Fprintf(&b, "\nDetector speed: %.0f points a second on one core; memory: %d bytes per series.\n",
		float64(rep.Points)/rep.Busy.Seconds(), detectbench.BytesPerSeries(cfg))
	fmt.Print(b.String())
	if *benchmarks != "" {
		if err := detectbench.UpdateSection(*benchmarks, b.String()); err != nil {
			log.Fatalf("detect-bench: %v", err)
		}
	}
}
