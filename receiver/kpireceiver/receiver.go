package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"

import (
	"context"
	"errors"
	"fmt"
	"math"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/extension/xextension/storage"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/clock"
	"github.com/otelstrata/strata/internal/semconv"
	"github.com/otelstrata/strata/internal/storageclient"
	"github.com/otelstrata/strata/receiver/kpireceiver/internal/metadata"
)

// fetcher is a source's way of reading: a database or an endpoint.
type fetcher interface {
	fetch(ctx context.Context) []fetchResult
	close(ctx context.Context) error
}

// fetchResult is what one query (or the one request of an HTTP source) gave at a poll.
type fetchResult struct {
	query       string // the query's name; empty for HTTP
	reading     *reading
	static      map[string]string
	incremental bool                            // the reading holds new rows, added to running totals
	commit      func(ctx context.Context) error // keeps the position of an incremental query, once its rows are used
	err         error
}

// source is a configured source at run time: its fetcher, the totals of its incremental queries, and its
// schedule.
type source struct {
	cfg        *SourceConfig
	fetcher    fetcher
	interval   time.Duration
	timeout    time.Duration
	staleAfter time.Duration
	totals     map[string]map[string]*series // value ID -> attribute key -> running total
	prevPoll   map[string]time.Time          // query -> end of its previous successful poll
	readers    map[string][]string           // value ID -> the KPIs that read it, for log messages
}

type kpiReceiver struct {
	cfg       *Config
	set       receiver.Settings
	next      consumer.Metrics
	obsrecv   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder
	storage   storage.Client

	store   *valueStore
	sources []*source
	kpis    []*kpiProgram
	start   time.Time
	// lastReason is each KPI's reason for no point at its previous evaluation, so that a KPI's failure is logged
	// when it starts and when it ends, not at every evaluation.
	lastReason map[string]string

	cancel context.CancelFunc // stops the sources' polls
	wg     sync.WaitGroup
	loop   *clock.Loop // evaluates the KPIs every interval
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Metrics) (*kpiReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "kpi",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &kpiReceiver{cfg: cfg, set: set, next: next, obsrecv: obsrecv, store: newValueStore(), lastReason: map[string]string{}}, nil
}

// Start opens the receiver, starts one goroutine per source and evaluates the KPIs every interval.
func (r *kpiReceiver) Start(ctx context.Context, host component.Host) error {
	if err := r.open(ctx, host); err != nil {
		return err
	}
	runCtx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	for _, s := range r.sources {
		r.wg.Add(1)
		go func() {
			defer r.wg.Done()
			r.runSource(runCtx, s)
		}()
	}
	mb := metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.set, metadata.WithStartTime(pcommon.NewTimestampFromTime(r.start)))
	r.loop = clock.Start(clock.FromHost(host, clock.Real{}), clock.Task{Every: r.cfg.Interval, Run: func(ctx context.Context, now time.Time) {
		if md := r.evaluate(ctx, mb, now); md.DataPointCount() > 0 {
			r.consume(md)
		}
	}})
	return nil
}

// open compiles the KPIs, opens the storage and the sources (no connection is made yet: a database that is down
// is a failing poll, not a failed start) and reads the positions of incremental queries.
func (r *kpiReceiver) open(ctx context.Context, host component.Host) error {
	var err error
	if r.telemetry, err = metadata.NewTelemetryBuilder(r.set.TelemetrySettings); err != nil {
		return err
	}
	ids := map[string]string{}
	for i := range r.cfg.Sources {
		s := &r.cfg.Sources[i]
		var values []ValueConfig
		if s.SQL != nil {
			for _, q := range s.SQL.Queries {
				values = append(values, q.Values...)
			}
		} else {
			values = s.HTTP.Values
		}
		for _, v := range values {
			ids[v.id()] = s.Name
		}
	}
	readers := map[string][]string{}
	for i := range r.cfg.KPIs {
		p, err := compileKPI(&r.cfg.KPIs[i], ids)
		if err != nil {
			return fmt.Errorf("kpis[%d] (%s): %w", i, r.cfg.KPIs[i].Name, err)
		}
		for _, id := range p.vars {
			readers[id] = append(readers[id], p.cfg.Name)
		}
		for j := range r.cfg.KPIs {
			if of := &r.cfg.KPIs[j]; p.cfg.Of != "" && of.Name == p.cfg.Of {
				p.of = of.metricName()
			}
		}
		r.kpis = append(r.kpis, p)
	}
	if r.storage, err = storageclient.Open(ctx, host, r.cfg.Storage, component.KindReceiver, r.set.ID); err != nil {
		return err
	}
	for i := range r.cfg.Sources {
		s, err := r.newSource(ctx, host, &r.cfg.Sources[i], readers)
		if err != nil {
			return errors.Join(err, r.closeAll(ctx))
		}
		r.sources = append(r.sources, s)
	}
	r.start = time.Now()
	return nil
}

