package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"bytes"
	"context"
	"fmt"
	"strings"
	"sync"
	"time"
	"unicode/utf8"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/adapter"
	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/internal/semconv"
	"github.com/otelstrata/strata/receiver/authlogreceiver/internal/metadata"
)

type authlogReceiver struct {
	cfg       *Config
	set       receiver.Settings
	logs      consumer.Logs    // nil when no logs pipeline uses the receiver
	metrics   consumer.Metrics // nil when no metrics pipeline does
	obsrecv   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder

	// mu guards the line handler: the file consumer reads several files at once.
	mu    sync.Mutex
	lines *lineHandler

	manager *fileconsumer.Manager
	storage storage.Client
	loop    *clock.Loop // sends the metrics every metrics_interval
}

func newReceiver(cfg *Config, set receiver.Settings) (*authlogReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID: set.ID, Transport: "file", ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &authlogReceiver{cfg: cfg, set: set, obsrecv: obsrecv}, nil
}

// Start opens the storage (when configured) and starts reading the files, and the metrics ticker.
func (r *authlogReceiver) Start(ctx context.Context, host component.Host) error {
	var err error
	if r.telemetry, err = metadata.NewTelemetryBuilder(r.set.TelemetrySettings); err != nil {
		return err
	}
	if r.lines, err = newLineHandler(r.cfg, r.set, r.telemetry); err != nil {
		return err
	}
	if r.storage, err = adapter.GetStorageClient(ctx, host, r.cfg.Storage, r.set.ID); err != nil {
		return fmt.Errorf("storage: %w", err)
	}
	if r.manager, err = r.cfg.Config.Build(r.set.TelemetrySettings, r.consume); err != nil {
		return err
	}
	if err := r.manager.Start(r.storage); err != nil {
		return err
	}
	if r.metrics != nil {
		r.loop = clock.Start(clock.FromHost(host, clock.Real{}), clock.Task{Every: r.cfg.MetricsInterval, Run: func(ctx context.Context, _ time.Time) {
			r.sendMetrics(ctx)
		}})
	}
	return nil
}

// Shutdown stops reading (the file consumer keeps the offsets of what was sent), sends the counters once more and
// closes the storage.
func (r *authlogReceiver) Shutdown(ctx context.Context) error {
	var errs []error
	if r.manager != nil {
		errs = append(errs, r.manager.Stop())
	}
	if r.loop != nil {
		r.loop.Stop()
		r.sendMetrics(ctx)
	}
	if r.storage != nil {
		errs = append(errs, r.storage.Close(ctx))
	}
	if r.telemetry != nil {
		r.telemetry.Shutdown()
	}
	for _, err := range errs {
		if err != nil {
			return err
		}
	}
	return nil
}

// consume turns one batch of lines of one file into records and sends them (the file consumer's callback). The
// lines' offsets are stored once it returns, so the records are sent before it does.
func (r *authlogReceiver) consume(ctx context.Context, tokens [][]byte, attrs map[string]any, _ int64, _ []int64) error {
	r.mu.Lock()
	ld := r.lines.process(tokens, attrs, time.Now())
	r.mu.Unlock()
	if r.logs == nil || ld.LogRecordCount() == 0 {
		return nil
	}
	ctx = r.obsrecv.StartLogsOp(ctx)
	err := r.logs.ConsumeLogs(ctx, ld)
	r.obsrecv.EndLogsOp(ctx, metadata.Type.String(), ld.LogRecordCount(), err)
	if err != nil {
		r.set.Logger.Error("the next consumer refused authentication events", zap.Int("records", ld.LogRecordCount()), zap.Error(err))
	}
	return nil
}

func (r *authlogReceiver) sendMetrics(ctx context.Context) {
	if r.metrics == nil {
		return
	}
	r.mu.Lock()
	md := r.lines.metrics(time.Now())
	r.mu.Unlock()
	if md.DataPointCount() == 0 {
		return
	}
	ctx = r.obsrecv.StartMetricsOp(context.WithoutCancel(ctx))
	err := r.metrics.ConsumeMetrics(ctx, md)
	r.obsrecv.EndMetricsOp(ctx, metadata.Type.String(), md.DataPointCount(), err)
	if err != nil {
		r.set.Logger.Warn("the next consumer refused authentication metrics", zap.Error(err))
	}
}

