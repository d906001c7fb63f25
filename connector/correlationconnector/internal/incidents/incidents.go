// Package incidents groups symptoms into incidents and ranks their root causes over the topology of what depends
// on what, and writes them as the event contract's strata.incident records.
package incidents // import "github.com/otelstrata/strata/connector/correlationconnector/internal/incidents"

import (
	"container/list"
	"errors"
	"fmt"
	"math"
	"sort"
	"strings"
	"time"
)

// Config is how symptoms become incidents: the connector's `incidents` options.
// The values of Config.AnomalySignal.
const (
	AnomalyAlarm = "alarm"
	AnomalyScore = "score"
)

type Config struct {
	// Interval of the figures watched from traces and logs (latency, error rates, error logs). Default 10s.
	Interval time.Duration `mapstructure:"interval"`
	// WarmUp is how many intervals a figure is watched before it may be a symptom. Default 30.
	WarmUp int `mapstructure:"warm_up"`
	// Threshold is the score from which a watched figure, or with AnomalySignal score a point of the anomaly
	// processor, is a symptom. Default 0.997.
	Threshold float64 `mapstructure:"threshold"`
	// AnomalySignal is what of the anomaly processor's output is a symptom: alarm (strata.anomaly.alarm, held to
	// the processor's alarm budget; a symptom of score OpenScore) or score (strata.anomaly.score at or above Threshold).
	// Default score.
	AnomalySignal string `mapstructure:"anomaly_signal"`
	// OpenScore is the score a symptom needs to open an incident (others only join one). Default 0.999.
	OpenScore float64 `mapstructure:"open_score"`
	// Confirm is how many related entities with such symptoms within ConfirmWithin open an incident, or one more
	// symptom than that on fewer entities: a lone spike or blip does not. Security detections (already counted by
	// their rules) open one alone. Default 2.
	Confirm int `mapstructure:"confirm"`
	// ConfirmWithin is how close together the confirming symptoms must be, at least. Default 1m.
	ConfirmWithin time.Duration `mapstructure:"confirm_within"`
	// Window is how close in time a symptom must be to an incident's last to join it, at least. Default 5m.
	Window time.Duration `mapstructure:"window"`
	// ResolveAfter is how long an incident stays open without a new symptom, at least. Default 5m.
	ResolveAfter time.Duration `mapstructure:"resolve_after"`
	// ConfirmIntervals, WindowIntervals and ResolveIntervals stretch those three to as many intervals of the
	// symptoms' own series when that is longer: a 5-minute series confirms, joins and resolves on its own points.
	// Defaults 2, 3 and 3.
	ConfirmIntervals int `mapstructure:"confirm_intervals"`
	WindowIntervals  int `mapstructure:"window_intervals"`
	ResolveIntervals int `mapstructure:"resolve_intervals"`
	// Anchors are the entities whose symptoms an incident is explained from (a KPI, an SLO's service, the endpoint an
	// alert watches): the walk to the root cause starts at the incident's anchors alone when it has any. Each is a
	// service's name or kind:name.
	Anchors []string `mapstructure:"anchors"`
	// MaxOpen, MaxEntities and MaxSignals bound the open incidents, the entities of one, and the figures watched.
	MaxOpen     int `mapstructure:"max_open"`
	MaxEntities int `mapstructure:"max_entities"`
	MaxSignals  int `mapstructure:"max_signals"`
}

// Layers of symptoms and root causes.
const (
	LayerInfrastructure = "infrastructure"
	LayerNetwork        = "network"
	LayerApplication    = "application"
	LayerSecurity       = "security"
	LayerBusiness       = "business"
	// LayerChange is not a symptom's: a deploy or a restart, a candidate cause of the symptoms after it.
	LayerChange = "change"
)

// Kinds of entities a symptom is about.
const (
	KindService   = "service"
	KindHost      = "host"
	KindContainer = "container"
	KindPod       = "pod"
	KindEndpoint  = "endpoint" // an address a client calls (server.address, peer.service) or a probe checks
	KindKPI       = "kpi"
)

// Entity is something that can be a symptom's subject and a root cause.
type Entity struct{ Kind, Name string }

func (e Entity) String() string { return e.Kind + " " + e.Name }

