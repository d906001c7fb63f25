package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"slices"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/ottl/contexts/ottlspan"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/pdata/pcommon"
)

// matchRule matches a trace one of whose spans (its root span, with root_only) met the rule's matcher: condition
// and attribute rules. Matchers run on each span as it arrives (ingest.go inspect) and set the rule's bit on the
// trace, so that a decision never walks the trace's spans again.
type matchRule struct {
	bit      uint64
	rootOnly bool
}

func (r matchRule) matches(t *trace) bool {
	if r.rootOnly {
		return t.rootMatches&r.bit != 0
	}
	return t.matches&r.bit != 0
}

// maxMatchers is how many condition and attribute rules a processor may have (one bit each per trace).
const maxMatchers = 64

// matcher is what a condition or attribute rule checks on each span as it arrives.
type matcher struct {
	conditions *ottl.ConditionSequence[*ottlspan.TransformContext]
	key        string
	values     []string
}

// newMatcher returns the matcher of a condition or attribute rule.
func newMatcher(c *RuleConfig, set component.TelemetrySettings) (*matcher, error) {
	if c.Type == ruleAttribute {
		return &matcher{key: c.Key, values: c.Values}, nil
	}
	seq, err := parseConditions(c.Conditions, set)
	if err != nil {
		return nil, err
	}
	return &matcher{conditions: seq}, nil
}

// matchAttribute reports whether the span's attribute, or else its resource's, has one of the values.
func (m *matcher) matchAttribute(span, resource pcommon.Map) bool {
	v, ok := span.Get(m.key)
	if !ok {
		if v, ok = resource.Get(m.key); !ok {
			return false
		}
	}
	return slices.Contains(m.values, v.AsString())
}