// lineHandler turns lines into records and runs the detections; it keeps the counters the metrics report.
type lineHandler struct {
	cfg       *Config
	loc       *time.Location
	json      jsonLines
	detector  *detector
	telemetry *metadata.TelemetryBuilder
	mb        *metadata.MetricsBuilder

	attempts   map[attemptKey]int64
	detections map[*RuleConfig]int64
	lines      [5]int64 // by lineResult, not yet added to the telemetry counter
	// cut holds the files whose last line was cut at max_log_size: the file consumer hands on the rest of such a
	// line as the next lines, which are not lines of their own (a forged "Accepted ..." at the end of a 9 MiB line).
	cut map[string]bool

	ev event
}

// maxCutFiles bounds the files remembered in lineHandler.cut (a glob matches a bounded number of files).
const maxCutFiles = 10000

type attemptKey struct{ outcome, method, process string }

type lineResult int

const (
	lineRecognized lineResult = iota
	lineUnrecognized
	lineMalformed
	lineBinary
	lineTooLong
)

var lineResults = [5]metadata.AttributeLineResult{
	metadata.AttributeLineResultRecognized, metadata.AttributeLineResultUnrecognized,
	metadata.AttributeLineResultMalformed, metadata.AttributeLineResultBinary, metadata.AttributeLineResultTooLong,
}

func newLineHandler(cfg *Config, set receiver.Settings, telemetry *metadata.TelemetryBuilder) (*lineHandler, error) {
	loc, err := time.LoadLocation(cfg.Timezone)
	if err != nil {
		return nil, fmt.Errorf("timezone: %w", err)
	}
	p := &lineHandler{
		cfg: cfg, loc: loc, json: jsonLines{cfg: &cfg.JSON}, telemetry: telemetry,
		mb:       metadata.NewMetricsBuilder(cfg.MetricsBuilderConfig, set),
		attempts: map[attemptKey]int64{}, detections: map[*RuleConfig]int64{},
	}
	p.detector = newDetector(cfg, func(rule string) {
		telemetry.ReceiverAuthlogEvictions.Add(context.Background(), 1, metric.WithAttributes(attribute.String("security_rule.name", rule)))
	})
	return p, nil
}

// process reads a batch of lines of one file.
func (p *lineHandler) process(tokens [][]byte, fileAttrs map[string]any, now time.Time) plog.Logs {
	ld := plog.NewLogs()
	sl := ld.ResourceLogs().AppendEmpty().ScopeLogs().AppendEmpty()
	sl.Scope().SetName(metadata.ScopeName)
	records := sl.LogRecords()
	if p.cfg.Emit == emitAll {
		records.EnsureCapacity(len(tokens))
	}
	file := fmt.Sprint(fileAttrs[semconv.AttrLogFilePath], fileAttrs[semconv.AttrLogFileName])
	for _, tok := range tokens {
		tok = bytes.TrimRight(tok, "\r\n")
		tooLong := len(tok) >= int(p.cfg.MaxLogSize)
		if p.cut[file] || tooLong {
			// A line cut by the file consumer, or the rest of one: no authentication line is that long.
			if len(tok) > 0 {
				p.lines[lineTooLong]++
			}
			p.markCut(file, tooLong)
			continue
		}
		p.line(tok, fileAttrs, now, records)
	}
	for i, n := range p.lines {
		if n > 0 {
			p.telemetry.ReceiverAuthlogLines.Add(context.Background(), n, metric.WithAttributes(attribute.String("result", lineResults[i].String())))
			p.lines[i] = 0
		}
	}
	return ld
}