// ParseEntity reads an entity as a user writes one: kind:name for a service, host, container, pod, endpoint or KPI,
// a service's name otherwise.
func ParseEntity(s string) (Entity, error) {
	for _, kind := range []string{KindService, KindHost, KindContainer, KindPod, KindEndpoint, KindKPI} {
		if name, ok := strings.CutPrefix(s, kind+":"); ok {
			if name == "" {
				return Entity{}, fmt.Errorf("%q names no %s", kind+":", kind)
			}
			return Entity{Kind: kind, Name: name}, nil
		}
	}
	if strings.TrimSpace(s) == "" {
		return Entity{}, errors.New("an entity has no name")
	}
	return Entity{Kind: KindService, Name: s}, nil
}

// Symptom is one observation that something is wrong.
type Symptom struct {
	Entity  Entity
	Layer   string
	Signal  string  // what was seen: "latency", "error rate", a metric name, a detection rule
	Score   float64 // how strong, 0..1
	At      time.Time
	Every   time.Duration // the interval of the series it was seen in; 0 when not known
	Traffic bool          // the symptom is about how many requests the entity receives: its callers' doing
	TraceID string        // an exemplar trace, when the symptom comes from traces
	Detail  string        // one line of evidence for humans
}

// evidence is what an incident knows of one entity.
type evidence struct {
	entity  Entity
	onset   time.Time // its first symptom
	score   float64   // its strongest symptom
	layers  map[string]bool
	signals []string // distinct, in order of appearance, bounded
	detail  string   // the first symptom's detail
	traffic bool     // every symptom of it is about how many requests it receives
}

// candidate is a ranked root cause.
type candidate struct {
	entity Entity
	score  float64
	ev     *evidence
}

// Incident groups connected symptoms close in time.
type Incident struct {
	id       string
	opened   time.Time
	last     time.Time     // its last symptom
	every    time.Duration // the longest interval of its symptoms' series
	symptoms int
	entities map[Entity]*evidence
	exposed  map[string]bool       // services on a host with a security symptom, named among the incident's services
	kpis     map[string]*kpiImpact // the business figures of its entities while it is open, by entity and metric
	traceID  string
	ranking  []candidate
	emitted  string // the ranking and entities last emitted, to emit an update only on a change
	// the impact figure and the number of business figures that had moved in the last record: an update is emitted
	// when a figure leaves its band or the impact moves by impactStep
	impactSaid  float64
	figuresSaid int
	queued      bool // in the engine's out: one record of its state at emission, however often it changed since
	resolved    bool
	sequence    int
}

// topology is what the connector learned of how entities relate: which service calls which (the graph's edges),
// and which service runs on which host, container and pod, or answers at which endpoint (resource attributes and
// client span attributes). Bounded: at most maxLinks links per entity.
type topology struct {
	links map[Entity]map[Entity]bool // undirected relations
	deps  map[Entity]map[Entity]bool // directed dependencies: caller → callee, service → what it runs on
	// the entities by when they were last linked (front: latest), at most maxEntities: the names come from
	// untrusted attributes, so the least recently linked is forgotten first
	recent      *list.List
	elems       map[Entity]*list.Element
	maxEntities int
	evicted     int // entities forgotten, not yet reported
	// the configured dependencies, and for each entity they name how many: those are never forgotten
	static map[[2]Entity]bool
	pinned map[Entity]int
	// the dependencies the data showed, by when last (front: latest), forgotten expireAfter after (0: never)
	learned     map[[2]Entity]*list.Element
	byAge       *list.List
	bySource    map[string]int // learned dependencies held, by their latest source
	bothWays    int            // configured dependencies the data shows too
	expireAfter time.Duration
	expired     int // learned dependencies forgotten for their age, not yet reported
}

// Sources of a dependency: what showed it last.
const (
	SourceSpans        = "spans"         // a client span and its server's, or a client span's peer
	SourceServiceGraph = "service_graph" // a service graph's request counter (Tempo, another collector)
	SourceResource     = "resource"      // a resource's service and the host, container or pod it names
	SourceKPIOwner     = "kpi_owner"     // a KPI and the service that owns it (strata.kpi.owner)
	SourceConfigured   = "configured"    // topology.dependencies or topology.file
)

// learnedDep is a dependency the data showed: what showed it last, and when.
type learnedDep struct {
	dep    [2]Entity
	source string
	at     time.Time
}

const maxLinks = 256

