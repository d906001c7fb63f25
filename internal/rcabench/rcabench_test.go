package rcabench

import (
	"bufio"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestCaseMistakesAreNamed(t *testing.T) {
	at := time.Date(2026, 11, 12, 14, 5, 0, 0, time.UTC)
	for _, tc := range []struct {
		c    Case
		want string
	}{
		{Case{Fault: &Fault{Kind: "latency", Span: Span{at, at.Add(time.Hour)}}, RootCause: []string{"payment"}}, "services:"},
		{Case{Services: 6, Fault: &Fault{Span: Span{at, at}}, RootCause: []string{"payment"}}, "fault: want start and an end after it"},
		{Case{Services: 6, Fault: &Fault{Span: Span{at, at.Add(time.Hour)}}}, "root_cause: a case with a fault names its root cause"},
		{Case{Services: 6, Fault: &Fault{Span: Span{at, at.Add(time.Hour)}}, RootCause: []string{"host:"}}, `root_cause: "host:" names no entity`},
		{Case{Services: 6, Normal: &Span{at, at.Add(time.Hour)}, RootCause: []string{"payment"}}, "root_cause: normal data has none"},
		{Case{Services: 6}, "want a fault (with its root cause) or normal"},
		{Case{Services: 6, Normal: &Span{at, at.Add(time.Hour)}, Anchor: " "}, `anchor: " " names no entity`},
	} {
		err := tc.c.Validate()
		require.Error(t, err)
		assert.Contains(t, err.Error(), tc.want)
	}
}

func TestReadCaseNamesTheFileAndWhatIsMissing(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, CaseFile), []byte("services: 3\nnormal: {start: 2026-11-10T00:00:00Z, end: 2026-11-11T00:00:00Z}\n"), 0o644))
	_, err := ReadCase(dir)
	require.ErrorContains(t, err, "no history")
	require.NoError(t, os.WriteFile(filepath.Join(dir, "metrics.csv"), []byte("time,metric,value\n"), 0o644))
	c, err := ReadCase(dir)
	require.NoError(t, err)
	assert.Equal(t, []string{"--csv", filepath.Join(dir, "metrics.csv")}, c.history())

	require.NoError(t, os.WriteFile(filepath.Join(dir, CaseFile), []byte("services: [3]\n"), 0o644))
	_, err = ReadCases(dir)
	require.ErrorContains(t, err, filepath.Join(dir, CaseFile))
	require.NoError(t, os.WriteFile(filepath.Join(dir, CaseFile), []byte("services: 3\nroot_causes: [payment]\n"), 0o644))
	_, err = ReadCases(dir)
	require.ErrorContains(t, err, "field root_causes not found")
}

func TestRankAcceptsAnyRootCauseEntity(t *testing.T) {
	o := &Outcome{Case: &Case{RootCause: []string{"payment", "host:payment-host"}}}
	assert.Equal(t, 1, o.Rank([]string{"host:payment-host", "service:checkout"}))
	assert.Equal(t, 2, o.Rank([]string{"service:checkout", "service:payment"}))
	assert.Equal(t, 0, o.Rank([]string{"service:checkout", "host:checkout-host"}))
}

func TestWalkFollowsTheStrongestAnomalousDependency(t *testing.T) {
	graph := map[string][]string{"frontend": {"catalog", "checkout"}, "checkout": {"payment", "store"}, "catalog": {"store"}}
	at := time.Date(2026, 11, 12, 14, 5, 0, 0, time.UTC)
	peaks := map[string]peak{
		"frontend": {0.9999, at}, "catalog": {0.99, at}, "checkout": {0.998, at.Add(time.Minute)},
		"payment": {0.9995, at}, "store": {0.99999, at},
	}
	byScore := []string{"store", "frontend", "payment", "checkout", "catalog"}
	// catalog is not anomalous; checkout is; of its dependencies store scores higher than payment
	assert.Equal(t, []string{"store", "checkout", "frontend", "payment", "catalog"}, walk("frontend", graph, peaks, byScore))
	peaks["store"] = peak{0.5, at}
	assert.Equal(t, []string{"payment", "checkout", "frontend", "store", "catalog"}, walk("frontend", graph, peaks, byScore))
}

