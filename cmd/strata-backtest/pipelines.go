package main

import (
	"context"
	"errors"
	"fmt"
	"path/filepath"
	"slices"
	"strings"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/filestorage"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/attributesprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/filterprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/resourceprocessor"
	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/transformprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.opentelemetry.io/collector/connector"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/extension"
	"go.opentelemetry.io/collector/pipeline"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelstrata/strata/connector/correlationconnector"
	"github.com/otelstrata/strata/exporter/alertexporter"
	"github.com/otelstrata/strata/internal/semconv"
	"github.com/otelstrata/strata/processor/anomalyprocessor"
	"github.com/otelstrata/strata/processor/samplingprocessor"
)

// processorFactories are the processors a backtest runs: Strata's, and contrib's that do not depend on time.
var processorFactories = factoryMap(anomalyprocessor.NewFactory(), samplingprocessor.NewFactory(),
	transformprocessor.NewFactory(), filterprocessor.NewFactory(), attributesprocessor.NewFactory(),
	resourceprocessor.NewFactory())

var connectorFactories = factoryMap(correlationconnector.NewFactory())

var alertType = alertexporter.NewFactory().Type()

func factoryMap[F component.Factory](fs ...F) map[component.Type]F {
	m := map[component.Type]F{}
	for _, f := range fs {
		m[f.Type()] = f
	}
	return m
}

// pipelineConfig is a pipeline of the service section.
type pipelineConfig struct {
	Receivers  []component.ID `mapstructure:"receivers"`
	Processors []component.ID `mapstructure:"processors"`
	Exporters  []component.ID `mapstructure:"exporters"`
}

// graph builds a configuration's pipelines out of components on the replay's host, with what leaves them
// recorded instead of exported.
type graph struct {
	conf       *confmap.Conf
	pipelines  map[pipeline.ID]pipelineConfig
	host       *host
	set        component.TelemetrySettings
	out        string    // the output directory
	state      string    // where the anomaly processor's models are kept, when set
	rec        *recorder // what reaches an exporter other than alert
	configs    map[string]component.Config
	built      map[string]any // consumers by kind and id, so that each is built once
	started    []component.Component
	extensions []component.Component // started before the components, stopped after
	notes      []string
	passedOver []string // processors not run
	alertLogs  []string // the notification files of the alert exporters
}

func newGraph(conf *confmap.Conf, h *host, set component.TelemetrySettings, out, state string, rec *recorder) (*graph, error) {
	g := &graph{conf: conf, host: h, set: set, out: out, state: state, rec: rec, configs: map[string]component.Config{}, built: map[string]any{}}
	sub, err := conf.Sub("service::pipelines")
	if err != nil {
		return nil, err
	}
	if err := sub.Unmarshal(&g.pipelines); err != nil {
		return nil, fmt.Errorf("service::pipelines: %w", err)
	}
	if len(g.pipelines) == 0 {
		return nil, fmt.Errorf("service::pipelines: none")
	}
	if err := g.checkReferences(); err != nil {
		return nil, err
	}
	return g, nil
}

// checkReferences refuses a pipeline that names a component the configuration does not define, in the
// collector's words: replayed with defaults, it would run what the collector refuses to start.
func (g *graph) checkReferences() error {
	var errs []error
	for id, p := range g.pipelines {
		for _, ref := range []struct {
			kind     string
			ids      []component.ID
			sections []string
		}{
			{"receiver", p.Receivers, []string{"receivers", "connectors"}},
			{"processor", p.Processors, []string{"processors"}},
			{"exporter", p.Exporters, []string{"exporters", "connectors"}},
		} {
			for _, c := range ref.ids {
				if !slices.ContainsFunc(ref.sections, func(sec string) bool { return slices.Contains(mapKeys(g.conf, sec), c.String()) }) {
					errs = append(errs, fmt.Errorf("service::pipelines::%s: references %s %q which is not configured", id, ref.kind, c))
				}
			}
		}
	}
	slices.SortFunc(errs, func(a, b error) int { return strings.Compare(a.Error(), b.Error()) })
	return errors.Join(errs...)
}

