package rcabench

import (
	"bufio"
	"encoding/json"
	"fmt"
	"os"
	"slices"
	"sort"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/otelstrata/strata/internal/semconv"
)

// The baselines the suite ranks beside the connector, from the anomaly processor's scores while the fault is on.
const (
	// BaselineScore ranks services by their highest score (of any of their series), the earlier first on a tie.
	BaselineScore = "highest anomaly score"
	// BaselineWalk walks from the anchor along the case's graph to the anomalous dependency with the highest score
	// while there is one, and ranks the path from its end.
	BaselineWalk = "walk from the anchor"
)

// anomalous is the score from which the walk takes a dependency as anomalous: the anomaly processor's threshold.
const anomalous = 0.997

// peak is a service's highest score and when it was first reached.
type peak struct {
	score float64
	at    time.Time
}

// baselines ranks the case's services by the two baselines from the scores in path.
func (o *Outcome) baselines(path string) error {
	peaks, err := readPeaks(path, o.Case.Fault.Span)
	if err != nil {
		return err
	}
	if len(peaks) == 0 {
		return nil // the scored metrics reach no exporter, where the backtest reads them: no baselines
	}
	byScore := make([]string, 0, len(peaks))
	for s := range peaks {
		byScore = append(byScore, s)
	}
	sort.Slice(byScore, func(i, j int) bool {
		a, b := peaks[byScore[i]], peaks[byScore[j]]
		if a.score != b.score {
			return a.score > b.score
		}
		if !a.at.Equal(b.at) {
			return a.at.Before(b.at)
		}
		return byScore[i] < byScore[j]
	})
	o.Baselines = map[string][]string{BaselineScore: prefixed(byScore)}
	graph, err := readGraph(o.Case.topology())
	if err != nil {
		return err
	}
	if o.Case.Anchor != "" && graph != nil {
		o.Baselines[BaselineWalk] = prefixed(walk(canonicalName(o.Case.Anchor), graph, peaks, byScore))
	}
	return nil
}

// walk returns the path from anchor to the anomalous dependency with the highest score, repeatedly, deepest
// first, followed by the other services in the order of byScore.
func walk(anchor string, graph map[string][]string, peaks map[string]peak, byScore []string) []string {
	path := []string{anchor}
	for cur := anchor; ; {
		next, best := "", peak{}
		for _, dep := range graph[cur] {
			p, ok := peaks[dep]
			if !ok || p.score < anomalous || slices.Contains(path, dep) {
				continue
			}
			if next == "" || p.score > best.score || p.score == best.score && p.at.Before(best.at) {
				next, best = dep, p
			}
		}
		if next == "" {
			break
		}
		path, cur = append(path, next), next
	}
	ranked := make([]string, 0, len(byScore)+1)
	for i := len(path) - 1; i >= 0; i-- {
		ranked = append(ranked, path[i])
	}
	for _, s := range byScore {
		if !slices.Contains(ranked, s) {
			ranked = append(ranked, s)
		}
	}
	return ranked
}

// prefixed returns service names as kind:name entities.
func prefixed(services []string) []string {
	out := make([]string, len(services))
	for i, s := range services {
		out[i] = "service:" + s
	}
	return out
}

// canonicalName returns the name of an entity written kind:name or as a bare name.
func canonicalName(e string) string {
	_, name, _ := strings.Cut(canonical(e), ":")
	return name
}

// scoreLine is what the suite reads of a line of scores.jsonl.
type scoreLine struct {
	Time     time.Time      `json:"time"`
	Metric   string         `json:"metric"`
	Value    float64        `json:"value"`
	Resource map[string]any `json:"resource"`
}

// readPeaks returns each service's peak score within span from the scores in path.
func readPeaks(path string, span Span) (map[string]peak, error) {
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	peaks := map[string]peak{}
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 1<<20)
	for sc.Scan() {
		var l scoreLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return nil, fmt.Errorf("%s: %w", path, err)
		}
		svc, _ := l.Resource["service.name"].(string)
		if l.Metric != semconv.MetricAnomalyScore || svc == "" || !span.holds(l.Time) {
			continue
		}
		if p, ok := peaks[svc]; !ok || l.Value > p.score {
			peaks[svc] = peak{score: l.Value, at: l.Time}
		}
	}
	return peaks, sc.Err()
}

// readGraph reads a topology file's services and the services they depend on; nil when path is "".
func readGraph(path string) (map[string][]string, error) {
	if path == "" {
		return nil, nil
	}
	data, err := os.ReadFile(path)
	if err != nil {
		return nil, err
	}
	var raw map[string][]string
	if err := yaml.Unmarshal(data, &raw); err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	graph := map[string][]string{}
	for from, deps := range raw {
		for _, d := range deps {
			if kind, name, _ := strings.Cut(canonical(d), ":"); kind == "service" {
				graph[canonicalName(from)] = append(graph[canonicalName(from)], name)
			}
		}
	}
	return graph, nil
}
