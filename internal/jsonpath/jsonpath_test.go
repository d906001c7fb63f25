package jsonpath

import (
	"encoding/json"
	"strings"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestLookup(t *testing.T) {
	dec := json.NewDecoder(strings.NewReader(`{"status":"ok","checks":[{"name":"db","ms":3}],"ready":true,"none":null}`))
	dec.UseNumber()
	var doc any
	require.NoError(t, dec.Decode(&doc))
	for path, want := range map[string]string{
		"status": "ok", "checks.0.name": "db", "checks.0.ms": "3", "ready": "true", "none": "null",
		"checks.0": `{"ms":3,"name":"db"}`,
	} {
		v, ok := Lookup(doc, path)
		require.True(t, ok, path)
		assert.Equal(t, want, Text(v), path)
	}
	for _, path := range []string{"missing", "checks.1", "checks.x", "status.deeper", "checks.-1"} {
		_, ok := Lookup(doc, path)
		assert.False(t, ok, path)
	}
}

func TestValid(t *testing.T) {
	for path, want := range map[string]bool{"a": true, "a.b.0": true, "": false, ".a": false, "a.": false, "a..b": false} {
		assert.Equal(t, want, Valid(path), path)
	}
}
