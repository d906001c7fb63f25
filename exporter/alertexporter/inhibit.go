package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// inhibitor is the stage that drops the alerts another firing alert inhibits.
type inhibitor struct {
	rules      []InhibitRuleConfig
	byIncident bool
	alerts     map[model.Fingerprint]*alert // every alert's current state (the exporter's)
}

func (s *inhibitor) run(_ string, notes [][]*alert, _ time.Time) [][]*alert {
	return filter(notes, func(a *alert) bool { return !s.inhibited(a) })
}

// inhibited reports whether an alert's notification is suppressed: by an inhibit rule whose source fires with
// equal labels, or — with inhibit_by_incident — because it is a symptom inside an incident whose alert fires: its
// service or host is among the incident's, and it is not the incident's root cause.
func (s *inhibitor) inhibited(a *alert) bool {
	if a.rule.cfg.Kind == kindIncident {
		return false
	}
	for _, ir := range s.rules {
		if !matchesLabels(a.labels, ir.TargetMatch) {
			continue
		}
		for _, src := range s.alerts {
			if src.fingerprint == a.fingerprint || src.state != stateFiring || !matchesLabels(src.labels, ir.SourceMatch) {
				continue
			}
			equal := true
			for _, l := range ir.Equal {
				equal = equal && src.labels[model.LabelName(l)] == a.labels[model.LabelName(l)]
			}
			if equal {
				return true
			}
		}
	}
	if !s.byIncident {
		return false
	}
	service, host := string(a.labels["service_name"]), string(a.labels["host_name"])
	for _, src := range s.alerts {
		if src.rule.cfg.Kind != kindIncident || src.state != stateFiring {
			continue
		}
		root := src.annotations["root_cause"]
		if root == "service "+service || root == "host "+host {
			continue // the root cause's own alert is what the incident is about: it is sent
		}
		if service != "" && listed(src.annotations["services"], service) || host != "" && listed(src.annotations["hosts"], host) {
			return true
		}
	}
	return false
}

func matchesLabels(ls model.LabelSet, want map[string]string) bool {
	for k, v := range want {
		if string(ls[model.LabelName(k)]) != v {
			return false
		}
	}
	return true
}

// listed reports whether name is one of a comma-separated list.
func listed(list, name string) bool {
	for _, x := range strings.Split(list, ",") {
		if x == name {
			return true
		}
	}
	return false
}
