package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/provider/envprovider"
	"go.opentelemetry.io/collector/confmap/provider/fileprovider"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
	metricnoop "go.opentelemetry.io/otel/metric/noop"
	tracenoop "go.opentelemetry.io/otel/trace/noop"
	"go.uber.org/zap"

	"github.com/otelstrata/strata/internal/alertwatch"
	"github.com/otelstrata/strata/internal/clock"
)

// options are what a backtest replays, through what, and where it writes.
type options struct {
	config     string   // the collector configuration
	csv        []string // CSV files of history
	otlp       []string // OTLP/JSON files of history
	prometheus *promSource
	pipelines  []string  // the pipelines fed; all that a receiver feeds when empty
	out        string    // the output directory
	scores     bool      // keep the anomaly processor's points
	scoresFrom time.Time // of those, only the ones from this time on
	state      string    // a file_storage directory the anomaly processor's models are read from and written to
	tail       time.Duration
	logger     *zap.Logger
}

// replayExtension offers the replay's clock to the components, which take it at Start (clock.FromHost), and
// hears the alert exporters' changes of state (alertwatch.FromHost).
type replayExtension struct {
	*clock.Manual
	changes []alertwatch.Change
}

func (*replayExtension) Start(context.Context, component.Host) error { return nil }
func (*replayExtension) Shutdown(context.Context) error              { return nil }

// AlertChanged keeps a change of an alert's state.
func (r *replayExtension) AlertChanged(c alertwatch.Change) { r.changes = append(r.changes, c) }

// host is the replay's host: its extensions are the replay's (the clock, the alert watcher) and the file_storage of
// --state.
type host struct {
	extensions map[component.ID]component.Component
}

func (h *host) GetExtensions() map[component.ID]component.Component { return h.extensions }

// loadConfig resolves a collector configuration as the collector does: ${env:...} and ${file:...} expanded.
func loadConfig(ctx context.Context, path string) (*confmap.Conf, error) {
	r, err := confmap.NewResolver(confmap.ResolverSettings{
		URIs:              []string{"file:" + path},
		ProviderFactories: []confmap.ProviderFactory{fileprovider.NewFactory(), envprovider.NewFactory()},
		DefaultScheme:     "env",
	})
	if err != nil {
		return nil, err
	}
	conf, err := r.Resolve(ctx)
	if err != nil {
		return nil, fmt.Errorf("%s: %w", path, err)
	}
	return conf, nil
}

// source is history in time order.
type source interface {
	// peek returns the time of the next batch, false at the end.
	peek() (time.Time, bool)
	// last returns the time of the last batch, false when there is none.
	last() (time.Time, bool)
	// next returns the next batch; peek must have said there is one.
	next() batch
}

// storeSource replays the series store (CSV and Prometheus history), a batch per time.
type storeSource struct{ *seriesStore }

func (s storeSource) peek() (time.Time, bool) {
	if s.seriesStore.next >= len(s.samples) {
		return time.Time{}, false
	}
	return time.Unix(0, s.samples[s.seriesStore.next].t).UTC(), true
}

func (s storeSource) last() (time.Time, bool) {
	if len(s.samples) == 0 {
		return time.Time{}, false
	}
	return time.Unix(0, s.samples[len(s.samples)-1].t).UTC(), true
}

func (s storeSource) next() batch {
	t, md, _ := s.nextBatch()
	return batch{t: t, metrics: md, traces: ptrace.NewTraces(), logs: plog.NewLogs()}
}

// batchSource replays OTLP/JSON requests, sorted by time.
type batchSource struct {
	batches []batch
	i       int
}

func (s *batchSource) peek() (time.Time, bool) {
	if s.i >= len(s.batches) {
		return time.Time{}, false
	}
	return s.batches[s.i].t, true
}

func (s *batchSource) last() (time.Time, bool) {
	if len(s.batches) == 0 {
		return time.Time{}, false
	}
	return s.batches[len(s.batches)-1].t, true
}

func (s *batchSource) next() batch {
	b := s.batches[s.i]
	s.batches[s.i] = batch{} // replayed: let it go
	s.i++
	return b
}

