package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"errors"
	"fmt"
	"slices"
	"strings"
	"time"

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

// loginFailures are the lines fail2ban's sshd filter (mode normal) counts as failures, so that brute_force counts
// as its sshd jail does (pam_unix's line and a failed publickey are not counted: an attempt logs several lines, and
// clients try their keys in turn); applications' JSON lines map to the same kinds.
var loginFailures = []string{kindFailedAuth, kindInvalidUser, kindMaxAuthExceeded, kindNotAllowed}

// defaultRules are the rules every receiver starts with; a rule of the same name in the configuration changes the
// options it sets, and `enabled: false` turns one off. An event with none of the fields a rule groups by, or
// without the field it counts distinct values of (a sudo line has no source address), is not counted by that rule,
// so login rules need no process filter: they apply to sshd and to applications' JSON lines alike.
func defaultRules() []RuleConfig {
	return []RuleConfig{
		{
			Name: "brute_force", Description: "Many failed logins from one source (the defaults of fail2ban's sshd jail).",
			Enabled: true, Category: "authentication",
			Technique: "T1110.001", Severity: "high", Kind: kindThreshold,
			Match:   MatchConfig{Events: loginFailures},
			GroupBy: []string{"source"}, Threshold: 5, Window: 10 * time.Minute,
		},
		{
			Name: "slow_brute_force", Description: "Failed logins from one source spread over hours, below the brute-force rate.",
			Enabled: true, Category: "authentication",
			Technique: "T1110.001", Severity: "medium", Kind: kindThreshold,
			Match:   MatchConfig{Events: loginFailures},
			GroupBy: []string{"source"}, Threshold: 30, Window: 6 * time.Hour,
		},
		{
			Name: "distributed_brute_force", Description: "Failed logins for one user from many sources.",
			Enabled: true, Category: "authentication",
			Technique: "T1110.001", Severity: "high", Kind: kindDistinct,
			Match:   MatchConfig{Events: []string{kindFailedAuth, kindMaxAuthExceeded}},
			GroupBy: []string{"user"}, Distinct: "source", Threshold: 5, Window: time.Hour,
		},
		{
			Name: "password_spraying", Description: "One source trying many users, a few passwords each.",
			Enabled: true, Category: "authentication",
			Technique: "T1110.003", Severity: "high", Kind: kindDistinct,
			Match:   MatchConfig{Events: []string{kindFailedAuth}},
			GroupBy: []string{"source"}, Distinct: "user", MaxPerValue: 3, Threshold: 10, Window: 30 * time.Minute,
		},
		{
			Name: "user_enumeration", Description: "One source asking for many users that do not exist.",
			Enabled: true, Category: "authentication",
			Technique: "T1087", Severity: "medium", Kind: kindDistinct,
			Match:   MatchConfig{Events: []string{kindInvalidUser}},
			GroupBy: []string{"source"}, Distinct: "user", Threshold: 5, Window: 10 * time.Minute,
		},
		{
			Name: "success_after_failures", Description: "A successful login from a source right after a run of failures from it: a guessed password.",
			Enabled: true, Category: "authentication",
			Technique: "T1078", Severity: "critical", Kind: kindSequence,
			Match:   MatchConfig{Events: []string{kindAccepted}},
			After:   MatchConfig{Events: loginFailures},
			GroupBy: []string{"source"}, Threshold: 5, Window: time.Hour,
		},
		{
			Name: "sudo_auth_failures", Description: "Repeated wrong passwords at sudo.",
			Enabled: true, Category: "privilege_escalation",
			Technique: "T1548.003", Severity: "medium", Kind: kindThreshold,
			Match:   MatchConfig{Events: []string{kindSudoAuthFailure}}, // its own line, with the attempts; not PAM's too
			GroupBy: []string{"user"}, Threshold: 3, Window: 5 * time.Minute,
		},
		{
			Name: "sudo_not_allowed", Description: "A user not in sudoers, or not allowed the command, tried sudo.",
			Enabled: true, Category: "privilege_escalation",
			Technique: "T1548.003", Severity: "high", Kind: kindThreshold,
			Match:   MatchConfig{Events: []string{kindSudoNotInSudoers, kindSudoDenied}},
			GroupBy: []string{"user"}, Threshold: 1, Window: time.Hour,
		},
		{
			Name: "sudo_first_root", Description: "The first command a user ran as root through sudo, since the receiver started (or since its state was stored).",
			Enabled: true, Category: "privilege_escalation",
			Technique: "T1548.003", Severity: "low", Kind: kindFirstSeen,
			Match:   MatchConfig{Events: []string{kindSudoCommand}, TargetUsers: []string{"root"}},
			GroupBy: []string{"user"},
		},
		{
			Name: "su_failures", Description: "Repeated failed su.",
			Enabled: true, Category: "privilege_escalation",
			Technique: "T1110.001", Severity: "medium", Kind: kindThreshold,
			Match:   MatchConfig{Events: []string{kindSuFailure}}, // its own line; not PAM's too
			GroupBy: []string{"user"}, Threshold: 3, Window: 5 * time.Minute,
		},
		{
			Name: "account_created", Description: "A local account was created.",
			Enabled: true, Category: "account_management",
			Technique: "T1136.001", Severity: "medium", Kind: kindThreshold,
			Match:   MatchConfig{Events: []string{kindAccountCreated}},
			GroupBy: []string{"target_user"}, Threshold: 1, Window: time.Minute,
		},
		{
			Name: "privileged_group_added", Description: "A user was added to a group that grants administration.",
			Enabled: true, Category: "account_management",
			Technique: "T1098", Severity: "high", Kind: kindThreshold,
			Match:   MatchConfig{Events: []string{kindGroupMemberAdded}, Groups: []string{"sudo", "wheel", "admin", "adm", "root", "docker"}},
			GroupBy: []string{"target_user", "group"}, Threshold: 1, Window: time.Minute,
		},
		{
			Name: "account_changed", Description: "A local account or group was changed or deleted.",
			Enabled: true, Category: "account_management",
			Technique: "T1098", Severity: "low", Kind: kindThreshold,
			Match: MatchConfig{Events: []string{kindAccountDeleted, kindAccountModified, kindPasswordChanged, kindGroupCreated,
				kindGroupDeleted, kindGroupMemberRemove}},
			GroupBy: []string{"target_user", "group"}, Threshold: 1, Window: time.Minute,
		},
	}
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
