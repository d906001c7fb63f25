package correlationconnector

import (
	"context"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
)

// FuzzRestoreIncidents reads any bytes as the saved open incidents: they are refused or restored within the
// configured bounds, and the connector goes on ranking, resolving and saving without a panic.
func FuzzRestoreIncidents(f *testing.F) {
	f.Add([]byte(`{"Next":2,"Incidents":[{"ID":"20261127T120000-1","Opened":"2026-11-27T12:00:00Z","Last":"2026-11-27T12:00:20Z",` +
		`"Symptoms":3,"TraceID":"","Sequence":2,"Emitted":"open","Entities":[` +
		`{"Kind":"host","Name":"web-1","Onset":"2026-11-27T12:00:00Z","Score":1,"Layers":["infrastructure"],"Signals":["system.cpu.utilization"],"Detail":"cpu"},` +
		`{"Kind":"service","Name":"shop","Onset":"2026-11-27T12:00:10Z","Score":0.9995,"Layers":["application"],"Signals":["http.server.request.duration"],"Detail":"latency"}]}]}`))
	f.Add([]byte(`{"Next":1,"Incidents":[{"ID":"x","Entities":[{"Kind":"host","Name":"a","Score":1e308,"Onset":"0001-01-01T00:00:00Z"}]}]}`))
	f.Add([]byte(`{"Incidents":[{"Entities":[{"Score":-1},{"Score":2}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		h := newHarness(t)
		if h.c.engine.unmarshal(data) != nil {
			return
		}
		require.LessOrEqual(t, len(h.c.engine.incidents), h.c.cfg.Incidents.MaxOpen)
		for _, inc := range h.c.engine.incidents {
			require.LessOrEqual(t, len(inc.entities), h.c.cfg.Incidents.MaxEntities)
		}
		h.clock.t = h.clock.t.Add(time.Hour)
		h.c.tick(context.Background())
		_, err := h.c.engine.marshal()
		require.NoError(t, err)
	})
}