func (r *kpiReceiver) newSource(ctx context.Context, host component.Host, cfg *SourceConfig, readers map[string][]string) (*source, error) {
	s := &source{
		cfg:      cfg,
		interval: cfg.interval(r.cfg),
		timeout:  cfg.timeout(r.cfg),
		totals:   map[string]map[string]*series{},
		prevPoll: map[string]time.Time{},
		readers:  readers,
	}
	// A reading is used for two intervals and one timeout: one late poll does not interrupt a KPI, a failing
	// source does.
	s.staleAfter = 2*s.interval + s.timeout
	if cfg.SQL != nil {
		sqlSrc, err := newSQLSource(cfg.Name, cfg.SQL, r.cfg.MaxRows, r.storage)
		if err != nil {
			return nil, err
		}
		s.fetcher = sqlSrc
		if err := sqlSrc.restore(ctx); err != nil {
			return nil, errors.Join(err, sqlSrc.close(ctx))
		}
		return s, nil
	}
	client, err := cfg.HTTP.ToClient(ctx, host.GetExtensions(), r.set.TelemetrySettings)
	if err != nil {
		return nil, fmt.Errorf("source %s: %w", cfg.Name, err)
	}
	if s.fetcher, err = newHTTPSource(cfg.Name, cfg.HTTP, client, r.cfg.MaxRows); err != nil {
		return nil, err
	}
	return s, nil
}

// Shutdown stops the polls (a poll under way is cancelled: nothing of it is used and an incremental query's
// position stays where it was) and closes the databases and the storage.
func (r *kpiReceiver) Shutdown(ctx context.Context) error {
	if r.cancel != nil {
		r.cancel()
		r.wg.Wait()
		r.cancel = nil
	}
	r.loop.Stop()
	r.loop = nil
	err := r.closeAll(ctx)
	if r.telemetry != nil {
		r.telemetry.Shutdown()
	}
	return err
}

func (r *kpiReceiver) closeAll(ctx context.Context) error {
	var errs []error
	for _, s := range r.sources {
		errs = append(errs, s.fetcher.close(ctx))
	}
	r.sources = nil
	if r.storage != nil {
		errs = append(errs, r.storage.Close(ctx))
		r.storage = nil
	}
	return errors.Join(errs...)
}

// runSource polls a source at its interval; when every query of a poll fails, the wait doubles up to
// max_backoff, and returns to the interval at the first success.
func (r *kpiReceiver) runSource(ctx context.Context, s *source) {
	wait := time.Duration(0)
	timer := time.NewTimer(wait)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		}
		if r.poll(ctx, s) {
			wait = s.interval
		} else {
			wait = min(max(2*wait, 2*s.interval), r.cfg.MaxBackoff)
			r.set.Logger.Warn("source failing: backing off", zap.String("source", s.cfg.Name), zap.Duration("next_poll_in", wait))
		}
		timer.Reset(wait)
	}
}

