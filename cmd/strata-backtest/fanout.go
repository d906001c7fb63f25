package main

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
)

// fanout returns a consumer of sig that hands what it takes to each of cs, a copy to all but the last, as the
// collector's fan-out does.
func fanout(sig pipeline.Signal, cs []any) any {
	if len(cs) == 1 {
		return cs[0]
	}
	switch sig {
	case pipeline.SignalMetrics:
		return fanMetrics(cs)
	case pipeline.SignalTraces:
		return fanTraces(cs)
	default:
		return fanLogs(cs)
	}
}

type fanMetrics []any

func (f fanMetrics) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (f fanMetrics) ConsumeMetrics(ctx context.Context, md pmetric.Metrics) error {
	var first error
	for i, c := range f {
		data := md
		if i < len(f)-1 {
			data = pmetric.NewMetrics()
			md.CopyTo(data)
		}
		if err := c.(consumer.Metrics).ConsumeMetrics(ctx, data); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type fanTraces []any

func (f fanTraces) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (f fanTraces) ConsumeTraces(ctx context.Context, td ptrace.Traces) error {
	var first error
	for i, c := range f {
		data := td
		if i < len(f)-1 {
			data = ptrace.NewTraces()
			td.CopyTo(data)
		}
		if err := c.(consumer.Traces).ConsumeTraces(ctx, data); err != nil && first == nil {
			first = err
		}
	}
	return first
}

type fanLogs []any

func (f fanLogs) Capabilities() consumer.Capabilities { return consumer.Capabilities{} }
func (f fanLogs) ConsumeLogs(ctx context.Context, ld plog.Logs) error {
	var first error
	for i, c := range f {
		data := ld
		if i < len(f)-1 {
			data = plog.NewLogs()
			ld.CopyTo(data)
		}
		if err := c.(consumer.Logs).ConsumeLogs(ctx, data); err != nil && first == nil {
			first = err
		}
	}
	return first
}
