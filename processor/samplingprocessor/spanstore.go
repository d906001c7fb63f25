package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"fmt"

	"go.opentelemetry.io/collector/pdata/ptrace"
)

// The span store keeps buffered spans as byte ranges of their request's protobuf encoding (wire.go): a request is
// encoded once on arrival (encodeRequest), each trace keeps references to its spans (refs), and the stitcher
// builds the spans of the traces that are kept back into one request.

// encodeRequest encodes td once and finds its spans in the encoding.
func encodeRequest(td ptrace.Traces) (*encodedRequest, error) {
	data, err := (&ptrace.ProtoMarshaler{}).MarshalTraces(td)
	if err != nil {
		return nil, err
	}
	req, err := parseRequest(data)
	if err != nil || len(req.spans) != td.SpanCount() {
		return nil, fmt.Errorf("encoding the request for the buffer: %d spans found of %d: %w", len(req.spans), td.SpanCount(), err)
	}
	return req, nil
}

// refs returns references to the spans at ordinals (scope index, span index in the request).
func (req *encodedRequest) refs(ordinals [][2]int32) []spanRef {
	refs := make([]spanRef, len(ordinals))
	for i, o := range ordinals {
		refs[i] = spanRef{scope: o[0], field: req.spans[o[1]]}
	}
	return refs
}

// stitcher builds one TracesData message from the spans of several traces (each with the resource and scope it
// came with), decodes it once, and annotates each trace's spans with its decision.
type stitcher struct {
	buf      []byte
	counts   []int // ResourceSpans per added part
	ds       []decision
	annotate []bool
}

func newStitcher() *stitcher { return &stitcher{} }

func (s *stitcher) empty() bool { return len(s.counts) == 0 }

// add appends a part's spans, one ResourceSpans per run of spans of the same scope.
func (s *stitcher) add(part tracePart, d decision, annotate bool) {
	n := 0
	var fields []span32
	for i, r := range part.refs {
		fields = append(fields, r.field)
		if i == len(part.refs)-1 || part.refs[i+1].scope != r.scope {
			s.buf = appendResourceSpans(s.buf, part.req, r.scope, fields)
			fields = fields[:0]
			n++
		}
	}
	s.counts = append(s.counts, n)
	s.ds = append(s.ds, d)
	s.annotate = append(s.annotate, annotate)
}

// traces decodes what was added and annotates it.
func (s *stitcher) traces(p *sampler) (ptrace.Traces, error) {
	td, err := (&ptrace.ProtoUnmarshaler{}).UnmarshalTraces(s.buf)
	if err != nil { // our own encoding of pdata's encoding: cannot happen unless memory is corrupt
		return td, fmt.Errorf("reading buffered spans back: %w", err)
	}
	rss := td.ResourceSpans()
	i := 0
	for k, n := range s.counts {
		if s.annotate[k] {
			for j := i; j < i+n; j++ {
				p.annotateResourceSpans(rss.At(j), s.ds[k])
			}
		}
		i += n
	}
	return td, nil
}
