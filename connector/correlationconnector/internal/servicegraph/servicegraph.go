// Package servicegraph pairs client and server spans into the edges of a service graph, and writes the graph as
// Grafana's service-graph metrics (the names Tempo's metrics generator writes and Grafana's service map reads).
package servicegraph // import "github.com/otelstrata/strata/connector/correlationconnector/internal/servicegraph"

import (
	"container/list"
	"sort"
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
)

// Settings bound the graph and shape its metrics (the connector's options of the same names).
type Settings struct {
	TTL                   time.Duration
	MaxPending, MaxEdges  int
	LatencyBuckets        []time.Duration
	VirtualNodeAttributes []string
}

// Counts are what happened to span halves, and the edges evicted to stay within MaxEdges.
type Counts struct {
	Paired, Virtual, Expired, Dropped, Evicted int
}

// TakeCounts returns the counts since the last call and starts them again.
func (g *Graph) TakeCounts() Counts {
	c := g.counts
	g.counts = Counts{}
	return c
}

// Len returns the number of edges.
func (g *Graph) Len() int { return len(g.edges) }

// Connection types of edges (the connection_type label of Grafana's service graph).
const (
	ConnectionDirect      = ""
	ConnectionVirtualNode = "virtual_node"
	ConnectionMessaging   = "messaging_system"
	ConnectionDatabase    = "database"
)

// UserNode is the client of a server span that has no parent: the outside world calling in.
const UserNode = "user"

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

// EdgeKey is an edge of the graph: the client and server nodes and the connection type.
type EdgeKey struct {
	Client, Server, Conn string
}

// edge is what passed along an edge since start: requests, failures, and the client's and server's durations.
type edge struct {
	key                  EdgeKey
	requests, failed     uint64
	clientHist, srvHist  []uint64 // per latency bucket, the last for beyond the last bound
	clientSum, serverSum float64
	updated              time.Time
	elem                 *list.Element
	recorded             bool // recorded since the last Dependencies
}

// Graph pairs span halves into edges. It is not safe for concurrent use.
type Graph struct {
	cfg     Settings
	bounds  []float64 // latency bucket bounds in seconds
	pending map[halfKey]*half
	expiry  []*half // in the order they expire (every half waits the same TTL)
	head    int
	edges   map[EdgeKey]*edge
	lru     *list.List // front: most recently updated

	counts Counts // since the last TakeCounts
	// recorded: the edges recorded since the last Dependencies; answered: the addresses client spans called and the
	// services that answered there, since then
	recorded []*edge
	answered map[string]string
}

// New returns an empty graph.
func New(cfg Settings) *Graph {
	bounds := make([]float64, len(cfg.LatencyBuckets))
	for i, b := range cfg.LatencyBuckets {
		bounds[i] = b.Seconds()
	}
	return &Graph{cfg: cfg, bounds: bounds, pending: map[halfKey]*half{}, edges: map[EdgeKey]*edge{}, lru: list.New()}
}

// AddSpan records a span of service: a client or producer span waits for its server or consumer span (keyed by its
// own id), a server or consumer span for its client (keyed by its parent id); a server span without parent is
// called by the user.
func (g *Graph) AddSpan(span ptrace.Span, service string, now time.Time) {
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
			g.Record(EdgeKey{UserNode, service, ConnectionVirtualNode}, -1, duration, failed, now)
			g.counts.Virtual++
			return
		}
		h = &half{key: halfKey{span.TraceID(), span.ParentSpanID()}, service: service, duration: duration, failed: failed}
	default:
		return
	}
	other := g.pending[h.key]
	if other == nil {
		if len(g.pending) >= g.cfg.MaxPending {
			g.counts.Dropped++
			return
		}
		h.expires = now.Add(g.cfg.TTL)
		g.pending[h.key] = h
		g.expiry = append(g.expiry, h)
		return
	}
	if other.client == h.client { // the same half twice (a duplicate span): keep the first
		g.counts.Dropped++
		return
	}
	delete(g.pending, h.key)
	client, server := h, other
	if other.client {
		client, server = other, h
	}
	conn := ConnectionDirect
	if span.Kind() == ptrace.SpanKindProducer || span.Kind() == ptrace.SpanKindConsumer {
		conn = ConnectionMessaging
	}
	g.Record(EdgeKey{client.service, server.service, conn}, client.duration, server.duration, client.failed || server.failed, now)
	g.counts.Paired += 2
	if client.address != "" && len(g.answered) < 1024 {
		if g.answered == nil {
			g.answered = map[string]string{}
		}
		g.answered[client.address] = server.service
	}
}