func newTopology(maxEntities int, expireAfter time.Duration) *topology {
	return &topology{links: map[Entity]map[Entity]bool{}, deps: map[Entity]map[Entity]bool{},
		recent: list.New(), elems: map[Entity]*list.Element{}, maxEntities: maxEntities,
		static: map[[2]Entity]bool{}, pinned: map[Entity]int{},
		learned: map[[2]Entity]*list.Element{}, byAge: list.New(), bySource: map[string]int{}, expireAfter: expireAfter}
}

// learn records that the data (source) showed at that a depends on b.
func (t *topology) learn(a, b Entity, source string, at time.Time) {
	t.link(a, b)
	d := [2]Entity{a, b}
	if !t.deps[a][b] { // a has maxLinks dependencies already
		return
	}
	if el := t.learned[d]; el != nil {
		l := el.Value.(*learnedDep)
		t.bySource[l.source]--
		l.source = source
		l.at = maxTime(l.at, at)
		t.byAge.MoveToFront(el)
	} else {
		t.learned[d] = t.byAge.PushFront(&learnedDep{dep: d, source: source, at: at})
		if t.static[d] {
			t.bothWays++
		}
	}
	t.bySource[source]++
}

func maxTime(a, b time.Time) time.Time {
	if a.After(b) {
		return a
	}
	return b
}

// unlearn forgets that the data showed dependency d.
func (t *topology) unlearn(d [2]Entity) {
	el := t.learned[d]
	if el == nil {
		return
	}
	t.bySource[el.Value.(*learnedDep).source]--
	t.byAge.Remove(el)
	delete(t.learned, d)
	if t.static[d] {
		t.bothWays--
	}
}

// expire forgets the learned dependencies the data has not shown for expireAfter before now, unless configured too.
func (t *topology) expire(now time.Time) {
	if t.expireAfter <= 0 {
		return
	}
	for el := t.byAge.Back(); el != nil; el = t.byAge.Back() {
		l := el.Value.(*learnedDep)
		if now.Sub(l.at) < t.expireAfter {
			return
		}
		t.unlearn(l.dep)
		if !t.static[l.dep] {
			t.unlink(l.dep[0], l.dep[1])
		}
		t.expired++
	}
}

// link records that a depends on b (a calls b, or a runs on b).
func (t *topology) link(a, b Entity) {
	if a == b || a.Name == "" || b.Name == "" {
		return
	}
	t.touch(a)
	t.touch(b)
	add := func(m map[Entity]map[Entity]bool, x, y Entity) {
		s := m[x]
		if s == nil {
			s = map[Entity]bool{}
			m[x] = s
		}
		if len(s) < maxLinks {
			s[y] = true
		}
	}
	add(t.deps, a, b)
	add(t.links, a, b)
	add(t.links, b, a)
}

// setStatic makes deps the configured dependencies: those no longer configured are unlinked unless the data shows
// them, the new ones linked, and the entities they name are never forgotten.
func (t *topology) setStatic(deps [][2]Entity) {
	next := make(map[[2]Entity]bool, len(deps))
	for _, d := range deps {
		if d[0] != d[1] && d[0].Name != "" && d[1].Name != "" {
			next[d] = true
		}
	}
	for d := range t.static {
		if next[d] {
			continue
		}
		delete(t.static, d)
		if t.learned[d] != nil {
			t.bothWays--
		} else { // kept while the data shows it
			t.unlink(d[0], d[1])
		}
		for _, e := range d {
			if t.pinned[e]--; t.pinned[e] <= 0 {
				delete(t.pinned, e)
				t.touch(e) // back among those forgotten when the bound needs room
			}
		}
	}
	for d := range next {
		if t.static[d] {
			continue
		}
		t.static[d] = true
		if t.learned[d] != nil {
			t.bothWays++
		}
		for _, e := range d {
			if t.pinned[e]++; t.pinned[e] == 1 {
				if el := t.elems[e]; el != nil {
					t.recent.Remove(el)
					delete(t.elems, e)
				}
			}
		}
		t.link(d[0], d[1])
	}
}

// unlink removes the dependency of a on b.
func (t *topology) unlink(a, b Entity) {
	for _, x := range []struct {
		m    map[Entity]map[Entity]bool
		from Entity
		to   Entity
	}{{t.deps, a, b}, {t.links, a, b}, {t.links, b, a}} {
		delete(x.m[x.from], x.to)
		if len(x.m[x.from]) == 0 {
			delete(x.m, x.from)
		}
	}
	if t.deps[b][a] { // b depends on a too: they stay related
		t.links[a] = mapWith(t.links[a], b)
		t.links[b] = mapWith(t.links[b], a)
	}
}

