// Package semconv is the vocabulary Strata's components share: the event names and attribute keys of the event
// contract (docs/events.md). OpenTelemetry semantic-convention names are used wherever one exists; Strata's own
// start with "strata.".
package semconv // import "github.com/otelstrata/strata/internal/semconv"

import (
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/plog"
)

// Event names, set as the log record's event name and as its event.name attribute.
const (
	EventAuth      = "strata.auth"
	EventDetection = "strata.security.detection"
	EventIncident  = "strata.incident"
)

// EventName returns a log record's event name: its EventName field, or else its event.name attribute (as records
// from older SDKs carry it).
func EventName(r plog.LogRecord) string {
	if name := r.EventName(); name != "" {
		return name
	}
	if v, ok := r.Attributes().Get(AttrEventName); ok {
		return v.AsString()
	}
	return ""
}

// OpenTelemetry semantic-convention attributes.
const (
	AttrEventName             = "event.name"
	AttrUserName              = "user.name"
	AttrSourceAddress         = "source.address"
	AttrSourcePort            = "source.port"
	AttrHostName              = "host.name"
	AttrProcessExecutableName = "process.executable.name"
	AttrProcessPID            = "process.pid"
	AttrProcessCommandLine    = "process.command_line"
	AttrSecurityRuleName      = "security_rule.name"
	AttrSecurityRuleCategory  = "security_rule.category"
	AttrSecurityRuleDesc      = "security_rule.description"
	AttrLogFileName           = "log.file.name"
	AttrLogFilePath           = "log.file.path"
)

// Strata's own attributes of authentication events.
const (
	AttrAuthEvent       = "strata.auth.event"       // what the line says: failed_auth, accepted, invalid_user, ...
	AttrAuthOutcome     = "strata.auth.outcome"     // success or failure, for lines that decide an authentication
	AttrAuthMethod      = "strata.auth.method"      // password, publickey, keyboard-interactive, ...
	AttrAuthReason      = "strata.auth.reason"      // why, in the log's words, when it says
	AttrAuthTargetUser  = "strata.auth.target_user" // the user become (sudo, su) or changed (useradd, usermod, ...)
	AttrAuthInvalidUser = "strata.auth.invalid_user"
	AttrAuthGroup       = "strata.auth.group" // the group of a group change
)

// Strata's own attributes of detections.
const (
	AttrThreatTechniqueID = "strata.threat.technique.id" // MITRE ATT&CK technique, e.g. T1110.001
	AttrDetectionKey      = "strata.detection.key"       // what the detection counts by: source, user, ...
	AttrDetectionCount    = "strata.detection.count"     // matching events in the episode when it fired
	AttrDetectionDistinct = "strata.detection.distinct"  // distinct users or sources, for rules that count those
	AttrDetectionWindow   = "strata.detection.window"    // the rule's window, in seconds
	AttrDetectionFirst    = "strata.detection.first_seen"
	AttrDetectionLast     = "strata.detection.last_seen"
)

// Outcomes of authentication events.
const (
	OutcomeSuccess = "success"
	OutcomeFailure = "failure"
)

// Strata's own attributes of business KPIs (kpi receiver).
const (
	AttrKPIName  = "strata.kpi.name"  // the KPI, on its target and burn-rate points
	AttrKPIOwner = "strata.kpi.owner" // who answers for it
	AttrKPIOf    = "strata.kpi.of"    // on a ratio's points: the metric of the rate it is a share of
)

// Strata's own attributes of incidents (correlation connector).
const (
	AttrIncidentID         = "strata.incident.id"
	AttrIncidentState      = "strata.incident.state" // IncidentOpen, IncidentUpdate or IncidentResolved
	AttrIncidentOpened     = "strata.incident.opened"
	AttrIncidentSymptoms   = "strata.incident.symptoms"   // how many symptoms it grouped
	AttrIncidentServices   = "strata.incident.services"   // affected services
	AttrIncidentHosts      = "strata.incident.hosts"      // affected hosts
	AttrIncidentLayers     = "strata.incident.layers"     // the layers of its symptoms
	AttrIncidentRootCause  = "strata.incident.root_cause" // the first candidate, "kind name"
	AttrIncidentCandidates = "strata.incident.candidates" // ranked: entity, kind, score, layer, evidence, onset
	AttrIncidentTraceID    = "strata.incident.trace_id"   // an exemplar trace
	AttrIncidentImpact     = "strata.incident.impact"     // the largest share of its expected value a business figure lost
	AttrIncidentKPIs       = "strata.incident.kpis"       // the business figures that left their band: entity, metric, unit, observed, expected, lower, upper, share_lost, shortfall
)

