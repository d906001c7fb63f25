package main

import (
	"context"

	"go.opentelemetry.io/collector/consumer"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/ptrace"
	"go.opentelemetry.io/collector/pipeline"
)

// fanout returns a consumer of sig that hands what it takes to each of cs as the collector's fan-out does: the
// consumers that only read get the data itself, those that change it a copy each (the last one the data itself
// when none only reads).
func fanout(sig pipeline.Signal, cs []any) any {
	if len(cs) == 1 {
		return cs[0]
	}
	var c any
	switch sig {
	case pipeline.SignalMetrics:
		c, _ = consumer.NewMetrics(fanOf(cs, func(c any) consumer.ConsumeMetricsFunc { return c.(consumer.Metrics).ConsumeMetrics },
			func(md pmetric.Metrics) pmetric.Metrics { out := pmetric.NewMetrics(); md.CopyTo(out); return out }))
	case pipeline.SignalTraces:
		c, _ = consumer.NewTraces(fanOf(cs, func(c any) consumer.ConsumeTracesFunc { return c.(consumer.Traces).ConsumeTraces },
			func(td ptrace.Traces) ptrace.Traces { out := ptrace.NewTraces(); td.CopyTo(out); return out }))
	default:
		c, _ = consumer.NewLogs(fanOf(cs, func(c any) consumer.ConsumeLogsFunc { return c.(consumer.Logs).ConsumeLogs },
			func(ld plog.Logs) plog.Logs { out := plog.NewLogs(); ld.CopyTo(out); return out }))
	}
	return c
}

// fanOf returns a function that hands data to each of cs: to those that change it (their capabilities say so)
// a copy each, then to the others the data itself.
func fanOf[T any, F ~func(context.Context, T) error](cs []any, consume func(any) F, clone func(T) T) F {
	var readers, changers []F
	for _, c := range cs {
		if c.(interface{ Capabilities() consumer.Capabilities }).Capabilities().MutatesData {
			changers = append(changers, consume(c))
		} else {
			readers = append(readers, consume(c))
		}
	}
	return func(ctx context.Context, data T) error {
		var first error
		keep := func(err error) {
			if err != nil && first == nil {
				first = err
			}
		}
		for i, c := range changers {
			if i == len(changers)-1 && len(readers) == 0 {
				keep(c(ctx, data))
			} else {
				keep(c(ctx, clone(data)))
			}
		}
		for _, c := range readers {
			keep(c(ctx, data))
		}
		return first
	}
}