func mapWith(m map[Entity]bool, e Entity) map[Entity]bool {
	if m == nil {
		m = map[Entity]bool{}
	}
	m[e] = true
	return m
}

// touch marks e as just linked, forgetting the least recently linked entity when maxEntities are known. An entity
// of the configured dependencies is never forgotten.
func (t *topology) touch(e Entity) {
	if t.pinned[e] > 0 {
		return
	}
	if el := t.elems[e]; el != nil {
		t.recent.MoveToFront(el)
		return
	}
	for t.recent.Len() >= t.maxEntities {
		t.forget(t.recent.Remove(t.recent.Back()).(Entity))
	}
	t.elems[e] = t.recent.PushFront(e)
}

// forget removes e and its links.
func (t *topology) forget(e Entity) {
	delete(t.elems, e)
	for n := range t.links[e] {
		t.unlearn([2]Entity{e, n})
		t.unlearn([2]Entity{n, e})
		delete(t.links[n], e)
		delete(t.deps[n], e)
		if len(t.links[n]) == 0 {
			delete(t.links, n)
		}
		if len(t.deps[n]) == 0 {
			delete(t.deps, n)
		}
	}
	delete(t.links, e)
	delete(t.deps, e)
	t.evicted++
}

// related reports whether an entity is in the set or linked to one of it — directly, or through a service when one of
// the two is what the service runs on (a host's CPU and the slow calls to the service on it are one story, though
// the service itself may show nothing), or when the service is between them on a chain of calls (a caller's
// caller: errors that the service in between passes on without a symptom of its own at low traffic).
func (t *topology) related(e Entity, set map[Entity]*evidence) bool {
	if set[e] != nil {
		return true
	}
	for n := range t.links[e] {
		if set[n] != nil {
			return true
		}
		if n.Kind != KindService {
			continue
		}
		for m := range t.links[n] {
			switch {
			case set[m] == nil:
			case (t.deps[n][e] || t.deps[n][m]) && (infrastructure(e) || infrastructure(m)):
				return true
			case t.deps[m][n] && t.deps[n][e] || t.deps[e][n] && t.deps[n][m]:
				return true
			}
		}
	}
	return false
}

// infrastructure reports whether an entity is something services run on.
func infrastructure(e Entity) bool {
	return e.Kind == KindHost || e.Kind == KindContainer || e.Kind == KindPod
}

// depsWithin returns n's dependencies among the nodes, also through one dependency outside them (a service without
// symptoms of its own, on a host with some).
func (t *topology) depsWithin(n Entity, nodes map[Entity]int) map[int]bool {
	out := map[int]bool{}
	for d := range t.deps[n] {
		if j, ok := nodes[d]; ok {
			out[j] = true
			continue
		}
		for dd := range t.deps[d] {
			if j, ok := nodes[dd]; ok && dd != n {
				out[j] = true
			}
		}
	}
	return out
}

// Engine turns symptoms into incidents. It is not safe for concurrent use.
type Engine struct {
	cfg       Config
	topo      *topology
	incidents []*Incident
	next      int
	out       []*Incident    // incidents to emit (a copy of their state is built at emission)
	found     map[string]int // symptoms by layer since the telemetry last read them
	pending   []Symptom      // strong symptoms waiting for confirmation (bounded by max_signals)
	changes   []Symptom      // changes of the last window, waiting for an incident (bounded by max_signals)
	anchors   map[Entity]bool
	figures   map[string]*figure // the latest points of each business figure, by entity and metric (impact.go)
	seen      *list.List         // the figures' keys, the one seen least recently first
	latest    map[string]*figure // the figure of each metric seen last: where a ratio finds its rate (impact.go)
}

// New returns an engine whose topology keeps at most maxEntities entities, and a dependency the data showed for
// expireAfter after it last did (0: until its entity is forgotten).
// Anchors that do not parse are left out (Config's validation names them).
func New(cfg Config, maxEntities int, expireAfter time.Duration) *Engine {
	e := &Engine{cfg: cfg, topo: newTopology(maxEntities, expireAfter), found: map[string]int{}, anchors: map[Entity]bool{},
		figures: map[string]*figure{}, seen: list.New(), latest: map[string]*figure{}}
	for _, a := range cfg.Anchors {
		if entity, err := ParseEntity(a); err == nil {
			e.anchors[entity] = true
		}
	}
	return e
}

