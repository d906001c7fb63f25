// Package jsonpath finds values in decoded JSON documents by dot-separated paths (array elements by index:
// checks.0.name), and spells them as users write them in configurations.
package jsonpath // import "github.com/otelstrata/strata/internal/jsonpath"

import (
	"encoding/json"
	"strconv"
	"strings"
)

// Valid reports whether path is a dot-separated path: no empty element.
func Valid(path string) bool {
	return path != "" && !strings.HasPrefix(path, ".") && !strings.HasSuffix(path, ".") && !strings.Contains(path, "..")
}

// Lookup follows path through objects (by key) and arrays (by index) of a document decoded into any.
func Lookup(v any, path string) (any, bool) {
	for key := range strings.SplitSeq(path, ".") {
		switch node := v.(type) {
		case map[string]any:
			var ok bool
			if v, ok = node[key]; !ok {
				return nil, false
			}
		case []any:
			i, err := strconv.Atoi(key)
			if err != nil || i < 0 || i >= len(node) {
				return nil, false
			}
			v = node[i]
		default:
			return nil, false
		}
	}
	return v, true
}

// Text returns a value as a configuration spells it: strings bare, anything else as JSON writes it (true, 3, null).
func Text(v any) string {
	if s, ok := v.(string); ok {
		return s
	}
	data, _ := json.Marshal(v)
	return string(data)
}
