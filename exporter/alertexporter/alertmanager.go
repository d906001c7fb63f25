package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"context"
	"net/url"
	"strings"
	"time"

	"github.com/prometheus/common/model"
)

// amAlert is an alert as Alertmanager's API v2 takes it (and as its webhook sends it, with status and fingerprint).
// Every integration notifies from this form, which the sender's queue keeps.
type amAlert struct {
	Status       string            `json:"status,omitempty"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint,omitempty"`
}

// amAlertOf returns an alert in Alertmanager's form; its generatorURL is under externalURL when that is set.
func amAlertOf(a *alert, externalURL string) amAlert {
	out := amAlert{Labels: map[string]string{}, Annotations: a.annotations, StartsAt: a.startsAt.UTC(),
		Fingerprint: a.fingerprint.String(), Status: a.state}
	for _, k := range sortedLabelNames(a.labels) {
		out.Labels[k] = string(a.labels[model.LabelName(k)])
	}
	if a.state == stateResolved {
		ends := a.endsAt.UTC()
		out.EndsAt = &ends
	}
	if externalURL != "" {
		out.GeneratorURL = strings.TrimRight(externalURL, "/") + "/?alert=" + url.QueryEscape(string(a.labels["alertname"]))
	}
	return out
}

// alertmanager posts alerts to an Alertmanager's API v2.
type alertmanager struct {
	poster
	url string
}

func (n alertmanager) notify(ctx context.Context, alerts []amAlert) error {
	for i := range alerts {
		alerts[i].Status, alerts[i].Fingerprint = "", "" // not part of the API's postable alert
	}
	return n.post(ctx, strings.TrimRight(n.url, "/")+"/api/v2/alerts", alerts, len(alerts))
}
