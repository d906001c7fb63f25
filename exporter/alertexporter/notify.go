package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
	"sort"
	"strings"
	"time"

	"github.com/prometheus/common/model"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// sender delivers a receiver's notifications through an exporterhelper logs exporter of its own: each notification
// is a log record whose body is the alert as JSON, so the collector's queue (persistent with a storage extension)
// and retry carry them, with their telemetry (otelcol_exporter_sent_log_records, ..._enqueue_failed_log_records).
type sender struct {
	name     string
	cfg      *Config
	rc       *ReceiverConfig
	client   *http.Client
	exporter exporter.Logs
}

// amAlert is an alert as Alertmanager's API v2 takes it (and as its webhook sends it, with status and fingerprint).
type amAlert struct {
	Status       string            `json:"status,omitempty"`
	Labels       map[string]string `json:"labels"`
	Annotations  map[string]string `json:"annotations,omitempty"`
	StartsAt     time.Time         `json:"startsAt"`
	EndsAt       *time.Time        `json:"endsAt,omitempty"`
	GeneratorURL string            `json:"generatorURL,omitempty"`
	Fingerprint  string            `json:"fingerprint,omitempty"`
}

func newSender(ctx context.Context, cfg *Config, set exporter.Settings, name string, rc *ReceiverConfig, host component.Host) (*sender, error) {
	s := &sender{name: name, cfg: cfg, rc: rc}
	if rc.Kind != receiverFile {
		client, err := rc.ToClient(ctx, host.GetExtensions(), set.TelemetrySettings)
		if err != nil {
			return nil, fmt.Errorf("receivers::%s: %w", name, err)
		}
		s.client = client
	}
	var err error
	sset := set
	sset.ID = component.NewIDWithName(set.ID.Type(), strings.Trim(set.ID.Name()+"_"+name, "_"))
	s.exporter, err = exporterhelper.NewLogs(ctx, sset, cfg, s.push,
		exporterhelper.WithQueue(cfg.QueueSettings),
		exporterhelper.WithRetry(cfg.BackOffConfig))
	if err != nil {
		return nil, err
	}
	if err := s.exporter.Start(ctx, host); err != nil {
		return nil, fmt.Errorf("receivers::%s: %w", name, err)
	}
	return s, nil
}

// send queues alerts, one log record each.
func (s *sender) send(ctx context.Context, alerts []*alert) error {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, a := range alerts {
		data, err := json.Marshal(s.amAlert(a))
		if err != nil {
			return err
		}
		r := records.AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		r.Body().SetStr(string(data))
	}
	return s.exporter.ConsumeLogs(ctx, ld)
}

func (s *sender) amAlert(a *alert) amAlert {
	out := amAlert{Labels: map[string]string{}, Annotations: a.annotations, StartsAt: a.startsAt.UTC(),
		Fingerprint: a.fingerprint.String(), Status: a.state}
	for _, k := range sortedLabelNames(a.labels) {
		out.Labels[k] = string(a.labels[model.LabelName(k)])
	}
	if a.state == stateResolved {
		ends := a.endsAt.UTC()
		out.EndsAt = &ends
	}
	if s.cfg.ExternalURL != "" {
		out.GeneratorURL = strings.TrimRight(s.cfg.ExternalURL, "/") + "/?alert=" + url.QueryEscape(string(a.labels["alertname"]))
	}
	return out
}

// push delivers a batch of queued notifications: 2xx is done, 4xx is a permanent error (the same request would be
// refused again), anything else is retried.
func (s *sender) push(ctx context.Context, ld plog.Logs) error {
	var alerts []amAlert
	for _, rl := range ld.ResourceLogs().All() {
		for _, sl := range rl.ScopeLogs().All() {
			for _, r := range sl.LogRecords().All() {
				var a amAlert
				if err := json.Unmarshal([]byte(r.Body().Str()), &a); err != nil {
					return consumererror.NewPermanent(fmt.Errorf("a queued notification is not an alert: %w", err))
				}
				alerts = append(alerts, a)
			}
		}
	}
	if len(alerts) == 0 {
		return nil
	}
	switch s.rc.Kind {
	case receiverFile:
		return s.appendToFile(s.webhook(alerts))
	case receiverPagerDuty: // one event per request
		endpoint := s.rc.target()
		if endpoint == "" {
			endpoint = pagerDutyEvents
		}
		for _, a := range alerts {
			if err := s.post(ctx, endpoint, s.pagerDuty(a), 1); err != nil {
				return err
			}
		}
		return nil
	case receiverSlack:
		return s.post(ctx, s.rc.target(), s.slack(alerts), len(alerts))
	case receiverAlertmanager:
		for i := range alerts {
			alerts[i].Status, alerts[i].Fingerprint = "", "" // not part of the API's postable alert
		}
		return s.post(ctx, strings.TrimRight(s.rc.target(), "/")+"/api/v2/alerts", alerts, len(alerts))
	}
	return s.post(ctx, s.rc.target(), s.webhook(alerts), len(alerts))
}

