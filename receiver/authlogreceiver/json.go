package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"encoding/json"
	"math"
	"net/netip"
	"slices"
	"strconv"
	"strings"
	"time"

	"github.com/otelstrata/strata/internal/jsonpath"
	"github.com/otelstrata/strata/internal/semconv"
)

// jsonLines reads applications' JSON lines through the configured field mapping.
type jsonLines struct {
	cfg *JSONConfig
}

// parse reads one JSON line into an envelope and an event. It returns ok=false when the line is not a JSON object
// (malformed), and recognized=false when it is one but says nothing about an authentication.
func (j jsonLines) parse(line string, ev *event) (env envelope, ok, recognized bool) {
	dec := json.NewDecoder(strings.NewReader(line))
	dec.UseNumber()
	var doc map[string]any
	if err := dec.Decode(&doc); err != nil {
		return env, false, false
	}
	str := func(path string) string {
		if path == "" {
			return ""
		}
		v, found := jsonpath.Lookup(doc, path)
		if !found || v == nil {
			return ""
		}
		return jsonpath.Text(v)
	}
	env.msg = str(j.cfg.Message)
	env.host = str(j.cfg.Host)
	env.process = str(j.cfg.Process)
	if env.process == "" {
		env.process = j.cfg.DefaultProcess
	}
	env.time = jsonTime(str(j.cfg.Timestamp))

	*ev = event{count: 1}
	outcome := strings.ToLower(str(j.cfg.Outcome))
	switch {
	case slices.ContainsFunc(j.cfg.SuccessValues, func(v string) bool { return strings.EqualFold(v, outcome) }):
		ev.outcome, ev.kind = semconv.OutcomeSuccess, kindAccepted
	case slices.ContainsFunc(j.cfg.FailureValues, func(v string) bool { return strings.EqualFold(v, outcome) }):
		ev.outcome, ev.kind = semconv.OutcomeFailure, kindFailedAuth
	}
	if kind := str(j.cfg.Event); slices.Contains(eventKinds, kind) {
		ev.kind = kind
	}
	if ev.kind == "" {
		return env, true, false
	}
	ev.method = str(j.cfg.Method)
	ev.user = str(j.cfg.User)
	ev.source, _ = netip.ParseAddr(str(j.cfg.SourceAddress))
	ev.port, _ = strconv.Atoi(str(j.cfg.SourcePort))
	ev.invalidUser = ev.kind == kindInvalidUser
	return env, true, true
}

// jsonTime reads RFC 3339 text, or Unix time in seconds, milliseconds or nanoseconds (told apart by size).
func jsonTime(s string) time.Time {
	if s == "" {
		return time.Time{}
	}
	if t, err := time.Parse(time.RFC3339Nano, s); err == nil {
		return t
	}
	f, err := strconv.ParseFloat(s, 64)
	if err != nil || f <= 0 {
		return time.Time{}
	}
	switch {
	case f > 1e17:
		return time.Unix(0, int64(f))
	case f > 1e11:
		return time.UnixMilli(int64(f))
	}
	sec, frac := math.Modf(f)
	return time.Unix(int64(sec), int64(frac*1e9))
}
