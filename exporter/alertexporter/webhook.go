package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"context"
	"fmt"
	"strings"
)

// webhook sends alerts as Alertmanager's webhook does.
type webhook struct {
	poster
	url, externalURL string
}

func (n webhook) notify(ctx context.Context, alerts []amAlert) error {
	return n.post(ctx, n.url, webhookPayloadOf(n.receiver, n.externalURL, alerts), len(alerts))
}

// webhookPayload is Alertmanager's webhook JSON (version 4), so that a webhook written for Alertmanager reads ours.
type webhookPayload struct {
	Version           string            `json:"version"`
	GroupKey          string            `json:"groupKey"`
	Status            string            `json:"status"`
	Receiver          string            `json:"receiver"`
	GroupLabels       map[string]string `json:"groupLabels"`
	CommonLabels      map[string]string `json:"commonLabels"`
	CommonAnnotations map[string]string `json:"commonAnnotations"`
	ExternalURL       string            `json:"externalURL"`
	Alerts            []amAlert         `json:"alerts"`
}

// webhookPayloadOf returns alerts as the payload Alertmanager's webhook sends for receiver.
func webhookPayloadOf(receiver, externalURL string, alerts []amAlert) webhookPayload {
	p := webhookPayload{Version: "4", Status: stateResolved, Receiver: receiver, GroupLabels: map[string]string{},
		CommonLabels: map[string]string{}, CommonAnnotations: map[string]string{}, ExternalURL: externalURL, Alerts: alerts}
	for i, a := range alerts {
		if a.Status == stateFiring {
			p.Status = stateFiring
		}
		if i == 0 {
			for k, v := range a.Labels {
				p.CommonLabels[k] = v
			}
			for k, v := range a.Annotations {
				p.CommonAnnotations[k] = v
			}
			continue
		}
		for k, v := range p.CommonLabels {
			if a.Labels[k] != v {
				delete(p.CommonLabels, k)
			}
		}
		for k, v := range p.CommonAnnotations {
			if a.Annotations[k] != v {
				delete(p.CommonAnnotations, k)
			}
		}
	}
	if name, ok := p.CommonLabels["alertname"]; ok {
		p.GroupLabels["alertname"] = name
	}
	var pairs []string // Alertmanager's group key: {}:{label="value", ...}
	for _, k := range sortedKeys(p.GroupLabels) {
		pairs = append(pairs, fmt.Sprintf("%s=%q", k, p.GroupLabels[k]))
	}
	p.GroupKey = "{}:{" + strings.Join(pairs, ", ") + "}"
	return p
}
