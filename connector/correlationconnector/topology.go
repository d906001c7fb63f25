package correlationconnector // import "github.com/otelstrata/strata/connector/correlationconnector"

import (
	"errors"
	"fmt"
	"io"
	"maps"
	"os"
	"slices"
	"time"

	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"
)

// The configured dependencies are bounded: a topology file is read whole.
const (
	maxDependencies = 100_000
	maxTopologyFile = 16 << 20
)

// parseDependencies reads an adjacency list (an entity and those it depends on) into pairs, in a stable order.
func parseDependencies(adjacency map[string][]string) ([][2]incidents.Entity, error) {
	var deps [][2]incidents.Entity
	var errs []error
	for _, from := range slices.Sorted(maps.Keys(adjacency)) {
		a, err := incidents.ParseEntity(from)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, to := range adjacency[from] {
			b, err := incidents.ParseEntity(to)
			switch {
			case err != nil:
				errs = append(errs, fmt.Errorf("%s: %w", from, err))
			case a == b:
				errs = append(errs, fmt.Errorf("%s depends on itself", from))
			default:
				deps = append(deps, [2]incidents.Entity{a, b})
			}
		}
	}
	if len(deps) > maxDependencies {
		errs = append(errs, fmt.Errorf("%d dependencies, more than %d", len(deps), maxDependencies))
	}
	return deps, errors.Join(errs...)
}

// topologyFile is the state of topology.file: the dependencies last read, and the file's time and size at the last
// reading, or that it could not be opened then.
type topologyFile struct {
	path    string
	modTime time.Time
	size    int64
	missing bool
	deps    [][2]incidents.Entity
}

// changed reports whether the file differs from the one last tried (its time or size, or whether it can be opened),
// so that a file that failed is tried again, and logged again, only once it changed.
func (f *topologyFile) changed() bool {
	info, err := os.Stat(f.path)
	if err != nil {
		return !f.missing
	}
	return f.missing || !info.ModTime().Equal(f.modTime) || info.Size() != f.size
}

// read reads the file's dependencies. On an error the dependencies read before stay.
func (f *topologyFile) read() error {
	file, err := os.Open(f.path)
	f.missing = err != nil
	if err != nil {
		return fmt.Errorf("topology: file: %w", err)
	}
	defer file.Close()
	info, err := file.Stat()
	if f.missing = err != nil; f.missing {
		return fmt.Errorf("topology: file: %w", err)
	}
	f.modTime, f.size = info.ModTime(), info.Size()
	data, err := io.ReadAll(io.LimitReader(file, maxTopologyFile+1))
	if err != nil {
		return fmt.Errorf("topology: file: %w", err)
	}
	if len(data) > maxTopologyFile {
		return fmt.Errorf("topology: file %s: larger than %d bytes", f.path, maxTopologyFile)
	}
	deps, err := parseTopology(data)
	if err != nil {
		return fmt.Errorf("topology: file %s: %w", f.path, err)
	}
	f.deps = deps
	return nil
}

// parseTopology reads a topology file's content: a YAML map of entities to lists of entities.
func parseTopology(data []byte) ([][2]incidents.Entity, error) {
	var adjacency map[string][]string
	if err := yaml.Unmarshal(data, &adjacency); err != nil {
		return nil, fmt.Errorf("not a map of entities to lists of entities: %w", err)
	}
	return parseDependencies(adjacency)
}
