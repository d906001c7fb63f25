package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"

import (
	"encoding/json"
	"errors"
	"fmt"
	"math"
	"slices"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Reasons a poll fails (besides those of kpi.go, which are reasons an evaluation gives no point).
const (
	reasonQueryError  = "query_error"
	reasonTooManyRows = "too_many_rows"
	reasonNoRows      = "no_rows"
	reasonNull        = "null"
	reasonMissing     = "missing_field"
	reasonHTTPStatus  = "http_status"
	reasonHTTPError   = "http_error"
	reasonInvalidJSON = "invalid_json"
	reasonTooLarge    = "too_large"
	reasonStorage     = "storage_error"
	reasonTimeout     = "timeout"
	reasonExpression  = "expression_error"
)

// pollError is a failed poll (or a failed query of it), with the reason counted in the receiver's telemetry.
type pollError struct {
	reason string
	err    error
}

func (e *pollError) Error() string { return e.err.Error() }
func (e *pollError) Unwrap() error { return e.err }

func failf(reason, format string, args ...any) *pollError {
	return &pollError{reason: reason, err: fmt.Errorf(format, args...)}
}

// reasonOf returns the reason of a poll error, query_error for errors of the database or the network.
func reasonOf(err error) string {
	var pe *pollError
	if errors.As(err, &pe) {
		return pe.reason
	}
	return reasonQueryError
}

// series is the value of one attribute set of a value.
type series struct {
	attrs pcommon.Map
	value float64
	// counts and sum, for histograms: the bucket counts of the poll's rows.
	counts []uint64
	sum    float64
	count  uint64
}

// valueSeries is what one poll read of one value: its series by attribute key.
type valueSeries struct {
	series     map[string]*series
	updated    time.Time     // when the poll that read it ended
	staleAfter time.Duration // after this long without a new poll, KPIs no longer use it
}

// valueStore holds the latest reading of every value, by value ID; sources write it, the evaluation reads it.
type valueStore struct {
	mu     sync.Mutex
	values map[string]*valueSeries
}

func newValueStore() *valueStore { return &valueStore{values: map[string]*valueSeries{}} }

func (s *valueStore) put(id string, vs *valueSeries) {
	s.mu.Lock()
	s.values[id] = vs
	s.mu.Unlock()
}

// snapshot returns a copy of the map (the valueSeries themselves are never changed once stored).
func (s *valueStore) snapshot() map[string]*valueSeries {
	s.mu.Lock()
	defer s.mu.Unlock()
	out := make(map[string]*valueSeries, len(s.values))
	for id, vs := range s.values {
		out[id] = vs
	}
	return out
}

// attrSet builds the attributes of a row and the key that identifies them (sorted name=value pairs).
type attrSet struct {
	names  []string
	values []string
}

func (a *attrSet) reset() { a.names, a.values = a.names[:0], a.values[:0] }

func (a *attrSet) add(name, value string) {
	a.names = append(a.names, name)
	a.values = append(a.values, value)
}

func (a *attrSet) key() string {
	if len(a.names) == 0 {
		return ""
	}
	order := make([]int, len(a.names))
	for i := range order {
		order[i] = i
	}
	slices.SortFunc(order, func(x, y int) int { return strings.Compare(a.names[x], a.names[y]) })
	var b strings.Builder
	for n, i := range order {
		if n > 0 {
			b.WriteByte(',')
		}
		b.WriteString(a.names[i])
		b.WriteByte('=')
		b.WriteString(strconv.Quote(a.values[i]))
	}
	return b.String()
}

func (a *attrSet) pmap() pcommon.Map {
	m := pcommon.NewMap()
	m.EnsureCapacity(len(a.names))
	for i, name := range a.names {
		m.PutStr(name, a.values[i])
	}
	return m
}

// toFloat converts what a database driver or a JSON decoder gives to a number: numbers, booleans (1, 0) and
// strings or bytes that spell a number (DECIMAL columns, SQLite's text). NULL and anything else is an error.
func toFloat(v any) (float64, error) {
	switch x := v.(type) {
	case nil:
		return 0, errNull
	case float64:
		return x, nil
	case float32:
		return float64(x), nil
	case int64:
		return float64(x), nil
	case int:
		return float64(x), nil
	case int32:
		return float64(x), nil
	case uint64:
		return float64(x), nil
	case bool:
		if x {
			return 1, nil
		}
		return 0, nil
	case json.Number:
		return parseNumber(string(x))
	case string:
		return parseNumber(x)
	case []byte:
		return parseNumber(string(x))
	}
	return 0, fmt.Errorf("%v (%T) is not a number", v, v)
}

var errNull = errors.New("is NULL")

func parseNumber(s string) (float64, error) {
	f, err := strconv.ParseFloat(strings.TrimSpace(s), 64)
	if err != nil || math.IsNaN(f) || math.IsInf(f, 0) {
		return 0, fmt.Errorf("%q is not a number", s)
	}
	return f, nil
}

// toText returns an attribute value as text: strings and bytes as they are, numbers as Go formats them, NULL empty.
func toText(v any) string {
	switch x := v.(type) {
	case nil:
		return ""
	case string:
		return x
	case []byte:
		return string(x)
	case time.Time:
		return x.UTC().Format(time.RFC3339Nano)
	case float64:
		return strconv.FormatFloat(x, 'f', -1, 64)
	}
	return fmt.Sprint(v)
}
