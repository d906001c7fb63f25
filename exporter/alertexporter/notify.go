package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/url"
	"os"
	"path/filepath"
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
	if s.rc.Kind == receiverFile {
		return s.appendToFile(s.webhook(alerts))
	}
	var body any
	endpoint := s.rc.Endpoint
	switch s.rc.Kind {
	case receiverAlertmanager:
		for i := range alerts {
			alerts[i].Status, alerts[i].Fingerprint = "", "" // not part of the API's postable alert
		}
		body = alerts
		endpoint = strings.TrimRight(endpoint, "/") + "/api/v2/alerts"
	default:
		body = s.webhook(alerts)
	}
	data, err := json.Marshal(body)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := s.client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return consumererror.NewPermanent(fmt.Errorf("receiver %s refused %d alerts: %s: %s", s.name, len(alerts), resp.Status, excerpt))
	}
	return fmt.Errorf("receiver %s: %s: %s", s.name, resp.Status, excerpt)
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
	p.GroupKey = "{}:" + fmt.Sprint(p.GroupLabels)
	return p
}
