package samplingprocessor // import "github.com/otelstrata/strata/processor/samplingprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/processor"

	"github.com/otelstrata/strata/internal/sharedcomponent"
	"github.com/otelstrata/strata/processor/samplingprocessor/internal/metadata"
)

// samplers holds one sampler per configuration, shared by its traces, logs and metrics pipelines.
var samplers = sharedcomponent.NewMap[*Config, *sampler]()

// NewFactory creates the factory of the sampling processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(
		metadata.Type,
		createDefaultConfig,
		processor.WithTraces(createTraces, metadata.TracesStability),
		processor.WithLogs(createLogs, metadata.LogsStability),
		processor.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		DecisionWait:  2 * time.Second,
		TraceTimeout:  30 * time.Second,
		MaxTraces:     50000,
		MaxSpans:      1000000,
		DecisionCache: 200000,
		Logs:          LogsConfig{KeepSeverity: "WARN", Rate: 1, MaxPerTrace: 1000},
		Metrics:       MetricsConfig{Mode: "last", MaxSeries: 100000},
	}
}

func shared(cfg component.Config, set processor.Settings) (*sharedcomponent.Component[*sampler], error) {
	c := cfg.(*Config)
	return samplers.LoadOrStore(c, func() (*sampler, error) { return newSampler(c, set) })
}

// Traces and metrics are read, not changed (a request is encoded for the buffer; points are copied); log records
// are moved out of the request.
var (
	readOnly = consumer.Capabilities{MutatesData: false}
	mutates  = consumer.Capabilities{MutatesData: true}
)

type tracesProcessor struct {
	*sharedcomponent.Component[*sampler]
}

func (p tracesProcessor) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	return p.Unwrap().ConsumeTraces(ctx, td)
}
func (tracesProcessor) Capabilities() consumer.Capabilities { return readOnly }

type logsProcessor struct {
	*sharedcomponent.Component[*sampler]
	pipeline int // the index of its next consumer in the sampler's nextLogs
}

func (p logsProcessor) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return p.Unwrap().ConsumeLogs(ctx, ld, p.pipeline)
}
func (logsProcessor) Capabilities() consumer.Capabilities { return mutates }

type metricsProcessor struct {
	*sharedcomponent.Component[*sampler]
	next consumer.Metrics
}

func (p metricsProcessor) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	p.Unwrap().followAlarms(md)
	if ds := p.Unwrap().downsampler; ds != nil {
		return ds.ConsumeMetrics(ctx, md)
	}
	return p.next.ConsumeMetrics(ctx, md)
}
func (metricsProcessor) Capabilities() consumer.Capabilities { return readOnly }

func createTraces(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Traces) (processor.Traces, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	c.Unwrap().nextTraces = next
	return tracesProcessor{c}, nil
}

func createLogs(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Logs) (processor.Logs, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	s := c.Unwrap()
	s.mu.Lock()
	s.nextLogs = append(s.nextLogs, next)
	pipeline := len(s.nextLogs) - 1
	s.mu.Unlock()
	return logsProcessor{c, pipeline}, nil
}

func createMetrics(_ context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	if interval := cfg.(*Config).Metrics.Interval; interval > 0 {
		c.Unwrap().downsampler = newDownsampler(cfg.(*Config).Metrics, next)
	}
	return metricsProcessor{Component: c, next: next}, nil
}
