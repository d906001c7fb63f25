package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"net/netip"
	"strings"
	"time"
)

// observation is an event with what detections need around it.
type observation struct {
	*event
	time    time.Time
	host    string
	process string
}

// detection is a rule that fired for a key.
type detection struct {
	rule        *RuleConfig
	time        time.Time
	source      string // the source counted by, an address or an IPv6 prefix; "" when not part of the key or events
	user        string
	targetUser  string
	group       string
	host        string
	count       int // matching events in the window when it fired
	distinct    int // distinct values, for distinct rules
	first, last time.Time
}

// engine runs the detection rules over observations. It is not safe for concurrent use.
//
// Memory is what the per-source goal is about, so the state is laid out tightly: a rule's keys are in a map and
// an intrusive least-recently-seen list, times are Unix nanoseconds, and a key keeps at most threshold times (or
// 4 × threshold distinct values).
type engine struct {
	rules       []*ruleState
	ipv6Prefix  int
	ignoreNets  []netip.Prefix
	ignoreUsers map[string]bool
	maxKeys     int
	onEvict     func(rule string)
}

type ruleState struct {
	cfg    *RuleConfig
	window int64
	match  matcher
	after  matcher
	keys   map[string]*keyState
	// The least recently seen key is at the tail; head is the most recent.
	head, tail *keyState
}

// keyState is what a rule remembers of one key.
type keyState struct {
	key        string
	prev, next *keyState
	times      []int64     // threshold: the last threshold events; sequence: the last threshold preceding events (a ring)
	start      int         // where the ring starts once it is full
	values     []valueSeen // distinct: the values seen in the window
	first      int64       // the episode's first event
	last       int64       // the episode's last event
	fired      bool        // the rule fired in this episode
}

type valueSeen struct {
	value string
	n     int
	last  int64
}

// kindBits numbers the event kinds, for matchers' bit sets.
var kindBits = func() map[string]uint64 {
	m := make(map[string]uint64, len(eventKinds))
	for i, k := range eventKinds {
		m[k] = 1 << i
	}
	return m
}()

// matcher is a MatchConfig compiled: event kinds and outcomes as bit sets, the rest as sets; empty matches anything.
type matcher struct {
	events, outcomes           uint64
	processes, targets, groups map[string]bool
}

func newMatcher(m MatchConfig) matcher {
	set := func(values []string) map[string]bool {
		if len(values) == 0 {
			return nil
		}
		s := make(map[string]bool, len(values))
		for _, v := range values {
			s[v] = true
		}
		return s
	}
	var c matcher
	for _, e := range m.Events {
		c.events |= kindBits[e]
	}
	for _, o := range m.Outcomes {
		c.outcomes |= outcomeBit(o)
	}
	c.processes, c.targets, c.groups = set(m.Processes), set(m.TargetUsers), set(m.Groups)
	return c
}

func outcomeBit(o string) uint64 {
	switch o {
	case "success":
		return 1
	case "failure":
		return 2
	}
	return 4
}

func (m *matcher) matches(o *observation, kind, outcome uint64) bool {
	in := func(set map[string]bool, v string) bool { return set == nil || set[v] }
	return (m.events == 0 || m.events&kind != 0) && (m.outcomes == 0 || m.outcomes&outcome != 0) &&
		in(m.processes, o.process) && in(m.targets, o.targetUser) && in(m.groups, o.group)
}

func newEngine(cfg *Config, onEvict func(rule string)) *engine {
	e := &engine{ipv6Prefix: cfg.IPv6Prefix, ignoreUsers: map[string]bool{}, maxKeys: cfg.MaxTrackedKeys, onEvict: onEvict}
	for _, s := range cfg.Ignore.Sources {
		p, _ := parsePrefix(s) // Validate checked it
		e.ignoreNets = append(e.ignoreNets, p)
	}
	for _, u := range cfg.Ignore.Users {
		e.ignoreUsers[u] = true
	}
	for i := range cfg.Rules {
		r := &cfg.Rules[i]
		if !r.Enabled {
			continue
		}
		e.rules = append(e.rules, &ruleState{cfg: r, window: int64(r.Window), match: newMatcher(r.Match),
			after: newMatcher(r.After), keys: map[string]*keyState{}})
	}
	return e
}

