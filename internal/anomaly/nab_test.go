package anomaly

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/otelstrata/strata/internal/nab"
)

// runNAB runs the default detector over every NAB file and returns the per-row scores.
func runNAB(files []*nab.File, cfg Config) [][]float64 {
	scores := make([][]float64, len(files))
	for i, f := range files {
		d := New(cfg)
		scores[i] = make([]float64, len(f.Values))
		for j, v := range f.Values {
			scores[i][j] = d.Update(f.Timestamps[j], v).Score
		}
	}
	return scores
}

func nabFiles(t testing.TB) []*nab.File {
	dir := os.Getenv("NAB_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "nab")
	}
	files, err := nab.Load(dir)
	if err != nil {
		t.Skipf("the NAB corpus is not at %s: %v", dir, err)
	}
	return files
}

// TestNABScore: the defaults score at least what BENCHMARKS.md says they do (a change that loses NAB points fails
// here, not only in `make nab`).
func TestNABScore(t *testing.T) {
	files := nabFiles(t)
	scores := runNAB(files, DefaultConfig())
	floor := map[string]float64{"standard": 71.0, "reward_low_FP_rate": 61.7, "reward_low_FN_rate": 76.9}
	for _, p := range nab.Profiles {
		r, err := nab.Score(files, scores, p)
		if err != nil {
			t.Fatal(err)
		}
		t.Logf("%s: %.2f (threshold %v, TP %d FP %d FN %d)", p.Name, r.Score, r.Threshold, r.TP, r.FP, r.FN)
		if r.Score < floor[p.Name] {
			t.Errorf("%s: %.2f, below the %.1f claimed", p.Name, r.Score, floor[p.Name])
		}
	}
}
