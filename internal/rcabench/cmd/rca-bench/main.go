// Command rca-bench scores a collector configuration's root causes on the root-cause suite (internal/rcabench,
// docs/rca-bench.md): on cases of its own (-cases), or on the demo's cases made from seeds — the development seeds
// by default, on which parameters are chosen, or the evaluation seeds (-eval), whose results `make rca-bench`
// writes into BENCHMARKS.md.
package main

import (
	"errors"
	"flag"
	"fmt"
	"log"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"github.com/otelstrata/strata/internal/rcabench"
)

func main() {
	backtest := flag.String("backtest", "_build/strata-backtest", "the strata-backtest binary (make build)")
	configPath := flag.String("config", "", "the collector configuration scored (default: anomaly and correlation with their defaults)")
	casesDir := flag.String("cases", "", "a directory of cases (or one case) to score instead of the demo's")
	work := flag.String("work", "_build/rca", "where the demo's cases and the runs' outputs go")
	eval := flag.Bool("eval", false, "the demo's evaluation seeds (default: the development seeds)")
	seedList := flag.String("seeds", "", "the demo's seeds, separated by commas (instead of -eval's or the development ones)")
	resList := flag.String("resolutions", "5s,1m", "the demo's resolutions")
	kindList := flag.String("kinds", strings.Join(rcabench.FaultKinds, ","), "the demo's fault kinds")
	keep := flag.Bool("keep", false, "keep the demo cases' history (removed once replayed: 90 MB a 5-second case)")
	jobs := flag.Int("j", runtime.NumCPU(), "runs at once")
	benchmarks := flag.String("benchmarks", "", "update the RCA section of this BENCHMARKS.md (the demo's evaluation seeds, the default configuration)")
	flag.Parse()
	if *benchmarks != "" && (!*eval || *configPath != "" || *casesDir != "" || *seedList != "" || *resList != flag.Lookup("resolutions").DefValue || flag.Lookup("kinds").Value.String() != flag.Lookup("kinds").DefValue) {
		log.Fatal("rca-bench: BENCHMARKS.md holds the default configuration's results on the demo's evaluation seeds")
	}
	config := rcabench.DefaultConfig
	if *configPath != "" {
		var err error
		if config, err = os.ReadFile(*configPath); err != nil {
			log.Fatalf("rca-bench: %v", err)
		}
	}
	start := time.Now()
	var makers []maker
	variants := rcabench.Variants
	var about string
	if *casesDir != "" {
		cases, err := rcabench.ReadCases(*casesDir)
		if err != nil {
			log.Fatalf("rca-bench: %v", err)
		}
		for _, c := range cases {
			makers = append(makers, func() (*rcabench.Case, func(), error) { return c, func() {}, nil })
		}
		variants = []rcabench.Variant{{Name: "as recorded", Topology: true, Anchor: true}}
		about = fmt.Sprintf("%d cases from %s", len(cases), *casesDir)
	} else {
		seeds, which := rcabench.DevSeeds, "development"
		if *eval {
			seeds, which = rcabench.EvalSeeds, "evaluation"
		}
		if *seedList != "" {
			seeds, which = nil, "chosen"
			for f := range strings.SplitSeq(*seedList, ",") {
				s, err := strconv.ParseUint(strings.TrimSpace(f), 10, 64)
				if err != nil {
					log.Fatalf("rca-bench: -seeds %q: want numbers separated by commas", *seedList)
				}
				seeds = append(seeds, s)
			}
		}
		dir := filepath.Join(*work, "cases")
		if err := os.RemoveAll(dir); err != nil {
			log.Fatalf("rca-bench: %v", err)
		}
		makers = demoCases(dir, strings.Split(*kindList, ","), strings.Split(*resList, ","), seeds, *keep)
		normal := len(strings.Split(*resList, ",")) * len(rcabench.Traffics)
		about = fmt.Sprintf("Seeds: %s %v; %d cases of the demo shop's model (%d with a fault, %d of normal data).",
			which, seeds, len(makers), len(makers)-normal, normal)
	}
	outcomes, err := runAll(*backtest, config, makers, variants, filepath.Join(*work, "runs"), *jobs)
	if err != nil {
		log.Fatalf("rca-bench: %v", err)
	}
	body := fmt.Sprintf("%s Made and replayed through strata-backtest in %s (%d at once).\n\n%s", about,
		time.Since(start).Round(time.Second), *jobs, rcabench.Markdown(outcomes))
	fmt.Print(body)
	if *benchmarks != "" {
		if err := rcabench.UpdateSection(*benchmarks, body); err != nil {
			log.Fatalf("rca-bench: %v", err)
		}
	}
}

// demoCases returns the makers of the demo's cases of kinds for seeds under dir, and of its normal recordings (of
// the first seed); their history is removed once replayed unless keep.
func demoCases(dir string, kinds, resolutions []string, seeds []uint64, keep bool) []maker {
	var makers []maker
	for _, res := range rcabench.Resolutions {
		if !slices.Contains(resolutions, res.Name) {
			continue
		}
		for _, tr := range rcabench.Traffics {
			for _, kind := range append(slices.Clone(kinds), "") {
				for i, seed := range seeds {
					if kind == "" && i > 0 {
						break
					}
					makers = append(makers, func() (*rcabench.Case, func(), error) {
						c, err := rcabench.DemoCase(dir, kind, res, tr, seed)
						return c, func() {
							if !keep {
								rcabench.RemoveHistory(c)
							}
						}, err
					})
				}
			}
		}
	}
	return makers
}

// maker makes a case and returns it with what removes its history once read (a demo case's history is large and
// made again at will).
type maker func() (*rcabench.Case, func(), error)

// runAll makes each case and runs it with every variant, jobs cases at once, and returns the outcomes in the order
// of the cases and variants.
func runAll(backtest string, config []byte, makers []maker, variants []rcabench.Variant, out string, jobs int) ([]*rcabench.Outcome, error) {
	outcomes := make([]*rcabench.Outcome, len(makers)*len(variants))
	errs := make([]error, len(makers))
	work := make(chan int)
	var wg sync.WaitGroup
	for range max(1, jobs) {
		wg.Go(func() {
			for i := range work {
				c, done, err := makers[i]()
				if err != nil {
					errs[i] = err
					continue
				}
				for j, v := range variants {
					dir := filepath.Join(out, strconv.Itoa(j), c.Name())
					if outcomes[i*len(variants)+j], err = rcabench.Run(backtest, config, c, v, dir); err != nil {
						errs[i] = err
						break
					}
				}
				done()
			}
		})
	}
	for i := range makers {
		work <- i
	}
	close(work)
	wg.Wait()
	if err := errors.Join(errs...); err != nil {
		return nil, err
	}
	return outcomes, nil
}
