// Package referencesconverter is a confmap converter that refuses a configuration whose components refer to what is
// not there: a storage extension that is not declared, or not enabled in service::extensions, and a TLS file that
// does not exist. The collector resolves a configuration (and so runs this) for `validate` too, which then finds
// these mistakes before a start would. Only the components a pipeline uses, and the enabled extensions, are checked:
// the others are never started.
package referencesconverter // import "github.com/otelstrata/strata/converter/referencesconverter"

import (
	"context"
	"errors"
	"fmt"
	"io/fs"
	"maps"
	"os"
	"slices"
	"strings"

	"go.opentelemetry.io/collector/confmap"
)

// NewFactory returns the converter's factory.
func NewFactory() confmap.ConverterFactory {
	return confmap.NewConverterFactory(func(confmap.ConverterSettings) confmap.Converter { return converter{} })
}

type converter struct{}

// tlsFiles are the keys of configtls whose values are paths.
var tlsFiles = []string{"ca_file", "cert_file", "key_file", "client_ca_file"}

// Convert returns an error naming every reference that cannot work; it changes nothing in conf.
func (converter) Convert(_ context.Context, conf *confmap.Conf) error {
	raw := conf.ToStringMap()
	service, _ := raw["service"].(map[string]any)
	if service == nil {
		return nil // the collector itself says what is missing
	}
	declared := keys(raw["extensions"])
	enabled := set(service["extensions"])
	used := usedComponents(service)
	used["extensions"] = enabled

	var errs []error
	for _, class := range []string{"receivers", "processors", "exporters", "connectors", "extensions"} {
		section, _ := raw[class].(map[string]any)
		for _, id := range slices.Sorted(maps.Keys(section)) {
			if !used[class][id] {
				continue
			}
			walk(section[id], class+"::"+id, func(path, key string, value any) {
				s, ok := value.(string)
				switch {
				case !ok || s == "":
				case key == "storage":
					switch {
					case !declared[s]:
						errs = append(errs, fmt.Errorf("%s: %q is not an extension of this configuration", path, s))
					case !enabled[s]:
						errs = append(errs, fmt.Errorf("%s: %q is declared but not in service::extensions", path, s))
					}
				case slices.Contains(tlsFiles, key) && strings.HasSuffix(strings.TrimSuffix(path, "::"+key), "::tls"):
					if _, err := os.Stat(s); err != nil {
						var pe *fs.PathError
						if errors.As(err, &pe) {
							err = fmt.Errorf("%s: %w", s, pe.Err)
						}
						errs = append(errs, fmt.Errorf("%s: %w", path, err))
					}
				}
			})
		}
	}
	return errors.Join(errs...)
}

// usedComponents returns, by class, the components the pipelines name.
func usedComponents(service map[string]any) map[string]map[string]bool {
	used := map[string]map[string]bool{"receivers": {}, "processors": {}, "exporters": {}, "connectors": {}}
	pipelines, _ := service["pipelines"].(map[string]any)
	for _, p := range pipelines {
		pipeline, _ := p.(map[string]any)
		for _, class := range []string{"receivers", "processors", "exporters"} {
			for id := range set(pipeline[class]) {
				used[class][id] = true
				used["connectors"][id] = true // a connector is named as a receiver or an exporter
			}
		}
	}
	return used
}

// walk calls f for every key under v, with its path ("receivers::authlog::storage").
func walk(v any, path string, f func(path, key string, value any)) {
	switch node := v.(type) {
	case map[string]any:
		for _, k := range slices.Sorted(maps.Keys(node)) {
			f(path+"::"+k, k, node[k])
			walk(node[k], path+"::"+k, f)
		}
	case []any:
		for i, x := range node {
			walk(x, fmt.Sprintf("%s::%d", path, i), f)
		}
	}
}

// keys returns the keys of a map.
func keys(v any) map[string]bool {
	out := map[string]bool{}
	m, _ := v.(map[string]any)
	for k := range m {
		out[k] = true
	}
	return out
}

// set returns the strings of a list.
func set(v any) map[string]bool {
	out := map[string]bool{}
	list, _ := v.([]any)
	for _, x := range list {
		if s, ok := x.(string); ok {
			out[s] = true
		}
	}
	return out
}
