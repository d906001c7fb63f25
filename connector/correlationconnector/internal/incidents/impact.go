package incidents // import "github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"

import (
	"container/list"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// KPIPoint is a point of a business figure (a KPI, an order rate, a success ratio) beside what the anomaly processor
// expected of it: what an incident's business impact is made of.
type KPIPoint struct {
	Entity       Entity
	Metric, Unit string
	// Of is, for a ratio, the metric of the rate it is a share of (strata.kpi.of): what the ratio lost is counted in
	// what that rate counts, at the rate's latest value.
	Of                               string
	At                               time.Time
	Observed, Expected, Lower, Upper float64

	volume  float64 // for a ratio of a rate, that rate's latest value per second
	counted string  // and what it counts
}

// maxKPIs bounds the business figures an incident accounts.
const maxKPIs = 16

// impactStep is how far an open incident's impact figure moves from the one in its last record before an update
// record says so.
const impactStep = 0.1

// maxGap is the longest time between two points of a figure that counts toward its shortfall: past it the series
// had a gap, and what it missed is not known.
const maxGap = 15 * time.Minute

// figurePoints is how many of a figure's latest points the engine keeps, so that an incident that opens after the
// figure began to move (its confirmation waits for a second symptom) accounts it from the incident's first symptom.
const figurePoints = 32

// kpiImpact is what one business figure lost during an incident: its excursions, measured against what was expected
// before the incident. An excursion is a stretch of points on one side of the expected value that took the figure
// outside its band: it begins where the figure left the expected value and ends where it comes back to it, so the
// start of a drop and the end of a recovery count too, and noise inside the band does not.
type kpiImpact struct {
	entity       Entity
	metric, unit string
	counted      string   // what its shortfall counts: a rate's, or that of the rate a ratio is a share of
	moved        bool     // a point was outside the band
	last         KPIPoint // the latest point, its expected value and band measured as below
	model        float64  // the anomaly processor's expected value of the latest point, as it said it
	// offset undoes the changes of level the anomaly processor adopted since the incident's first symptom: it
	// takes a lasting change (a fault's drop) as the new normal so as to stop alarming, while the incident's cost is
	// measured against the level before
	offset float64
	// half is the band's half-width before the incident: the processor's band widens as it learns a fault's
	// points, and the figure is held to the narrower of that and the band of the moment
	half float64
	side int // the side of the expected value of the latest point (-1 below, 1 above)
	// run is the stretch of points since the figure last crossed its expected value; counting: it is an excursion
	counting bool
	run      loss
	loss
}

// loss is what a figure's points lost: the sum of |expected − observed| and of |expected| over them, and, for a
// rate (a unit per second, minute, hour or day), the sum of (expected − observed) over the time between points; for
// a ratio of a rate, that sum times the rate.
type loss struct {
	deficit, expectSum, shortfall float64
}

func (l *loss) add(o loss) {
	l.deficit, l.expectSum, l.shortfall = l.deficit+o.deficit, l.expectSum+o.expectSum, l.shortfall+o.shortfall
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

// begin takes a point from before the incident's first symptom: the level and band the figure is measured against.
func (k *kpiImpact) begin(p KPIPoint) { k.last, k.model, k.half = p, p.Expected, (p.Upper-p.Lower)/2 }

// account adds a point of the figure; one that does not count (the incident quiet) is its expected value's and
// band's, and the time to the next point.
func (k *kpiImpact) account(p KPIPoint, counts bool) {
	prev := k.last
	if !prev.At.IsZero() && p.Expected != k.model && math.Abs(p.Expected-prev.Observed) <= 1e-6*math.Abs(prev.Observed) {
		// The processor's expected value jumped to the value observed the point before: it adopted that level
		// (float32 is what it keeps, hence the tolerance). The figure is still measured against the level before.
		k.offset += k.model - p.Expected
	}
	k.model = p.Expected
	half := (p.Upper - p.Lower) / 2
	if k.half > 0 {
		half = min(half, k.half)
	} else {
		k.half = half
	}
	p.Expected += k.offset
	p.Lower, p.Upper = p.Expected-half, p.Expected+half
	k.last = p
	if !counts {
		k.side, k.counting, k.run = 0, false, loss{}
		return
	}

	point := loss{deficit: math.Abs(p.Expected - p.Observed), expectSum: math.Abs(p.Expected)}
	if dt := p.At.Sub(prev.At); !prev.At.IsZero() && dt > 0 && dt <= maxGap {
		if seconds, counted := rateUnit(k.unit); seconds > 0 {
			point.shortfall, k.counted = (p.Expected-p.Observed)*dt.Seconds()/seconds, counted
		} else if p.counted != "" {
			point.shortfall, k.counted = (p.Expected-p.Observed)*p.volume*dt.Seconds(), p.counted
		}
	}
	side := 0
	if p.Observed < p.Expected {
		side = -1
	} else if p.Observed > p.Expected {
		side = 1
	}
	if side != k.side || side == 0 { // back to the expected value: a new stretch
		k.side, k.counting, k.run = side, false, loss{}
	}
	switch {
	case k.counting:
		k.add(point)
	case p.Observed < p.Lower || p.Observed > p.Upper: // the stretch is an excursion, from its start
		k.moved, k.counting = true, true
		k.run.add(point)
		k.add(k.run)
		k.run = loss{}
	default:
		k.run.add(point)
	}
}

// share returns the share of its expected value the figure lost (or gained, for one that rose) in its excursions.
func (k *kpiImpact) share() float64 {
	if k.expectSum == 0 {
		return 0
	}
	return k.deficit / k.expectSum
}

// AddKPI accounts a point of a business figure to each open incident it belongs to: one whose entities include
// its entity, or are related to it; an incident whose business figures moved enough is queued for an update. An
// incident that meets the figure first accounts its points since the incident's first symptom.
func (e *Engine) AddKPI(p KPIPoint) {
	if math.IsNaN(p.Observed) || math.IsNaN(p.Expected) || math.IsInf(p.Observed, 0) || math.IsInf(p.Expected, 0) {
		return
	}
	e.weigh(&p)
	key := p.Entity.String() + "\x00" + p.Metric
	before, ok := e.remember(key, p)
	if !ok {
		return // a point seen already, or out of order
	}
	for _, inc := range e.incidents {
		if inc.entities[p.Entity] == nil && !e.topo.related(p.Entity, inc.entities) {
			continue
		}
		k := inc.kpis[key]
		if k == nil {
			if !inc.active(p.At) || len(inc.kpis) >= maxKPIs {
				continue
			}
			if inc.kpis == nil {
				inc.kpis = map[string]*kpiImpact{}
			}
			_, counted := rateUnit(p.Unit)
			k = &kpiImpact{entity: p.Entity, metric: p.Metric, unit: p.Unit, counted: counted}
			inc.kpis[key] = k
			for _, h := range before {
				if h.At.Before(inc.opened) {
					k.begin(h)
				} else {
					k.account(h, true)
				}
			}
		}
		k.account(p, inc.active(p.At))
		if moved := inc.moved(); len(moved) != inc.figuresSaid || len(moved) > 0 && math.Abs(moved[0].share()-inc.impactSaid) >= impactStep {
			e.enqueue(inc) // a figure left its band, or the impact moved: the records and alerts say what it costs now
		}
	}
}

// weigh gives a ratio's point the latest value of the rate it is a share of (the business figure of that metric seen
// last): what the ratio lost is counted in what the rate counts (a success ratio's shortfall in orders). A rate whose
// latest point is older than maxGap weighs nothing.
func (e *Engine) weigh(p *KPIPoint) {
	f := e.latest[p.Of]
	if p.Of == "" || f == nil {
		return
	}
	v := f.points[len(f.points)-1]
	seconds, counted := rateUnit(v.Unit)
	if dt := p.At.Sub(v.At); seconds > 0 && dt >= 0 && dt <= maxGap && v.Observed >= 0 {
		p.volume, p.counted = v.Observed/seconds, counted
	}
}

// activeAfter is how long after an incident's last symptom, at least, a business figure's points are its own: a KPI
// computed over a window lags the symptoms. Past it (or one interval of the incident's series, if longer) the
// incident only waits to resolve, and what the figure does is not its cost.
const activeAfter = time.Minute

// active reports whether a business figure's point at is the incident's: from its first symptom to activeAfter past
// its last.
func (inc *Incident) active(at time.Time) bool {
	return !at.Before(inc.opened) && !at.After(inc.last.Add(max(activeAfter, min(inc.every, MaxEvery))))
}

// figure is the latest points of a business figure, and its place in the order the figures were last seen.
type figure struct {
	points []KPIPoint
	seen   *list.Element // of Engine.seen, holding the figure's key
}

// remember keeps p among the latest points of its figure, at most figurePoints of each and of at most max_signals
// figures (the one seen least recently is forgotten first). It returns the points kept before p, and false for a
// point not later than the latest kept.
func (e *Engine) remember(key string, p KPIPoint) ([]KPIPoint, bool) {
	f := e.figures[key]
	switch {
	case f != nil:
		if n := len(f.points); n > 0 && !p.At.After(f.points[n-1].At) {
			return nil, false
		}
		e.seen.MoveToBack(f.seen)
	default:
		if len(e.figures) >= max(1, e.cfg.MaxSignals) {
			oldest := e.seen.Remove(e.seen.Front()).(string)
			if old := e.figures[oldest]; e.latest[old.points[0].Metric] == old {
				delete(e.latest, old.points[0].Metric)
			}
			delete(e.figures, oldest)
		}
		f = &figure{seen: e.seen.PushBack(key)}
		e.figures[key] = f
	}
	before := f.points
	if len(before) == figurePoints {
		copy(before, before[1:])
		before = before[:len(before)-1]
	}
	f.points = append(before, p)
	e.latest[p.Metric] = f
	return before, true
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
	if k.counted != "" && k.shortfall >= 0 {
		s += fmt.Sprintf(", %.4g %s short so far", k.shortfall, k.counted)
	} else if k.counted != "" {
		s += fmt.Sprintf(", %.4g %s more than expected so far", -k.shortfall, k.counted)
	}
	return s
}
