package rcabench

import (
	"bufio"
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"gopkg.in/yaml.v3"

	"github.com/otelstrata/strata/internal/semconv"
)

// Variant is what of a case the connector is given.
type Variant struct {
	Name string
	// Topology gives the connector the case's topology.yaml as its topology.file.
	Topology bool
	// Anchor gives the connector the case's anchor in incidents.anchors.
	Anchor bool
	// Exclude names history files (base names) left out.
	Exclude []string
}

// Variants are the suite's ways of giving a demo case: metrics and the graph as a file, metrics and the service
// graph's metrics (as Tempo makes them), metrics alone; each with the frontend as the anchor.
var Variants = []Variant{
	{Name: "metrics + topology file", Topology: true, Anchor: true, Exclude: []string{ServiceGraphFile}},
	{Name: "metrics + service-graph metrics", Anchor: true},
	{Name: "metrics alone", Anchor: true, Exclude: []string{ServiceGraphFile}},
}

// Outcome is what a configuration made of one case.
type Outcome struct {
	Case    *Case
	Variant string
	// Opened is when the case's incident opened: the first to open while its fault was on; zero when none did.
	Opened time.Time
	// First and Latest are the incident's ranked candidates (kind:name) when it opened and in its last record.
	First, Latest []string
	// Baselines are the ranked services of each baseline.
	Baselines map[string][]string
	// Others counts incidents that opened outside the fault (in a case with one) or in the normal span (in normal
	// data), and Split those that opened while the fault was on after the first.
	Others, Split int
	// Days is the normal span's length in days (normal data only).
	Days float64
}

// Rank returns the 1-based rank of the case's root cause among ranked (kind:name) entities, 0 when absent.
func (o *Outcome) Rank(ranked []string) int {
	for i, e := range ranked {
		for _, want := range o.Case.RootCause {
			if canonical(want) == e {
				return i + 1
			}
		}
	}
	return 0
}

// Run replays c through the strata-backtest at backtest with the collector configuration config, changed as v
// says, into out, and returns the outcome.
func Run(backtest string, config []byte, c *Case, v Variant, out string) (*Outcome, error) {
	if err := os.MkdirAll(out, 0o755); err != nil {
		return nil, err
	}
	cfg, err := caseConfig(config, c, v)
	if err != nil {
		return nil, err
	}
	cfgPath := filepath.Join(out, "config.yaml")
	if err := os.WriteFile(cfgPath, cfg, 0o644); err != nil {
		return nil, err
	}
	args := []string{"--config", cfgPath, "--out", out}
	history := c.history()
	for i := 0; i < len(history); i += 2 {
		if !slices.Contains(v.Exclude, filepath.Base(history[i+1])) {
			args = append(args, history[i], history[i+1])
		}
	}
	if c.Fault != nil {
		args = append(args, "--scores", "--scores-from", c.Fault.Start.Format(time.RFC3339))
	}
	cmd := exec.Command(backtest, args...)
	var stderr bytes.Buffer
	cmd.Stdout, cmd.Stderr = nil, &stderr
	if err := cmd.Run(); err != nil {
		return nil, fmt.Errorf("%s: strata-backtest: %w: %s", c.Name(), err, strings.TrimSpace(stderr.String()))
	}
	o := &Outcome{Case: c, Variant: v.Name}
	if err := o.readIncidents(filepath.Join(out, "incidents.jsonl")); err != nil {
		return nil, err
	}
	if c.Fault != nil {
		scores := filepath.Join(out, "scores.jsonl")
		if err := o.baselines(scores); err != nil {
			return nil, err
		}
		os.Remove(scores) // large, and read
	}
	return o, nil
}

// caseConfig returns config with every correlation connector given the case's topology file and anchor, as v says
// (an option the configuration sets already is kept).
func caseConfig(config []byte, c *Case, v Variant) ([]byte, error) {
	var root map[string]any
	if err := yaml.Unmarshal(config, &root); err != nil {
		return nil, fmt.Errorf("the configuration: %w", err)
	}
	connectors, _ := root["connectors"].(map[string]any)
	found := false
	for id, raw := range connectors {
		if id != "correlation" && !strings.HasPrefix(id, "correlation/") {
			continue
		}
		found = true
		conn, _ := raw.(map[string]any)
		if conn == nil {
			conn = map[string]any{}
		}
		if path := c.topology(); v.Topology && path != "" {
			topo := section(conn, "topology")
			if _, set := topo["file"]; !set {
				abs, _ := filepath.Abs(path)
				topo["file"] = abs
			}
		}
		if v.Anchor && c.Anchor != "" {
			inc := section(conn, "incidents")
			if _, set := inc["anchors"]; !set {
				inc["anchors"] = []string{c.Anchor}
			}
		}
		connectors[id] = conn
	}
	if !found {
		return nil, fmt.Errorf("the configuration has no correlation connector")
	}
	return yaml.Marshal(root)
}

// section returns m[key] as a map, made when missing.
func section(m map[string]any, key string) map[string]any {
	s, _ := m[key].(map[string]any)
	if s == nil {
		s = map[string]any{}
		m[key] = s
	}
	return s
}

// incidentLine is what the suite reads of a line of incidents.jsonl.
type incidentLine struct {
	Time       time.Time `json:"time"`
	ID         string    `json:"id"`
	State      string    `json:"state"`
	Attributes struct {
		Candidates []struct {
			Entity string `json:"entity"`
			Kind   string `json:"kind"`
		} `json:"strata.incident.candidates"`
	} `json:"attributes"`
}

func (l *incidentLine) ranked() []string {
	out := make([]string, len(l.Attributes.Candidates))
	for i, c := range l.Attributes.Candidates {
		out[i] = c.Kind + ":" + c.Entity
	}
	return out
}

// readIncidents reads the incident records of the run: the case's incident, its rankings, and the others.
func (o *Outcome) readIncidents(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	var first string
	sc := bufio.NewScanner(f)
	sc.Buffer(nil, 16<<20)
	for sc.Scan() {
		var l incidentLine
		if err := json.Unmarshal(sc.Bytes(), &l); err != nil {
			return fmt.Errorf("%s: %w", path, err)
		}
		if l.ID == first && len(l.Attributes.Candidates) > 0 {
			o.Latest = l.ranked()
		}
		if l.State != semconv.IncidentOpen {
			continue
		}
		switch f := o.Case.Fault; {
		case f == nil:
			if o.Case.Normal.holds(l.Time) {
				o.Others++
			}
		case !f.holds(l.Time):
			o.Others++
		case first == "":
			first, o.Opened, o.First, o.Latest = l.ID, l.Time, l.ranked(), l.ranked()
		default:
			o.Split++
		}
	}
	if err := sc.Err(); err != nil {
		return fmt.Errorf("%s: %w", path, err)
	}
	if n := o.Case.Normal; n != nil {
		o.Days = n.End.Sub(n.Start).Hours() / 24
	}
	return nil
}
