package incidents // import "github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"

import (
	"encoding/json"
	"maps"
	"slices"
	"time"
)

// The open incidents are kept in a storage extension, so that a restart neither forgets an incident nor opens it
// again: saved whenever incident records are emitted and at shutdown, restored at start.
// StateKey is the storage key of the saved open incidents.
const StateKey = "incidents"

type savedEvidence struct {
	Kind, Name string
	Onset      time.Time
	Score      float64
	Layers     []string
	Signals    []string
	Detail     string
}

type savedIncident struct {
	ID       string
	Opened   time.Time
	Last     time.Time
	Every    time.Duration `json:",omitempty"`
	Symptoms int
	TraceID  string
	Sequence int
	Emitted  string
	Exposed  []string `json:",omitempty"`
	Entities []savedEvidence
}

type savedState struct {
	Next      int
	Incidents []savedIncident
}

// Marshal returns the engine's open incidents, encoded to be saved.
func (e *Engine) Marshal() ([]byte, error) {
	st := savedState{Next: e.next}
	for _, inc := range e.incidents {
		si := savedIncident{ID: inc.id, Opened: inc.opened, Last: inc.last, Every: inc.every, Symptoms: inc.symptoms, TraceID: inc.traceID,
			Sequence: inc.sequence, Emitted: inc.emitted, Exposed: slices.Sorted(maps.Keys(inc.exposed))}
		for _, ev := range inc.entities {
			si.Entities = append(si.Entities, savedEvidence{Kind: ev.entity.Kind, Name: ev.entity.Name, Onset: ev.onset,
				Score: ev.score, Layers: sortedLayers(ev), Signals: ev.signals, Detail: ev.detail})
		}
		st.Incidents = append(st.Incidents, si)
	}
	return json.Marshal(st)
}

// Unmarshal restores open incidents (their ranking is computed again).
func (e *Engine) Unmarshal(data []byte) error {
	var st savedState
	if err := json.Unmarshal(data, &st); err != nil {
		return err
	}
	e.next = st.Next
	for _, si := range st.Incidents {
		if len(e.incidents) >= e.cfg.MaxOpen {
			break
		}
		inc := &Incident{id: si.ID, opened: si.Opened, last: si.Last, every: si.Every, symptoms: si.Symptoms, traceID: si.TraceID,
			sequence: si.Sequence, emitted: si.Emitted, entities: map[Entity]*evidence{}}
		for _, name := range si.Exposed[:min(len(si.Exposed), e.cfg.MaxEntities)] {
			if inc.exposed == nil {
				inc.exposed = map[string]bool{}
			}
			inc.exposed[name] = true
		}
		for _, se := range si.Entities {
			if len(inc.entities) >= e.cfg.MaxEntities {
				break
			}
			ev := &evidence{entity: Entity{se.Kind, se.Name}, onset: se.Onset, score: min(max(se.Score, 0), 1), layers: map[string]bool{},
				signals: se.Signals, detail: se.Detail}
			for _, l := range se.Layers {
				ev.layers[l] = true
			}
			inc.entities[ev.entity] = ev
		}
		e.rank(inc)
		e.incidents = append(e.incidents, inc)
	}
	return nil
}