// observe runs every rule over o and calls fire for each detection.
func (e *engine) observe(o *observation, fire func(*detection)) {
	if o.user != "" && e.ignoreUsers[o.user] {
		return
	}
	source := ""
	if o.source.IsValid() {
		for _, p := range e.ignoreNets {
			if p.Contains(o.source) {
				return
			}
		}
		source = e.sourceKey(o.source)
	}
	kind, outcome := kindBits[o.kind], outcomeBit(o.outcome)
	now := o.time.UnixNano()
	for _, r := range e.rules {
		isMain := r.match.matches(o, kind, outcome)
		isAfter := r.cfg.Kind == kindSequence && r.after.matches(o, kind, outcome)
		if !isMain && !isAfter {
			continue
		}
		key, ok := r.key(o, source)
		if !ok {
			continue
		}
		r.expire(now)
		if d := r.observe(e, key, o, now, source, isMain, isAfter); d != nil {
			fire(d)
		}
	}
}

// sourceKey is the address, or for IPv6 its prefix of the configured length: one attacker holds a whole /64.
func (e *engine) sourceKey(a netip.Addr) string {
	if a.Is4() || e.ipv6Prefix >= 128 {
		return a.String()
	}
	p, _ := a.Prefix(e.ipv6Prefix)
	return p.String()
}

// key joins the fields the rule groups by. An event with none of them (or without the field a distinct rule
// counts) does not count for the rule: a sudo line has no source address.
func (r *ruleState) key(o *observation, source string) (string, bool) {
	if r.cfg.Kind == kindDistinct && field(o, r.cfg.Distinct, source) == "" {
		return "", false
	}
	if len(r.cfg.GroupBy) == 1 { // the common case: the value itself is the key, nothing to build
		v := field(o, r.cfg.GroupBy[0], source)
		return v, v != ""
	}
	var b strings.Builder
	present := false
	for i, f := range r.cfg.GroupBy {
		v := field(o, f, source)
		present = present || v != ""
		if i > 0 {
			b.WriteByte(0)
		}
		b.WriteString(v)
	}
	return b.String(), present
}

func field(o *observation, name, source string) string {
	switch name {
	case "source":
		return source
	case "user":
		return o.user
	case "target_user":
		return o.targetUser
	case "host":
		return o.host
	case "group":
		return o.group
	}
	return ""
}

// expire drops the keys whose last event is more than a window before now, from the least recently seen. First-seen
// rules keep their keys: they are the memory of what was seen.
func (r *ruleState) expire(now int64) {
	if r.cfg.Kind == kindFirstSeen {
		return
	}
	for ks := r.tail; ks != nil && now-ks.last > r.window; ks = r.tail {
		r.remove(ks)
	}
}

func (r *ruleState) remove(ks *keyState) {
	if ks.prev != nil {
		ks.prev.next = ks.next
	} else {
		r.head = ks.next
	}
	if ks.next != nil {
		ks.next.prev = ks.prev
	} else {
		r.tail = ks.prev
	}
	ks.prev, ks.next = nil, nil
	delete(r.keys, ks.key)
}

func (r *ruleState) pushFront(ks *keyState) {
	ks.prev, ks.next = nil, r.head
	if r.head != nil {
		r.head.prev = ks
	}
	r.head = ks
	if r.tail == nil {
		r.tail = ks
	}
}

// state returns the key's state, making it (and evicting the least recently seen key past the bound) when new.
func (e *engine) state(r *ruleState, key string) (*keyState, bool) {
	if ks, ok := r.keys[key]; ok {
		if r.head != ks {
			r.remove(ks)
			r.keys[key] = ks
			r.pushFront(ks)
		}
		return ks, false
	}
	if len(r.keys) >= e.maxKeys {
		r.remove(r.tail)
		if e.onEvict != nil {
			e.onEvict(r.cfg.Name)
		}
	}
	ks := &keyState{key: strings.Clone(key)} // the key outlives the line it was cut from
	r.keys[ks.key] = ks
	r.pushFront(ks)
	return ks, true
}

