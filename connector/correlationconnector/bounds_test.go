package correlationconnector

import (
	"context"
	"strconv"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/connector/correlationconnector/internal/metadatatest"
)

// TestTopologyIsBounded: a million distinct hosts named by resources (untrusted values) keep the topology at
// max_topology_entities; the entities forgotten are counted (internal/incidents tests which go first).
func TestTopologyIsBounded(t *testing.T) {
	h := newHarnessWith(t, func(cfg *Config) { cfg.MaxTopologyEntities = 1000 })
	ctx := context.Background()
	const n = 1_000_000
	for start := 0; start < n; start += 10_000 {
		md := pmetric.NewMetrics()
		for i := start; i < start+10_000; i++ {
			attrs := md.ResourceMetrics().AppendEmpty().Resource().Attributes()
			attrs.PutStr("service.name", "checkout")
			attrs.PutStr("host.name", "host-"+strconv.Itoa(i))
		}
		require.NoError(t, h.c.ConsumeMetrics(ctx, md))
	}
	metadatatest.AssertEqualConnectorCorrelationTopologyEvictions(t, h.tel,
		[]metricdata.DataPoint[int64]{{Value: n + 1 - 1000}}, metricdatatest.IgnoreTimestamp())
}
