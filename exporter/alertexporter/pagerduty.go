package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"context"
	"fmt"
	"time"
)

// pagerDuty sends each alert as an event of PagerDuty's Events API v2, one request each.
type pagerDuty struct {
	poster
	url        string
	routingKey string
}

func (n pagerDuty) notify(ctx context.Context, alerts []amAlert) error {
	for _, a := range alerts {
		if err := n.post(ctx, n.url, pagerDutyEventOf(n.routingKey, a), 1); err != nil {
			return err
		}
	}
	return nil
}

// maxPagerDutyDetails bounds the custom details of a PagerDuty event, well inside the 512 KB PagerDuty takes.
const maxPagerDutyDetails = 256 << 10

// pagerDutyEvent is an event of PagerDuty's Events API v2.
type pagerDutyEvent struct {
	RoutingKey  string            `json:"routing_key"`
	EventAction string            `json:"event_action"`
	DedupKey    string            `json:"dedup_key"`
	Payload     *pagerDutyPayload `json:"payload,omitempty"`
	Client      string            `json:"client,omitempty"`
	ClientURL   string            `json:"client_url,omitempty"`
}

type pagerDutyPayload struct {
	Summary       string            `json:"summary"`
	Source        string            `json:"source"`
	Severity      string            `json:"severity"`
	Timestamp     string            `json:"timestamp,omitempty"`
	Component     string            `json:"component,omitempty"`
	CustomDetails map[string]string `json:"custom_details,omitempty"`
}

// pagerDutyEventOf returns an alert as a PagerDuty event: trigger while firing, resolve when resolved,
// deduplicated by the alert's fingerprint.
func pagerDutyEventOf(routingKey string, a amAlert) pagerDutyEvent {
	e := pagerDutyEvent{RoutingKey: routingKey, EventAction: "trigger", DedupKey: a.Fingerprint,
		Client: "otelcol-strata", ClientURL: a.GeneratorURL}
	if a.Status == stateResolved {
		e.EventAction = "resolve"
		return e
	}
	severity := map[string]string{"critical": "critical", "error": "error", "warning": "warning"}[a.Labels["severity"]]
	if severity == "" {
		severity = "info"
	}
	source := a.Labels["host_name"]
	if source == "" {
		source = a.Labels["instance"]
	}
	if source == "" {
		source = "otelcol-strata"
	}
	details := map[string]string{}
	size, left := 0, 0
	for _, kv := range []map[string]string{a.Labels, a.Annotations} {
		for _, k := range sortedKeys(kv) {
			if size += len(k) + len(kv[k]); size > maxPagerDutyDetails {
				left++
				continue
			}
			details[k] = kv[k]
		}
	}
	if left > 0 {
		details["strata_truncated"] = fmt.Sprintf("%d details left out (PagerDuty takes events up to 512 KB)", left)
	}
	e.Payload = &pagerDutyPayload{Summary: capText(summaryOf(a), 1024), Source: capText(source, 255), Severity: severity,
		Timestamp: a.StartsAt.Format(time.RFC3339), Component: a.Labels["service_name"], CustomDetails: details}
	return e
}
