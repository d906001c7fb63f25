package jsonpath

import (
	"encoding/json"
	"strings"
	"testing"
)

// FuzzLookup reads any bytes as a JSON document (as the kpi, netprobe and authlog components decode answers and
// lines) and follows any path through it: a value found is a part of the document, and nothing panics.
func FuzzLookup(f *testing.F) {
	f.Add(`{"checks":[{"name":"db","ok":true}],"orders":{"total":12.5}}`, "checks.0.name")
	f.Add(`[1,[2,[3]]]`, "1.1.0")
	f.Add(`{"a":{"b":null}}`, "a.b")
	f.Add(`{"a":1e400}`, "a")
	f.Fuzz(func(t *testing.T, doc, path string) {
		dec := json.NewDecoder(strings.NewReader(doc))
		dec.UseNumber()
		var v any
		if dec.Decode(&v) != nil {
			return
		}
		if !Valid(path) {
			return
		}
		if found, ok := Lookup(v, path); ok {
			_ = Text(found)
		}
	})
}