// peerOf returns the virtual node a client span calls when no instrumented server answers: the first of the configured
// attributes it has (peer.service, db.name, ...), typed as a database or messaging system when the span says so.
func (g *Graph) peerOf(attrs pcommon.Map, kind ptrace.SpanKind) (string, string) {
	conn := ConnectionVirtualNode
	if _, ok := attrs.Get("db.system"); ok {
		conn = ConnectionDatabase
	} else if _, ok := attrs.Get("messaging.system"); ok || kind == ptrace.SpanKindProducer {
		conn = ConnectionMessaging
	}
	for _, k := range g.cfg.VirtualNodeAttributes {
		if v, ok := attrs.Get(k); ok && v.AsString() != "" {
			return v.AsString(), conn
		}
	}
	return "", conn
}

// Dependencies reports what depends on what, as seen since the last report: calls, each service that called another
// directly or by messaging; answers, each address called and the service that answered there. Its cost is that of
// the edges recorded since, not of the graph.
func (g *Graph) Dependencies(calls func(client, server string), answers func(address, service string)) {
	for _, e := range g.recorded {
		e.recorded = false
		if e.key.Conn == ConnectionDirect || e.key.Conn == ConnectionMessaging {
			calls(e.key.Client, e.key.Server)
		}
	}
	clear(g.recorded)
	g.recorded = g.recorded[:0]
	for address, svc := range g.answered {
		answers(address, svc)
	}
	g.answered = nil
}

// Expire closes the halves whose TTL passed: a client half with a peer becomes an edge to that virtual node; the
// others are counted as expired.
func (g *Graph) Expire(now time.Time) {
	for g.head < len(g.expiry) && !g.expiry[g.head].expires.After(now) {
		h := g.expiry[g.head]
		g.expiry[g.head] = nil
		g.head++
		if g.pending[h.key] != h {
			continue // paired meanwhile
		}
		delete(g.pending, h.key)
		if h.client && h.peer != "" {
			g.Record(EdgeKey{h.service, h.peer, h.conn}, h.duration, -1, h.failed, now)
			g.counts.Virtual++
			continue
		}
		g.counts.Expired++
	}
	if g.head > 1024 && g.head*2 > len(g.expiry) {
		g.expiry = append(g.expiry[:0:0], g.expiry[g.head:]...)
		g.head = 0
	}
}

