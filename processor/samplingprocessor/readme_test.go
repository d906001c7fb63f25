package samplingprocessor

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/internal/conftest"
	"github.com/otelstrata/strata/internal/semconv"
)

// TestReadmeExample runs the README's example: a health check with an error is dropped (the drop rule comes
// first), an error, a slow trace and a gold customer's are kept by their rules, and the rest go to the budget.
func TestReadmeExample(t *testing.T) {
	text, err := yaml.Marshal(conftest.ReadmeExample(t, "processors", 2, 0, "sampling"))
	require.NoError(t, err)

	h := newHarness(t, string(text))
	h.send(t,
		span{trace: 1, id: 1, service: "shop", name: "GET /healthz", attrs: map[string]any{"http.route": "/healthz"}, err: true},
		span{trace: 2, id: 1, service: "shop", name: "checkout", attrs: map[string]any{"http.response.status_code": 503}},
		span{trace: 3, id: 1, service: "shop", name: "search", duration: 3 * time.Second},
		span{trace: 4, id: 1, service: "shop", name: "checkout", attrs: map[string]any{"customer.tier": "gold"}},
		span{trace: 5, id: 1, service: "shop", name: "checkout"},
	)
	h.decideAfter(3 * time.Second)
	assert.Equal(t, map[uint64]string{2: "errors", 3: "slow", 4: "gold-customers", 5: "budget"}, h.kept(1, 2, 3, 4, 5))
}

// TestReadmeIncidentExample runs the README's incident-aware example: while an incident names payment, a healthy
// trace of payment is kept by the incident rule; another service's goes to the budget.
func TestReadmeIncidentExample(t *testing.T) {
	text, err := yaml.Marshal(conftest.ReadmeExample(t, "processors", 2, 1, "sampling"))
	require.NoError(t, err)

	h := newHarness(t, string(text))
	require.NoError(t, h.p.ConsumeLogs(context.Background(), incidentRecord("i-1", semconv.IncidentOpen, []string{"payment"}, nil, "service payment"), 0))
	h.send(t, span{trace: 1, id: 1, service: "payment", name: "charge"}, span{trace: 2, id: 1, service: "catalog", name: "list"})
	h.decideAfter(3 * time.Second)
	assert.Equal(t, map[uint64]string{1: "incident", 2: "budget"}, h.kept(1, 2))
}
