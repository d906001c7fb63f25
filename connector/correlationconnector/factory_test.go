package correlationconnector

import (
	"context"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/connector/connectortest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/metadata"
	"github.com/otelstrata/strata/connector/correlationconnector/internal/servicegraph"
	"github.com/otelstrata/strata/internal/conftest"
)

// TestCreateDefaultConfig checks the defaults against the README's tables of options, and that they alone make a
// valid configuration.
func TestCreateDefaultConfig(t *testing.T) {
	assert.GreaterOrEqual(t, conftest.DocumentedDefaults(t, createDefaultConfig), 16, "options checked against the README")
	assert.NoError(t, xconfmap.Validate(createDefaultConfig()))
}

// TestEachSpanCountsOnce builds the connector as the demo and gateway layouts do — a traces exporter feeding a
// metrics pipeline (the service graph) and a logs pipeline (incidents) — and sends each batch to both traces inputs,
// as the collector's fan-out does: every request is counted once.
func TestEachSpanCountsOnce(t *testing.T) {
	ctx := context.Background()
	f := NewFactory()
	cfg := f.CreateDefaultConfig()
	set := connectortest.NewNopSettings(metadata.Type)
	graph := new(consumertest.MetricsSink)
	toMetrics, err := f.CreateTracesToMetrics(ctx, set, cfg, graph)
	require.NoError(t, err)
	toLogs, err := f.CreateTracesToLogs(ctx, set, cfg, consumertest.NewNop())
	require.NoError(t, err)
	inputs := []connector.Traces{toMetrics, toLogs}
	for _, in := range inputs {
		require.NoError(t, in.Start(ctx, componenttest.NewNopHost()))
	}
	for n := range uint64(1000) {
		td := traces(shop(n+1, false)...)
		for _, in := range inputs {
			require.NoError(t, in.ConsumeTraces(ctx, td))
		}
	}
	for _, in := range inputs {
		require.NoError(t, in.Shutdown(ctx)) // the last one emits the graph
	}
	requests := int64(0)
	for _, md := range graph.AllMetrics() {
		for _, m := range md.ResourceMetrics().At(0).ScopeMetrics().At(0).Metrics().All() {
			if m.Name() != servicegraph.MetricRequests || m.Type() != pmetric.MetricTypeSum {
				continue
			}
			for _, dp := range m.Sum().DataPoints().All() {
				if c, _ := dp.Attributes().Get("client"); c.Str() == "frontend" {
					requests = max(requests, dp.IntValue())
				}
			}
		}
	}
	assert.Equal(t, int64(1000), requests, "frontend -> checkout: one request a trace")
}
