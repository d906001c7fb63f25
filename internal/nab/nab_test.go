package nab

import (
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// dataDir is the NAB corpus: $NAB_DATA, or the workplace's copy beside this repository. The corpus is not part of
// the repository and cannot be installed by it (its licence and size keep it out): without it the tests skip.
func dataDir(t *testing.T) string {
	t.Helper()
	dir := os.Getenv("NAB_DATA")
	if dir == "" {
		dir = filepath.Join("..", "..", "..", "shared", "data", "nab")
	}
	if _, err := os.Stat(filepath.Join(dir, "labels", "combined_windows.json")); err != nil {
		t.Skipf("the NAB corpus is not at %s (set NAB_DATA to a checkout of numenta/NAB)", dir)
	}
	return dir
}

func TestLoad(t *testing.T) {
	files, err := Load(dataDir(t))
	require.NoError(t, err)
	require.Len(t, files, 58)
	rows, windows, without := 0, 0, 0
	for _, f := range files {
		rows += len(f.Values)
		windows += len(f.Windows)
		if len(f.Windows) == 0 {
			without++
		}
	}
	assert.Equal(t, 365558, rows)
	assert.Equal(t, 116, windows)
	assert.Equal(t, 6, without)
	assert.Equal(t, 750, ProbationaryPeriod(10000))
	assert.Equal(t, 150, ProbationaryPeriod(1000))
}

// TestNumentaScores scores the published per-row scores of the Numenta HTM detector and gets NAB's published
// results: standard 70.10, reward_low_FN_rate 74.32, reward_low_FP_rate 63.21 with the sweep (63.12 at NAB's stored
// threshold 0.5751955, which an older optimiser found).
func TestNumentaScores(t *testing.T) {
	dir := dataDir(t)
	files, err := Load(dir)
	require.NoError(t, err)
	scores := make([][]float64, len(files))
	for i, f := range files {
		category, base := filepath.Split(f.Name)
		scores[i], err = ReadScores(filepath.Join(dir, "results", "numenta", category, "numenta_"+base))
		require.NoError(t, err)
	}
	want := map[string]float64{"standard": 70.10, "reward_low_FN_rate": 74.32, "reward_low_FP_rate": 63.21}
	for _, p := range Profiles {
		r, err := Score(files, scores, p)
		require.NoError(t, err)
		t.Logf("%s: %.2f at threshold %v (TP %d, FP %d, FN %d)", p.Name, r.Score, r.Threshold, r.TP, r.FP, r.FN)
		assert.InDelta(t, want[p.Name], r.Score, 0.005, p.Name)
	}
	r, err := ScoreAt(files, scores, Profiles[1], 0.5751955)
	require.NoError(t, err)
	assert.InDelta(t, 63.12, r.Score, 0.005)
}

// TestScoringRules checks the rules on a file of 100 rows (probation 15) with one window [50, 59].
func TestScoringRules(t *testing.T) {
	f := &File{Name: "x/y.csv", Values: make([]float64, 100), Windows: [][2]int{{50, 59}}}
	score := func(detections ...int) float64 {
		s := make([]float64, 100)
		for _, i := range detections {
			s[i] = 1
		}
		r, err := ScoreAt([]*File{f}, [][]float64{s}, Profiles[0], 1)
		require.NoError(t, err)
		return r.Raw
	}
	assert.InDelta(t, -1, score(), 1e-9, "a missed window costs fnWeight")
	assert.InDelta(t, 1, score(50), 1e-9, "a detection at the left edge earns tpWeight")
	assert.InDelta(t, score(50), score(50, 55, 59), 1e-9, "only the first detection in a window counts")
	assert.Less(t, score(59), score(55))
	assert.Greater(t, score(59), 0.0)
	assert.InDelta(t, -1, score(10), 1e-9, "the probationary period is not scored")
	assert.InDelta(t, -1-0.11, score(20), 1e-9, "an FP before the first window costs fpWeight")
	assert.Greater(t, score(61), score(95), "an FP just after a window costs less than one far after")
	assert.InDelta(t, -1-0.11, score(95), 1e-9, "more than 3 window widths after: the full fpWeight")
}
