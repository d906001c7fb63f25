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
	"os"
	"runtime"
	"strings"
	"time"

	"github.com/otelstrata/strata/internal/anomaly"
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
	perSeries := bytesPerSeries(files, cfg)
	fmt.Fprintf(&b, "\nDetector speed: %.0f points a second on one core (%d points in %s); memory: %d bytes per series.\n",
		perSecond, points, elapsed.Round(time.Millisecond), perSeries)
	fmt.Print(b.String())
	if benchmarks != "" {
		return updateSection(benchmarks, b.String())
	}
	return nil
}

// bytesPerSeries measures the heap taken by 10,000 detectors that have each seen a file's points.
func bytesPerSeries(files []*nab.File, cfg anomaly.Config) int {
	const n = 10000
	f := files[0]
	var before, after runtime.MemStats
	runtime.GC()
	runtime.ReadMemStats(&before)
	ds := make([]*anomaly.Detector, n)
	for i := range ds {
		ds[i] = anomaly.New(cfg)
		for j := range min(len(f.Values), 200) {
			ds[i].Update(f.Timestamps[j], f.Values[j])
		}
	}
	runtime.GC()
	runtime.ReadMemStats(&after)
	runtime.KeepAlive(ds)
	return int((after.HeapAlloc - before.HeapAlloc) / n)
}

const (
	sectionStart = "<!-- nab:start (written by make nab) -->"
	sectionEnd   = "<!-- nab:end -->"
)

// updateSection replaces the text between the NAB markers of BENCHMARKS.md (they must be there).
func updateSection(path, body string) error {
	data, err := os.ReadFile(path)
	if err != nil {
		return err
	}
	text := string(data)
	i, j := strings.Index(text, sectionStart), strings.Index(text, sectionEnd)
	if i < 0 || j < i {
		return fmt.Errorf("%s has no %q ... %q section", path, sectionStart, sectionEnd)
	}
	text = text[:i+len(sectionStart)] + "\n" + body + text[j:]
	return os.WriteFile(path, []byte(text), 0o644)
}
