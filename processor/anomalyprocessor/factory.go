package anomalyprocessor // import "github.com/otelstrata/strata/processor/anomalyprocessor"

import (
	"context"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processorhelper"

	"github.com/otelstrata/strata/internal/anomaly"
	"github.com/otelstrata/strata/processor/anomalyprocessor/internal/metadata"
)

// NewFactory creates the factory of the anomaly processor.
func NewFactory() processor.Factory {
	return processor.NewFactory(metadata.Type, createDefaultConfig,
		processor.WithMetrics(createMetrics, metadata.MetricsStability))
}

func createDefaultConfig() component.Config {
	d := anomaly.DefaultConfig()
	return &Config{
		Include:      []string{"*"},
		Quantile:     0.95,
		Emit:         "all",
		Threshold:    1 - d.Risk, // the detector's own level
		AlarmBudget:  d.AlarmBudget,
		AlarmAfter:   d.AlarmAfter,
		MaxSeries:    10000,
		MaxClockSkew: 10 * time.Minute,
		SaveInterval: 5 * time.Minute,
		WarmUp:       d.WarmUp,
		Risk:         d.Risk,
		Holdoff:      d.Holdoff,
		Seasonal:     d.Seasonal,
		RangeMargin:  d.RangeMargin,
		Sequence:     d.Sequence,
	}
}

func createMetrics(ctx context.Context, set processor.Settings, cfg component.Config, next consumer.Metrics) (processor.Metrics, error) {
	p := newProcessor(cfg.(*Config), set)
	return processorhelper.NewMetrics(ctx, set, cfg, next, p.processMetrics,
		processorhelper.WithStart(p.Start), processorhelper.WithShutdown(p.Shutdown),
		// the scores are added to the request
		processorhelper.WithCapabilities(consumer.Capabilities{MutatesData: true}))
}
