package netprobereceiver // import "github.com/otelstrata/strata/receiver/netprobereceiver"

import (
	"context"
	"errors"
	"sync"
	"time"

	"github.com/miekg/dns"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/receiver"
	"go.opentelemetry.io/collector/receiver/receiverhelper"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/metric"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/receiver/netprobereceiver/internal/metadata"
)

// flushInterval and flushSize bound how long and how many results wait before they are sent down the pipeline.
const (
	flushInterval = time.Second
	flushSize     = 2048
)

type netprobeReceiver struct {
	cfg       *Config
	set       receiver.Settings
	next      consumer.Metrics
	obsrecv   *receiverhelper.ObsReport
	telemetry *metadata.TelemetryBuilder

	targets []*target
	jobs    chan *target
	results chan []result
	cancel  context.CancelFunc
	wg      sync.WaitGroup
}

func newReceiver(cfg *Config, set receiver.Settings, next consumer.Metrics) (*netprobeReceiver, error) {
	obsrecv, err := receiverhelper.NewObsReport(receiverhelper.ObsReportSettings{
		ReceiverID:             set.ID,
		Transport:              "netprobe",
		ReceiverCreateSettings: set,
	})
	if err != nil {
		return nil, err
	}
	return &netprobeReceiver{cfg: cfg, set: set, next: next, obsrecv: obsrecv}, nil
}

// Start prepares every target (reading the TLS files they name) and starts the scheduler, the workers and the
// emitter on a context of their own, which Shutdown cancels.
func (r *netprobeReceiver) Start(_ context.Context, _ component.Host) error {
	var err error
	if r.telemetry, err = metadata.NewTelemetryBuilder(r.set.TelemetrySettings); err != nil {
		return err
	}
	var defaultDNSServer string
	if rc, err := dns.ClientConfigFromFile("/etc/resolv.conf"); err == nil && len(rc.Servers) > 0 {
		defaultDNSServer = rc.Servers[0] + ":" + rc.Port
	}
	r.targets = make([]*target, 0, len(r.cfg.Targets))
	var errs []error
	for i := range r.cfg.Targets {
		t, err := newTarget(r.cfg, &r.cfg.Targets[i], defaultDNSServer)
		if err != nil {
			errs = append(errs, err)
			continue
		}
		r.targets = append(r.targets, t)
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}

	ctx, cancel := context.WithCancel(context.Background())
	r.cancel = cancel
	r.jobs = make(chan *target, r.cfg.MaxConcurrency)
	r.results = make(chan []result, r.cfg.MaxConcurrency)
	r.telemetry.ReceiverNetprobeTargets.Add(ctx, int64(len(r.targets)))

	var workers sync.WaitGroup
	for range r.cfg.MaxConcurrency {
		workers.Add(1)
		go func() {
			defer workers.Done()
			r.work(ctx)
		}()
	}
	r.wg.Add(2)
	go func() {
		defer r.wg.Done()
		newScheduler(r.targets, time.Now()).run(ctx, r.dispatch)
		workers.Wait()
		close(r.results)
	}()
	go func() {
		defer r.wg.Done()
		r.emit()
	}()
	return nil
}

// Shutdown stops scheduling, abandons the probes under way, sends what was already measured, and returns once
// every goroutine has ended.
func (r *netprobeReceiver) Shutdown(context.Context) error {
	if r.cancel == nil {
		return nil
	}
	r.cancel()
	r.wg.Wait()
	r.telemetry.ReceiverNetprobeTargets.Add(context.Background(), -int64(len(r.targets)))
	r.telemetry.Shutdown()
	r.cancel = nil
	return nil
}

// dispatch hands a due target to a worker, unless its previous probe is still running or every worker is busy
// (then the round is skipped and counted: the schedule never queues up behind a slow target).
func (r *netprobeReceiver) dispatch(ctx context.Context, t *target) {
	if !t.running.CompareAndSwap(false, true) {
		r.count(ctx, t, metadata.AttributeOutcomeSkipped)
		return
	}
	select {
	case r.jobs <- t:
	default:
		t.running.Store(false)
		r.count(ctx, t, metadata.AttributeOutcomeSkipped)
	}
}

