package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"encoding/json"
	"time"

	"github.com/prometheus/common/model"
)

// The alerts' states are kept in a storage extension, so that a restart neither fires a firing alert again with a
// new startsAt, nor forgets to resolve it: saved after every evaluation that changed one, restored at start.
const stateKey = "alerts"

type savedAlert struct {
	Rule        string
	Labels      map[string]string
	Annotations map[string]string
	State       string
	ActiveAt    time.Time
	StartsAt    time.Time
	LastTrue    time.Time
	LastSent    time.Time
	Value       float64
}

// marshalAlerts returns the alerts' states to keep. The caller holds mu.
func (e *alertExporter) marshalAlerts() ([]byte, error) {
	var saved []savedAlert
	for _, a := range e.alerts {
		labels := map[string]string{}
		for k, v := range a.labels {
			labels[string(k)] = string(v)
		}
		saved = append(saved, savedAlert{Rule: a.rule.cfg.Name, Labels: labels, Annotations: a.annotations, State: a.state,
			ActiveAt: a.activeAt, StartsAt: a.startsAt, LastTrue: a.lastTrue, LastSent: a.lastSent, Value: a.value})
	}
	return json.Marshal(saved)
}

// restoreAlerts takes back saved alerts, pending or firing, whose rule still exists: at most max_series of them.
func (e *alertExporter) restoreAlerts(data []byte) error {
	var saved []savedAlert
	if err := json.Unmarshal(data, &saved); err != nil {
		return err
	}
	rules := map[string]*rule{}
	for _, r := range e.rules {
		rules[r.cfg.Name] = r
	}
	for _, s := range saved {
		r := rules[s.Rule]
		if r == nil || s.State != statePending && s.State != stateFiring {
			continue
		}
		if len(e.alerts) >= e.cfg.MaxSeries {
			break
		}
		ls := model.LabelSet{}
		for k, v := range s.Labels {
			ls[model.LabelName(k)] = model.LabelValue(v)
		}
		fp := ls.Fingerprint()
		e.alerts[fp] = &alert{rule: r, labels: ls, annotations: s.Annotations, fingerprint: fp, state: s.State,
			activeAt: s.ActiveAt, startsAt: s.StartsAt, lastTrue: s.LastTrue, lastSent: s.LastSent, value: s.Value}
	}
	return nil
}
