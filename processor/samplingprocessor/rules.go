package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/sampling"
	"go.opentelemetry.io/collector/component"
)

// Names of what decides when no rule does.
const (
	ruleBudget  = "budget"
	ruleDefault = "default"
)

// rule is a compiled rule: what matches a trace and what it then decides.
type rule struct {
	cfg  *RuleConfig
	eval evaluator
	keep bool
	th   sampling.Threshold // the share of matching traces kept (probability rules; the others keep all)
}

// evaluator reports whether a rule matches a buffered trace, as tail_sampling's policy evaluators do; each kind of
// rule has its own, in rule_<kind>.go.
type evaluator interface {
	matches(t *trace) bool
}

// compileRules returns the rules of the configuration, the matchers that condition and attribute rules run on
// each span as it arrives, and the incident rule's watch of the incidents (nil without one). Latency rules learn their quantiles from lat.
func compileRules(cfgs []RuleConfig, lat *latencies, set component.TelemetrySettings) ([]*rule, []*matcher, *incidentWatch, error) {
	var rules []*rule
	var matchers []*matcher
	var watch *incidentWatch
	for i := range cfgs {
		c := &cfgs[i]
		r := &rule{cfg: c, keep: c.Action != "drop", th: sampling.AlwaysSampleThreshold}
		switch c.Type {
		case ruleError:
			r.eval = errorRule{}
		case ruleLatency:
			r.eval = newLatencyRule(c, lat)
		case ruleCondition, ruleAttribute:
			m, err := newMatcher(c, set)
			if err != nil {
				return nil, nil, nil, err
			}
			r.eval = matchRule{bit: uint64(1) << len(matchers), rootOnly: c.RootOnly}
			matchers = append(matchers, m)
		case ruleProbability:
			th, err := sampling.ProbabilityToThreshold(c.Probability)
			if err != nil {
				return nil, nil, nil, err
			}
			r.eval, r.th = alwaysRule{}, th
		case ruleIncident:
			watch = newIncidentWatch(c)
			r.eval = incidentRule{watch}
		default:
			r.eval = alwaysRule{}
		}
		rules = append(rules, r)
	}
	return rules, matchers, watch, nil
}

// alwaysRule matches every trace (always and probability rules).
type alwaysRule struct{}

func (alwaysRule) matches(*trace) bool { return true }
