package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"bytes"
	"sort"
	"text/template"
	"time"
	"unicode/utf8"

	"github.com/expr-lang/expr/vm"
	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/pdata/pcommon"

	"github.com/otelstrata/strata/internal/semconv"
)

// Alert states.
const (
	statePending  = "pending"
	stateFiring   = "firing"
	stateResolved = "resolved"
)

// rule is a compiled rule.
type rule struct {
	cfg         *RuleConfig
	receiver    string
	labels      map[string]*template.Template
	annotations map[string]*template.Template
	composite   *vm.Program // composite rules: the expression over the other rules' names
}

// newRule compiles a rule of cfg: its composite expression and its label and annotation templates.
func newRule(rc *RuleConfig, cfg *Config) (*rule, error) {
	r := &rule{cfg: rc, receiver: rc.Receiver, labels: map[string]*template.Template{}, annotations: map[string]*template.Template{}}
	if rc.Kind == kindComposite {
		prog, err := compileComposite(rc.Expr, cfg.Rules)
		if err != nil {
			return nil, err
		}
		r.composite = prog
	}
	if r.receiver == "" {
		r.receiver = cfg.defaultReceiver()
	}
	for k, v := range rc.Labels {
		t, err := template.New(k).Option("missingkey=zero").Parse(v)
		if err != nil {
			return nil, err
		}
		r.labels[k] = t
	}
	for k, v := range rc.Annotations {
		t, err := template.New(k).Option("missingkey=zero").Parse(v)
		if err != nil {
			return nil, err
		}
		r.annotations[k] = t
	}
	return r, nil
}

// series is what a rule knows of one series (or, for incident rules, one incident).
type series struct {
	rule   *rule
	attrs  map[string]string // what identifies it: its alert's labels
	info   map[string]string // what describes it and may change (an incident's root cause): its alert's annotations
	value  float64
	last   time.Time         // when its last point arrived
	every  time.Duration     // how long before that the point before it arrived: the series' own interval
	labels model.LabelSet    // its alert's labels, once known not to change (labelsOf)
	fp     model.Fingerprint // their fingerprint, with them
	active bool              // its condition held at its last point
	pred   *prediction
	recs   *records
}

// alert is the state of one alert (one rule and one label set).
type alert struct {
	rule        *rule
	labels      model.LabelSet
	annotations map[string]string
	fingerprint model.Fingerprint
	state       string
	activeAt    time.Time // its condition began to hold (pending since)
	startsAt    time.Time // it fired
	endsAt      time.Time // it resolved
	lastTrue    time.Time // its condition last held
	lastSent    time.Time
	value       float64
}

// templateData is what label and annotation templates see.
type templateData struct {
	Labels map[string]string
	Value  float64
	Impact string // an incident's business impact, "" when it has none
}

func render(t *template.Template, data templateData) string {
	var b bytes.Buffer
	if err := t.Execute(&b, data); err != nil {
		return t.Root.String()
	}
	return b.String()
}

// labelsOf returns an alert's label set and its fingerprint: the series' attributes (as label names), alertname and
// severity, then the rule's labels, rendered. It keeps them on the series when the rule has no labels of its own
// (their templates may read the value).
func (r *rule) labelsOf(s *series) (model.LabelSet, model.Fingerprint) {
	if s.labels != nil {
		return s.labels, s.fp
	}
	ls := model.LabelSet{}
	plain := map[string]string{}
	for k, v := range s.attrs {
		v = capText(v, maxLabelValue)
		ls[model.LabelName(semconv.PromLabel(k))] = model.LabelValue(v)
		plain[semconv.PromLabel(k)] = v
	}
	ls[model.AlertNameLabel] = model.LabelValue(r.cfg.Name)
	severity := r.cfg.Severity
	if severity == "" {
		severity = "warning"
	}
	ls["severity"] = model.LabelValue(severity)
	plain["alertname"], plain["severity"] = r.cfg.Name, severity
	data := templateData{Labels: plain, Value: s.value}
	for k, t := range r.labels {
		ls[model.LabelName(semconv.PromLabel(k))] = model.LabelValue(capText(render(t, data), maxLabelValue))
	}
	fp := ls.Fingerprint()
	if len(r.labels) == 0 {
		s.labels, s.fp = ls, fp
	}
	return ls, fp
}

