package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"context"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/pkg/stanza/fileconsumer"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/receiver"

	"github.com/otelstrata/strata/internal/sharedcomponent"
	"github.com/otelstrata/strata/receiver/authlogreceiver/internal/metadata"
)

// receivers shares one receiver, and so one reading of the files, between the logs and metrics pipelines.
var receivers = sharedcomponent.NewMap[*Config, *authlogReceiver]()

// NewFactory creates the factory of the authlog receiver.
func NewFactory() receiver.Factory {
	return receiver.NewFactory(
		metadata.Type,
		createDefaultConfig,
		receiver.WithLogs(createLogs, metadata.LogsStability),
		receiver.WithMetrics(createMetrics, metadata.MetricsStability),
	)
}

func createDefaultConfig() component.Config {
	files := fileconsumer.NewConfig() // start_at: end, poll_interval: 200ms, ...
	files.Include = []string{"/var/log/auth.log", "/var/log/secure"}
	return &Config{
		Config:     *files,
		Format:     formatAuto,
		Timezone:   "Local",
		RawProcess: "sshd",
		JSON: JSONConfig{
			Timestamp: "time", Message: "msg", Event: "event", Outcome: "outcome", Method: "method", User: "user",
			SourceAddress: "source_ip", SourcePort: "source_port", Host: "host", Process: "service", DefaultProcess: "app",
			SuccessValues: []string{"success", "succeeded", "ok", "true", "accepted", "allowed"},
			FailureValues: []string{"failure", "failed", "fail", "false", "denied", "rejected", "invalid"},
		},
		Emit:                 emitAll,
		Unrecognized:         unrecognizedDrop,
		IPv6Prefix:           64,
		MaxTrackedKeys:       100000,
		Rules:                defaultRules(),
		MetricsInterval:      10 * time.Second,
		MetricsBuilderConfig: metadata.DefaultMetricsBuilderConfig(),
	}
}

func createLogs(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Logs) (receiver.Logs, error) {
	r, err := receivers.LoadOrStore(cfg.(*Config), func() (*authlogReceiver, error) { return newReceiver(cfg.(*Config), set) })
	if err != nil {
		return nil, err
	}
	r.Unwrap().logs = next
	return r, nil
}

func createMetrics(_ context.Context, set receiver.Settings, cfg component.Config, next consumer.Metrics) (receiver.Metrics, error) {
	r, err := receivers.LoadOrStore(cfg.(*Config), func() (*authlogReceiver, error) { return newReceiver(cfg.(*Config), set) })
	if err != nil {
		return nil, err
	}
	r.Unwrap().metrics = next
	return r, nil
}