// mapKeys returns the names under a section, such as the connectors.
func mapKeys(conf *confmap.Conf, section string) []string {
	m, _ := conf.Get(section).(map[string]any)
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	return keys
}

// config returns the configuration of a component, read once, so that components built for several pipelines
// share it (Strata's shared components are keyed by it).
func (g *graph) config(section string, id component.ID, f component.Factory) (component.Config, error) {
	key := section + "/" + id.String()
	if cfg, ok := g.configs[key]; ok {
		return cfg, nil
	}
	cfg := f.CreateDefaultConfig()
	sub, err := g.conf.Sub(section + "::" + id.String())
	if err != nil {
		return nil, fmt.Errorf("%s::%s: %w", section, id, err)
	}
	if err := sub.Unmarshal(cfg); err != nil {
		return nil, fmt.Errorf("%s::%s: %w", section, id, err)
	}
	if err := g.adapt(id, cfg); err != nil {
		return nil, err
	}
	if err := xconfmap.Validate(cfg); err != nil {
		return nil, fmt.Errorf("%s::%s: %w", section, id, err)
	}
	g.configs[key] = cfg
	return cfg, nil
}

// adapt changes what a component would do outside the replay: state is not read or written, but for the anomaly
// processor's models when a state directory is given (saved when the replay ends); alerts go to files in the
// output directory at once instead of to their receivers.
func (g *graph) adapt(id component.ID, cfg component.Config) error {
	switch c := cfg.(type) {
	case *anomalyprocessor.Config:
		if g.state == "" || c.Storage == nil {
			c.Storage = nil
			break
		}
		c.SaveInterval = stateSaveInterval
		return g.fileStorage(*c.Storage)
	case *correlationconnector.Config:
		c.Storage = nil
	case *alertexporter.Config:
		c.Storage = nil
		c.QueueSettings = configoptional.None[exporterhelper.QueueBatchConfig]()
		c.BackOffConfig.Enabled = false
		for name := range c.Receivers {
			path := filepath.Join(g.out, "notifications", strings.ReplaceAll(id.String(), "/", "_")+"."+name+".jsonl")
			c.Receivers[name] = &alertexporter.ReceiverConfig{Kind: "file", Path: path}
			g.alertLogs = append(g.alertLogs, path)
		}
	}
	return nil
}

// stateSaveInterval is the anomaly processor's save interval in a replay with state: the models are saved when it
// ends, not every few minutes of simulated time.
const stateSaveInterval = 365 * 24 * time.Hour

// fileStorage adds to the host a file_storage extension named id over the state directory, once.
func (g *graph) fileStorage(id component.ID) error {
	if _, ok := g.host.extensions[id]; ok {
		return nil
	}
	f := filestorage.NewFactory()
	cfg := f.CreateDefaultConfig().(*filestorage.Config)
	cfg.Directory, cfg.CreateDirectory = g.state, true
	ext, err := f.Create(context.Background(), extension.Settings{ID: id, TelemetrySettings: g.set,
		BuildInfo: component.NewDefaultBuildInfo()}, cfg)
	if err != nil {
		return fmt.Errorf("state %s: %w", g.state, err)
	}
	g.host.extensions[id] = ext
	g.extensions = append(g.extensions, ext)
	return nil
}

// rules returns what the report needs of the alert exporters' rules, by name.
func (g *graph) rules() map[string]ruleInfo {
	rules := map[string]ruleInfo{}
	for _, cfg := range g.configs {
		if c, ok := cfg.(*alertexporter.Config); ok {
			for _, r := range c.Rules {
				info := ruleInfo{kind: r.Kind, metric: r.Metric, value: r.Value}
				for k := range r.Labels {
					info.labels = append(info.labels, semconv.PromLabel(k))
				}
				rules[r.Name] = info
			}
		}
	}
	return rules
}