// Record counts a request on an edge; a duration of -1 is a half that is not there (the user's client, a virtual
// node's server).
func (g *Graph) Record(k EdgeKey, clientSeconds, serverSeconds float64, failed bool, now time.Time) {
	e := g.edges[k]
	if e == nil {
		for len(g.edges) >= g.cfg.MaxEdges {
			oldest := g.lru.Back()
			delete(g.edges, oldest.Value.(*edge).key)
			g.lru.Remove(oldest)
			g.counts.Evicted++
		}
		e = &edge{key: k, clientHist: make([]uint64, len(g.bounds)+1), srvHist: make([]uint64, len(g.bounds)+1)}
		e.elem = g.lru.PushFront(e)
		g.edges[k] = e
	} else {
		g.lru.MoveToFront(e.elem)
	}
	if !e.recorded {
		e.recorded = true
		g.recorded = append(g.recorded, e)
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

// Grafana's service-graph metrics.
const (
	MetricRequests      = "traces_service_graph_request_total"
	MetricFailed        = "traces_service_graph_request_failed_total"
	MetricServerLatency = "traces_service_graph_request_server_seconds"
	MetricClientLatency = "traces_service_graph_request_client_seconds"
)

// AppendMetrics appends the graph to ms as cumulative counters and histograms since start, one point per edge at
// now, labelled client, server and connection_type, in a stable order of edges.
func (g *Graph) AppendMetrics(ms pmetric.MetricSlice, start, now time.Time) {
	if len(g.edges) == 0 {
		return
	}
	from, ts := pcommon.NewTimestampFromTime(start), pcommon.NewTimestampFromTime(now)
	requests := appendSum(ms, MetricRequests, "Requests between two nodes of the service graph.")
	failed := appendSum(ms, MetricFailed, "Failed requests between two nodes of the service graph.")
	server := appendHistogram(ms, MetricServerLatency, "Durations of requests between two nodes, as the server measured them.")
	client := appendHistogram(ms, MetricClientLatency, "Durations of requests between two nodes, as the client measured them.")
	for _, e := range g.sortedEdges() {
		appendCount(requests, e.key, e.requests, from, ts)
		appendCount(failed, e.key, e.failed, from, ts)
		g.appendDurations(server, e.key, e.srvHist, e.serverSum, from, ts)
		g.appendDurations(client, e.key, e.clientHist, e.clientSum, from, ts)
	}
}

// sortedEdges returns the edges by client, server and connection type.
func (g *Graph) sortedEdges() []*edge {
	edges := make([]*edge, 0, len(g.edges))
	for _, e := range g.edges {
		edges = append(edges, e)
	}
	sort.Slice(edges, func(i, j int) bool {
		a, b := edges[i].key, edges[j].key
		if a.Client != b.Client {
			return a.Client < b.Client
		}
		if a.Server != b.Server {
			return a.Server < b.Server
		}
		return a.Conn < b.Conn
	})
	return edges
}

// appendSum appends a monotonic cumulative sum of requests to ms and returns its points.
func appendSum(ms pmetric.MetricSlice, name, description string) pmetric.NumberDataPointSlice {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetDescription(description)
	m.SetUnit("{request}")
	s := m.SetEmptySum()
	s.SetIsMonotonic(true)
	s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	return s.DataPoints()
}

// appendHistogram appends a cumulative histogram of durations in seconds to ms and returns its points.
func appendHistogram(ms pmetric.MetricSlice, name, description string) pmetric.HistogramDataPointSlice {
	m := ms.AppendEmpty()
	m.SetName(name)
	m.SetDescription(description)
	m.SetUnit("s")
	h := m.SetEmptyHistogram()
	h.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
	return h.DataPoints()
}

// appendCount appends an edge's count to dps.
func appendCount(dps pmetric.NumberDataPointSlice, k EdgeKey, v uint64, from, ts pcommon.Timestamp) {
	dp := dps.AppendEmpty()
	dp.SetStartTimestamp(from)
	dp.SetTimestamp(ts)
	dp.SetIntValue(int64(v))
	putLabels(dp.Attributes(), k)
}

// appendDurations appends an edge's histogram to dps, unless it counted nothing (a virtual node's server side).
func (g *Graph) appendDurations(dps pmetric.HistogramDataPointSlice, k EdgeKey, counts []uint64, sum float64, from, ts pcommon.Timestamp) {
	var n uint64
	for _, c := range counts {
		n += c
	}
	if n == 0 {
		return
	}
	dp := dps.AppendEmpty()
	dp.SetStartTimestamp(from)
	dp.SetTimestamp(ts)
	dp.ExplicitBounds().FromRaw(g.bounds)
	dp.BucketCounts().FromRaw(counts)
	dp.SetCount(n)
	dp.SetSum(sum)
	putLabels(dp.Attributes(), k)
}

// putLabels sets an edge's labels: client, server and connection_type.
func putLabels(m pcommon.Map, k EdgeKey) {
	m.PutStr("client", k.Client)
	m.PutStr("server", k.Server)
	m.PutStr("connection_type", k.Conn)
}