func (r *netprobeReceiver) work(ctx context.Context) {
	for {
		select {
		case <-ctx.Done():
			return
		case t := <-r.jobs:
			r.telemetry.ReceiverNetprobeInFlight.Add(ctx, 1)
			results := t.run(ctx)
			r.telemetry.ReceiverNetprobeInFlight.Add(ctx, -1)
			t.running.Store(false)
			if ctx.Err() != nil {
				return // abandoned by Shutdown: a probe cut short measured nothing
			}
			for i := range results {
				outcome := metadata.AttributeOutcomeSuccess
				if results[i].err != nil {
					outcome = metadata.AttributeOutcomeFailure
					r.set.Logger.Debug("probe failed", zap.String("target", t.name),
						zap.String("peer", results[i].peer), zap.Error(results[i].err))
				}
				r.count(ctx, t, outcome)
			}
			r.results <- results
		}
	}
}

func (r *netprobeReceiver) count(ctx context.Context, t *target, outcome metadata.AttributeOutcome) {
	r.telemetry.ReceiverNetprobeProbes.Add(ctx, 1, metric.WithAttributes(
		attribute.String("strata.probe.type", t.cfg.Type), attribute.String("outcome", outcome.String())))
}

// emit batches results into metrics and sends them, every flushInterval or every flushSize results, and once more
// when the results channel closes at shutdown.
func (r *netprobeReceiver) emit() {
	mb := metadata.NewMetricsBuilder(r.cfg.MetricsBuilderConfig, r.set)
	rec := newRecorder(mb)
	ticker := time.NewTicker(flushInterval)
	defer ticker.Stop()
	pending := 0
	flush := func() {
		if pending == 0 {
			return
		}
		md := mb.Emit()
		ctx := r.obsrecv.StartMetricsOp(context.Background())
		err := r.next.ConsumeMetrics(ctx, md)
		r.obsrecv.EndMetricsOp(ctx, metadata.Type.String(), md.DataPointCount(), err)
		if err != nil {
			r.set.Logger.Warn("the next consumer refused probe results", zap.Int("results", pending), zap.Error(err))
		}
		pending = 0
	}
	for {
		select {
		case results, ok := <-r.results:
			if !ok {
				flush()
				return
			}
			for i := range results {
				rec.record(&results[i])
			}
			if pending += len(results); pending >= flushSize {
				flush()
			}
		case <-ticker.C:
			flush()
		}
	}
}

// recorder turns results into data points. It keeps the failure counters, so only the emitter goroutine uses it.
type recorder struct {
	mb *metadata.MetricsBuilder
	// failures counts, per target, the failed probes by address and error.type: at most the target's addresses
	// (32) times the error types (17) each.
	failures map[*target]map[failureKey]int64
}

type failureKey struct {
	peer, errorType string
}

func newRecorder(mb *metadata.MetricsBuilder) *recorder {
	return &recorder{mb: mb, failures: map[*target]map[failureKey]int64{}}
}

