package signals

import (
	"testing"

	"go.opentelemetry.io/collector/pdata/pmetric"
)

// FuzzMetrics reads any OTLP/JSON metrics as the anomaly processor's scores, alarms and bands, probe results and
// KPIs — any attribute missing or of another type — and the watcher turns them into symptoms and business points
// without a panic.
func FuzzMetrics(f *testing.F) {
	scope := `"scope":{"name":"github.com/otelstrata/strata/processor/anomalyprocessor"}`
	f.Add([]byte(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"checkout"}}]},` +
		`"scopeMetrics":[{"metrics":[{"name":"shop.orders.rate","unit":"{order}/s","gauge":{"dataPoints":[{"asDouble":4,"timeUnixNano":"1"}]}}]},` +
		`{` + scope + `,"metrics":[` +
		`{"name":"strata.anomaly.expected","gauge":{"dataPoints":[{"asDouble":10,"timeUnixNano":"1","attributes":[` +
		`{"key":"strata.anomaly.metric","value":{"stringValue":"shop.orders.rate"}},{"key":"strata.anomaly.statistic","value":{"stringValue":"value"}}]}]}},` +
		`{"name":"strata.anomaly.score","gauge":{"dataPoints":[{"asDouble":0.9999}]}},` +
		`{"name":"strata.anomaly.alarm","gauge":{"dataPoints":[{"asDouble":1}]}}]}]}]}`))
	gauge := func(name, v string) string {
		return `{"name":"` + name + `","gauge":{"dataPoints":[{"asDouble":` + v + `,"timeUnixNano":"1","attributes":[` +
			`{"key":"strata.anomaly.metric","value":{"stringValue":"http.server.requests"}}]}]}}`
	}
	f.Add([]byte(`{"resourceMetrics":[{"resource":{"attributes":[{"key":"service.name","value":{"stringValue":"store"}}]},"scopeMetrics":[{` + scope + `,"metrics":[` +
		gauge("strata.anomaly.alarm", "1") + `,` + gauge("strata.anomaly.score", "0.9999") + `,` + gauge("strata.anomaly.value", "0") + `,` +
		gauge("strata.anomaly.expected", "10") + `,` + gauge("strata.anomaly.lower", "8") + `,` + gauge("strata.anomaly.upper", "8") + `]}]}]}`))
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{` + scope + `,"metrics":[{"name":"strata.anomaly.lower","gauge":{"dataPoints":[{"asInt":"1"}]}}]}]}]}`))
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"strata.kpi.target_met","gauge":{"dataPoints":[{"asInt":"0"}]}},` +
		`{"name":"strata.probe.success","gauge":{"dataPoints":[{"asInt":"0"}]}},` +
		`{"name":"traces_service_graph_request_total","sum":{"dataPoints":[{"asInt":"3","attributes":[{"key":"client","value":{"intValue":"1"}}]}]}}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		md, err := (&pmetric.JSONUnmarshaler{}).UnmarshalMetrics(data)
		if err != nil {
			return
		}
		for _, signal := range []string{"alarm", "score"} {
			cfg := config()
			cfg.AnomalySignal = signal
			w := New(cfg, &recorder{})
			w.Metrics(md, t0)
		}
	})
}