// Link records that source showed at that a depends on b: a calls b, or runs on b.
func (e *Engine) Link(a, b Entity, source string, at time.Time) { e.topo.learn(a, b, source, at) }

// SetDependencies replaces the configured dependencies (each a pair: the first depends on the second). Their
// entities are never forgotten; a dependency no longer configured is unlinked unless the data shows it.
func (e *Engine) SetDependencies(deps [][2]Entity) { e.topo.setStatic(deps) }

// ExpireDependencies forgets the dependencies the data has not shown for the engine's expireAfter before now.
func (e *Engine) ExpireDependencies(now time.Time) { e.topo.expire(now) }

// Dependencies returns the dependencies held by what showed them last (SourceConfigured: configured ones the data
// has not shown).
func (e *Engine) Dependencies() map[string]int {
	out := map[string]int{}
	for s, n := range e.topo.bySource {
		if n > 0 {
			out[s] = n
		}
	}
	if n := len(e.topo.static) - e.topo.bothWays; n > 0 {
		out[SourceConfigured] = n
	}
	return out
}

// TakeExpired returns the dependencies forgotten for their age since the last call.
func (e *Engine) TakeExpired() int {
	n := e.topo.expired
	e.topo.expired = 0
	return n
}

// TakeFound returns the symptoms added since the last call, by layer, and starts counting again.
func (e *Engine) TakeFound() map[string]int {
	found := e.found
	e.found = map[string]int{}
	return found
}

// TakeForgotten returns the entities the topology forgot to stay within its bound since the last call.
func (e *Engine) TakeForgotten() int {
	n := e.topo.evicted
	e.topo.evicted = 0
	return n
}

// AddAll adds the symptoms found together (an interval's), so that their order does not matter: those that join an
// open incident first, again and again as the incidents grow, then the strongest of the rest opens one, and so on.
func (e *Engine) AddAll(ss []Symptom) {
	for _, s := range ss {
		e.found[s.Layer]++
	}
	sort.Slice(ss, func(i, j int) bool {
		if ss[i].Score != ss[j].Score {
			return ss[i].Score > ss[j].Score
		}
		return ss[i].Entity.String() < ss[j].Entity.String()
	})
	for len(ss) > 0 {
		for progress := true; progress; {
			progress = false
			rest := ss[:0]
			for _, s := range ss {
				if inc := e.incidentFor(s); inc != nil {
					e.join(inc, s)
					progress = true
				} else {
					rest = append(rest, s)
				}
			}
			ss = rest
		}
		if len(ss) > 0 {
			e.add(ss[0]) // opens an incident if it may
			ss = ss[1:]
		}
	}
}

// AddChange records a change (a new version, a restart). A change is no symptom: it opens nothing, and an incident
// takes it as evidence (a candidate cause, with its time as onset) when the change is on an entity related to it and
// came within the window before the incident's symptoms: at once for an open incident, or when one opens.
func (e *Engine) AddChange(c Symptom) {
	c.Layer = LayerChange
	if inc := e.incidentFor(c); inc != nil {
		e.join(inc, c)
		return
	}
	kept := e.changes[:0]
	for _, x := range e.changes {
		if c.At.Sub(x.At) <= e.cfg.Window {
			kept = append(kept, x)
		}
	}
	e.changes = kept
	if len(e.changes) >= e.cfg.MaxSignals {
		e.changes = e.changes[1:]
	}
	e.changes = append(e.changes, c)
}

// joinChanges adds to an incident the changes kept that came within the window before its last symptom, on
// entities related to it.
func (e *Engine) joinChanges(inc *Incident) {
	if len(e.changes) == 0 {
		return
	}
	var joined []Symptom
	kept := e.changes[:0]
	for _, c := range e.changes {
		if d := inc.last.Sub(c.At); d >= 0 && d <= stretch(e.cfg.Window, e.cfg.WindowIntervals, inc.every) && e.topo.related(c.Entity, inc.entities) {
			joined = append(joined, c)
		} else {
			kept = append(kept, c)
		}
	}
	e.changes = kept
	for _, c := range joined {
		e.join(inc, c)
	}
}

