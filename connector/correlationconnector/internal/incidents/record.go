package incidents // import "github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"

import (
	"fmt"
	"sort"
	"strings"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"

	"github.com/otelstrata/strata/internal/semconv"
)

// Record writes an incident into r as the event contract says (docs/events.md), advances the incident's
// sequence, notes the impact it said and returns the record's state.
func Record(r plog.LogRecord, inc *Incident, now time.Time) string {
	state := semconv.IncidentUpdate
	switch {
	case inc.resolved:
		state = semconv.IncidentResolved
	case inc.sequence == 0:
		state = semconv.IncidentOpen
	}
	inc.sequence++
	r.SetEventName(semconv.EventIncident)
	r.SetTimestamp(pcommon.NewTimestampFromTime(now))
	r.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	r.SetSeverityNumber(plog.SeverityNumberWarn)
	if state == semconv.IncidentResolved {
		r.SetSeverityNumber(plog.SeverityNumberInfo)
	}
	a := r.Attributes()
	a.PutStr(semconv.AttrEventName, semconv.EventIncident)
	a.PutStr(semconv.AttrIncidentID, inc.id)
	a.PutStr(semconv.AttrIncidentState, state)
	a.PutInt(semconv.AttrIncidentSymptoms, int64(inc.symptoms))
	a.PutStr(semconv.AttrIncidentOpened, inc.opened.UTC().Format(time.RFC3339))
	var services, hosts, layers []string
	layerSet := map[string]bool{}
	for name := range inc.exposed {
		if inc.entities[Entity{KindService, name}] == nil {
			services = append(services, name)
		}
	}
	for e, ev := range inc.entities {
		switch e.Kind {
		case KindService:
			services = append(services, e.Name)
		case KindHost:
			hosts = append(hosts, e.Name)
		}
		for l := range ev.layers {
			layerSet[l] = true
		}
	}
	for l := range layerSet {
		layers = append(layers, l)
	}
	for _, x := range []struct {
		key    string
		values []string
	}{{semconv.AttrIncidentServices, services}, {semconv.AttrIncidentHosts, hosts}, {semconv.AttrIncidentLayers, layers}} {
		sort.Strings(x.values)
		s := a.PutEmptySlice(x.key)
		for _, v := range x.values {
			s.AppendEmpty().SetStr(v)
		}
	}
	candidates := a.PutEmptySlice(semconv.AttrIncidentCandidates)
	for i, c := range inc.ranking {
		if i == 5 {
			break
		}
		m := candidates.AppendEmpty().SetEmptyMap()
		m.PutStr("entity", c.entity.Name)
		m.PutStr("kind", c.entity.Kind)
		m.PutDouble("score", c.score)
		m.PutStr("layer", strings.Join(sortedLayers(c.ev), ","))
		m.PutStr("evidence", c.ev.detail)
		m.PutStr("onset", c.ev.onset.UTC().Format(time.RFC3339))
	}
	if len(inc.ranking) > 0 {
		top := inc.ranking[0]
		a.PutStr(semconv.AttrIncidentRootCause, top.entity.String())
	}
	if inc.traceID != "" {
		a.PutStr(semconv.AttrIncidentTraceID, inc.traceID)
	}
	moved := inc.moved()
	inc.figuresSaid = len(moved)
	if len(moved) > 0 {
		inc.impactSaid = moved[0].share()
		a.PutDouble(semconv.AttrIncidentImpact, moved[0].share())
		kpis := a.PutEmptySlice(semconv.AttrIncidentKPIs)
		for _, k := range moved {
			m := kpis.AppendEmpty().SetEmptyMap()
			m.PutStr("entity", k.entity.Name)
			m.PutStr("kind", k.entity.Kind)
			m.PutStr("metric", k.metric)
			m.PutStr("unit", k.unit)
			m.PutDouble("observed", k.last.Observed)
			m.PutDouble("expected", k.last.Expected)
			m.PutDouble("lower", k.last.Lower)
			m.PutDouble("upper", k.last.Upper)
			m.PutDouble("share_lost", k.share())
			if k.counted != "" {
				m.PutDouble("shortfall", k.shortfall)
				m.PutStr("shortfall_unit", k.counted)
			}
		}
	}
	r.Body().SetStr(summary(inc, state))
	return state
}

func sortedLayers(ev *evidence) []string {
	var ls []string
	for l := range ev.layers {
		ls = append(ls, l)
	}
	sort.Strings(ls)
	return ls
}

// summary returns the one paragraph a human reads first.
func summary(inc *Incident, state string) string {
	var b strings.Builder
	fmt.Fprintf(&b, "Incident %s (%s): %d symptom(s) on %d entities since %s.", inc.id, state, inc.symptoms,
		len(inc.entities), inc.opened.UTC().Format("15:04:05"))
	if len(inc.ranking) > 0 {
		top := inc.ranking[0]
		fmt.Fprintf(&b, " Most likely root cause: %s (%s) — %s.", top.entity, strings.Join(sortedLayers(top.ev), ", "), top.ev.detail)
		if len(inc.ranking) > 1 {
			var others []string
			for _, c := range inc.ranking[1:min(len(inc.ranking), 4)] {
				others = append(others, c.entity.String())
			}
			fmt.Fprintf(&b, " Also affected: %s.", strings.Join(others, ", "))
		}
	}
	if moved := inc.moved(); len(moved) > 0 {
		fmt.Fprintf(&b, " Business impact: %s.", moved[0].describe())
	}
	return b.String()
}
