package incidents

import (
	"strconv"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestConfiguredDependenciesStay: the configured dependencies outlast a flood of learned entities that forgets every
// other; a dependency no longer configured is unlinked, and its entities may be forgotten again.
func TestConfiguredDependenciesStay(t *testing.T) {
	e := New(testConfig(), 100)
	frontend, checkout, db := Entity{KindService, "frontend"}, Entity{KindService, "checkout"}, Entity{KindHost, "db-1"}
	e.Link(frontend, Entity{KindService, "learned"})
	e.SetDependencies([][2]Entity{{frontend, checkout}, {checkout, db}})
	for i := range 10_000 {
		e.Link(Entity{KindService, "api"}, Entity{KindHost, "host-" + strconv.Itoa(i)})
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
	e := New(testConfig(), 100)
	a, b := Entity{KindService, "a"}, Entity{KindService, "b"}
	e.SetDependencies([][2]Entity{{a, b}, {b, a}})
	e.SetDependencies([][2]Entity{{b, a}})
	assert.False(t, e.topo.deps[a][b])
	assert.True(t, e.topo.deps[b][a])
	assert.True(t, e.topo.links[a][b])
	assert.True(t, e.topo.links[b][a])
}
