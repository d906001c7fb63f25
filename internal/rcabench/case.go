// Package rcabench is the root-cause suite: cases of recorded telemetry with a fault and its true root cause (or
// normal data alone), the demo's cases made from seeds, their replay through strata-backtest with a configuration,
// and their scores beside two baselines (docs/rca-bench.md).
package rcabench // import "github.com/otelstrata/strata/internal/rcabench"

import (
	"bytes"
	_ "embed"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"gopkg.in/yaml.v3"
)

// CaseFile is the name of a case's description in its directory.
const CaseFile = "case.yaml"

// TopologyFile is the name of a case's optional graph, in the correlation connector's topology file format.
const TopologyFile = "topology.yaml"

// Case is a recorded incident, or normal data alone, as case.yaml describes it.
type Case struct {
	// Description says what happened, for people.
	Description string `yaml:"description,omitempty"`
	// Fault is when the fault was on; none in a recording of normal data.
	Fault *Fault `yaml:"fault,omitempty"`
	// RootCause lists the entities that count as the right root cause (a service's name, or kind:name).
	RootCause []string `yaml:"root_cause,omitempty"`
	// Anchor is the entity someone was paged for (a KPI, the service of an SLO), given to the connector as its
	// anchor and where the walk baseline starts; optional.
	Anchor string `yaml:"anchor,omitempty"`
	// Resolution and Traffic say, for the tables, the interval of the points and the level of traffic (free text).
	Resolution string `yaml:"resolution,omitempty"`
	Traffic    string `yaml:"traffic,omitempty"`
	// Services is how many services the estate has, which false incidents are counted per ten of.
	Services int `yaml:"services"`
	// Normal is the normal data whose incidents are false ones, in a recording without a fault: from after the
	// models' warm-up to the last point.
	Normal *Span `yaml:"normal,omitempty"`

	// Dir is the directory the case was read from.
	Dir string `yaml:"-"`
}

// Fault is the fault of a case: its kind (free text) and when it started and ended.
type Fault struct {
	Kind string `yaml:"kind"`
	Span `yaml:",inline"`
}

// Span is a stretch of time, from Start to before End.
type Span struct {
	Start time.Time `yaml:"start"`
	End   time.Time `yaml:"end"`
}

func (s Span) valid() bool { return !s.Start.IsZero() && s.End.After(s.Start) }

func (s Span) holds(t time.Time) bool { return !t.Before(s.Start) && t.Before(s.End) }

// column is the case's column in a table per resolution and traffic.
func (c *Case) column() string {
	if col := strings.TrimSpace(c.Resolution + " " + c.Traffic); col != "" {
		return col
	}
	return "all"
}

// Name is the case's directory name.
func (c *Case) Name() string { return filepath.Base(c.Dir) }

// Validate reports what is wrong with the case, naming the field.
func (c *Case) Validate() error {
	var errs []error
	if c.Services <= 0 {
		errs = append(errs, errors.New("services: want the number of services of the estate, above 0"))
	}
	switch {
	case c.Fault != nil && c.Normal != nil:
		errs = append(errs, errors.New("a case has a fault or is normal data, not both"))
	case c.Fault != nil:
		if !c.Fault.valid() {
			errs = append(errs, errors.New("fault: want start and an end after it"))
		}
		if len(c.RootCause) == 0 {
			errs = append(errs, errors.New("root_cause: a case with a fault names its root cause"))
		}
	case c.Normal != nil:
		if !c.Normal.valid() {
			errs = append(errs, errors.New("normal: want start and an end after it"))
		}
		if len(c.RootCause) > 0 {
			errs = append(errs, errors.New("root_cause: normal data has none"))
		}
	default:
		errs = append(errs, errors.New("want a fault (with its root cause) or normal (the span of normal data)"))
	}
	for _, e := range c.RootCause {
		if canonical(e) == "" {
			errs = append(errs, fmt.Errorf("root_cause: %q names no entity", e))
		}
	}
	if c.Anchor != "" && canonical(c.Anchor) == "" {
		errs = append(errs, fmt.Errorf("anchor: %q names no entity", c.Anchor))
	}
	return errors.Join(errs...)
}

// kinds are the kinds of entity the correlation connector names.
var kinds = []string{"service", "host", "container", "pod", "endpoint", "kpi"}

// canonical returns an entity as kind:name, as the connector's configuration reads it (a bare name is a
// service), or "" when it names none.
func canonical(s string) string {
	for _, kind := range kinds {
		if name, ok := strings.CutPrefix(s, kind+":"); ok {
			if strings.TrimSpace(name) == "" {
				return ""
			}
			return s
		}
	}
	if strings.TrimSpace(s) == "" {
		return ""
	}
	return "service:" + s
}

// ReadCase reads the case in dir.
func ReadCase(dir string) (*Case, error) {
	data, err := os.ReadFile(filepath.Join(dir, CaseFile))
	if err != nil {
		return nil, err
	}
	c := &Case{Dir: dir}
	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true) // a misspelt field is named, not ignored
	if err := dec.Decode(c); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CaseFile), err)
	}
	if err := c.Validate(); err != nil {
		return nil, fmt.Errorf("%s: %w", filepath.Join(dir, CaseFile), err)
	}
	if len(c.history()) == 0 {
		return nil, fmt.Errorf("%s: no history: want *.csv or *.json files beside %s", dir, CaseFile)
	}
	return c, nil
}

// ReadCases reads every case in the directories under root (or root itself when it is one), by name.
func ReadCases(root string) ([]*Case, error) {
	if _, err := os.Stat(filepath.Join(root, CaseFile)); err == nil {
		c, err := ReadCase(root)
		return []*Case{c}, err
	}
	entries, err := os.ReadDir(root)
	if err != nil {
		return nil, err
	}
	var cases []*Case
	for _, e := range entries {
		if !e.IsDir() {
			continue
		}
		c, err := ReadCase(filepath.Join(root, e.Name()))
		if err != nil {
			return nil, err
		}
		cases = append(cases, c)
	}
	if len(cases) == 0 {
		return nil, fmt.Errorf("%s: no cases (directories with a %s)", root, CaseFile)
	}
	return cases, nil
}

// Write writes the case's description into its directory.
func (c *Case) Write() error {
	data, err := yaml.Marshal(c)
	if err != nil {
		return err
	}
	return os.WriteFile(filepath.Join(c.Dir, CaseFile), data, 0o644)
}

// history returns the case's files of history as strata-backtest flags: --csv for CSV, --otlp for OTLP/JSON.
func (c *Case) history() []string {
	entries, _ := os.ReadDir(c.Dir)
	var flags []string
	for _, e := range entries {
		switch name := e.Name(); {
		case strings.HasSuffix(name, ".csv"):
			flags = append(flags, "--csv", filepath.Join(c.Dir, name))
		case strings.HasSuffix(name, ".json"):
			flags = append(flags, "--otlp", filepath.Join(c.Dir, name))
		}
	}
	return flags
}

// topology returns the path of the case's graph, or "" when it has none.
func (c *Case) topology() string {
	path := filepath.Join(c.Dir, TopologyFile)
	if _, err := os.Stat(path); err != nil {
		return ""
	}
	return path
}

// DefaultConfig is the configuration the suite scores unless given another: the anomaly processor and the
// correlation connector with their defaults.
//
//go:embed config.yaml
var DefaultConfig []byte

// RemoveHistory removes the case's files of history.
func RemoveHistory(c *Case) {
	h := c.history()
	for i := 1; i < len(h); i += 2 {
		os.Remove(h[i])
	}
}