// The sizes an alert's texts are cut to: a 120 KB attribute must not make a 1 MB notification.
const (
	maxLabelValue = 1024
	maxAnnotation = 8192
)

// capText returns s cut to at most n bytes (on a character boundary, ending in "…" when cut).
func capText(s string, n int) string {
	if len(s) <= n {
		return s
	}
	cut := n - len("…")
	for cut > 0 && !utf8.RuneStart(s[cut]) {
		cut--
	}
	return s[:cut] + "…"
}

// annotationsOf returns a series' descriptions (info) and the rule's annotations, templated over its labels and info.
func (r *rule) annotationsOf(s *series, ls model.LabelSet) map[string]string {
	plain := map[string]string{}
	for k, v := range ls {
		plain[string(k)] = string(v)
	}
	out := map[string]string{}
	for k, v := range s.info {
		v = capText(v, maxAnnotation)
		plain[k], out[k] = v, v
	}
	data := templateData{Labels: plain, Value: s.value, Impact: s.info["impact"]}
	for k, t := range r.annotations {
		out[k] = capText(render(t, data), maxAnnotation)
	}
	return out
}

// matches reports whether a point's attributes meet a rule's match.
func (r *rule) matches(attrs pcommon.Map) bool {
	for k, want := range r.cfg.Match {
		v, ok := attrs.Get(k)
		if !ok || v.AsString() != want {
			return false
		}
	}
	return true
}

// holds reports whether a value meets a threshold rule's condition; a firing alert with a recovery value holds until
// the value crosses the recovery value (hysteresis).
func (r *rule) holds(v float64, firing bool) bool {
	threshold := r.cfg.Value
	if firing && r.cfg.Recovery != nil {
		threshold = *r.cfg.Recovery
	}
	switch r.cfg.Op {
	case ">":
		return v > threshold
	case ">=":
		return v >= threshold
	case "<":
		return v < threshold
	case "<=":
		return v <= threshold
	case "==":
		return v == threshold
	case "!=":
		return v != threshold
	}
	return false
}

// step moves an alert through its states at an evaluation where its condition does (or does not) hold, and says
// whether it must be sent now: when it fires, again every resend interval while it fires, and when it resolves.
func (a *alert) step(holds bool, now time.Time, resend time.Duration) (send bool, entered string) {
	cfg := a.rule.cfg
	if holds {
		a.lastTrue = now
	}
	switch a.state {
	case "":
		if !holds {
			return false, ""
		}
		a.state, a.activeAt = statePending, now
		entered = statePending
		if cfg.For > 0 {
			return false, entered
		}
		fallthrough
	case statePending:
		if !holds {
			a.state = "" // back to inactive: never fired, nothing to resolve
			return false, ""
		}
		if now.Sub(a.activeAt) >= cfg.For {
			a.state, a.startsAt, a.lastSent = stateFiring, now, now
			return true, stateFiring
		}
		return false, entered
	case stateFiring:
		if holds || now.Sub(a.lastTrue) < cfg.KeepFiringFor {
			if now.Sub(a.lastSent) >= resend {
				a.lastSent = now
				return true, ""
			}
			return false, ""
		}
		a.state, a.endsAt, a.lastSent = stateResolved, now, now
		return true, stateResolved
	}
	return false, ""
}

// sortedLabelNames returns the names of a label set in order, for stable payloads.
func sortedLabelNames(ls model.LabelSet) []string {
	keys := make([]string, 0, len(ls))
	for k := range ls {
		keys = append(keys, string(k))
	}
	sort.Strings(keys)
	return keys
}
