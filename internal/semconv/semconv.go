// Package semconv is the vocabulary Strata's components share: the event names and attribute keys of the event
// contract (docs/events.md). OpenTelemetry semantic-convention names are used wherever one exists; Strata's own
// start with "strata.".
package semconv // import "github.com/otelstrata/strata/internal/semconv"

// Event names, set as the log record's event name and as its event.name attribute.
const (
	EventAuth      = "strata.auth"
	EventDetection = "strata.security.detection"
	EventIncident  = "strata.incident"
)

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
)

// Strata's own attributes of incidents (correlation connector).
const (
	AttrIncidentID         = "strata.incident.id"
	AttrIncidentState      = "strata.incident.state" // open, update, resolved
	AttrIncidentOpened     = "strata.incident.opened"
	AttrIncidentSymptoms   = "strata.incident.symptoms"   // how many symptoms it grouped
	AttrIncidentServices   = "strata.incident.services"   // affected services
	AttrIncidentHosts      = "strata.incident.hosts"      // affected hosts
	AttrIncidentLayers     = "strata.incident.layers"     // the layers of its symptoms
	AttrIncidentRootCause  = "strata.incident.root_cause" // the first candidate, "kind name"
	AttrIncidentCandidates = "strata.incident.candidates" // ranked: entity, kind, score, layer, evidence, onset
	AttrIncidentTraceID    = "strata.incident.trace_id"   // an exemplar trace
)

// The anomaly processor's metrics (scores and bands beside each watched series) and the scope it adds them in. The
// components that act on scores read only those in this scope, and the processor removes from its input every
// metric of its own names that it did not make, so a score a client sends cannot open an incident or page anyone.
const (
	MetricAnomalyScore    = "strata.anomaly.score"
	MetricAnomalyExpected = "strata.anomaly.expected"
	MetricAnomalyLower    = "strata.anomaly.lower"
	MetricAnomalyUpper    = "strata.anomaly.upper"
	AttrAnomalyMetric     = "strata.anomaly.metric"    // the watched metric's name
	AttrAnomalyStatistic  = "strata.anomaly.statistic" // what of it: value, rate, mean, p95, ...
	PrefixAnomaly         = "strata.anomaly."
	ScopeAnomaly          = "github.com/otelstrata/strata/processor/anomalyprocessor"
)
