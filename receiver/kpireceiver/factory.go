package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelstrata/strata/receiver/kpireceiver/internal/metadata"
)

// NewFactory creates the factory of the kpi receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	return &Config{
		Interval:             10 * time.Second,
		Timeout:              5 * time.Second,
		MaxBackoff:           5 * time.Minute,
		MaxRows:              10000,
		MaxSeries:            10000,
		MetricsBuilderConfig: metadata.DefaultMetricsBuilderConfig(),
	}
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	return newReceiver(cfg.(*Config), set, next)
}
