package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"net/netip"
	"slices"
	"strings"
	"time"
)

// observation is an event with what detections need around it.
type observation struct {
	*event
	time    time.Time
	host    string
	process string
	address string // the event's source as text, when the caller has formatted it already
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

// detector runs the detection rules over observations. It is not safe for concurrent use.
//
// The detector is bound by memory latency (a busy attack log names tens of thousands of sources), so state is laid
// out for few cold cache lines a line: rules that count by the same fields share a key space, where one map lookup
// finds one entry holding every such rule's state for the key; times are Unix nanoseconds in rings of at most
// threshold; distinct values are a small slice of at most 4 × threshold.
type detector struct {
	spaces      []*keySpace
	ipv6Prefix  int
	ignoreNets  []netip.Prefix
	ignoreUsers map[string]bool
	maxKeys     int
	onEvict     func(rule string)
}

// keySpace holds the keys of the rules that group by the same fields.
type keySpace struct {
	groupBy   []string
	firstSeen bool  // first-seen rules keep their keys (they are the memory of what was seen): a space of their own
	horizon   int64 // the longest window of its rules: an entry quiet for longer is dropped
	rules     []*rule
	keys      map[string]*entry
	// The entries seen once (probation) and those seen again (protected), each list with its least recently seen
	// entry at the tail. A full space evicts from probation first: an attacker whose failures keep coming outlives
	// any number of one-off sources (a segmented LRU).
	probation, protected entryList
}

// entryList is a doubly linked list of entries; head is the most recently seen.
type entryList struct {
	head, tail *entry
	n          int
}

type rule struct {
	cfg    *RuleConfig
	window int64
	match  matcher
	after  matcher
}

// entry is a key of a space: its rules' states, side by side.
type entry struct {
	key        string
	prev, next *entry
	protected  bool // in the protected list, not probation
	last       int64
	states     []ruleState // by the index of the rule in the space
}

// ruleState is what a rule remembers of one key.
type ruleState struct {
	times  []int64     // threshold: the last threshold events; sequence: the last threshold preceding events (a ring)
	start  int         // where the ring starts once it is full
	values []valueSeen // distinct: the values seen in the window
	first  int64       // the episode's first event (0: no episode)
	last   int64       // the episode's last event
	fired  bool        // fired in this episode (first_seen: seen)
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

func newDetector(cfg *Config, onEvict func(rule string)) *detector {
	e := &detector{ipv6Prefix: cfg.IPv6Prefix, ignoreUsers: map[string]bool{}, maxKeys: cfg.MaxTrackedKeys, onEvict: onEvict}
	for _, s := range cfg.Ignore.Sources {
		p, _ := parsePrefix(s) // Validate checked it
		e.ignoreNets = append(e.ignoreNets, p)
	}
	for _, u := range cfg.Ignore.Users {
		e.ignoreUsers[u] = true
	}
	for i := range cfg.Rules {
		rc := &cfg.Rules[i]
		if !rc.Enabled {
			continue
		}
		firstSeen := rc.Kind == kindFirstSeen
		j := slices.IndexFunc(e.spaces, func(s *keySpace) bool {
			return s.firstSeen == firstSeen && slices.Equal(s.groupBy, rc.GroupBy)
		})
		if j < 0 {
			e.spaces = append(e.spaces, &keySpace{groupBy: rc.GroupBy, firstSeen: firstSeen, keys: map[string]*entry{}})
			j = len(e.spaces) - 1
		}
		s := e.spaces[j]
		s.rules = append(s.rules, &rule{cfg: rc, window: int64(rc.Window), match: newMatcher(rc.Match), after: newMatcher(rc.After)})
		s.horizon = max(s.horizon, int64(rc.Window))
	}
	return e
}

// observe runs every rule over o and calls fire for each detection.
func (e *detector) observe(o *observation, fire func(*detection)) {
	if o.user != "" && e.ignoreUsers[o.user] {
		return
	}
	source := ""
	if o.source.IsValid() {
		for _, p := range e.ignoreNets {
			if p.Contains(o.source.Unmap()) {
				return
			}
		}
		source = e.sourceKey(o.source, o.address)
	}
	kind, outcome := kindBits[o.kind], outcomeBit(o.outcome)
	now := o.time.UnixNano()
	var main, after [64]bool
	for _, s := range e.spaces {
		any := false
		for i, r := range s.rules {
			main[i] = r.match.matches(o, kind, outcome) && (r.cfg.Kind != kindDistinct || field(o, r.cfg.Distinct, source) != "")
			after[i] = r.cfg.Kind == kindSequence && r.after.matches(o, kind, outcome)
			any = any || main[i] || after[i]
		}
		if !any {
			continue
		}
		key, ok := s.key(o, source)
		if !ok {
			continue
		}
		s.expire(now)
		ent := e.entry(s, key)
		ent.last = max(ent.last, now)
		for i, r := range s.rules {
			if main[i] || after[i] {
				if d := r.observe(&ent.states[i], o, now, source, main[i], after[i]); d != nil {
					fire(d)
				}
			}
		}
	}
}

// sourceKey returns the address, or for IPv6 its prefix of the configured length: one attacker holds a whole /64.
// text is a's text when the caller has it ("" when not), used as it is for an IPv4 address.
func (e *detector) sourceKey(a netip.Addr, text string) string {
	if a.Is4() && text != "" {
		return text
	}
	a = a.Unmap() // ::ffff:a.b.c.d is the IPv4 address a.b.c.d, not a /64 of its own
	if a.Is4() || e.ipv6Prefix >= 128 {
		return a.String()
	}
	p, _ := a.Prefix(e.ipv6Prefix)
	return p.String()
}

// key joins the fields the space groups by. An event with none of them does not count for its rules: a sudo line
// has no source address.
func (s *keySpace) key(o *observation, source string) (string, bool) {
	if len(s.groupBy) == 1 { // the common case: the value itself is the key, nothing to build
		v := field(o, s.groupBy[0], source)
		return v, v != ""
	}
	var b strings.Builder
	present := false
	for i, f := range s.groupBy {
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

// expire drops the entries quiet for longer than the space's longest window, from the least recently seen.
func (s *keySpace) expire(now int64) {
	if s.firstSeen {
		return
	}
	for _, l := range []*entryList{&s.probation, &s.protected} {
		for ent := l.tail; ent != nil && now-ent.last > s.horizon; ent = l.tail {
			l.unlink(ent)
			delete(s.keys, ent.key)
		}
	}
}

func (l *entryList) unlink(ent *entry) {
	if ent.prev != nil {
		ent.prev.next = ent.next
	} else {
		l.head = ent.next
	}
	if ent.next != nil {
		ent.next.prev = ent.prev
	} else {
		l.tail = ent.prev
	}
	ent.prev, ent.next = nil, nil
	l.n--
}

func (l *entryList) pushFront(ent *entry) {
	ent.prev, ent.next = nil, l.head
	if l.head != nil {
		l.head.prev = ent
	}
	l.head = ent
	if l.tail == nil {
		l.tail = ent
	}
	l.n++
}

// list returns the list ent is in.
func (s *keySpace) list(ent *entry) *entryList {
	if ent.protected {
		return &s.protected
	}
	return &s.probation
}

// entry returns the key's entry, making it when new. A key seen again moves to the protected list (at most three
// quarters of the bound: beyond, its least recently seen entry goes back to probation); a new key past the bound
// evicts the least recently seen entry of probation, or of the protected list when probation is empty.
func (e *detector) entry(s *keySpace, key string) *entry {
	if ent, ok := s.keys[key]; ok {
		switch {
		case !ent.protected:
			s.probation.unlink(ent)
			if s.protected.n >= max(1, e.maxKeys*3/4) {
				demoted := s.protected.tail
				s.protected.unlink(demoted)
				demoted.protected = false
				s.probation.pushFront(demoted)
			}
			ent.protected = true
			s.protected.pushFront(ent)
		case s.protected.head != ent:
			s.protected.unlink(ent)
			s.protected.pushFront(ent)
		}
		return ent
	}
	if len(s.keys) >= e.maxKeys {
		old := s.probation.tail
		if old == nil {
			old = s.protected.tail
		}
		s.list(old).unlink(old)
		delete(s.keys, old.key)
		if e.onEvict != nil {
			for i, r := range s.rules {
				if old.states[i].held() {
					e.onEvict(r.cfg.Name)
				}
			}
		}
	}
	ent := &entry{key: strings.Clone(key), states: make([]ruleState, len(s.rules))} // the key outlives its line
	s.keys[ent.key] = ent
	s.probation.pushFront(ent)
	return ent
}

// held reports whether a rule kept anything for the key (an eviction then loses it).
func (st *ruleState) held() bool {
	return len(st.times) > 0 || len(st.values) > 0 || st.first != 0 || st.fired
}

func (r *rule) observe(st *ruleState, o *observation, now int64, source string, isMain, isAfter bool) *detection {
	cfg := r.cfg
	if cfg.Kind == kindFirstSeen {
		if st.fired {
			return nil
		}
		st.fired, st.first, st.last = true, now, now
		return r.detection(o, source, 1, 0, now)
	}

	// An episode ends once the key has been quiet for a window; the rule re-arms.
	if st.first != 0 && now-st.last > r.window {
		st.times, st.start, st.values, st.first, st.fired = st.times[:0], 0, st.values[:0], 0, false
	}
	if st.first == 0 {
		st.first = now
	}
	st.last = max(st.last, now)

	switch cfg.Kind {
	case kindThreshold:
		for range min(o.count, cfg.Threshold) {
			st.push(now, cfg.Threshold)
		}
		if !st.fired && len(st.times) == cfg.Threshold && now-st.oldest() <= r.window {
			st.fired = true
			return r.detection(o, source, cfg.Threshold, 0, st.oldest())
		}
	case kindSequence:
		if isAfter {
			for range min(o.count, cfg.Threshold) {
				st.push(now, cfg.Threshold)
			}
		}
		if isMain && !st.fired && len(st.times) == cfg.Threshold && now-st.oldest() <= r.window {
			st.fired = true
			return r.detection(o, source, cfg.Threshold+1, 0, st.oldest())
		}
	case kindDistinct:
		st.addValue(field(o, cfg.Distinct, source), o.count, now, cfg)
		if st.fired || len(st.values) < cfg.Threshold {
			return nil // too few values to reach the threshold: no need to count them
		}
		distinct, count, first := st.countValues(now, r.window, cfg.MaxPerValue)
		if distinct >= cfg.Threshold {
			st.fired = true
			return r.detection(o, source, count, distinct, first)
		}
	}
	return nil
}

// push keeps the last n event times in a ring.
func (st *ruleState) push(t int64, n int) {
	if len(st.times) < n {
		st.times = append(st.times, t)
		return
	}
	st.times[st.start] = t
	st.start = (st.start + 1) % n
}

// oldest is the earliest of the kept times.
func (st *ruleState) oldest() int64 { return st.times[st.start%len(st.times)] }

// maxValuesPerKey bounds the distinct values a key keeps, as a multiple of the threshold.
const maxValuesPerKey = 4

// addValue records an event for a value of a distinct rule.
func (st *ruleState) addValue(v string, n int, now int64, cfg *RuleConfig) {
	for i := range st.values {
		if st.values[i].value == v {
			st.values[i].n += n
			st.values[i].last = now
			return
		}
	}
	if len(st.values) >= maxValuesPerKey*cfg.Threshold {
		oldest := 0
		for i := range st.values {
			if st.values[i].last < st.values[oldest].last {
				oldest = i
			}
		}
		st.values[oldest] = st.values[len(st.values)-1]
		st.values = st.values[:len(st.values)-1]
	}
	st.values = append(st.values, valueSeen{value: strings.Clone(v), n: n, last: now})
}

// countValues drops the values not seen within the window and returns those that count (at most maxPerValue
// events each, when set), their events, and the earliest of them.
func (st *ruleState) countValues(now, window int64, maxPerValue int) (distinct, count int, first int64) {
	first = now
	kept := st.values[:0]
	for _, v := range st.values {
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
	st.values = kept
	return distinct, count, first
}

func (r *rule) detection(o *observation, source string, count, distinct int, first int64) *detection {
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
