// Command nab runs the anomaly detector of the anomaly processor, with its default configuration (the same for
// every file; -sequence=false and -range-margin measure other configurations), over the Numenta Anomaly
// Benchmark corpus in time order, and scores it with NAB's three profiles.
// It reports the points per second of the detector and its memory per series, writes the per-row scores in NAB's
// result layout when asked (-out), and the results into BENCHMARKS.md (-benchmarks). `make nab` runs it.
package main

import (
	"flag"
	"fmt"
	"log"
	"strings"
	"time"

	"github.com/otelstrata/strata/internal/anomaly"
	"github.com/otelstrata/strata/internal/benchdoc"
	"github.com/otelstrata/strata/internal/detectbench"
	"github.com/otelstrata/strata/internal/nab"
)

func main() {
	cfg := anomaly.DefaultConfig()
	data := flag.String("data", "../shared/data/nab", "the NAB corpus: a checkout of numenta/NAB (its data/, labels/)")
	out := flag.String("out", "", "write the per-row scores here, as <out>/strata/<category>/strata_<file>.csv")
	benchmarks := flag.String("benchmarks", "", "update the NAB section of this BENCHMARKS.md (the default configuration only)")
	flag.BoolVar(&cfg.Sequence, "sequence", cfg.Sequence, "keep the sequence memory")
	flag.Float64Var(&cfg.RangeMargin, "range-margin", cfg.RangeMargin, "the margin beyond the range seen (0: that view off)")
	flag.Parse()
	if *benchmarks != "" && cfg != anomaly.DefaultConfig() {
		log.Fatal("nab: BENCHMARKS.md holds the default configuration's scores; -sequence=false and -range-margin measure others")
	}
	if err := run(*data, *out, *benchmarks, cfg); err != nil {
		log.Fatalf("nab: %v", err)
	}
}

func run(data, out, benchmarks string, cfg anomaly.Config) error {
	files, err := nab.Load(data)
	if err != nil {
		return fmt.Errorf("%w (point -data or NAB_DATA at a checkout of https://github.com/numenta/NAB)", err)
	}
	scores := make([][]float64, len(files))
	points := 0
	start := time.Now()
	for i, f := range files {
		d := anomaly.New(cfg)
		scores[i] = make([]float64, len(f.Values))
		for j, v := range f.Values {
			scores[i][j] = d.Update(f.Timestamps[j], v).Score
		}
		points += len(f.Values)
	}
	elapsed := time.Since(start)
	if out != "" {
		for i, f := range files {
			if err := nab.WriteScores(out, "strata", f, scores[i]); err != nil {
				return err
			}
		}
	}
	var b strings.Builder
	fmt.Fprintf(&b, "| profile | score | threshold | windows detected | false positives |\n|---|---|---|---|---|\n")
	for _, p := range nab.Profiles {
		r, err := nab.Score(files, scores, p)
		if err != nil {
			return err
		}
		fmt.Fprintf(&b, "| %s | **%.2f** | %.6f | %d of %d | %d |\n", p.Name, r.Score, r.Threshold, r.TP, r.TP+r.FN, r.FP)
	}
	perSecond := float64(points) / elapsed.Seconds()
	perSeries := detectbench.BytesPerSeries(cfg)
	fmt.Fprintf(&b, "\nDetector speed: %.0f points a second on one core (%d points in %s); memory: %d bytes per series.\n",
		perSecond, points, elapsed.Round(time.Millisecond), perSeries)
	fmt.Print(b.String())
	if benchmarks != "" {
		return benchdoc.Update(benchmarks, "nab", b.String())
	}
	return nil
}