func (p *lineHandler) line(tok []byte, fileAttrs map[string]any, now time.Time, records plog.LogRecordSlice) {
	if len(tok) == 0 {
		return
	}
	if bytes.IndexByte(tok, 0) >= 0 {
		p.lines[lineBinary]++
		return
	}
	line := string(tok)
	if !utf8.ValidString(line) {
		line = strings.ToValidUTF8(line, "\uFFFD") // Latin-1 user names of attackers are still attacks
	}

	format := p.cfg.Format
	if format == formatAuto {
		format = detectFormat(line)
	}
	var env envelope
	var ok, recognized bool
	ev := &p.ev
	if format == formatJSON {
		env, ok, recognized = p.json.parse(line, ev)
	} else if env, ok = parseEnvelope(line, format, p.loc, now); ok {
		if env.process == "" {
			env.process = p.cfg.RawProcess
		}
		recognized = recognize(env.process, env.msg, ev)
	}
	switch {
	case !ok:
		p.lines[lineMalformed]++
		p.passthrough(line, fileAttrs, env, now, records)
		return
	case !recognized:
		p.lines[lineUnrecognized]++
		p.passthrough(line, fileAttrs, env, now, records)
		return
	}
	p.lines[lineRecognized]++
	t := env.time
	if t.IsZero() {
		t = now
	}
	address := ""
	if ev.source.IsValid() {
		address = ev.source.String()
	}
	if p.cfg.Emit == emitAll {
		p.authRecord(records.AppendEmpty(), line, fileAttrs, env, ev, address, t, now)
	}
	if ev.outcome != "" {
		p.attempts[attemptKey{ev.outcome, ev.method, env.process}] += int64(ev.count)
	}
	p.detector.observe(&observation{event: ev, time: t, host: env.host, process: env.process, address: address}, func(d *detection) {
		p.detections[d.rule]++
		p.detectionRecord(records.AppendEmpty(), d, now)
	})
}

// markCut records whether the last line of file was cut at max_log_size.
func (p *lineHandler) markCut(file string, cut bool) {
	if !cut {
		delete(p.cut, file)
		return
	}
	if p.cut == nil || len(p.cut) >= maxCutFiles {
		p.cut = map[string]bool{}
	}
	p.cut[file] = true
}

// passthrough sends a line that is not an authentication event as a plain log record, when configured to.
func (p *lineHandler) passthrough(line string, fileAttrs map[string]any, env envelope, now time.Time, records plog.LogRecordSlice) {
	if p.cfg.Unrecognized != unrecognizedPassthrough {
		return
	}
	lr := records.AppendEmpty()
	lr.Body().SetStr(line)
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	if !env.time.IsZero() {
		lr.SetTimestamp(pcommon.NewTimestampFromTime(env.time))
	}
	attrs := lr.Attributes()
	putFileAttrs(attrs, fileAttrs)
	putStr(attrs, semconv.AttrHostName, env.host)
	putStr(attrs, semconv.AttrProcessExecutableName, env.process)
}

func (p *lineHandler) authRecord(lr plog.LogRecord, line string, fileAttrs map[string]any, env envelope, ev *event, address string, t, now time.Time) {
	lr.SetEventName(semconv.EventAuth)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(t))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	lr.Body().SetStr(line)
	if ev.outcome == semconv.OutcomeFailure {
		lr.SetSeverityNumber(plog.SeverityNumberWarn)
		lr.SetSeverityText("WARN")
	} else {
		lr.SetSeverityNumber(plog.SeverityNumberInfo)
		lr.SetSeverityText("INFO")
	}
	attrs := lr.Attributes()
	n := 2 + len(fileAttrs) + nonEmpty(ev.outcome, ev.method, ev.user, address, ev.targetUser, ev.group, ev.reason, ev.command, env.process, env.host)
	for _, set := range [...]bool{ev.invalidUser, ev.port > 0, env.pid > 0} {
		if set {
			n++
		}
	}
	attrs.EnsureCapacity(n) // exactly: most of a record's bytes are its attributes
	attrs.PutStr(semconv.AttrEventName, semconv.EventAuth)
	attrs.PutStr(semconv.AttrAuthEvent, ev.kind)
	putStr(attrs, semconv.AttrAuthOutcome, ev.outcome)
	putStr(attrs, semconv.AttrAuthMethod, ev.method)
	putStr(attrs, semconv.AttrUserName, ev.user)
	if ev.invalidUser {
		attrs.PutBool(semconv.AttrAuthInvalidUser, true)
	}
	putStr(attrs, semconv.AttrSourceAddress, address)
	if ev.port > 0 {
		attrs.PutInt(semconv.AttrSourcePort, int64(ev.port))
	}
	putStr(attrs, semconv.AttrAuthTargetUser, ev.targetUser)
	putStr(attrs, semconv.AttrAuthGroup, ev.group)
	putStr(attrs, semconv.AttrAuthReason, ev.reason)
	putStr(attrs, semconv.AttrProcessCommandLine, ev.command)
	putStr(attrs, semconv.AttrProcessExecutableName, env.process)
	if env.pid > 0 {
		attrs.PutInt(semconv.AttrProcessPID, int64(env.pid))
	}
	putStr(attrs, semconv.AttrHostName, env.host)
	putFileAttrs(attrs, fileAttrs)
}

