package incidents // import "github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"

import (
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// KPIPoint is a point of a business figure (a KPI, an order rate, a success ratio) beside what the anomaly processor
// expected of it: what an incident's business impact is made of.
type KPIPoint struct {
	Entity                           Entity
	Metric, Unit                     string
	At                               time.Time
	Observed, Expected, Lower, Upper float64
}

// maxKPIs bounds the business figures an incident accounts.
const maxKPIs = 16

// impactStep is how far an open incident's impact figure moves from the one in its last record before an update
// record says so.
const impactStep = 0.1

// maxGap is the longest time between two points of a figure that counts toward its shortfall: past it the series
// had a gap, and what it missed is not known.
const maxGap = 15 * time.Minute

// kpiImpact is what one business figure lost during an incident, from the first point of it outside its band.
type kpiImpact struct {
	entity       Entity
	metric, unit string
	moved        bool     // a point was outside the band
	last         KPIPoint // the latest point
	// from the first point outside the band: the sum of |expected − observed| and of |expected| over the points,
	// and, for a rate (a unit per second, minute, hour or day), the sum of (expected − observed) over the time
	shortfall          float64
	deficit, expectSum float64
}

// rateUnit returns how many seconds the time of a rate's unit lasts ("{order}/min": 60) and the unit of what it
// counts ("{order}"); 0 for a unit that is not a rate.
func rateUnit(unit string) (float64, string) {
	for suffix, seconds := range map[string]float64{"/s": 1, "/min": 60, "/h": 3600, "/d": 86400} {
		if counted, ok := strings.CutSuffix(unit, suffix); ok {
			if counted == "" {
				counted = "1"
			}
			return seconds, counted
		}
	}
	return 0, ""
}

// account adds a point of the figure.
func (k *kpiImpact) account(p KPIPoint) {
	outside := p.Observed < p.Lower || p.Observed > p.Upper
	prev := k.last
	k.last = p
	if !k.moved && !outside {
		return
	}
	k.moved = true
	k.deficit += math.Abs(p.Expected - p.Observed)
	k.expectSum += math.Abs(p.Expected)
	if seconds, _ := rateUnit(k.unit); seconds > 0 && !prev.At.IsZero() {
		if dt := p.At.Sub(prev.At); dt > 0 && dt <= maxGap {
			k.shortfall += (p.Expected - p.Observed) * dt.Seconds() / seconds
		}
	}
}

// share returns the share of its expected value the figure lost (or gained, for one that rose) since it moved.
func (k *kpiImpact) share() float64 {
	if k.expectSum == 0 {
		return 0
	}
	return k.deficit / k.expectSum
}

// AddKPI accounts a point of a business figure to each open incident it belongs to: one whose entities include
// its entity, or are related to it; an incident whose business figures moved enough is queued for an update.
func (e *Engine) AddKPI(p KPIPoint) {
	if math.IsNaN(p.Observed) || math.IsNaN(p.Expected) || math.IsInf(p.Observed, 0) || math.IsInf(p.Expected, 0) {
		return
	}
	for _, inc := range e.incidents {
		if inc.entities[p.Entity] == nil && !e.topo.related(p.Entity, inc.entities) {
			continue
		}
		key := p.Entity.String() + "\x00" + p.Metric
		k := inc.kpis[key]
		if k == nil {
			if len(inc.kpis) >= maxKPIs {
				continue
			}
			if inc.kpis == nil {
				inc.kpis = map[string]*kpiImpact{}
			}
			k = &kpiImpact{entity: p.Entity, metric: p.Metric, unit: p.Unit}
			inc.kpis[key] = k
		}
		if !p.At.After(k.last.At) {
			continue // a point seen already, or out of order
		}
		k.account(p)
		if moved := inc.moved(); len(moved) != inc.figuresSaid || len(moved) > 0 && math.Abs(moved[0].share()-inc.impactSaid) >= impactStep {
			e.enqueue(inc) // a figure left its band, or the impact moved: the records and alerts say what it costs now
		}
	}
}

// moved returns the incident's business figures that left their band, the one that lost the largest share first.
func (inc *Incident) moved() []*kpiImpact {
	var out []*kpiImpact
	for _, k := range inc.kpis {
		if k.moved {
			out = append(out, k)
		}
	}
	sort.Slice(out, func(i, j int) bool {
		if out[i].share() != out[j].share() {
			return out[i].share() > out[j].share()
		}
		return out[i].entity.String()+out[i].metric < out[j].entity.String()+out[j].metric
	})
	return out
}

// Impact returns the incident's impact figure — the largest share of its expected value a business figure lost since
// it left its band — and whether a figure did.
func (inc *Incident) Impact() (float64, bool) {
	moved := inc.moved()
	if len(moved) == 0 {
		return 0, false
	}
	return moved[0].share(), true
}

// describe returns one line of what the figure lost: "shop.orders.rate of checkout 38 % below expected (0.62
// {order}/s, expected 1), 1900 {order} short so far".
func (k *kpiImpact) describe() string {
	direction := "below"
	if k.last.Observed > k.last.Expected {
		direction = "above"
	}
	s := fmt.Sprintf("%s of %s %.0f %% %s expected (%.4g %s, expected %.4g)", k.metric, k.entity.Name, 100*k.share(), direction,
		k.last.Observed, k.unit, k.last.Expected)
	if seconds, counted := rateUnit(k.unit); seconds > 0 && k.shortfall >= 0 {
		s += fmt.Sprintf(", %.4g %s short so far", k.shortfall, counted)
	} else if seconds > 0 {
		s += fmt.Sprintf(", %.4g %s more than expected so far", -k.shortfall, counted)
	}
	return s
}