// watchedSeries returns, for each rule of the alert exporters that watches a metric, how many series of the
// history that metric has.
func (g *graph) watchedSeries(byName map[string]int) map[string]int {
	watched := map[string]int{}
	for _, cfg := range g.configs {
		if c, ok := cfg.(*alertexporter.Config); ok {
			for _, r := range c.Rules {
				if r.Metric != "" && byName[r.Metric] > 0 {
					watched[r.Name] = byName[r.Metric]
				}
			}
		}
	}
	return watched
}

// isConnector reports whether id names a connector of the configuration.
func (g *graph) isConnector(id component.ID) bool {
	return slices.Contains(mapKeys(g.conf, "connectors"), id.String())
}

// fed returns the pipelines of a signal that a receiver feeds (the history replaces their receivers), limited to
// only when it is not empty.
func (g *graph) fed(sig pipeline.Signal, only []string) []pipeline.ID {
	var ids []pipeline.ID
	for id, p := range g.pipelines {
		if id.Signal() != sig || (len(only) > 0 && !slices.Contains(only, id.String())) {
			continue
		}
		if slices.ContainsFunc(p.Receivers, func(r component.ID) bool { return !g.isConnector(r) }) {
			ids = append(ids, id)
		}
	}
	slices.SortFunc(ids, func(a, b pipeline.ID) int { return strings.Compare(a.String(), b.String()) })
	return ids
}

// pipeline returns the first consumer of a pipeline, building it and what it feeds.
func (g *graph) pipeline(ctx context.Context, id pipeline.ID) (any, error) {
	key := "pipeline/" + id.String()
	if c, ok := g.built[key]; ok {
		return c, nil
	}
	p, ok := g.pipelines[id]
	if !ok {
		return nil, fmt.Errorf("no pipeline %s", id)
	}
	var outs []any
	for _, eid := range p.Exporters {
		var c any
		var err error
		if g.isConnector(eid) {
			c, err = g.connector(ctx, eid, id.Signal())
		} else {
			c, err = g.exporter(ctx, eid, id.Signal())
		}
		if err != nil {
			return nil, err
		}
		outs = append(outs, c)
	}
	next := fanout(id.Signal(), outs)
	for i := len(p.Processors) - 1; i >= 0; i-- {
		var err error
		if next, err = g.processor(ctx, p.Processors[i], id, next); err != nil {
			return nil, err
		}
	}
	g.built[key] = next
	return next, nil
}

func (g *graph) note(format string, args ...any) {
	n := fmt.Sprintf(format, args...)
	if !slices.Contains(g.notes, n) {
		g.notes = append(g.notes, n)
	}
}

func (g *graph) processor(ctx context.Context, id component.ID, p pipeline.ID, next any) (any, error) {
	f, ok := processorFactories[id.Type()]
	if !ok {
		if !slices.Contains(g.passedOver, id.String()) {
			g.passedOver = append(g.passedOver, id.String())
		}
		return next, nil
	}
	cfg, err := g.config("processors", id, f)
	if err != nil {
		return nil, err
	}
	set := processor.Settings{ID: id, TelemetrySettings: g.set, BuildInfo: component.NewDefaultBuildInfo()}
	var c component.Component
	switch p.Signal() {
	case pipeline.SignalMetrics:
		c, err = f.CreateMetrics(ctx, set, cfg, next.(consumer.Metrics))
	case pipeline.SignalTraces:
		c, err = f.CreateTraces(ctx, set, cfg, next.(consumer.Traces))
	case pipeline.SignalLogs:
		c, err = f.CreateLogs(ctx, set, cfg, next.(consumer.Logs))
	default:
		return nil, fmt.Errorf("pipeline %s: signal %s is not replayed", p, p.Signal())
	}
	if err != nil {
		return nil, fmt.Errorf("processors::%s in %s: %w", id, p, err)
	}
	g.started = append(g.started, c)
	return c, nil
}

