// Package nab reads the Numenta Anomaly Benchmark corpus and scores a detector's per-row anomaly scores as NAB does:
// labelled windows, a probationary period, the scaled sigmoid that rewards early detection and forgives detections
// just after a window, three application profiles, a threshold swept over every score the detector gave, and the
// normalisation between the null detector and a perfect one. The data set is not part of this repository: it is
// read from a checkout of numenta/NAB (or a copy of its data/, labels/ and config/).
package nab // import "github.com/otelstrata/strata/internal/nab"

import (
	"encoding/csv"
	"encoding/json"
	"fmt"
	"io/fs"
	"math"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
	"time"
)

// TimeLayout is how NAB writes timestamps.
const TimeLayout = "2006-01-02 15:04:05"

// File is one data file of the corpus, with its labelled windows as row indices.
type File struct {
	Name       string // relative to data/, e.g. realKnownCause/nyc_taxi.csv
	Timestamps []time.Time
	Values     []float64
	Windows    [][2]int // [first, last] row of each window, inclusive
}

// Profile is a cost matrix of NAB.
type Profile struct {
	Name                         string
	TPWeight, FNWeight, FPWeight float64
}

// Profiles are NAB's three application profiles, in NAB's order.
var Profiles = []Profile{
	{"standard", 1, 1, 0.11},
	{"reward_low_FP_rate", 1, 1, 0.22},
	{"reward_low_FN_rate", 1, 2, 0.11},
}

// Load reads every data file under dir/data with the windows of dir/labels/combined_windows.json, in name order.
func Load(dir string) ([]*File, error) {
	raw, err := os.ReadFile(filepath.Join(dir, "labels", "combined_windows.json"))
	if err != nil {
		return nil, err
	}
	var windows map[string][][2]string
	if err := json.Unmarshal(raw, &windows); err != nil {
		return nil, fmt.Errorf("combined_windows.json: %w", err)
	}
	var files []*File
	root := filepath.Join(dir, "data")
	err = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || d.IsDir() || !strings.HasSuffix(path, ".csv") {
			return err
		}
		name, _ := filepath.Rel(root, path)
		name = filepath.ToSlash(name)
		f, err := readFile(path, name)
		if err != nil {
			return err
		}
		labels, ok := windows[name]
		if !ok {
			return fmt.Errorf("%s: no entry in combined_windows.json", name)
		}
		for _, w := range labels {
			first, last, err := f.window(w)
			if err != nil {
				return fmt.Errorf("%s: window %v: %w", name, w, err)
			}
			f.Windows = append(f.Windows, [2]int{first, last})
		}
		files = append(files, f)
		return nil
	})
	if err != nil {
		return nil, err
	}
	if len(files) == 0 {
		return nil, fmt.Errorf("no data file under %s", root)
	}
	sort.Slice(files, func(i, j int) bool { return files[i].Name < files[j].Name })
	return files, nil
}

func readFile(path, name string) (*File, error) {
	rows, err := readCSV(path)
	if err != nil {
		return nil, err
	}
	f := &File{Name: name}
	for i, row := range rows {
		ts, err := time.Parse(TimeLayout, row[0])
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", name, i+2, err)
		}
		v, err := strconv.ParseFloat(row[1], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", name, i+2, err)
		}
		f.Timestamps = append(f.Timestamps, ts)
		f.Values = append(f.Values, v)
	}
	return f, nil
}

// readCSV reads the rows of a CSV file with a header and two columns.
func readCSV(path string) ([][]string, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	if len(rows) < 2 || len(rows[0]) != 2 {
		return nil, fmt.Errorf("%s: want a header and rows of two columns", path)
	}
	return rows[1:], nil
}

// window finds the rows of a labelled window: the timestamps from its start to its end, inclusive.
func (f *File) window(w [2]string) (int, int, error) {
	start, err := time.Parse("2006-01-02 15:04:05.000000", w[0])
	if err != nil {
		return 0, 0, err
	}
	end, err := time.Parse("2006-01-02 15:04:05.000000", w[1])
	if err != nil {
		return 0, 0, err
	}
	first := sort.Search(len(f.Timestamps), func(i int) bool { return !f.Timestamps[i].Before(start) })
	last := sort.Search(len(f.Timestamps), func(i int) bool { return f.Timestamps[i].After(end) }) - 1
	if first > last {
		return 0, 0, fmt.Errorf("no row in it")
	}
	return first, last, nil
}

// ProbationaryPeriod returns how many first rows of a file are not scored: 15 %, at most 750.
func ProbationaryPeriod(rows int) int {
	return min(int(math.Floor(0.15*float64(rows))), 750)
}

// scaledSigmoid returns NAB's weighting of a detection by its position relative to a window.
func scaledSigmoid(x float64) float64 {
	if x > 3 {
		return -1
	}
	return 2/(1+math.Exp(5*x)) - 1
}

// ReadScores reads a detector's per-row scores in NAB's result layout (columns timestamp and anomaly_score, with
// a header; NAB's own result files have more columns, of which these two are read by name).
func ReadScores(path string) ([]float64, error) {
	fh, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer fh.Close()
	rows, err := csv.NewReader(fh).ReadAll()
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	col := -1
	if len(rows) > 0 {
		for i, name := range rows[0] {
			if name == "anomaly_score" {
				col = i
			}
		}
	}
	if col < 0 {
		return nil, fmt.Errorf("%s: no anomaly_score column", path)
	}
	scores := make([]float64, 0, len(rows)-1)
	for i, row := range rows[1:] {
		v, err := strconv.ParseFloat(row[col], 64)
		if err != nil {
			return nil, fmt.Errorf("%s: row %d: %w", path, i+2, err)
		}
		scores = append(scores, v)
	}
	return scores, nil
}

