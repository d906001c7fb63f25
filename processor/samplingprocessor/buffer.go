package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"time"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// trace is a buffered trace: its spans (and the log records that arrived for it) kept as serialized OTLP, which
// takes a fraction of the memory of the decoded form, and what the rules need of them.
type trace struct {
	id          pcommon.TraceID
	parts       []tracePart // its spans, in the encoded requests that brought them
	logChunks   []logChunk
	spans, logs int
	arrived     time.Time // its first span or record
	hasError    bool
	root        *rootInfo
	matches     uint64
	rootMatches uint64
	spanIDs     []pcommon.SpanID
	maxSeverity int32 // of its log records
	// what it touches (recorded with an incident rule only), and whether that rule's budget left it to the next rules
	touched            []entity
	overIncidentBudget bool
}

// logChunk is records of a trace as plog OTLP protobuf, and the logs pipeline they came in (an index of nextLogs).
type logChunk struct {
	data     []byte
	pipeline int
}

// tracePart is the spans of a trace in one encoded request (which it shares with the other traces of the request).
type tracePart struct {
	req  *encodedRequest
	refs []spanRef
}

// hasSpan reports whether a span id was buffered already (a duplicate). Traces are usually small; a linear scan of
// their ids costs less than a map per trace.
func (t *trace) hasSpan(id pcommon.SpanID) bool {
	for _, s := range t.spanIDs {
		if s == id {
			return true
		}
	}
	return false
}

// queued is a trace id in one of the decision queues, with the time it entered it.
type queued struct {
	id pcommon.TraceID
	at time.Time
}

// fifo is a queue of trace ids in the order they entered it (which is the order they become due, since every
// entry waits the same time).
type fifo struct {
	items []queued
	head  int
}

func (q *fifo) push(id pcommon.TraceID, at time.Time) { q.items = append(q.items, queued{id, at}) }

// popDue pops the entries that entered before due.
func (q *fifo) popDue(due time.Time, f func(pcommon.TraceID)) {
	for q.head < len(q.items) && !q.items[q.head].at.After(due) {
		f(q.items[q.head].id)
		q.head++
	}
	q.compact()
}

// pop pops the oldest entry.
func (q *fifo) pop() (pcommon.TraceID, bool) {
	if q.head == len(q.items) {
		return pcommon.TraceID{}, false
	}
	id := q.items[q.head].id
	q.head++
	q.compact()
	return id, true
}

// compact drops the popped entries once they are half of the backing array.
func (q *fifo) compact() {
	if q.head > 1024 && q.head*2 > len(q.items) {
		q.items = append(q.items[:0:0], q.items[q.head:]...)
		q.head = 0
	}
}

// decisionCache remembers the decisions of recent traces in two generations: when the newer is full it becomes the
// older and the older is forgotten, so lookups and inserts are O(1) and the size stays within the bound.
type decisionCache struct {
	half         int
	newer, older map[pcommon.TraceID]decision
}

func newDecisionCache(size int) *decisionCache {
	half := max(size/2, 1)
	return &decisionCache{half: half, newer: make(map[pcommon.TraceID]decision, half)}
}

func (c *decisionCache) get(id pcommon.TraceID) (decision, bool) {
	if d, ok := c.newer[id]; ok {
		return d, true
	}
	d, ok := c.older[id]
	return d, ok
}

func (c *decisionCache) put(id pcommon.TraceID, d decision) {
	if len(c.newer) >= c.half {
		c.older, c.newer = c.newer, make(map[pcommon.TraceID]decision, c.half)
	}
	c.newer[id] = d
}
