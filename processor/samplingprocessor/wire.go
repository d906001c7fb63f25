package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"encoding/binary"
	"errors"
	"fmt"
)

// A buffered request is kept as the OTLP protobuf encoding of the whole request, once, and each trace keeps only
// the byte ranges of its spans in it: no span is copied or regrouped on the way in. When a trace is kept, its spans
// are stitched back into a TracesData message (each with the encoded resource and scope it came with) and decoded.
// The encoding is pdata's own (TracesData and ExportTraceServiceRequest share their field numbers):
//
//	TracesData     { repeated ResourceSpans resource_spans = 1; }
//	ResourceSpans  { Resource resource = 1; repeated ScopeSpans scope_spans = 2; string schema_url = 3; }
//	ScopeSpans     { InstrumentationScope scope = 1; repeated Span spans = 2; string schema_url = 3; }

// span32 is a byte range [start, end) in an encoded request: a whole field (tag, length and payload).
type span32 struct{ start, end int32 }

// encodedRequest is an encoded request and, per scope of it (in pdata's iteration order), the ranges of the
// fields a span needs around it.
type encodedRequest struct {
	data   []byte
	scopes []encodedScope
	spans  []span32 // every span field, in iteration order
}

type encodedScope struct {
	resource, resourceSchema span32 // of its ResourceSpans (empty range: absent)
	scope, scopeSchema       span32
}

// spanRef is a span of an encoded request: which scope it is in, and its field.
type spanRef struct {
	scope int32
	field span32
}

var errWire = errors.New("unexpected OTLP encoding")

func readVarint(b []byte) (uint64, int, error) {
	v, n := binary.Uvarint(b)
	if n <= 0 {
		return 0, 0, errWire
	}
	return v, n, nil
}

// eachField calls f for each field of the message b[start:end) with its number, the range of the whole field and
// the range of its payload (for length-delimited fields).
func eachField(b []byte, start, end int, f func(num int, field, payload span32) error) error {
	for i := start; i < end; {
		key, n, err := readVarint(b[i:end])
		if err != nil {
			return err
		}
		fieldStart := i
		i += n
		num, wire := int(key>>3), key&7
		payloadStart := i
		switch wire {
		case 0:
			_, n, err = readVarint(b[i:end])
			if err != nil {
				return err
			}
			i += n
		case 1:
			i += 8
		case 5:
			i += 4
		case 2:
			l, n, err := readVarint(b[i:end])
			if err != nil {
				return err
			}
			payloadStart = i + n
			if l > uint64(end-payloadStart) { // also a length beyond int's range, which would wrap below zero
				return errWire
			}
			i = payloadStart + int(l)
		default:
			return fmt.Errorf("%w: wire type %d", errWire, wire)
		}
		if i > end {
			return errWire
		}
		if err := f(num, span32{int32(fieldStart), int32(i)}, span32{int32(payloadStart), int32(i)}); err != nil {
			return err
		}
	}
	return nil
}

// parseRequest finds the scopes and spans of an encoded TracesData (or ExportTraceServiceRequest).
func parseRequest(data []byte) (*encodedRequest, error) {
	req := &encodedRequest{data: data}
	err := eachField(data, 0, len(data), func(num int, _, rs span32) error {
		if num != 1 {
			return nil
		}
		first := len(req.scopes)
		var resource, schema span32
		err := eachField(data, int(rs.start), int(rs.end), func(num int, field, ss span32) error {
			switch num {
			case 1:
				resource = field
			case 3:
				schema = field
			case 2:
				scope := encodedScope{}
				err := eachField(data, int(ss.start), int(ss.end), func(num int, field, _ span32) error {
					switch num {
					case 1:
						scope.scope = field
					case 3:
						scope.scopeSchema = field
					case 2:
						req.spans = append(req.spans, field)
					}
					return nil
				})
				req.scopes = append(req.scopes, scope)
				return err
			}
			return nil
		})
		for i := first; i < len(req.scopes); i++ { // the resource's fields, known once it is read whole
			req.scopes[i].resource, req.scopes[i].resourceSchema = resource, schema
		}
		return err
	})
	return req, err
}

func appendTag(b []byte, num int, length int) []byte {
	b = binary.AppendUvarint(b, uint64(num)<<3|2)
	return binary.AppendUvarint(b, uint64(length))
}

func varintLen(x int) int {
	n := 1
	for x >= 0x80 {
		x >>= 7
		n++
	}
	return n
}

func (s span32) len() int { return int(s.end - s.start) }

// appendResourceSpans appends to b one ResourceSpans field (of a TracesData) holding the given spans of one scope
// of req, with the scope's resource and scope.
func appendResourceSpans(b []byte, req *encodedRequest, scope int32, spans []span32) []byte {
	sc := &req.scopes[scope]
	ssLen := sc.scope.len() + sc.scopeSchema.len()
	for _, s := range spans {
		ssLen += s.len()
	}
	rsLen := sc.resource.len() + 1 + varintLen(ssLen) + ssLen + sc.resourceSchema.len()
	b = appendTag(b, 1, rsLen)
	b = append(b, req.data[sc.resource.start:sc.resource.end]...)
	b = appendTag(b, 2, ssLen)
	b = append(b, req.data[sc.scope.start:sc.scope.end]...)
	for _, s := range spans {
		b = append(b, req.data[s.start:s.end]...)
	}
	b = append(b, req.data[sc.scopeSchema.start:sc.scopeSchema.end]...)
	return append(b, req.data[sc.resourceSchema.start:sc.resourceSchema.end]...)
}
