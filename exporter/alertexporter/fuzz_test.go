package alertexporter

import (
	"context"
	"math"
	"strings"
	"testing"
	"text/template"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// FuzzRestoreAlerts reads any bytes as the saved alerts: they are refused or restored (pending or firing, of rules
// that exist, at most max_series), and the next evaluations resolve, resend and save them without a panic.
func FuzzRestoreAlerts(f *testing.F) {
	f.Add([]byte(`[{"Rule":"High","Labels":{"alertname":"High","severity":"warning","host_name":"web-1"},` +
		`"Annotations":{"summary":"high"},"State":"firing","ActiveAt":"2026-11-27T11:59:00Z","StartsAt":"2026-11-27T12:00:00Z",` +
		`"LastTrue":"2026-11-27T12:00:00Z","LastSent":"2026-11-27T12:00:00Z","Value":3}]`))
	f.Add([]byte(`[{"Rule":"High","State":"resolved"},{"Rule":"High","State":"pending","Value":1e308},{"Rule":"gone","State":"firing"}]`))
	f.Add([]byte(`[{"Rule":"High","Labels":{"":""},"State":"firing","StartsAt":"0001-01-01T00:00:00Z"}]`))
	f.Fuzz(func(t *testing.T, data []byte) {
		am := newReceiverServer(t)
		h := newHarness(t, `
max_series: 10
rules:
  - {name: High, kind: threshold, metric: m, op: ">", value: 1}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
		if h.e.restoreAlerts(data) != nil {
			return
		}
		require.LessOrEqual(t, len(h.e.alerts), 10)
		for range 3 {
			h.tick(time.Minute)
		}
		_, err := h.e.marshalAlerts()
		require.NoError(t, err)
	})
}

// FuzzTemplates renders any template that parses (as Validate parses them) over any label value and value: a
// template renders or falls back to its source, never panics, and what it renders is cut to its size.
func FuzzTemplates(f *testing.F) {
	f.Add(`latency of {{ .Labels.service_name }} is {{ .Value }} s`, "<!channel>", 2.5)
	f.Add(`{{ index .Labels "x" }} {{ printf "%.2f" .Value }}`, "\xff", math.Inf(1))
	f.Add(`{{ range $k, $v := .Labels }}{{ $k }}={{ $v }} {{ end }}`, strings.Repeat("a", 5000), math.NaN())
	f.Add(`{{ .Labels.x.y }}{{ len .Value }}`, "", 0.0)
	f.Fuzz(func(t *testing.T, source, label string, value float64) {
		tmpl, err := template.New("summary").Option("missingkey=zero").Parse(source)
		if err != nil {
			return
		}
		out := capText(render(tmpl, templateData{Labels: map[string]string{"service_name": label, "x": label}, Value: value}), maxAnnotation)
		require.LessOrEqual(t, len(out), maxAnnotation)
	})
}

// FuzzIncidentRecords reads any OTLP/JSON logs as the correlation connector's records — any attribute missing or of
// another type — and the incident rule follows them, evaluates and sends without a panic.
func FuzzIncidentRecords(f *testing.F) {
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"strata.incident","attributes":[` +
		`{"key":"strata.incident.id","value":{"stringValue":"20261205T120000-1"}},` +
		`{"key":"strata.incident.state","value":{"stringValue":"open"}},` +
		`{"key":"strata.incident.root_cause","value":{"stringValue":"service checkout"}},` +
		`{"key":"strata.incident.services","value":{"arrayValue":{"values":[{"stringValue":"checkout"}]}}},` +
		`{"key":"strata.incident.kpis","value":{"arrayValue":{"values":[{"kvlistValue":{"values":[` +
		`{"key":"metric","value":{"stringValue":"shop.orders.rate"}},{"key":"share_lost","value":{"doubleValue":0.4}},` +
		`{"key":"shortfall","value":{"doubleValue":190}}]}}]}}}]}]}]}]}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"strata.incident"}]}]}]}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"eventName":"strata.incident","attributes":[` +
		`{"key":"strata.incident.kpis","value":{"arrayValue":{"values":[{"intValue":"3"}]}}},` +
		`{"key":"strata.incident.services","value":{"intValue":"3"}}]}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		ld, err := (&plog.JSONUnmarshaler{}).UnmarshalLogs(data)
		if err != nil {
			return
		}
		am := newReceiverServer(t)
		h := newHarness(t, `
max_series: 10
rules:
  - {name: Incident, kind: incident, annotations: {description: "{{ .Impact }}"}}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
		require.NoError(t, h.e.ConsumeLogs(context.Background(), ld))
		h.tick(time.Minute)
		require.LessOrEqual(t, len(h.e.series), 10)
	})
}
