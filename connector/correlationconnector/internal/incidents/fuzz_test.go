package incidents

import (
	"strconv"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/plog"
)

// testConfig is the connector's default incidents configuration.
func testConfig() Config {
	return Config{Interval: 10 * time.Second, WarmUp: 30, Threshold: 0.997, OpenScore: 0.999, Confirm: 2, ConfirmWithin: time.Minute,
		Window: 5 * time.Minute, ResolveAfter: 5 * time.Minute, MaxOpen: 100, MaxEntities: 50, MaxSignals: 10000}
}

// FuzzRestoreIncidents reads any bytes as the saved open incidents: they are refused or restored within the
// configured bounds, and the engine goes on resolving, writing records and saving without a panic.
func FuzzRestoreIncidents(f *testing.F) {
	f.Add([]byte(`{"Next":2,"Incidents":[{"ID":"20261127T120000-1","Opened":"2026-11-27T12:00:00Z","Last":"2026-11-27T12:00:20Z",` +
		`"Symptoms":3,"TraceID":"","Sequence":2,"Emitted":"open","Entities":[` +
		`{"Kind":"host","Name":"web-1","Onset":"2026-11-27T12:00:00Z","Score":1,"Layers":["infrastructure"],"Signals":["system.cpu.utilization"],"Detail":"cpu"},` +
		`{"Kind":"service","Name":"shop","Onset":"2026-11-27T12:00:10Z","Score":0.9995,"Layers":["application"],"Signals":["http.server.request.duration"],"Detail":"latency"}]}]}`))
	f.Add([]byte(`{"Next":1,"Incidents":[{"ID":"x","Entities":[{"Kind":"host","Name":"a","Score":1e308,"Onset":"0001-01-01T00:00:00Z"}]}]}`))
	f.Add([]byte(`{"Incidents":[{"Entities":[{"Score":-1},{"Score":2}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		cfg := testConfig()
		e := New(cfg, 1000, 0)
		if e.Unmarshal(data) != nil {
			return
		}
		require.LessOrEqual(t, len(e.incidents), cfg.MaxOpen)
		for _, inc := range e.incidents {
			require.LessOrEqual(t, len(inc.entities), cfg.MaxEntities)
		}
		e.Resolve(time.Date(2026, 11, 27, 13, 0, 0, 0, time.UTC))
		for _, inc := range e.Dequeue() {
			Record(plog.NewLogRecord(), inc, time.Now())
		}
		_, err := e.Marshal()
		require.NoError(t, err)
	})
}

// TestTopologyIsBounded: a million distinct hosts linked to one service keep the topology at its bound, forgetting
// the least recently linked first, and counted.
func TestTopologyIsBounded(t *testing.T) {
	e := New(testConfig(), 1000, 0)
	const n = 1_000_000
	checkout := Entity{KindService, "checkout"}
	for i := range n {
		e.Link(checkout, Entity{KindHost, "host-" + strconv.Itoa(i)}, SourceSpans, time.Time{})
	}
	topo := e.topo
	assert.Equal(t, 1000, topo.recent.Len())
	assert.Len(t, topo.elems, 1000)
	assert.LessOrEqual(t, len(topo.links), 1000)
	assert.LessOrEqual(t, len(topo.deps), 1000)
	assert.LessOrEqual(t, len(topo.learned), 1000, "a learned dependency goes with its entity")
	assert.Equal(t, len(topo.learned), topo.byAge.Len())
	assert.LessOrEqual(t, len(topo.links[checkout]), maxLinks)
	assert.Contains(t, topo.links, Entity{KindHost, "host-" + strconv.Itoa(n-1)}, "the latest is kept")
	assert.NotContains(t, topo.links, Entity{KindHost, "host-0"}, "the oldest is forgotten")
	assert.Equal(t, n+1-1000, e.TakeForgotten())
	assert.Zero(t, e.TakeForgotten(), "counted once")
}