// record adds one result's data points to the builder.
func (rec *recorder) record(res *result) {
	mb, t := rec.mb, res.target
	ts := pcommon.NewTimestampFromTime(res.start)
	opts := make([]metadata.MetricAttributeOption, 0, 12)
	if t.host != "" {
		opts = append(opts, metadata.WithServerAddressMetricAttribute(t.host))
	}
	if t.port != 0 {
		opts = append(opts, metadata.WithServerPortMetricAttribute(t.port))
	}
	if t.urlFull != "" {
		opts = append(opts, metadata.WithURLFullMetricAttribute(t.urlFull))
	}
	if t.transport != "" {
		opts = append(opts, metadata.WithNetworkTransportMetricAttribute(t.transport))
	}
	if res.peer != "" {
		opts = append(opts, metadata.WithNetworkPeerAddressMetricAttribute(res.peer))
	}
	if t.cfg.Type == typeDNS {
		opts = append(opts, metadata.WithDNSQuestionNameMetricAttribute(t.cfg.Endpoint))
	}
	if t.labels.Len() > 0 {
		opts = append(opts, metadata.WithAttributesMetricAttribute(t.labels))
	}
	identity := opts

	success := int64(1)
	if res.err != nil {
		success = 0
		if rec.failures[t] == nil {
			rec.failures[t] = map[failureKey]int64{}
		}
		rec.failures[t][failureKey{res.peer, errorType(res.err)}]++
	}
	mb.RecordStrataProbeSuccessDataPoint(ts, success, t.typ, t.name, identity...)
	mb.RecordStrataProbeDurationDataPoint(ts, res.duration.Seconds(), t.typ, t.name, identity...)
	for k, n := range rec.failures[t] {
		if k.peer == res.peer {
			mb.RecordStrataProbeFailuresDataPoint(ts, n, t.typ, t.name, k.errorType, identity...)
		}
	}
	for p := range phaseCount {
		if res.hasPhase[p] {
			mb.RecordStrataProbePhaseDurationDataPoint(ts, res.phases[p].Seconds(), t.typ, t.name, phaseAttributes[p], identity...)
		}
	}
	with := func(extra ...metadata.MetricAttributeOption) []metadata.MetricAttributeOption {
		return append(identity[:len(identity):len(identity)], extra...)
	}
	if h := res.http; h != nil {
		version := []metadata.MetricAttributeOption{metadata.WithHTTPRequestMethodMetricAttribute(t.cfg.HTTP.Method)}
		if h.status != 0 {
			version = append(version, metadata.WithNetworkProtocolVersionMetricAttribute(h.version))
		}
		mb.RecordStrataProbeHTTPStatusCodeDataPoint(ts, int64(h.status), t.typ, t.name, with(version...)...)
		mb.RecordStrataProbeHTTPRedirectsDataPoint(ts, int64(h.redirects), t.typ, t.name, identity...)
		if h.status != 0 {
			mb.RecordStrataProbeHTTPBodySizeDataPoint(ts, h.bodySize, t.typ, t.name, identity...)
		}
	}
	if c := res.cert; c != nil {
		tlsOpts := with(metadata.WithTLSProtocolVersionMetricAttribute(c.tlsVersion))
		mb.RecordStrataProbeTLSCertificateExpiryDataPoint(ts, c.notAfter.Unix(), t.typ, t.name, tlsOpts...)
		mb.RecordStrataProbeTLSCertificateTimeLeftDataPoint(ts, c.notAfter.Sub(res.start).Seconds(), t.typ, t.name, tlsOpts...)
	}
	if d := res.dns; d != nil {
		mb.RecordStrataProbeDNSAnswerCountDataPoint(ts, int64(d.answers), t.typ, t.name,
			with(metadata.WithStrataDNSResponseCodeMetricAttribute(d.rcode))...)
	}
	if i := res.icmp; i != nil {
		for _, s := range []struct {
			stat metadata.AttributeStrataProbeIcmpStatistic
			v    time.Duration
		}{
			{metadata.AttributeStrataProbeIcmpStatisticMin, i.min}, {metadata.AttributeStrataProbeIcmpStatisticAvg, i.avg},
			{metadata.AttributeStrataProbeIcmpStatisticMax, i.max}, {metadata.AttributeStrataProbeIcmpStatisticStddev, i.stddev},
		} {
			mb.RecordStrataProbeIcmpRttDataPoint(ts, s.v.Seconds(), t.typ, t.name, s.stat, identity...)
		}
		mb.RecordStrataProbeIcmpPacketLossDataPoint(ts, i.loss, t.typ, t.name, identity...)
	}
}