func (g *graph) exporter(ctx context.Context, id component.ID, sig pipeline.Signal) (any, error) {
	key := fmt.Sprintf("exporter/%s/%s", id, sig)
	if c, ok := g.built[key]; ok {
		return c, nil
	}
	if id.Type() != alertType {
		g.built[key] = g.rec.consumer(sig)
		return g.built[key], nil
	}
	f := alertexporter.NewFactory()
	cfg, err := g.config("exporters", id, f)
	if err != nil {
		return nil, err
	}
	set := exporter.Settings{ID: id, TelemetrySettings: g.set, BuildInfo: component.NewDefaultBuildInfo()}
	var c component.Component
	var in any
	switch sig {
	case pipeline.SignalMetrics:
		var m exporter.Metrics
		m, err = f.CreateMetrics(ctx, set, cfg)
		c, in = m, g.rec.tapBands(m)
	case pipeline.SignalLogs:
		c, err = f.CreateLogs(ctx, set, cfg)
		in = c
	default:
		return nil, fmt.Errorf("exporters::%s: takes no %s", id, sig)
	}
	if err != nil {
		return nil, fmt.Errorf("exporters::%s: %w", id, err)
	}
	g.started = append(g.started, c)
	g.built[key] = in
	return in, nil
}

// connector returns what a connector takes in from a pipeline of signal in: one connector per signal it feeds.
func (g *graph) connector(ctx context.Context, id component.ID, in pipeline.Signal) (any, error) {
	f, ok := connectorFactories[id.Type()]
	if !ok {
		g.note("connector %s passed over: a backtest runs Strata's correlation connector; what reaches this one is dropped", id)
		return consumertest.NewNop(), nil
	}
	cfg, err := g.config("connectors", id, f)
	if err != nil {
		return nil, err
	}
	var outs []any
	for _, out := range []pipeline.Signal{pipeline.SignalTraces, pipeline.SignalMetrics, pipeline.SignalLogs} {
		if !connects(f, in, out) {
			continue // as in the collector: a pair the connector does not support is not built
		}
		c, err := g.connectorTo(ctx, f, cfg, id, in, out)
		if err != nil {
			return nil, err
		}
		if c != nil {
			outs = append(outs, c)
		}
	}
	if len(outs) == 0 {
		return nil, fmt.Errorf("connectors::%s: feeds no pipeline", id)
	}
	return fanout(in, outs), nil
}

// connects reports whether the connector's factory joins a pipeline of signal in to one of signal out.
func connects(f connector.Factory, in, out pipeline.Signal) bool {
	stability := map[[2]pipeline.Signal]component.StabilityLevel{
		{pipeline.SignalTraces, pipeline.SignalTraces}:   f.TracesToTracesStability(),
		{pipeline.SignalTraces, pipeline.SignalMetrics}:  f.TracesToMetricsStability(),
		{pipeline.SignalTraces, pipeline.SignalLogs}:     f.TracesToLogsStability(),
		{pipeline.SignalMetrics, pipeline.SignalTraces}:  f.MetricsToTracesStability(),
		{pipeline.SignalMetrics, pipeline.SignalMetrics}: f.MetricsToMetricsStability(),
		{pipeline.SignalMetrics, pipeline.SignalLogs}:    f.MetricsToLogsStability(),
		{pipeline.SignalLogs, pipeline.SignalTraces}:     f.LogsToTracesStability(),
		{pipeline.SignalLogs, pipeline.SignalMetrics}:    f.LogsToMetricsStability(),
		{pipeline.SignalLogs, pipeline.SignalLogs}:       f.LogsToLogsStability(),
	}
	return stability[[2]pipeline.Signal{in, out}] != component.StabilityLevelUndefined
}