func (p *lineHandler) detectionRecord(lr plog.LogRecord, d *detection, now time.Time) {
	r := d.rule
	lr.SetEventName(semconv.EventDetection)
	lr.SetTimestamp(pcommon.NewTimestampFromTime(d.time))
	lr.SetObservedTimestamp(pcommon.NewTimestampFromTime(now))
	severity, _ := semconv.DetectionSeverity(r.Severity)
	lr.SetSeverityNumber(severity)
	lr.SetSeverityText(r.Severity)
	lr.Body().SetStr(d.summary())
	attrs := lr.Attributes()
	attrs.PutStr(semconv.AttrEventName, semconv.EventDetection)
	attrs.PutStr(semconv.AttrSecurityRuleName, r.Name)
	putStr(attrs, semconv.AttrSecurityRuleCategory, r.Category)
	putStr(attrs, semconv.AttrSecurityRuleDesc, r.Description)
	putStr(attrs, semconv.AttrThreatTechniqueID, r.Technique)
	putStr(attrs, semconv.AttrSourceAddress, d.source)
	putStr(attrs, semconv.AttrUserName, d.user)
	putStr(attrs, semconv.AttrAuthTargetUser, d.targetUser)
	putStr(attrs, semconv.AttrAuthGroup, d.group)
	putStr(attrs, semconv.AttrHostName, d.host)
	attrs.PutStr(semconv.AttrDetectionKey, strings.Join(r.GroupBy, ","))
	attrs.PutInt(semconv.AttrDetectionCount, int64(d.count))
	if d.distinct > 0 {
		attrs.PutInt(semconv.AttrDetectionDistinct, int64(d.distinct))
	}
	if r.Window > 0 {
		attrs.PutDouble(semconv.AttrDetectionWindow, r.Window.Seconds())
	}
	attrs.PutStr(semconv.AttrDetectionFirst, d.first.UTC().Format(time.RFC3339Nano))
	attrs.PutStr(semconv.AttrDetectionLast, d.last.UTC().Format(time.RFC3339Nano))
}

// summary returns the detection in one sentence, for people.
func (d *detection) summary() string {
	r := d.rule
	var b strings.Builder
	fmt.Fprintf(&b, "%s (%s, %s): ", r.Name, r.Technique, r.Severity)
	switch r.Kind {
	case kindThreshold:
		if d.count == 1 {
			b.WriteString("a matching event")
		} else {
			fmt.Fprintf(&b, "%d matching events in %s", d.count, d.last.Sub(d.first).Round(time.Second))
		}
	case kindDistinct:
		fmt.Fprintf(&b, "%d events for %d distinct %s values in %s", d.count, d.distinct, r.Distinct, d.last.Sub(d.first).Round(time.Second))
	case kindSequence:
		fmt.Fprintf(&b, "a matching event after %d preceding ones in %s", d.count-1, d.last.Sub(d.first).Round(time.Second))
	case kindFirstSeen:
		b.WriteString("first seen")
	}
	for _, kv := range [][2]string{{"source", d.source}, {"user", d.user}, {"target user", d.targetUser}, {"group", d.group}, {"host", d.host}} {
		if kv[1] != "" {
			fmt.Fprintf(&b, ", %s %s", kv[0], kv[1])
		}
	}
	b.WriteString(". ")
	b.WriteString(r.Description)
	return b.String()
}

// metrics returns the cumulative counters as metrics.
func (p *lineHandler) metrics(now time.Time) pmetric.Metrics {
	ts := pcommon.NewTimestampFromTime(now)
	for k, n := range p.attempts {
		p.mb.RecordStrataAuthAttemptsDataPoint(ts, n, metadata.MapAttributeStrataAuthOutcome[k.outcome], k.method, k.process)
	}
	for r, n := range p.detections {
		p.mb.RecordStrataSecurityDetectionsDataPoint(ts, n, r.Name, r.Category)
	}
	return p.mb.Emit()
}

// nonEmpty counts the values that are not "".
func nonEmpty(values ...string) int {
	n := 0
	for _, v := range values {
		if v != "" {
			n++
		}
	}
	return n
}

func putStr(attrs pcommon.Map, key, value string) {
	if value != "" {
		attrs.PutStr(key, value)
	}
}

func putFileAttrs(attrs pcommon.Map, fileAttrs map[string]any) {
	for k, v := range fileAttrs {
		if s, ok := v.(string); ok {
			attrs.PutStr(k, s)
		}
	}
}