// poll reads a source once, stores its values for the KPIs, sends the metrics of its values and then keeps the
// positions of its incremental queries. It reports whether any query succeeded.
func (r *kpiReceiver) poll(ctx context.Context, s *source) bool {
	pollCtx, cancel := context.WithTimeout(ctx, s.timeout)
	results := s.fetcher.fetch(pollCtx)
	cancel()
	if ctx.Err() != nil {
		return true // shutting down: nothing of a cut-short poll is used
	}
	now := time.Now()
	sink := newMetricSink(metadata.ScopeName, r.set.BuildInfo.Version)
	succeeded := 0
	srcAttr := attribute.String("strata.kpi.source", s.cfg.Name)
	for i := range results {
		res := &results[i]
		if res.err != nil {
			reason := reasonOf(res.err)
			if errors.Is(res.err, context.DeadlineExceeded) {
				reason = reasonTimeout
			}
			r.telemetry.ReceiverKpiPolls.Add(ctx, 1, metric.WithAttributes(srcAttr,
				attribute.String("outcome", metadata.AttributeOutcomeFailure.String()), attribute.String("reason", reason)))
			r.set.Logger.Warn("poll failed: the values it reads keep their last reading until they go stale",
				zap.String("source", s.cfg.Name), zap.String("reason", reason), zap.Error(res.err),
				zap.Strings("kpis", s.kpisOf(res)))
			continue
		}
		succeeded++
		r.telemetry.ReceiverKpiPolls.Add(ctx, 1, metric.WithAttributes(srcAttr,
			attribute.String("outcome", metadata.AttributeOutcomeSuccess.String()), attribute.String("reason", "")))
		r.telemetry.ReceiverKpiRows.Add(ctx, int64(res.reading.rows), metric.WithAttributes(srcAttr))
		prev, ok := s.prevPoll[res.query]
		if !ok {
			prev = r.start
		}
		static := staticMap(res.static)
		for j, d := range res.reading.defs {
			byKey := res.reading.series[j]
			if res.incremental && d.kind != typeHistogram {
				var dropped int
				if byKey, dropped = s.addToTotals(d.id, byKey, r.cfg.MaxSeries); dropped > 0 {
					r.telemetry.ReceiverKpiDroppedSeries.Add(ctx, int64(dropped), metric.WithAttributes(srcAttr))
					r.set.Logger.Warn("running totals beyond max_series dropped", zap.String("source", s.cfg.Name),
						zap.String("value", d.id), zap.Int("dropped", dropped), zap.Int("max_series", r.cfg.MaxSeries))
				}
			}
			r.store.put(d.id, &valueSeries{series: byKey, updated: now, staleAfter: s.staleAfter})
			sink.appendValue(d, byKey, static, r.start, prev, now)
		}
		s.prevPoll[res.query] = now
	}
	if n := sink.md.DataPointCount(); n > 0 {
		r.consume(sink.md)
	}
	for i := range results {
		if commit := results[i].commit; commit != nil && results[i].err == nil {
			if err := commit(ctx); err != nil {
				r.set.Logger.Error("keeping the position of an incremental query failed: after a restart its rows since the last kept position are counted again",
					zap.String("source", s.cfg.Name), zap.String("query", results[i].query), zap.Error(err))
				r.telemetry.ReceiverKpiPolls.Add(ctx, 1, metric.WithAttributes(srcAttr,
					attribute.String("outcome", metadata.AttributeOutcomeFailure.String()), attribute.String("reason", reasonStorage)))
			}
		}
	}
	return succeeded > 0 || len(results) == 0
}

// addToTotals adds a poll's new rows to the running totals of an incremental value and returns the totals as
// new series (what the store holds is never changed). A total of an attribute set beyond max_series is not kept:
// it is counted as dropped.
func (s *source) addToTotals(id string, byKey map[string]*series, maxSeries int) (map[string]*series, int) {
	totals := s.totals[id]
	if totals == nil {
		totals = map[string]*series{}
		s.totals[id] = totals
	}
	dropped := 0
	for k, ser := range byKey {
		t := totals[k]
		if t == nil {
			if len(totals) >= maxSeries {
				dropped++
				continue
			}
			t = &series{attrs: ser.attrs}
			totals[k] = t
		}
		t.value += ser.value
	}
	out := make(map[string]*series, len(totals))
	for k, t := range totals {
		out[k] = &series{attrs: t.attrs, value: t.value}
	}
	return out, dropped
}

// kpisOf names the KPIs that read the values of a failed query, for its log message.
func (s *source) kpisOf(res *fetchResult) []string {
	var names []string
	for _, v := range s.valuesOf(res.query) {
		names = append(names, s.readers[v.id()]...)
	}
	return names
}

func (s *source) valuesOf(query string) []ValueConfig {
	if s.cfg.HTTP != nil {
		return s.cfg.HTTP.Values
	}
	for _, q := range s.cfg.SQL.Queries {
		if q.Name == query {
			return q.Values
		}
	}
	return nil
}

func (r *kpiReceiver) consume(md pmetric.Metrics) {
	ctx := r.obsrecv.StartMetricsOp(context.Background())
	err := r.next.ConsumeMetrics(ctx, md)
	r.obsrecv.EndMetricsOp(ctx, metadata.Type.String(), md.DataPointCount(), err)
	if err != nil {
		r.set.Logger.Warn("the next consumer refused KPI metrics", zap.Int("data_points", md.DataPointCount()), zap.Error(err))
	}
}

