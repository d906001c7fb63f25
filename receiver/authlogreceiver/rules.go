package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	_ "embed"
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

	"go.opentelemetry.io/collector/confmap"
	"go.yaml.in/yaml/v3"

	"github.com/otelstrata/strata/internal/semconv"
)

// Rule kinds.
const (
	// kindThreshold fires when a key has threshold matching events within window.
	kindThreshold = "threshold"
	// kindDistinct fires when a key has matching events for threshold distinct values of a field within window
	// (for instance one source trying many users), counting only values with at most max_per_value events.
	kindDistinct = "distinct"
	// kindSequence fires on a matching event when the same key had after.threshold events matching after.match
	// within window before it (for instance a success after a run of failures).
	kindSequence = "sequence"
	// kindFirstSeen fires the first time a key has a matching event.
	kindFirstSeen = "first_seen"
)

var ruleKinds = []string{kindThreshold, kindDistinct, kindSequence, kindFirstSeen}

// Fields events are grouped and counted by.
var keyFields = []string{"source", "user", "target_user", "host", "group"}

// RuleConfig is one detection rule.
type RuleConfig struct {
	// Name is security_rule.name of the detections.
	Name string `mapstructure:"name"`
	// Enabled turns the rule off when false.
	Enabled bool `mapstructure:"enabled"`
	// Description is security_rule.description.
	Description string `mapstructure:"description"`
	// Category is security_rule.category.
	Category string `mapstructure:"category"`
	// Technique is the MITRE ATT&CK technique id (T1110.001, ...).
	Technique string `mapstructure:"technique"`
	// Severity of the detection record: info, low, medium, high or critical.
	Severity string `mapstructure:"severity"`
	// Kind is threshold, distinct, sequence or first_seen.
	Kind string `mapstructure:"kind"`
	// Match selects the events the rule counts.
	Match MatchConfig `mapstructure:"match"`
	// GroupBy are the fields that make the key events are counted by: source, user, target_user, host, group.
	GroupBy []string `mapstructure:"group_by"`
	// Distinct is the field whose distinct values a distinct rule counts.
	Distinct string `mapstructure:"distinct"`
	// MaxPerValue, for distinct rules: a value with more matching events than this does not count (0: no limit).
	MaxPerValue int `mapstructure:"max_per_value"`
	// Threshold of events (threshold), distinct values (distinct) or preceding events (sequence, in after).
	Threshold int `mapstructure:"threshold"`
	// Window the events must fall in. An episode ends, and the rule re-arms for the key, once the key has had no
	// matching event for a window.
	Window time.Duration `mapstructure:"window"`
	// After, for sequence rules: the events that must come first.
	After MatchConfig `mapstructure:"after"`
}

// MatchConfig selects events: every list that is set must contain the event's value.
type MatchConfig struct {
	// Events are strata.auth.event kinds (failed_auth, accepted, sudo_command, ...).
	Events []string `mapstructure:"events"`
	// Outcomes are success or failure.
	Outcomes []string `mapstructure:"outcomes"`
	// Processes are the programs that logged the line (sshd, sudo, su, ...).
	Processes []string `mapstructure:"processes"`
	// TargetUsers are the users become or changed (root, ...).
	TargetUsers []string `mapstructure:"target_users"`
	// Groups are the groups of group changes (sudo, wheel, ...).
	Groups []string `mapstructure:"groups"`
}

// defaultRulesYAML holds the default rules, as a user would write them.
//
//go:embed rules.yaml
var defaultRulesYAML []byte

// newRule returns a rule with the options a rule leaves out.
func newRule() RuleConfig {
	return RuleConfig{Enabled: true, Category: "authentication", Severity: "medium", Kind: kindThreshold}
}

// defaultRules returns the rules every receiver starts with (rules.yaml), a new copy at each call; a rule of the same
// name in the configuration changes the options it sets, and `enabled: false` turns one off.
func defaultRules() []RuleConfig {
	rules, err := decodeRules(defaultRulesYAML)
	if err != nil {
		panic(fmt.Sprintf("rules.yaml: %v", err)) // the embedded file is tested: this is a build defect
	}
	return rules
}