// WriteScores writes a file's scores in NAB's result layout: <dir>/<detector>/<category>/<detector>_<file>.
func WriteScores(dir, detector string, f *File, scores []float64) error {
	category, base := filepath.Split(f.Name)
	out := filepath.Join(dir, detector, category, detector+"_"+base)
	if err := os.MkdirAll(filepath.Dir(out), 0o755); err != nil {
		return err
	}
	var b strings.Builder
	b.WriteString("timestamp,anomaly_score\n")
	for i, ts := range f.Timestamps {
		fmt.Fprintf(&b, "%s,%s\n", ts.Format(TimeLayout), strconv.FormatFloat(scores[i], 'g', -1, 64))
	}
	return os.WriteFile(out, []byte(b.String()), 0o644)
}

// Result is a detector's score under one profile.
type Result struct {
	Profile    string
	Threshold  float64 // the detection threshold that maximised the raw score
	Raw        float64
	Score      float64 // normalised: 0 for the null detector, 100 for a perfect one
	TP, FP, FN int
}

// scoredRow is a row after the probationary period, with what a detection there would add to the raw score.
type scoredRow struct {
	score  float64
	window int     // index of the window (over all files) it is in, -1 outside
	weight float64 // inside: tpWeight * s(position) / s(-1); outside: the (negative) FP cost
}

// rowsOf returns every scored row of the files (after their probationary period) under the profile, and the number of
// windows.
func rowsOf(files []*File, scores [][]float64, p Profile) ([]scoredRow, int, error) {
	var rows []scoredRow
	windows := 0
	for fi, f := range files {
		s := scores[fi]
		if len(s) != len(f.Values) {
			return nil, 0, fmt.Errorf("%s: %d scores for %d rows", f.Name, len(s), len(f.Values))
		}
		probation := ProbationaryPeriod(len(f.Values))
		w := 0 // the next window, or the one the row is in
		prevLast, prevWidth := -1, 0
		for i := probation; i < len(s); i++ {
			for w < len(f.Windows) && f.Windows[w][1] < i {
				prevLast, prevWidth = f.Windows[w][1], f.Windows[w][1]-f.Windows[w][0]+1
				w++
			}
			row := scoredRow{score: s[i], window: -1}
			switch {
			case w < len(f.Windows) && i >= f.Windows[w][0]:
				first, last := f.Windows[w][0], f.Windows[w][1]
				width := float64(last - first + 1)
				row.window = windows + w
				row.weight = p.TPWeight * scaledSigmoid(-float64(last-i+1)/width) / scaledSigmoid(-1)
			case prevLast < 0:
				row.weight = -p.FPWeight
			default:
				row.weight = p.FPWeight * scaledSigmoid(math.Abs(float64(prevLast-i))/float64(prevWidth-1))
			}
			rows = append(rows, row)
		}
		windows += len(f.Windows)
	}
	return rows, windows, nil
}

// tally accumulates detections: every FP costs its weight; in each window only the first (earliest, so heaviest)
// detection counts, and a window with none costs fnWeight.
type tally struct {
	p        Profile
	raw      float64
	detected []float64 // the weight of the best detection in each window
	hit      []bool
	tp, fp   int
}

func newTally(p Profile, windows int) *tally {
	return &tally{p: p, raw: -p.FNWeight * float64(windows), detected: make([]float64, windows), hit: make([]bool, windows)}
}

func (t *tally) add(r scoredRow) {
	switch {
	case r.window < 0:
		t.raw += r.weight
		t.fp++
	case !t.hit[r.window]:
		t.hit[r.window] = true
		t.detected[r.window] = r.weight
		t.raw += t.p.FNWeight + r.weight
		t.tp++
	case r.weight > t.detected[r.window]:
		t.raw += r.weight - t.detected[r.window]
		t.detected[r.window] = r.weight
	}
}

func (t *tally) result(threshold float64) Result {
	windows := len(t.hit)
	null, perfect := -t.p.FNWeight*float64(windows), t.p.TPWeight*float64(windows)
	return Result{Profile: t.p.Name, Threshold: threshold, Raw: t.raw, Score: 100 * (t.raw - null) / (perfect - null),
		TP: t.tp, FP: t.fp, FN: windows - t.tp}
}

// Score sweeps the threshold over every score given (scores[i] are the rows of files[i]) and returns the best
// result under the profile.
func Score(files []*File, scores [][]float64, p Profile) (Result, error) {
	rows, windows, err := rowsOf(files, scores, p)
	if err != nil {
		return Result{}, err
	}
	sort.Slice(rows, func(i, j int) bool { return rows[i].score > rows[j].score })
	t := newTally(p, windows)
	best := t.result(math.Inf(1)) // no detection at all
	for i := 0; i < len(rows); {
		threshold := rows[i].score
		for ; i < len(rows) && rows[i].score == threshold; i++ {
			t.add(rows[i])
		}
		if t.raw > best.Raw {
			best = t.result(threshold)
		}
	}
	return best, nil
}

// ScoreAt returns the result under the profile at a given threshold (detections: scores at or above it).
func ScoreAt(files []*File, scores [][]float64, p Profile, threshold float64) (Result, error) {
	rows, windows, err := rowsOf(files, scores, p)
	if err != nil {
		return Result{}, err
	}
	t := newTally(p, windows)
	for _, r := range rows {
		if r.score >= threshold {
			t.add(r)
		}
	}
	return t.result(threshold), nil
}