func (r *ruleState) observe(e *engine, key string, o *observation, now int64, source string, isMain, isAfter bool) *detection {
	ks, isNew := e.state(r, key)
	cfg := r.cfg
	if cfg.Kind == kindFirstSeen {
		if !isNew {
			return nil
		}
		ks.first, ks.last = now, now
		return r.detection(o, source, 1, 0, now)
	}

	// An episode ends once the key has been quiet for a window; the rule re-arms.
	if !isNew && now-ks.last > r.window {
		ks.times, ks.start, ks.values, ks.first, ks.fired = ks.times[:0], 0, ks.values[:0], 0, false
	}
	if ks.first == 0 {
		ks.first = now
	}
	if now > ks.last {
		ks.last = now
	}

	switch cfg.Kind {
	case kindThreshold:
		for range min(o.count, cfg.Threshold) {
			ks.push(now, cfg.Threshold)
		}
		if !ks.fired && len(ks.times) == cfg.Threshold && now-ks.oldest() <= r.window {
			ks.fired = true
			return r.detection(o, source, cfg.Threshold, 0, ks.oldest())
		}
	case kindSequence:
		if isAfter {
			for range min(o.count, cfg.Threshold) {
				ks.push(now, cfg.Threshold)
			}
		}
		if isMain && !ks.fired && len(ks.times) == cfg.Threshold && now-ks.oldest() <= r.window {
			ks.fired = true
			return r.detection(o, source, cfg.Threshold+1, 0, ks.oldest())
		}
	case kindDistinct:
		ks.addValue(field(o, cfg.Distinct, source), o.count, now, cfg)
		if ks.fired || len(ks.values) < cfg.Threshold {
			return nil // too few values to reach the threshold: no need to count them
		}
		distinct, count, first := ks.countValues(now, r.window, cfg.MaxPerValue)
		if distinct >= cfg.Threshold {
			ks.fired = true
			return r.detection(o, source, count, distinct, first)
		}
	}
	return nil
}

// push keeps the last n event times in a ring.
func (ks *keyState) push(t int64, n int) {
	if len(ks.times) < n {
		ks.times = append(ks.times, t)
		return
	}
	ks.times[ks.start] = t
	ks.start = (ks.start + 1) % n
}

// oldest is the earliest of the kept times.
func (ks *keyState) oldest() int64 { return ks.times[ks.start%len(ks.times)] }

// maxValuesPerKey bounds the distinct values a key keeps, as a multiple of the threshold.
const maxValuesPerKey = 4

// addValue records an event for a value of a distinct rule.
func (ks *keyState) addValue(v string, n int, now int64, cfg *RuleConfig) {
	for i := range ks.values {
		if ks.values[i].value == v {
			ks.values[i].n += n
			ks.values[i].last = now
			return
		}
	}
	if len(ks.values) >= maxValuesPerKey*cfg.Threshold {
		oldest := 0
		for i := range ks.values {
			if ks.values[i].last < ks.values[oldest].last {
				oldest = i
			}
		}
		ks.values[oldest] = ks.values[len(ks.values)-1]
		ks.values = ks.values[:len(ks.values)-1]
	}
	ks.values = append(ks.values, valueSeen{value: strings.Clone(v), n: n, last: now})
}

// countValues drops the values not seen within the window and returns those that count (at most maxPerValue
// events each, when set), their events, and the earliest of them.
func (ks *keyState) countValues(now, window int64, maxPerValue int) (distinct, count int, first int64) {
	first = now
	kept := ks.values[:0]
	for _, v := range ks.values {
		if now-v.last > window {
			continue
		}
		kept = append(kept, v)
		if maxPerValue > 0 && v.n > maxPerValue {
			continue
		}
		distinct++
		count += v.n
		first = min(first, v.last)
	}
	ks.values = kept
	return distinct, count, first
}

func (r *ruleState) detection(o *observation, source string, count, distinct int, first int64) *detection {
	d := &detection{rule: r.cfg, time: o.time, count: count, distinct: distinct, last: o.time, host: o.host,
		first: time.Unix(0, first).In(o.time.Location())}
	for _, f := range r.cfg.GroupBy {
		switch f {
		case "source":
			d.source = source
		case "user":
			d.user = o.user
		case "target_user":
			d.targetUser = o.targetUser
		case "group":
			d.group = o.group
		}
	}
	// What the detection is about, even when not counted by: the source of a user-keyed login rule, for instance.
	if d.source == "" && r.cfg.Distinct != "source" {
		d.source = source
	}
	if d.user == "" && r.cfg.Distinct != "user" {
		d.user = o.user
	}
	if d.targetUser == "" {
		d.targetUser = o.targetUser
	}
	return d
}