// result is what a backtest saw and what the configuration did.
type result struct {
	From, To   time.Time
	Input      inputCounts
	Watched    map[string]int // by alert rule: the series of the history named by its metric
	NeverFired map[string]int // by alert rule: alerts pending that recovered before their for
	Timelines  []timeline     // the busiest alerting series, for report.html
	MoreSeries int            // alerting series not drawn
	Elapsed    time.Duration
	Notes      []string
	Errors     int    // batches a pipeline refused
	FirstError string // the first refusal
	Alerts     []alertEpisode
	Incidents  []incidentRecord
	Scores     int // anomaly points written to scores.jsonl
}

// readSources reads every source of history the options name.
func readSources(ctx context.Context, o options, set component.TelemetrySettings) ([]source, inputCounts, error) {
	var sources []source
	var counts inputCounts
	store := newSeriesStore()
	for _, path := range o.csv {
		if err := readCSV(path, store); err != nil {
			return nil, counts, err
		}
	}
	if o.prometheus != nil {
		if err := o.prometheus.read(ctx, set, store); err != nil {
			return nil, counts, err
		}
	}
	store.prepare()
	counts.add(store.counts)
	sources = append(sources, storeSource{store})
	for _, path := range o.otlp {
		batches, err := readOTLPJSON(path, &counts)
		if err != nil {
			return nil, counts, err
		}
		sources = append(sources, &batchSource{batches: batches})
	}
	return sources, counts, nil
}

// run replays the history through the configuration's pipelines in simulated time and returns what happened.
func run(ctx context.Context, o options) (*result, error) {
	began := time.Now()
	conf, err := loadConfig(ctx, o.config)
	if err != nil {
		return nil, err
	}
	set := component.TelemetrySettings{Logger: o.logger, TracerProvider: tracenoop.NewTracerProvider(),
		MeterProvider: metricnoop.NewMeterProvider(), Resource: pcommon.NewResource()}
	sources, counts, err := readSources(ctx, o, set)
	if err != nil {
		return nil, err
	}
	from, to, ok := historyRange(sources)
	if !ok {
		return nil, fmt.Errorf("the history holds no points, spans or records")
	}
	if err := os.MkdirAll(o.out, 0o755); err != nil {
		return nil, err
	}
	rec, err := newRecorder(o.out, o.scores, o.scoresFrom, span{from.UnixNano(), to.UnixNano()})
	if err != nil {
		return nil, err
	}
	clk := clock.NewManual(from)
	ext := &replayExtension{Manual: clk}
	h := &host{extensions: map[component.ID]component.Component{component.MustNewID("backtest"): ext}}
	g, err := newGraph(conf, h, set, o.out, o.state, rec)
	if err != nil {
		rec.close()
		return nil, err
	}
	res := &result{From: from, Input: counts}
	if err := g.replay(ctx, o, clk, sources, res); err != nil {
		rec.close()
		return nil, err
	}
	if err := rec.close(); err != nil {
		return nil, err
	}
	res.Notes, res.Incidents, res.Scores = g.allNotes(), rec.incidents, rec.nScores
	res.Watched = g.watchedSeries(seriesByName(sources))
	res.Alerts, res.NeverFired = episodes(ext.changes)
	if err := countNotifications(g.alertLogs, res.Alerts); err != nil {
		return nil, err
	}
	for _, src := range sources {
		if s, ok := src.(storeSource); ok {
			res.Timelines, res.MoreSeries = timelines(res, s.seriesStore, rec, g.rules())
		}
	}
	res.Elapsed = time.Since(began)
	return res, nil
}