// The states of an incident record.
const (
	IncidentOpen     = "open"     // the first record of an incident
	IncidentUpdate   = "update"   // a change while it is open
	IncidentResolved = "resolved" // its last record
)

// DetectionSeverities are the severities of detections, lowest first, with the log severity number of each.
var DetectionSeverities = []struct {
	Name   string
	Number plog.SeverityNumber
}{
	{"info", plog.SeverityNumberInfo}, {"low", plog.SeverityNumberInfo4}, {"medium", plog.SeverityNumberWarn},
	{"high", plog.SeverityNumberError}, {"critical", plog.SeverityNumberFatal},
}

// DetectionSeverity returns the log severity number of a detection's severity, and whether the name is one.
func DetectionSeverity(name string) (plog.SeverityNumber, bool) {
	for _, s := range DetectionSeverities {
		if s.Name == name {
			return s.Number, true
		}
	}
	return plog.SeverityNumberUnspecified, false
}

// LogSeverities are OpenTelemetry's severity names, each with the lowest severity number of its range.
var LogSeverities = map[string]plog.SeverityNumber{
	"TRACE": plog.SeverityNumberTrace, "DEBUG": plog.SeverityNumberDebug, "INFO": plog.SeverityNumberInfo,
	"WARN": plog.SeverityNumberWarn, "ERROR": plog.SeverityNumberError, "FATAL": plog.SeverityNumberFatal,
}

// The anomaly processor's metrics (scores and bands beside each watched series) and the scope it adds them in. The
// components that act on scores read only those in this scope, and the processor removes from its input every
// metric of its own names that it did not make, so a score a client sends cannot open an incident or page anyone.
const (
	MetricAnomalyScore    = "strata.anomaly.score"
	MetricAnomalyValue    = "strata.anomaly.value" // the value scored: the point's own, a counter's rate, a histogram's mean
	MetricAnomalyExpected = "strata.anomaly.expected"
	MetricAnomalyLower    = "strata.anomaly.lower"
	MetricAnomalyUpper    = "strata.anomaly.upper"
	MetricAnomalyAlarm    = "strata.anomaly.alarm"     // 1 where the alarm is raised (within the alarm budget), else 0
	AttrAnomalyMetric     = "strata.anomaly.metric"    // the watched metric's name
	AttrAnomalyStatistic  = "strata.anomaly.statistic" // what of it: value, rate, mean, p95, ...
	PrefixAnomaly         = "strata.anomaly."
	ScopeAnomaly          = "github.com/otelstrata/strata/processor/anomalyprocessor"
)

// PromLabel returns an attribute key as a Prometheus label name (dots, dashes and every other character outside
// [a-zA-Z0-9_] as underscores; a leading digit after an underscore).
func PromLabel(k string) string {
	valid := func(c byte) bool {
		return c == '_' || c >= 'a' && c <= 'z' || c >= 'A' && c <= 'Z' || c >= '0' && c <= '9'
	}
	l := k
	for i := 0; i < len(k); i++ {
		if !valid(k[i]) || k[i] >= utf8.RuneSelf {
			b := []byte(k[:i])
			for _, r := range k[i:] {
				if r < utf8.RuneSelf && valid(byte(r)) {
					b = append(b, byte(r))
				} else {
					b = append(b, '_')
				}
			}
			l = string(b)
			break
		}
	}
	if l != "" && l[0] >= '0' && l[0] <= '9' {
		l = "_" + l
	}
	return l
}