// decodeRules reads a YAML document with a list of rules under `rules`, each over the options a rule leaves out.
func decodeRules(doc []byte) ([]RuleConfig, error) {
	var raw struct {
		Rules []map[string]any `yaml:"rules"`
	}
	if err := yaml.Unmarshal(doc, &raw); err != nil {
		return nil, err
	}
	rules := make([]RuleConfig, len(raw.Rules))
	for i, m := range raw.Rules {
		rules[i] = newRule()
		if err := confmap.NewFromStringMap(m).Unmarshal(&rules[i]); err != nil {
			return nil, fmt.Errorf("rules[%d]: %w", i, err)
		}
	}
	return rules, nil
}

// validate reports what is wrong with a rule, each message starting with the option's key.
func (r *RuleConfig) validate() error {
	var errs []error
	add := func(format string, args ...any) { errs = append(errs, fmt.Errorf(format, args...)) }
	if r.Name == "" {
		add("name: must be set")
	}
	if !slices.Contains(ruleKinds, r.Kind) {
		add("kind: %q is not one of %s", r.Kind, strings.Join(ruleKinds, ", "))
	}
	if _, ok := semconv.DetectionSeverity(r.Severity); !ok {
		names := make([]string, len(semconv.DetectionSeverities))
		for i, s := range semconv.DetectionSeverities {
			names[i] = s.Name
		}
		add("severity: %q is not one of %s", r.Severity, strings.Join(names, ", "))
	}
	if len(r.GroupBy) == 0 {
		add("group_by: must name at least one of %s", strings.Join(keyFields, ", "))
	}
	for _, f := range r.GroupBy {
		if !slices.Contains(keyFields, f) {
			add("group_by: %q is not one of %s", f, strings.Join(keyFields, ", "))
		}
	}
	if r.Kind != kindFirstSeen {
		if r.Threshold < 1 {
			add("threshold: must be at least 1")
		}
		if r.Threshold > maxThreshold {
			add("threshold: %d is more than %d", r.Threshold, maxThreshold)
		}
		if r.Window <= 0 {
			add("window: must be positive")
		}
	}
	if r.Kind == kindDistinct {
		if !slices.Contains(keyFields, r.Distinct) {
			add("distinct: %q is not one of %s", r.Distinct, strings.Join(keyFields, ", "))
		}
		if r.MaxPerValue < 0 {
			add("max_per_value: must not be negative")
		}
	} else if r.Distinct != "" || r.MaxPerValue != 0 {
		add("distinct, max_per_value: only for distinct rules")
	}
	if r.Kind == kindSequence && r.After.empty() {
		add("after: a sequence rule must say which events come first")
	}
	if r.Kind != kindSequence && !r.After.empty() {
		add("after: only for sequence rules")
	}
	if r.Match.empty() {
		add("match: must select events (events, outcomes, processes, target_users or groups)")
	}
	for _, m := range []struct {
		key string
		m   MatchConfig
	}{{"match", r.Match}, {"after", r.After}} {
		for _, e := range m.m.Events {
			if !slices.Contains(eventKinds, e) {
				add("%s: events: %q is not an event this receiver emits", m.key, e)
			}
		}
		for _, o := range m.m.Outcomes {
			if o != "success" && o != "failure" {
				add("%s: outcomes: %q is not success or failure", m.key, o)
			}
		}
	}
	return errors.Join(errs...)
}

func (m *MatchConfig) empty() bool {
	return len(m.Events) == 0 && len(m.Outcomes) == 0 && len(m.Processes) == 0 && len(m.TargetUsers) == 0 && len(m.Groups) == 0
}

// maxThreshold bounds the events a key keeps in memory.
const maxThreshold = 1000

// maxRules bounds the enabled rules (the detector marks a line's matching rules in a 64-bit set).
const maxRules = 64

// eventKinds are the values of strata.auth.event.
var eventKinds = []string{kindFailedAuth, kindFailedPublickey, kindAccepted, kindInvalidUser, kindNotAllowed, kindMaxAuthExceeded, kindClosedPreauth,
	kindDisconnected, kindNoIdentification, kindProtocolError, kindAuthTimeout, kindBreakInAttempt, kindPAMAuthFailure,
	kindPAMUserUnknown, kindSessionOpened, kindSessionClosed, kindSudoCommand, kindSudoAuthFailure, kindSudoNotInSudoers,
	kindSudoDenied, kindSu, kindSuFailure, kindAccountCreated, kindAccountDeleted, kindAccountModified, kindPasswordChanged,
	kindGroupCreated, kindGroupDeleted, kindGroupMemberAdded, kindGroupMemberRemove}