// replay builds and starts the pipelines, hands them the history batch by batch with the clock at each batch's
// time (the clock runs the components' periodic work due on the way), and stops them.
func (g *graph) replay(ctx context.Context, o options, clk *clock.Manual, sources []source, res *result) error {
	fed := map[pipeline.Signal][]any{}
	for _, sig := range historySignals(sources) {
		for _, id := range g.fed(sig, o.pipelines) {
			c, err := g.pipeline(ctx, id)
			if err != nil {
				return err
			}
			fed[sig] = append(fed[sig], c)
		}
	}
	if len(fed) == 0 {
		return fmt.Errorf("no pipeline to feed: service::pipelines has none with a receiver%s", onlyText(o.pipelines))
	}
	if err := g.start(ctx); err != nil {
		return errors.Join(err, g.shutdown(ctx))
	}
	metrics, _ := fanout(pipeline.SignalMetrics, fed[pipeline.SignalMetrics]).(consumer.Metrics)
	traces, _ := fanout(pipeline.SignalTraces, fed[pipeline.SignalTraces]).(consumer.Traces)
	logs, _ := fanout(pipeline.SignalLogs, fed[pipeline.SignalLogs]).(consumer.Logs)
	refused := func(err error) {
		if err != nil {
			res.Errors++
			if res.FirstError == "" {
				res.FirstError = err.Error()
			}
		}
	}
	var last time.Time
	for {
		b, ok := nextBatch(sources)
		if !ok {
			break
		}
		clk.Set(b.t)
		last = b.t
		if metrics != nil && b.metrics.DataPointCount() > 0 {
			if b.keepValues {
				g.rec.keepValues(b.metrics)
			}
			refused(metrics.ConsumeMetrics(ctx, b.metrics))
		}
		if traces != nil && b.traces.SpanCount() > 0 {
			refused(traces.ConsumeTraces(ctx, b.traces))
		}
		if logs != nil && b.logs.LogRecordCount() > 0 {
			refused(logs.ConsumeLogs(ctx, b.logs))
		}
	}
	clk.Set(last.Add(o.tail))
	res.To = clk.Now()
	return g.shutdown(ctx)
}

func onlyText(only []string) string {
	if len(only) == 0 {
		return ""
	}
	return fmt.Sprintf(" among %v", only)
}

// seriesByName counts the series of the history by metric name (those read into the series store).
func seriesByName(sources []source) map[string]int {
	n := map[string]int{}
	for _, src := range sources {
		if s, ok := src.(storeSource); ok {
			for _, d := range s.series {
				n[d.name]++
			}
		}
	}
	return n
}

// historyRange returns the time of the first and of the last batch of all sources, false when they hold none.
func historyRange(sources []source) (from, to time.Time, ok bool) {
	for _, s := range sources {
		first, okFirst := s.peek()
		last, okLast := s.last()
		if !okFirst || !okLast {
			continue
		}
		if !ok || first.Before(from) {
			from = first
		}
		if !ok || last.After(to) {
			to = last
		}
		ok = true
	}
	return from, to, ok
}

// historySignals returns the signals the history holds: only their pipelines are built and fed.
func historySignals(sources []source) []pipeline.Signal {
	has := map[pipeline.Signal]bool{}
	for _, src := range sources {
		switch s := src.(type) {
		case storeSource:
			has[pipeline.SignalMetrics] = has[pipeline.SignalMetrics] || len(s.samples) > 0
		case *batchSource:
			for _, b := range s.batches {
				has[pipeline.SignalMetrics] = has[pipeline.SignalMetrics] || b.metrics.DataPointCount() > 0
				has[pipeline.SignalTraces] = has[pipeline.SignalTraces] || b.traces.SpanCount() > 0
				has[pipeline.SignalLogs] = has[pipeline.SignalLogs] || b.logs.LogRecordCount() > 0
			}
		}
	}
	var out []pipeline.Signal
	for _, sig := range []pipeline.Signal{pipeline.SignalMetrics, pipeline.SignalTraces, pipeline.SignalLogs} {
		if has[sig] {
			out = append(out, sig)
		}
	}
	return out
}

// nextBatch returns the earliest next batch of the sources.
func nextBatch(sources []source) (batch, bool) {
	var pick source
	var first time.Time
	for _, s := range sources {
		if t, ok := s.peek(); ok && (pick == nil || t.Before(first)) {
			pick, first = s, t
		}
	}
	if pick == nil {
		return batch{}, false
	}
	return pick.next(), true
}