// TestDemoCaseShowsItsFault reads a demo case's history: the fault's service is slow while the fault is on and
// not before, and its callers with it.
func TestDemoCaseShowsItsFault(t *testing.T) {
	res := Resolution{Name: "1m", Every: time.Minute, Normal: 3 * time.Hour, Fault: 30 * time.Minute, After: 10 * time.Minute}
	c, err := DemoCase(t.TempDir(), "latency", res, Traffics[1], 7)
	require.NoError(t, err)
	read, err := ReadCase(c.Dir)
	require.NoError(t, err)
	assert.Equal(t, c.Fault, read.Fault)
	svc := c.RootCause[0]
	mean := func(service string, in func(time.Time) bool) float64 {
		f, err := os.Open(filepath.Join(c.Dir, "metrics.csv"))
		require.NoError(t, err)
		defer f.Close()
		sum, n := 0.0, 0
		sc := bufio.NewScanner(f)
		for sc.Scan() {
			cols := strings.Split(sc.Text(), ",")
			if cols[1] != "http.server.request.duration" || cols[3] != service {
				continue
			}
			sec, _ := strconv.ParseInt(cols[0], 10, 64)
			if in(time.Unix(sec, 0)) {
				v, _ := strconv.ParseFloat(cols[2], 64)
				sum, n = sum+v, n+1
			}
		}
		require.Positive(t, n)
		return sum / float64(n)
	}
	before := func(t time.Time) bool { return t.Before(c.Fault.Start) }
	for _, s := range []string{svc, "frontend"} {
		normal, faulty := mean(s, before), mean(s, c.Fault.holds)
		assert.Greater(t, faulty, normal+0.05, "%s's latency during the fault (%s)", s, c.Description)
	}
	again, err := DemoCase(t.TempDir(), "latency", res, Traffics[1], 7)
	require.NoError(t, err)
	assert.Equal(t, c.Description, again.Description, "a seed makes the same case")
}

// TestRunScoresADemoCase replays a demo case through the built strata-backtest with the default configuration:
// after two days of normal data the anomaly processor's alarms open an incident whose root cause is the slow
// service, and both baselines rank.
func TestRunScoresADemoCase(t *testing.T) {
	binary := os.Getenv("STRATA_BINARY")
	if binary == "" {
		t.Skip("STRATA_BINARY is not set: `make test` builds strata-backtest beside the collector")
	}
	backtest := filepath.Join(filepath.Dir(binary), "strata-backtest")
	c, err := DemoCase(t.TempDir(), "latency", Resolutions[1], Traffics[1], 1)
	require.NoError(t, err)
	o, err := Run(backtest, DefaultConfig, c, Variants[0], t.TempDir())
	require.NoError(t, err)
	require.False(t, o.Opened.IsZero(), "an incident opens while the fault is on (%s)", c.Description)
	assert.Equal(t, 1, o.Rank(o.Latest), "the root cause first: %v (%s)", o.Latest, c.Description)
	assert.NotEmpty(t, o.Baselines[BaselineScore])
	assert.NotEmpty(t, o.Baselines[BaselineWalk])
	assert.Zero(t, o.Others, "no incident outside the fault")

	// a configuration whose scored metrics reach no exporter has no scores to rank baselines on: the case is scored
	// all the same
	bare := strings.Replace(string(DefaultConfig), "exporters: [correlation, debug]", "exporters: [correlation]", 1)
	require.NotEqual(t, string(DefaultConfig), bare)
	o, err = Run(backtest, []byte(bare), c, Variants[0], t.TempDir())
	require.NoError(t, err)
	assert.Equal(t, 1, o.Rank(o.Latest))
	assert.Empty(t, o.Baselines)
}