// evaluate runs every KPI over the values read so far: a gauge point per attribute set, and with a target
// whether it is met and, for ratios, the error-budget burn rate. A set without a point is counted and logged with
// its reason.
func (r *kpiReceiver) evaluate(ctx context.Context, mb *metadata.MetricsBuilder, now time.Time) pmetric.Metrics {
	values := r.store.snapshot()
	sink := newMetricSink(metadata.ScopeName, r.set.BuildInfo.Version)
	ts := pcommon.NewTimestampFromTime(now)
	for _, p := range r.kpis {
		k := p.cfg
		points := p.evaluate(values, now, r.cfg.Interval)
		var gauge pmetric.NumberDataPointSlice
		var failures []string
		for _, pt := range points {
			outcome := metadata.AttributeOutcomeSuccess
			if pt.reason != "" {
				outcome = metadata.AttributeOutcomeFailure
				failures = append(failures, fmt.Sprintf("%s: %v", describeKey(pt.key), pt.err))
			}
			r.telemetry.ReceiverKpiEvaluations.Add(ctx, 1, metric.WithAttributes(attribute.String(semconv.AttrKPIName, k.Name),
				attribute.String("outcome", outcome.String()), attribute.String("reason", pt.reason)))
			if pt.reason != "" {
				continue
			}
			if gauge == (pmetric.NumberDataPointSlice{}) {
				m := sink.sm.Metrics().AppendEmpty()
				m.SetName(k.metricName())
				m.SetDescription(k.Description)
				m.SetUnit(k.Unit)
				gauge = m.SetEmptyGauge().DataPoints()
			}
			dp := gauge.AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(pt.value)
			attrs := pt.attrs()
			attrs.CopyTo(dp.Attributes())
			if k.Owner != "" {
				dp.Attributes().PutStr(semconv.AttrKPIOwner, k.Owner)
			}
			if p.of != "" {
				dp.Attributes().PutStr(semconv.AttrKPIOf, p.of)
			}
			if k.Target == nil {
				continue
			}
			opts := []metadata.MetricAttributeOption{metadata.WithAttributesMetricAttribute(attrs)}
			if k.Owner != "" {
				opts = append(opts, metadata.WithStrataKpiOwnerMetricAttribute(k.Owner))
			}
			met, burn := k.Target.judge(pt.value)
			mb.RecordStrataKpiTargetMetDataPoint(ts, met, k.Name, opts...)
			if k.Ratio {
				mb.RecordStrataKpiErrorBudgetBurnRateDataPoint(ts, burn, k.Name, opts...)
			}
		}
		r.logTransition(k.Name, points, failures)
	}
	md := sink.md
	mb.Emit().ResourceMetrics().MoveAndAppendTo(md.ResourceMetrics())
	return md
}

// logTransition logs when a KPI starts or stops giving no point for some attribute set.
func (r *kpiReceiver) logTransition(name string, points []kpiPoint, failures []string) {
	reasons := map[string]bool{}
	for _, pt := range points {
		if pt.reason != "" {
			reasons[pt.reason] = true
		}
	}
	summary := strings.Join(sortedKeys(reasons), ",")
	if summary == r.lastReason[name] {
		return
	}
	switch {
	case summary == "":
		r.set.Logger.Info("KPI evaluates again", zap.String("kpi", name))
	case summary == reasonWarmingUp:
		r.set.Logger.Debug("KPI warming up: its window functions wait for a second reading", zap.String("kpi", name))
	default:
		r.set.Logger.Warn("KPI gives no point", zap.String("kpi", name), zap.String("reasons", summary), zap.Strings("details", failures))
	}
	r.lastReason[name] = summary
}

// attrs returns the attributes of a point's set (empty for a KPI whose inputs have none).
func (pt kpiPoint) attrs() pcommon.Map {
	if pt.series == nil {
		return pcommon.NewMap()
	}
	return pt.series.attrs
}

// judge returns whether value meets the target (1 or 0) and how fast it burns the error budget of a ratio: the
// share of bad events over the share the target allows (at_least: (1 - value) / (1 - target); at_most: value /
// target).
func (t *TargetConfig) judge(value float64) (int64, float64) {
	var met int64
	var burn float64
	if t.Direction == "at_most" {
		burn = value / t.Value
		if value <= t.Value {
			met = 1
		}
	} else {
		burn = (1 - value) / (1 - t.Value)
		if value >= t.Value {
			met = 1
		}
	}
	return met, math.Max(burn, 0)
}
