package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"container/list"
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
type engine struct {
	rules       []*ruleState
	ipv6Prefix  int
	ignoreNets  []netip.Prefix
	ignoreUsers map[string]bool
	maxKeys     int
	onEvict     func(rule string)
}

type ruleState struct {
	cfg   *RuleConfig
	match matcher
	after matcher
	keys  map[string]*list.Element // of *keyState, most recently seen at the front
	order *list.List
}

// keyState is what a rule remembers of one key. Its memory is bounded by the rule's threshold.
type keyState struct {
	key    string
	times  []time.Time           // threshold: the last threshold events; sequence: the last threshold preceding events
	values map[string]*valueSeen // distinct: the values seen in the window
	first  time.Time             // the episode's first event
	last   time.Time             // the episode's last event
	fired  bool                  // the rule fired in this episode
}

type valueSeen struct {
	n    int
	last time.Time
}

// matcher is a MatchConfig with sets; a nil set matches anything.
type matcher struct {
	events, outcomes, processes, targetUsers, groups map[string]bool
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
	return matcher{set(m.Events), set(m.Outcomes), set(m.Processes), set(m.TargetUsers), set(m.Groups)}
}

func (m *matcher) matches(o *observation) bool {
	in := func(set map[string]bool, v string) bool { return set == nil || set[v] }
	return in(m.events, o.kind) && in(m.outcomes, o.outcome) && in(m.processes, o.process) &&
		in(m.targetUsers, o.targetUser) && in(m.groups, o.group)
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
		e.rules = append(e.rules, &ruleState{cfg: r, match: newMatcher(r.Match), after: newMatcher(r.After),
			keys: map[string]*list.Element{}, order: list.New()})
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
	for _, r := range e.rules {
		isMain := r.match.matches(o)
		isAfter := r.cfg.Kind == kindSequence && r.after.matches(o)
		if !isMain && !isAfter {
			continue
		}
		key, ok := r.key(o, source)
		if !ok {
			continue
		}
		e.expire(r, o.time)
		if d := r.observe(e, key, o, source, isMain, isAfter); d != nil {
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
	if !present {
		return "", false
	}
	if r.cfg.Kind == kindDistinct && field(o, r.cfg.Distinct, source) == "" {
		return "", false
	}
	return b.String(), true
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
func (e *engine) expire(r *ruleState, now time.Time) {
	if r.cfg.Kind == kindFirstSeen {
		return
	}
	for el := r.order.Back(); el != nil; el = r.order.Back() {
		ks := el.Value.(*keyState)
		if now.Sub(ks.last) <= r.cfg.Window {
			return
		}
		r.order.Remove(el)
		delete(r.keys, ks.key)
	}
}

// state returns the key's state, making it (and evicting the least recently seen key past the bound) when new.
func (e *engine) state(r *ruleState, key string) (*keyState, bool) {
	if el, ok := r.keys[key]; ok {
		r.order.MoveToFront(el)
		return el.Value.(*keyState), false
	}
	if r.order.Len() >= e.maxKeys {
		old := r.order.Back()
		r.order.Remove(old)
		delete(r.keys, old.Value.(*keyState).key)
		if e.onEvict != nil {
			e.onEvict(r.cfg.Name)
		}
	}
	ks := &keyState{key: key}
	r.keys[key] = r.order.PushFront(ks)
	return ks, true
}

func (r *ruleState) observe(e *engine, key string, o *observation, source string, isMain, isAfter bool) *detection {
	ks, isNew := e.state(r, key)
	cfg := r.cfg
	if cfg.Kind == kindFirstSeen {
		if !isNew {
			return nil
		}
		ks.first, ks.last = o.time, o.time
		return r.detection(o, source, 1, 0, o.time)
	}

	// An episode ends once the key has been quiet for a window; the rule re-arms.
	if !isNew && o.time.Sub(ks.last) > cfg.Window {
		*ks = keyState{key: key}
	}
	if ks.first.IsZero() {
		ks.first = o.time
	}
	if o.time.After(ks.last) {
		ks.last = o.time
	}

	switch cfg.Kind {
	case kindThreshold:
		for range min(o.count, cfg.Threshold) {
			ks.push(o.time, cfg.Threshold)
		}
		if !ks.fired && len(ks.times) == cfg.Threshold && o.time.Sub(ks.times[0]) <= cfg.Window {
			ks.fired = true
			return r.detection(o, source, cfg.Threshold, 0, ks.times[0])
		}
	case kindSequence:
		if isAfter {
			for range min(o.count, cfg.Threshold) {
				ks.push(o.time, cfg.Threshold)
			}
		}
		if isMain && !ks.fired && len(ks.times) == cfg.Threshold && o.time.Sub(ks.times[0]) <= cfg.Window {
			ks.fired = true
			return r.detection(o, source, cfg.Threshold+1, 0, ks.times[0])
		}
	case kindDistinct:
		distinct, count, first := ks.addValue(field(o, cfg.Distinct, source), o, cfg)
		if !ks.fired && distinct >= cfg.Threshold {
			ks.fired = true
			return r.detection(o, source, count, distinct, first)
		}
	}
	return nil
}

// push keeps the last n event times.
func (ks *keyState) push(t time.Time, n int) {
	if len(ks.times) == n {
		copy(ks.times, ks.times[1:])
		ks.times = ks.times[:n-1]
	}
	ks.times = append(ks.times, t)
}

// maxValuesPerKey bounds the distinct values a key keeps, as a multiple of the threshold.
const maxValuesPerKey = 4

// addValue records a value for a distinct rule and returns the values that count (at most max_per_value events
// each) within the window, the events of those values, and the earliest of them.
func (ks *keyState) addValue(v string, o *observation, cfg *RuleConfig) (distinct, count int, first time.Time) {
	if ks.values == nil {
		ks.values = map[string]*valueSeen{}
	}
	if seen, ok := ks.values[v]; ok {
		seen.n += o.count
		seen.last = o.time
	} else {
		if len(ks.values) >= maxValuesPerKey*cfg.Threshold {
			ks.dropOldestValue()
		}
		ks.values[v] = &valueSeen{n: o.count, last: o.time}
	}
	first = o.time
	for value, seen := range ks.values {
		if o.time.Sub(seen.last) > cfg.Window {
			delete(ks.values, value)
			continue
		}
		if cfg.MaxPerValue > 0 && seen.n > cfg.MaxPerValue {
			continue
		}
		distinct++
		count += seen.n
		if seen.last.Before(first) {
			first = seen.last
		}
	}
	return distinct, count, first
}

func (ks *keyState) dropOldestValue() {
	var oldest string
	var at time.Time
	for v, seen := range ks.values {
		if oldest == "" || seen.last.Before(at) {
			oldest, at = v, seen.last
		}
	}
	delete(ks.values, oldest)
}

func (r *ruleState) detection(o *observation, source string, count, distinct int, first time.Time) *detection {
	d := &detection{rule: r.cfg, time: o.time, count: count, distinct: distinct, first: first, last: o.time, host: o.host}
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