// incidentFor returns the open incident a symptom belongs to: within the window, holding its entity or one related to
// it (any open one for a business symptom); nil if none.
func (e *Engine) incidentFor(s Symptom) *Incident {
	for i := len(e.incidents) - 1; i >= 0; i-- {
		inc := e.incidents[i]
		if inc.resolved || s.At.Sub(inc.last) > stretch(e.cfg.Window, e.cfg.WindowIntervals, max(inc.every, s.Every)) {
			continue
		}
		if s.Layer == LayerBusiness || e.topo.related(s.Entity, inc.entities) {
			return inc
		}
	}
	return nil
}

// add puts a symptom into the incident it belongs to — the open incident whose symptoms are within the window and
// that holds the entity or one related to it — or opens one. A business symptom (a KPI breach) has no place in the
// topology: it joins the most recent open incident within the window, if any, and opens one of its own when it is
// confirmed (the KPI missing its target again): a business failure without a technical symptom.
func (e *Engine) add(s Symptom) {
	target := e.incidentFor(s)
	if target != nil {
		e.join(target, s)
		return
	}
	if s.Score < e.cfg.OpenScore {
		return // a weak symptom alone does not open an incident
	}
	confirmed := e.confirmed(s)
	if confirmed == nil {
		return
	}
	if len(e.incidents) >= e.cfg.MaxOpen {
		e.incidents = e.incidents[1:] // the oldest is forgotten
	}
	e.next++
	opened := confirmed[0].At
	target = &Incident{id: fmt.Sprintf("%s-%d", opened.UTC().Format("20060102T150405"), e.next), opened: opened,
		entities: map[Entity]*evidence{}}
	e.incidents = append(e.incidents, target)
	for _, c := range confirmed {
		e.join(target, c)
	}
}

// confirmed holds a strong symptom that joins no incident until, within `confirm_within`, such symptoms came from
// `confirm` distinct related entities, or one more than that from the same ones (a fault that lasts on one entity:
// a host's CPU anomalous twice in a row is still a blip); then it returns them, oldest first, and forgets them. A
// security detection is confirmed alone.
func (e *Engine) confirmed(s Symptom) []Symptom {
	in := e.cfg
	if s.Layer == LayerSecurity || in.Confirm <= 1 {
		return []Symptom{s}
	}
	kept := e.pending[:0]
	for _, p := range e.pending {
		if s.At.Sub(p.At) <= stretch(in.ConfirmWithin, in.ConfirmIntervals, max(p.Every, s.Every)) {
			kept = append(kept, p)
		}
	}
	e.pending = kept
	near := map[Entity]*evidence{s.Entity: {}}
	var together, rest []Symptom
	for _, p := range e.pending {
		if e.topo.related(p.Entity, near) {
			together = append(together, p)
		} else {
			rest = append(rest, p)
		}
	}
	entities := map[Entity]bool{s.Entity: true}
	for _, p := range together {
		entities[p.Entity] = true
	}
	if len(entities) < in.Confirm && len(together)+1 <= in.Confirm {
		if len(e.pending) >= in.MaxSignals {
			e.pending = e.pending[1:]
		}
		e.pending = append(e.pending, s)
		return nil
	}
	e.pending = rest
	return append(together, s)
}

// MaxEvery is the longest series interval the windows are stretched by: a daily series does not hold an incident
// open for days.
const MaxEvery = time.Hour

// stretch returns d, or n intervals of every (at most MaxEvery) when that is longer.
func stretch(d time.Duration, n int, every time.Duration) time.Duration {
	return max(d, time.Duration(n)*min(every, MaxEvery))
}

