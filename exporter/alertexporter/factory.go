package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/configoptional"
	"go.opentelemetry.io/collector/config/configretry"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/exporter"
	"go.opentelemetry.io/collector/exporter/exporterhelper"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"

	"github.com/otelstrata/strata/exporter/alertexporter/internal/metadata"
	"github.com/otelstrata/strata/internal/sharedcomponent"
)

// exporters holds one alert exporter per configuration, shared by its metrics and logs pipelines (composite
// rules and inhibitions read both).
var exporters = sharedcomponent.NewMap[*Config, *alertExporter]()

// NewFactory creates the factory of the alert exporter.
func NewFactory() exporter.Factory {
	return exporter.NewFactory(metadata.Type, createDefaultConfig,
		exporter.WithMetrics(createMetrics, metadata.MetricsStability),
		exporter.WithLogs(createLogs, metadata.LogsStability))
}

func createDefaultConfig() component.Config {
	return &Config{
		EvaluationInterval: 10 * time.Second,
		MaxSeries:          10000,
		ResendInterval:     time.Minute,
		Flapping:           FlappingConfig{Transitions: 4, Window: 10 * time.Minute},
		QueueSettings:      configoptional.Some(exporterhelper.NewDefaultQueueConfig()),
		BackOffConfig:      configretry.NewDefaultBackOffConfig(),
	}
}

func shared(cfg component.Config, set exporter.Settings) (*sharedcomponent.Component[*alertExporter], error) {
	return exporters.LoadOrStore(cfg.(*Config), func() (*alertExporter, error) { return newAlertExporter(cfg.(*Config), set) })
}

type metricsExporter struct {
	*sharedcomponent.Component[*alertExporter]
}

func (e metricsExporter) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	return e.Unwrap().ConsumeMetrics(ctx, md)
}
func (metricsExporter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

type logsExporter struct {
	*sharedcomponent.Component[*alertExporter]
}

func (e logsExporter) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	return e.Unwrap().ConsumeLogs(ctx, ld)
}
func (logsExporter) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }

func createMetrics(_ context.Context, set exporter.Settings, cfg component.Config) (exporter.Metrics, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	return metricsExporter{c}, nil
}

func createLogs(_ context.Context, set exporter.Settings, cfg component.Config) (exporter.Logs, error) {
	c, err := shared(cfg, set)
	if err != nil {
		return nil, err
	}
	return logsExporter{c}, nil
}