// post sends a JSON body.
func (s *sender) post(ctx context.Context, endpoint string, body any, alerts int) error {
	data, err := json.Marshal(body)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
	if err != nil {
		return consumererror.NewPermanent(withoutSecrets(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return withoutSecrets(err)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return consumererror.NewPermanent(fmt.Errorf("receiver %s refused %d alerts: %s: %s", s.name, alerts, resp.Status, excerpt))
	}
	return fmt.Errorf("receiver %s: %s: %s", s.name, resp.Status, excerpt)
}

// withoutSecrets returns err with the URL it names cut to its scheme and host: a Slack webhook's path and a URL's
// user information are secrets, and the collector logs the errors of every retry.
func withoutSecrets(err error) error {
	var ue *url.Error
	if !errors.As(err, &ue) {
		return err
	}
	shown := "the receiver's URL"
	if u, perr := url.Parse(ue.URL); perr == nil && u.Host != "" {
		shown = u.Scheme + "://" + u.Host + "/…"
	}
	return &url.Error{Op: ue.Op, URL: shown, Err: ue.Err}
}

// appendToFile appends a notification as one JSON line (a file receiver). A file that cannot be written is a
// permanent error: retrying would not make it writable.
func (s *sender) appendToFile(p webhookPayload) error {
	data, err := json.Marshal(p)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	if err := os.MkdirAll(filepath.Dir(s.rc.Path), 0o755); err != nil {
		return consumererror.NewPermanent(err)
	}
	f, err := os.OpenFile(s.rc.Path, os.O_APPEND|os.O_CREATE|os.O_WRONLY, 0o644)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	if _, err := f.Write(append(data, '\n')); err != nil {
		f.Close()
		return err
	}
	return f.Close()
}

// pagerDutyEvent is an event of PagerDuty's Events API v2.
// maxPagerDutyDetails bounds the custom details of a PagerDuty event, well inside the 512 KB PagerDuty takes.
const maxPagerDutyDetails = 256 << 10

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

// pagerDuty is an alert as a PagerDuty event: trigger while firing, resolve when resolved, deduplicated by the
// alert's fingerprint.
func (s *sender) pagerDuty(a amAlert) pagerDutyEvent {
	e := pagerDutyEvent{RoutingKey: string(s.rc.RoutingKey), EventAction: "trigger", DedupKey: a.Fingerprint,
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

// summaryOf is an alert's summary annotation, or its name and labels.
func summaryOf(a amAlert) string {
	if s := a.Annotations["summary"]; s != "" {
		return s
	}
	var parts []string
	for _, k := range sortedKeys(a.Labels) {
		if k != "alertname" {
			parts = append(parts, k+"="+a.Labels[k])
		}
	}
	return a.Labels["alertname"] + " " + strings.Join(parts, " ")
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// slackMessage is a Slack incoming webhook message: a line, and an attachment per alert coloured by its state.
type slackMessage struct {
	Text        string            `json:"text"`
	Attachments []slackAttachment `json:"attachments"`
}

type slackAttachment struct {
	Color     string `json:"color"`
	Title     string `json:"title"`
	TitleLink string `json:"title_link,omitempty"`
	Text      string `json:"text"`
	Footer    string `json:"footer"`
	Timestamp int64  `json:"ts"`
}

func (s *sender) slack(alerts []amAlert) slackMessage {
	firing := 0
	for _, a := range alerts {
		if a.Status != stateResolved {
			firing++
		}
	}
	m := slackMessage{Text: fmt.Sprintf("%d firing, %d resolved", firing, len(alerts)-firing)}
	if len(alerts) > maxSlackAttachments {
		m.Text += fmt.Sprintf(" (the first %d shown)", maxSlackAttachments)
		alerts = alerts[:maxSlackAttachments]
	}
	for _, a := range alerts {
		color, state := "danger", "FIRING"
		if a.Status == stateResolved {
			color, state = "good", "RESOLVED"
		}
		var labels []string
		for _, k := range sortedKeys(a.Labels) {
			labels = append(labels, "`"+slackEscape(strings.ReplaceAll(k+"="+a.Labels[k], "`", "'"))+"`")
		}
		m.Attachments = append(m.Attachments, slackAttachment{Color: color, Title: "[" + state + "] " + slackEscape(a.Labels["alertname"]),
			TitleLink: a.GeneratorURL, Text: slackEscape(capText(summaryOf(a), maxAnnotation)) + "\n" + strings.Join(labels, " "), Footer: "otelcol-strata",
			Timestamp: a.StartsAt.Unix()})
	}
	return m
}

// maxSlackAttachments bounds the alerts of one Slack message (Slack takes up to 100 attachments).
const maxSlackAttachments = 50

// slackEscaper escapes the three characters Slack reads as control sequences: text from labels (a user name in an
// sshd line, a KPI's JSON) must not become <!channel>, <!here> or a disguised link <https://evil|bank>.
var slackEscaper = strings.NewReplacer("&", "&amp;", "<", "&lt;", ">", "&gt;")

func slackEscape(s string) string { return slackEscaper.Replace(s) }

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

func (s *sender) webhook(alerts []amAlert) webhookPayload {
	p := webhookPayload{Version: "4", Status: stateResolved, Receiver: s.name, GroupLabels: map[string]string{},
		CommonLabels: map[string]string{}, CommonAnnotations: map[string]string{}, ExternalURL: s.cfg.ExternalURL, Alerts: alerts}
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