// connectorTo builds the connector from signal in to signal out, feeding the pipelines it is a receiver of; nil
// when it is a receiver of no pipeline of out.
func (g *graph) connectorTo(ctx context.Context, f connector.Factory, cfg component.Config, id component.ID, in, out pipeline.Signal) (any, error) {
	key := fmt.Sprintf("connector/%s/%s/%s", id, in, out)
	if c, ok := g.built[key]; ok {
		return c, nil
	}
	var nexts []any
	var ids []pipeline.ID
	for pid, p := range g.pipelines {
		if pid.Signal() == out && slices.Contains(p.Receivers, id) {
			ids = append(ids, pid)
		}
	}
	if len(ids) == 0 {
		return nil, nil
	}
	slices.SortFunc(ids, func(a, b pipeline.ID) int { return strings.Compare(a.String(), b.String()) })
	for _, pid := range ids {
		c, err := g.pipeline(ctx, pid)
		if err != nil {
			return nil, err
		}
		nexts = append(nexts, c)
	}
	next := fanout(out, nexts)
	set := connector.Settings{ID: id, TelemetrySettings: g.set, BuildInfo: component.NewDefaultBuildInfo()}
	var c component.Component
	var err error
	switch {
	case in == pipeline.SignalTraces && out == pipeline.SignalMetrics:
		c, err = f.CreateTracesToMetrics(ctx, set, cfg, next.(consumer.Metrics))
	case in == pipeline.SignalTraces && out == pipeline.SignalLogs:
		c, err = f.CreateTracesToLogs(ctx, set, cfg, next.(consumer.Logs))
	case in == pipeline.SignalTraces && out == pipeline.SignalTraces:
		c, err = f.CreateTracesToTraces(ctx, set, cfg, next.(consumer.Traces))
	case in == pipeline.SignalMetrics && out == pipeline.SignalMetrics:
		c, err = f.CreateMetricsToMetrics(ctx, set, cfg, next.(consumer.Metrics))
	case in == pipeline.SignalMetrics && out == pipeline.SignalLogs:
		c, err = f.CreateMetricsToLogs(ctx, set, cfg, next.(consumer.Logs))
	case in == pipeline.SignalMetrics && out == pipeline.SignalTraces:
		c, err = f.CreateMetricsToTraces(ctx, set, cfg, next.(consumer.Traces))
	case in == pipeline.SignalLogs && out == pipeline.SignalLogs:
		c, err = f.CreateLogsToLogs(ctx, set, cfg, next.(consumer.Logs))
	case in == pipeline.SignalLogs && out == pipeline.SignalMetrics:
		c, err = f.CreateLogsToMetrics(ctx, set, cfg, next.(consumer.Metrics))
	case in == pipeline.SignalLogs && out == pipeline.SignalTraces:
		c, err = f.CreateLogsToTraces(ctx, set, cfg, next.(consumer.Traces))
	}
	if err != nil {
		return nil, fmt.Errorf("connectors::%s from %s to %s: %w", id, in, out, err)
	}
	g.started = append(g.started, c)
	g.built[key] = c
	return c, nil
}

// allNotes returns the notes, the processors passed over first.
func (g *graph) allNotes() []string {
	if len(g.passedOver) == 0 {
		return g.notes
	}
	slices.Sort(g.passedOver)
	return append([]string{fmt.Sprintf("processors passed over: %s (a backtest runs Strata's components and the processors that do not depend on time: transform, filter, attributes, resource)",
		strings.Join(g.passedOver, ", "))}, g.notes...)
}

// start starts the components, those nearest the exporters first, as the collector does.
func (g *graph) start(ctx context.Context) error {
	for _, c := range append(slices.Clone(g.extensions), g.started...) {
		if err := c.Start(ctx, g.host); err != nil {
			return err
		}
	}
	return nil
}

// shutdown stops the components, those nearest the receivers first, so that what they hold flows on.
func (g *graph) shutdown(ctx context.Context) error {
	var first error
	for i := len(g.started) - 1; i >= 0; i-- {
		if err := g.started[i].Shutdown(ctx); err != nil && first == nil {
			first = err
		}
	}
	for _, e := range g.extensions {
		if err := e.Shutdown(ctx); err != nil && first == nil {
			first = err
		}
	}
	return first
}
