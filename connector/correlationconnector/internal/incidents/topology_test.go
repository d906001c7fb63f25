package incidents

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// TestConfiguredDependenciesStay: the configured dependencies outlast a flood of learned entities that forgets every
// other; a dependency no longer configured is unlinked, and its entities may be forgotten again.
func TestConfiguredDependenciesStay(t *testing.T) {
	e := New(testConfig(), 100, 0)
	frontend, checkout, db := Entity{KindService, "frontend"}, Entity{KindService, "checkout"}, Entity{KindHost, "db-1"}
	e.Link(frontend, Entity{KindService, "learned"}, SourceSpans, time.Time{})
	e.SetDependencies([][2]Entity{{frontend, checkout}, {checkout, db}})
	for i := range 10_000 {
		e.Link(Entity{KindService, "api"}, Entity{KindHost, "host-" + strconv.Itoa(i)}, SourceSpans, time.Time{})
	}
	topo := e.topo
	assert.True(t, topo.deps[frontend][checkout])
	assert.True(t, topo.deps[checkout][db])
	assert.True(t, topo.links[db][checkout], "related both ways")
	assert.False(t, topo.deps[frontend][Entity{KindService, "learned"}], "a learned link is forgotten with its entity")
	assert.LessOrEqual(t, topo.recent.Len(), 100, "the configured entities are outside the bound")

	e.SetDependencies([][2]Entity{{frontend, checkout}})
	assert.True(t, topo.deps[frontend][checkout])
	assert.False(t, topo.deps[checkout][db], "no longer configured")
	assert.False(t, topo.links[db][checkout])
	assert.NotContains(t, topo.pinned, db)
	assert.Contains(t, topo.elems, db, "forgotten again when room is needed")

	e.SetDependencies(nil)
	assert.Empty(t, topo.pinned)
	assert.Empty(t, topo.static)
}

// TestUnconfiguringKeepsTheReverseDependency: removing a configured a → b keeps a and b related when b depends on a.
func TestUnconfiguringKeepsTheReverseDependency(t *testing.T) {
	e := New(testConfig(), 100, 0)
	a, b := Entity{KindService, "a"}, Entity{KindService, "b"}
	e.SetDependencies([][2]Entity{{a, b}, {b, a}})
	e.SetDependencies([][2]Entity{{b, a}})
	assert.False(t, e.topo.deps[a][b])
	assert.True(t, e.topo.deps[b][a])
	assert.True(t, e.topo.links[a][b])
	assert.True(t, e.topo.links[b][a])
}

// TestChangeDoesNotHoldAnIncidentOpen: a deploy on a service of an open incident joins it as evidence, but neither
// counts as a symptom nor keeps the incident open past resolve_after from its last symptom.
func TestChangeDoesNotHoldAnIncidentOpen(t *testing.T) {
	e := New(testConfig(), 100, 0)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	host, svc := Entity{KindHost, "bastion-1"}, Entity{KindService, "auth"}
	e.Link(svc, host, SourceSpans, time.Time{})
	e.AddAll([]Symptom{{Entity: host, Layer: LayerSecurity, Signal: "brute_force", Score: 1, At: t0}})
	require.Len(t, e.incidents, 1)
	inc := e.incidents[0]
	e.AddChange(Symptom{Entity: svc, Signal: "deploy", Score: 0.999, At: t0.Add(4 * time.Minute)})
	assert.Contains(t, inc.entities, svc, "the change is evidence")
	assert.Equal(t, 1, inc.symptoms)
	e.Resolve(t0.Add(5 * time.Minute))
	assert.True(t, inc.resolved, "resolved five minutes after its last symptom")
}

// TestLearnedDependenciesExpire: a dependency the data stops showing is forgotten expireAfter after it last did, one
// it shows again stays, and a configured one stays though the data stopped showing it; each is counted by the
// source that showed it last.
func TestLearnedDependenciesExpire(t *testing.T) {
	e := New(testConfig(), 100, 24*time.Hour)
	t0 := time.Date(2026, 12, 5, 12, 0, 0, 0, time.UTC)
	frontend, checkout, payment, host := Entity{KindService, "frontend"}, Entity{KindService, "checkout"}, Entity{KindService, "payment"}, Entity{KindHost, "db-1"}
	e.SetDependencies([][2]Entity{{checkout, payment}})
	e.Link(frontend, checkout, SourceSpans, t0)
	e.Link(checkout, payment, SourceServiceGraph, t0)
	e.Link(checkout, host, SourceResource, t0)
	assert.Equal(t, map[string]int{SourceSpans: 1, SourceServiceGraph: 1, SourceResource: 1}, e.Dependencies())

	e.Link(checkout, host, SourceResource, t0.Add(20*time.Hour))
	e.ExpireDependencies(t0.Add(24*time.Hour - time.Second))
	assert.Zero(t, e.TakeExpired())
	e.ExpireDependencies(t0.Add(25 * time.Hour))
	assert.Equal(t, 2, e.TakeExpired())
	topo := e.topo
	assert.False(t, topo.deps[frontend][checkout], "not shown for a day")
	assert.False(t, topo.links[checkout][frontend])
	assert.True(t, topo.deps[checkout][payment], "configured")
	assert.True(t, topo.deps[checkout][host], "shown again")
	assert.Equal(t, map[string]int{SourceConfigured: 1, SourceResource: 1}, e.Dependencies())

	e.SetDependencies(nil)
	assert.False(t, topo.deps[checkout][payment], "neither configured nor shown")
	e.Link(checkout, payment, SourceSpans, t0.Add(26*time.Hour))
	e.SetDependencies([][2]Entity{{checkout, payment}})
	e.SetDependencies(nil)
	assert.True(t, topo.deps[checkout][payment], "no longer configured, but shown")
	assert.Equal(t, map[string]int{SourceSpans: 1, SourceResource: 1}, e.Dependencies())
}

// TestDependenciesNeverExpireAtZero: with expireAfter 0 a learned dependency stays however old.
func TestDependenciesNeverExpireAtZero(t *testing.T) {
	e := New(testConfig(), 100, 0)
	a, b := Entity{KindService, "a"}, Entity{KindService, "b"}
	e.Link(a, b, SourceSpans, time.Time{})
	e.ExpireDependencies(time.Date(2030, 1, 1, 0, 0, 0, 0, time.UTC))
	assert.True(t, e.topo.deps[a][b])
	assert.Zero(t, e.TakeExpired())
}

// TestRelatedAlongAChainOfCalls: a service's symptom joins an incident on its caller's caller, through a caller
// without symptoms; two callees of one caller (siblings) are not related through it.
func TestRelatedAlongAChainOfCalls(t *testing.T) {
	e := New(testConfig(), 100, 0)
	frontend, checkout, inventory, catalog := Entity{KindService, "frontend"}, Entity{KindService, "checkout"}, Entity{KindService, "inventory"}, Entity{KindService, "catalog"}
	e.SetDependencies([][2]Entity{{frontend, checkout}, {checkout, inventory}, {frontend, catalog}})
	assert.True(t, e.topo.related(inventory, map[Entity]*evidence{frontend: {}}), "the caller's caller")
	assert.True(t, e.topo.related(frontend, map[Entity]*evidence{inventory: {}}), "the callee's callee")
	assert.False(t, e.topo.related(catalog, map[Entity]*evidence{checkout: {}}), "siblings")
	assert.False(t, e.topo.related(catalog, map[Entity]*evidence{inventory: {}}), "three calls apart")
}
