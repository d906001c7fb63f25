package correlationconnector // import "github.com/otelstrata/strata/connector/correlationconnector"

import (
	"container/list"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Connection types of edges (the connection_type label of Grafana's service graph).
const (
	connectionDirect      = ""
	connectionVirtualNode = "virtual_node"
	connectionMessaging   = "messaging_system"
	connectionDatabase    = "database"
)

// userNode is the client of a server span that has no parent: the outside world calling in.
const userNode = "user"

// halfKey matches a client span with its server span: the server span's parent is the client span.
type halfKey struct {
	trace pcommon.TraceID
	span  pcommon.SpanID
}

// half is a client (or producer) or server (or consumer) span waiting for its other half.
type half struct {
	key      halfKey
	client   bool
	service  string
	peer     string // for a client: the virtual node it calls when no server answers (database, queue, peer.service)
	address  string // for a client: the server.address (or peer.service) it calls
	conn     string // the connection type of that virtual node
	duration float64
	failed   bool
	expires  time.Time
}

// edgeKey is an edge of the graph.
type edgeKey struct {
	client, server, conn string
}

// edge is what passed along an edge since start: requests, failures, and the client's and server's durations.
type edge struct {
	key                  edgeKey
	requests, failed     uint64
	clientHist, srvHist  []uint64 // per latency bucket, the last for beyond the last bound
	clientSum, serverSum float64
	updated              time.Time
	elem                 *list.Element
}

// graph pairs span halves into edges. It is used under the connector's lock.
type graph struct {
	cfg     *Config
	bounds  []float64 // latency bucket bounds in seconds
	pending map[halfKey]*half
	expiry  []*half // in the order they expire (every half waits the same TTL)
	head    int
	edges   map[edgeKey]*edge
	lru     *list.List // front: most recently updated

	// counts since the last telemetry read
	paired, virtual, expired, dropped, evicted int
	// answered: the addresses client spans called and the services that answered there, since last read
	answered map[string]string
}

func newGraph(cfg *Config) *graph {
	bounds := make([]float64, len(cfg.LatencyBuckets))
	for i, b := range cfg.LatencyBuckets {
		bounds[i] = b.Seconds()
	}
	return &graph{cfg: cfg, bounds: bounds, pending: map[halfKey]*half{}, edges: map[edgeKey]*edge{}, lru: list.New()}
}

// addSpan records a span of service: a client or producer span waits for its server or consumer span (keyed by its
// own id), a server or consumer span for its client (keyed by its parent id); a server span without parent is
// called by the user.
func (g *graph) addSpan(span ptrace.Span, service string, resource pcommon.Map, now time.Time) {
	var h *half
	duration := span.EndTimestamp().AsTime().Sub(span.StartTimestamp().AsTime()).Seconds()
	if duration < 0 { // clock skew: a span cannot last less than nothing
		duration = 0
	}
	failed := span.Status().Code() == ptrace.StatusCodeError
	switch span.Kind() {
	case ptrace.SpanKindClient, ptrace.SpanKindProducer:
		h = &half{key: halfKey{span.TraceID(), span.SpanID()}, client: true, service: service, duration: duration, failed: failed}
		h.peer, h.conn = g.peerOf(span.Attributes(), span.Kind())
		for _, k := range []string{"peer.service", "server.address"} {
			if v, ok := span.Attributes().Get(k); ok && h.address == "" {
				h.address = v.AsString()
			}
		}
	case ptrace.SpanKindServer, ptrace.SpanKindConsumer:
		if span.ParentSpanID().IsEmpty() {
			g.record(edgeKey{userNode, service, connectionVirtualNode}, -1, duration, failed, now)
			g.virtual++
			return
		}
		h = &half{key: halfKey{span.TraceID(), span.ParentSpanID()}, service: service, duration: duration, failed: failed}
	default:
		return
	}
	other := g.pending[h.key]
	if other == nil {
		if len(g.pending) >= g.cfg.MaxPending {
			g.dropped++
			return
		}
		h.expires = now.Add(g.cfg.TTL)
		g.pending[h.key] = h
		g.expiry = append(g.expiry, h)
		return
	}
	if other.client == h.client { // the same half twice (a duplicate span): keep the first
		g.dropped++
		return
	}
	delete(g.pending, h.key)
	client, server := h, other
	if other.client {
		client, server = other, h
	}
	conn := connectionDirect
	if span.Kind() == ptrace.SpanKindProducer || span.Kind() == ptrace.SpanKindConsumer {
		conn = connectionMessaging
	}
	g.record(edgeKey{client.service, server.service, conn}, client.duration, server.duration, client.failed || server.failed, now)
	g.paired += 2
	if client.address != "" && len(g.answered) < 1024 {
		if g.answered == nil {
			g.answered = map[string]string{}
		}
		g.answered[client.address] = server.service
	}
}

// peerOf is the virtual node a client span calls when no instrumented server answers: the first of the configured
// attributes it has (peer.service, db.name, ...), typed as a database or messaging system when the span says so.
func (g *graph) peerOf(attrs pcommon.Map, kind ptrace.SpanKind) (string, string) {
	conn := connectionVirtualNode
	if _, ok := attrs.Get("db.system"); ok {
		conn = connectionDatabase
	} else if _, ok := attrs.Get("messaging.system"); ok || kind == ptrace.SpanKindProducer {
		conn = connectionMessaging
	}
	for _, k := range g.cfg.VirtualNodeAttributes {
		if v, ok := attrs.Get(k); ok && v.AsString() != "" {
			return v.AsString(), conn
		}
	}
	return "", conn
}

// expire closes the halves whose TTL passed: a client half with a peer becomes an edge to that virtual node; the
// others are counted as expired.
// dependencies reports to link what depends on what: a service on each service it calls directly or by
// messaging, and an address called on the service that answered there since the last report.
func (g *graph) dependencies(link func(from, to entity)) {
	for _, e := range g.edges {
		if e.key.conn == connectionDirect || e.key.conn == connectionMessaging {
			link(entity{kindService, e.key.client}, entity{kindService, e.key.server})
		}
	}
	for address, svc := range g.answered {
		link(entity{kindEndpoint, address}, entity{kindService, svc})
	}
	g.answered = nil
}

func (g *graph) expire(now time.Time) {
	for g.head < len(g.expiry) && !g.expiry[g.head].expires.After(now) {
		h := g.expiry[g.head]
		g.expiry[g.head] = nil
		g.head++
		if g.pending[h.key] != h {
			continue // paired meanwhile
		}
		delete(g.pending, h.key)
		if h.client && h.peer != "" {
			g.record(edgeKey{h.service, h.peer, h.conn}, h.duration, -1, h.failed, now)
			g.virtual++
			continue
		}
		g.expired++
	}
	if g.head > 1024 && g.head*2 > len(g.expiry) {
		g.expiry = append(g.expiry[:0:0], g.expiry[g.head:]...)
		g.head = 0
	}
}

// record counts a request on an edge; a duration of -1 is a half that is not there (the user's client, a virtual
// node's server).
func (g *graph) record(k edgeKey, clientSeconds, serverSeconds float64, failed bool, now time.Time) {
	e := g.edges[k]
	if e == nil {
		for len(g.edges) >= g.cfg.MaxEdges {
			oldest := g.lru.Back()
			delete(g.edges, oldest.Value.(*edge).key)
			g.lru.Remove(oldest)
			g.evicted++
		}
		e = &edge{key: k, clientHist: make([]uint64, len(g.bounds)+1), srvHist: make([]uint64, len(g.bounds)+1)}
		e.elem = g.lru.PushFront(e)
		g.edges[k] = e
	} else {
		g.lru.MoveToFront(e.elem)
	}
	e.requests++
	if failed {
		e.failed++
	}
	if clientSeconds >= 0 {
		e.clientHist[sort.SearchFloat64s(g.bounds, clientSeconds)]++
		e.clientSum += clientSeconds
	}
	if serverSeconds >= 0 {
		e.srvHist[sort.SearchFloat64s(g.bounds, serverSeconds)]++
		e.serverSum += serverSeconds
	}
	e.updated = now
}
