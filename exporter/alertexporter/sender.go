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
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer/consumererror"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
)

// notifier delivers alerts to one kind of receiver, as an integration of Alertmanager's does: alertmanager,
// webhook, slack, pagerDuty and file.
type notifier interface {
	notify(ctx context.Context, alerts []amAlert) error
}

// sender is the last stage of the notification path: it delivers a receiver's notifications through an
// exporterhelper logs exporter of its own. Each notification is a log record whose body is the alert as JSON, so
// the collector's queue (persistent with a storage extension) and retry carry them, with their telemetry
// (otelcol_exporter_sent_log_records, ..._enqueue_failed_log_records).
type sender struct {
	externalURL string
	notifier    notifier
	exporter    exporter.Logs
}

func newSender(ctx context.Context, cfg *Config, set exporter.Settings, name string, rc *ReceiverConfig, host component.Host) (*sender, error) {
	var client *http.Client
	if rc.Kind != receiverFile {
		var err error
		if client, err = rc.ToClient(ctx, host.GetExtensions(), set.TelemetrySettings); err != nil {
			return nil, fmt.Errorf("receivers::%s: %w", name, err)
		}
	}
	s := &sender{externalURL: cfg.ExternalURL, notifier: newNotifier(name, cfg.ExternalURL, rc, client)}
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

// newNotifier returns the integration of receiver name, of the kind rc names.
func newNotifier(name, externalURL string, rc *ReceiverConfig, client *http.Client) notifier {
	p := poster{receiver: name, client: client}
	switch rc.Kind {
	case receiverFile:
		return file{receiver: name, path: rc.Path, externalURL: externalURL}
	case receiverPagerDuty:
		endpoint := rc.target()
		if endpoint == "" {
			endpoint = pagerDutyEvents
		}
		return pagerDuty{poster: p, url: endpoint, routingKey: string(rc.RoutingKey)}
	case receiverSlack:
		return slack{poster: p, url: rc.target()}
	case receiverAlertmanager:
		return alertmanager{poster: p, url: rc.target()}
	}
	return webhook{poster: p, url: rc.target(), externalURL: externalURL}
}

// send queues alerts, one log record each.
func (s *sender) send(ctx context.Context, alerts []*alert) error {
	ld := plog.NewLogs()
	records := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty().LogRecords()
	for _, a := range alerts {
		data, err := json.Marshal(amAlertOf(a, s.externalURL))
		if err != nil {
			return err
		}
		r := records.AppendEmpty()
		r.SetTimestamp(pcommon.NewTimestampFromTime(time.Now()))
		r.Body().SetStr(string(data))
	}
	return s.exporter.ConsumeLogs(ctx, ld)
}

// push delivers a batch of queued notifications through the receiver's integration.
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
	return s.notifier.notify(ctx, alerts)
}

// poster posts JSON to a receiver over HTTP.
type poster struct {
	receiver string
	client   *http.Client
}

// post sends body as JSON: 2xx is done, 4xx is a permanent error (the same request would be refused again),
// anything else is retried.
func (p poster) post(ctx context.Context, endpoint string, body any, alerts int) error {
	data, err := json.Marshal(body)
	if err != nil {
		return consumererror.NewPermanent(err)
	}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, endpoint, bytes.NewReader(data))
	if err != nil {
		return consumererror.NewPermanent(withoutSecrets(err))
	}
	req.Header.Set("Content-Type", "application/json")
	resp, err := p.client.Do(req)
	if err != nil {
		return withoutSecrets(err)
	}
	defer resp.Body.Close()
	excerpt, _ := io.ReadAll(io.LimitReader(resp.Body, 512))
	switch {
	case resp.StatusCode < 300:
		return nil
	case resp.StatusCode < 500 && resp.StatusCode != http.StatusTooManyRequests:
		return consumererror.NewPermanent(fmt.Errorf("receiver %s refused %d alerts: %s: %s", p.receiver, alerts, resp.Status, excerpt))
	}
	return fmt.Errorf("receiver %s: %s: %s", p.receiver, resp.Status, excerpt)
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

// summaryOf returns an alert's summary annotation, or its name and labels.
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