// join adds a symptom to an incident and ranks it again.
func (e *Engine) join(target *Incident, s Symptom) {
	if s.Layer != LayerChange { // a change is evidence, not a symptom: it neither counts nor keeps the incident open
		if s.At.After(target.last) {
			target.last = s.At
		}
		target.symptoms++
		defer e.joinChanges(target)
	}
	target.every = max(target.every, s.Every)
	if s.Layer == LayerSecurity && infrastructure(s.Entity) || s.Entity.Kind == KindKPI {
		e.expose(target, s.Entity)
	}
	if target.traceID == "" && s.TraceID != "" {
		target.traceID = s.TraceID
	}
	ev := target.entities[s.Entity]
	if ev == nil {
		if len(target.entities) >= e.cfg.MaxEntities {
			return
		}
		ev = &evidence{entity: s.Entity, onset: s.At, layers: map[string]bool{}, detail: s.Detail, traffic: s.Layer != LayerChange}
		target.entities[s.Entity] = ev
	}
	ev.traffic = ev.traffic && s.Traffic
	if s.At.Before(ev.onset) {
		ev.onset, ev.detail = s.At, s.Detail
	}
	ev.score = math.Max(ev.score, s.Score)
	ev.layers[s.Layer] = true
	found := false
	for _, sig := range ev.signals {
		found = found || sig == s.Signal
	}
	if !found && len(ev.signals) < 8 {
		ev.signals = append(ev.signals, s.Signal)
	}
	e.rank(target)
	e.queue(target)
}

// expose names among an incident's services those that run on an entity with a security symptom, or that a KPI with
// a symptom depends on (its owner): a service whose host was just logged into by a brute-forcing address is told,
// and the service whose orders fail, though neither shows anything itself.
func (e *Engine) expose(inc *Incident, on Entity) {
	for n := range e.topo.links[on] {
		if n.Kind != KindService || !e.topo.deps[n][on] && !(on.Kind == KindKPI && e.topo.deps[on][n]) {
			continue
		}
		if inc.exposed == nil {
			inc.exposed = map[string]bool{}
		}
		if len(inc.exposed) < e.cfg.MaxEntities {
			inc.exposed[n.Name] = true
		}
	}
}

// rank orders an incident's entities as root causes with a personalised PageRank in the manner of MicroRCA: the walk
// starts at symptomatic entities (weighted by the strength of their symptoms, and more for the earlier ones) and
// moves along dependencies (caller to callee, service to what it runs on) towards symptomatic dependencies, the
// stronger the more; an entity whose own dependencies are healthy keeps the walk on itself. So the mass gathers at the
// most upstream symptomatic entity: a slow database host under slow services, not the services; and of two
// symptomatic dependencies, at the one with the stronger evidence: calls to a service failing outright rather than
// the caller's host whose CPU changed with them.
func (e *Engine) rank(inc *Incident) {
	nodes := make([]Entity, 0, len(inc.entities))
	for n := range inc.entities {
		nodes = append(nodes, n)
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].String() < nodes[j].String() })
	rank := walk(e.transitions(inc, nodes), e.teleport(inc, nodes))
	inc.ranking = inc.ranking[:0]
	for i, n := range nodes {
		inc.ranking = append(inc.ranking, candidate{entity: n, score: rank[i], ev: inc.entities[n]})
	}
	sort.SliceStable(inc.ranking, func(i, j int) bool {
		a, b := inc.ranking[i], inc.ranking[j]
		if math.Abs(a.score-b.score) > 1e-9 {
			return a.score > b.score
		}
		return a.ev.onset.Before(b.ev.onset)
	})
}

// teleport returns where the walk starts: each node by the strength of its symptoms, three times as much for the
// first symptom as for one a window later — or, when the incident holds anchors, only they; the weights sum to 1.
func (e *Engine) teleport(inc *Incident, nodes []Entity) []float64 {
	anchored := false
	for _, n := range nodes {
		anchored = anchored || e.anchors[n]
	}
	var first time.Time
	for _, ev := range inc.entities {
		if first.IsZero() || ev.onset.Before(first) {
			first = ev.onset
		}
	}
	window := e.cfg.Window.Seconds()
	teleport := make([]float64, len(nodes))
	total := 0.0
	for i, n := range nodes {
		ev := inc.entities[n]
		lead := 1 - math.Min(1, ev.onset.Sub(first).Seconds()/window) // 1 for the first symptom, less for later ones
		if anchored && !e.anchors[n] {
			continue
		}
		teleport[i] = strength(ev.score) * (1 + 2*lead)
		total += teleport[i]
	}
	for i := range teleport {
		teleport[i] /= total
	}
	return teleport
}

// step is a move of the walk to node to, with probability w.
type step struct {
	to int
	w  float64
}

// transitions returns each node's moves: to its symptomatic dependencies, by their strength; the rest stays on the
// node, the more so the healthier its dependencies. A node whose symptoms are all about how many requests it receives
// is explained the other way, by its callers: it moves to those whose symptoms are such too (what it receives comes
// from them), by their strength, and otherwise keeps the walk (calls to it that fail on the way, or stopped).
func (e *Engine) transitions(inc *Incident, nodes []Entity) [][]step {
	index := map[Entity]int{}
	for i, n := range nodes {
		index[n] = i
	}
	moves := make([][]step, len(nodes))
	for i, n := range nodes {
		if inc.entities[n].traffic {
			moves[i] = e.callersWithin(inc, i, nodes)
			continue
		}
		own := inc.entities[n].score
		out, evidence := 0.0, 0.0
		for j := range e.topo.depsWithin(n, index) {
			dep := inc.entities[nodes[j]].score
			moves[i] = append(moves[i], step{j, strength(dep)})
			out += dep
			evidence += strength(dep)
		}
		for k := range moves[i] { // the share that leaves, split by the strength of each dependency's evidence
			moves[i][k].w *= out / max(evidence, 1e-9)
		}
		stay := own * math.Max(0, 1-out) // healthy dependencies: the walk stays here
		moves[i] = append(moves[i], step{i, stay + 1e-9})
		sum := out + stay + 1e-9
		for k := range moves[i] {
			moves[i][k].w /= sum
		}
	}
	return moves
}

// callersWithin returns the moves of node i, whose symptoms are all about its traffic: to its callers among the nodes
// whose symptoms are too, by their strength; to itself when there are none.
func (e *Engine) callersWithin(inc *Incident, i int, nodes []Entity) []step {
	var moves []step
	sum := 0.0
	for j, c := range nodes {
		if ev := inc.entities[c]; j != i && ev.traffic && e.topo.deps[c][nodes[i]] {
			moves = append(moves, step{j, strength(ev.score) + 1e-9})
			sum += strength(ev.score) + 1e-9
		}
	}
	if len(moves) == 0 {
		return []step{{i, 1}}
	}
	for k := range moves {
		moves[k].w /= sum
	}
	return moves
}

// walk returns where a random walk over moves that restarts at teleport with probability 0.15 spends its time
// (personalised PageRank, 50 iterations).
func walk(moves [][]step, teleport []float64) []float64 {
	rank := append([]float64(nil), teleport...)
	for range 50 {
		next := make([]float64, len(rank))
		for i := range rank {
			for _, m := range moves[i] {
				next[m.to] += 0.85 * rank[i] * m.w
			}
		}
		for i := range next {
			next[i] += 0.15 * teleport[i]
		}
		rank = next
	}
	return rank
}

// strength returns how much a symptom's score says: its surprise, -log10(1 - score), over that of a certain symptom (a
// score of 1, taken as 1 - 1e-6). Scores near 1 differ in what they say by orders of magnitude that a linear weight
// hides: 0.997 is 0.42, 0.9999 is 0.67, 1 is 1.
func strength(score float64) float64 {
	return -math.Log10(math.Max(1-score, 1e-6)) / 6
}

// queue marks an incident for emission when what it says changed: its top candidate or its entities.
func (e *Engine) queue(inc *Incident) {
	var b strings.Builder
	for i, c := range inc.ranking {
		if i == 3 {
			break
		}
		b.WriteString(c.entity.String() + ";")
	}
	fmt.Fprintf(&b, "%d", len(inc.entities))
	if b.String() == inc.emitted {
		return
	}
	inc.emitted = b.String()
	e.enqueue(inc)
}

// enqueue adds an incident to what the next emission sends, once.
func (e *Engine) enqueue(inc *Incident) {
	if !inc.queued {
		inc.queued = true
		e.out = append(e.out, inc)
	}
}

// Dequeue takes what is to be emitted.
func (e *Engine) Dequeue() []*Incident {
	out := e.out
	e.out = nil
	for _, inc := range out {
		inc.queued = false
	}
	return out
}

// Resolve closes the incidents without a symptom for resolve_after.
func (e *Engine) Resolve(now time.Time) {
	kept := e.incidents[:0]
	for _, inc := range e.incidents {
		if now.Sub(inc.last) >= stretch(e.cfg.ResolveAfter, e.cfg.ResolveIntervals, inc.every) {
			inc.resolved = true
			e.enqueue(inc)
			continue
		}
		kept = append(kept, inc)
	}
	e.incidents = kept
}
