package main

import (
	"context"
	"errors"
	"fmt"
	"os"
	"runtime"
	"strconv"
	"strings"
	"sync"
	"time"

	"go.opentelemetry.io/otel"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/exporters/otlp/otlplog/otlploggrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlpmetric/otlpmetricgrpc"
	"go.opentelemetry.io/otel/exporters/otlp/otlptrace/otlptracegrpc"
	otellog "go.opentelemetry.io/otel/log"
	"go.opentelemetry.io/otel/metric"
	"go.opentelemetry.io/otel/propagation"
	sdklog "go.opentelemetry.io/otel/sdk/log"
	sdkmetric "go.opentelemetry.io/otel/sdk/metric"
	"go.opentelemetry.io/otel/sdk/resource"
	sdktrace "go.opentelemetry.io/otel/sdk/trace"
	"go.opentelemetry.io/otel/trace"
)

// telemetry is a service's OpenTelemetry SDK: traces, metrics and logs over OTLP/gRPC to the collector, with the
// service's resource (service.name, service.instance.id, host.name: each service runs on a host of its own name).
type telemetry struct {
	tracer   trace.Tracer
	meter    metric.Meter
	logger   otellog.Logger
	shutdown func(context.Context) error
}

func newTelemetry(ctx context.Context, service, endpoint string, interval time.Duration) (*telemetry, error) {
	res := resource.NewSchemaless(
		attribute.String("service.name", service),
		attribute.String("service.namespace", "shop"),
		attribute.String("service.instance.id", service+"-1"),
		attribute.String("host.name", service+"-host"),
		attribute.String("deployment.environment.name", "demo"),
	)
	traceExp, err := otlptracegrpc.New(ctx, otlptracegrpc.WithEndpoint(endpoint), otlptracegrpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	metricExp, err := otlpmetricgrpc.New(ctx, otlpmetricgrpc.WithEndpoint(endpoint), otlpmetricgrpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	logExp, err := otlploggrpc.New(ctx, otlploggrpc.WithEndpoint(endpoint), otlploggrpc.WithInsecure())
	if err != nil {
		return nil, err
	}
	tp := sdktrace.NewTracerProvider(sdktrace.WithResource(res), sdktrace.WithBatcher(traceExp, sdktrace.WithBatchTimeout(time.Second)))
	mp := sdkmetric.NewMeterProvider(sdkmetric.WithResource(res),
		sdkmetric.WithReader(sdkmetric.NewPeriodicReader(metricExp, sdkmetric.WithInterval(interval))))
	lp := sdklog.NewLoggerProvider(sdklog.WithResource(res),
		sdklog.WithProcessor(sdklog.NewBatchProcessor(logExp, sdklog.WithExportInterval(time.Second))))
	otel.SetTracerProvider(tp)
	otel.SetMeterProvider(mp)
	otel.SetTextMapPropagator(propagation.TraceContext{})
	t := &telemetry{
		tracer: tp.Tracer("shop"),
		meter:  mp.Meter("shop"),
		logger: lp.Logger("shop"),
		shutdown: func(ctx context.Context) error {
			return errors.Join(tp.Shutdown(ctx), mp.Shutdown(ctx), lp.Shutdown(ctx))
		},
	}
	return t, t.processMetrics()
}

// log emits a log record in the context of the current span (its trace and span ids).
func (t *telemetry) log(ctx context.Context, severity otellog.Severity, body string, attrs ...otellog.KeyValue) {
	var r otellog.Record
	r.SetTimestamp(time.Now())
	r.SetSeverity(severity)
	r.SetSeverityText(severityText(severity))
	r.SetBody(otellog.StringValue(body))
	r.AddAttributes(attrs...)
	t.logger.Emit(ctx, r)
}

func severityText(s otellog.Severity) string {
	switch {
	case s >= otellog.SeverityError:
		return "ERROR"
	case s >= otellog.SeverityWarn:
		return "WARN"
	default:
		return "INFO"
	}
}

// processMetrics reports the process's CPU utilization and memory (semantic-convention names), read from /proc and
// the Go runtime at each collection.
func (t *telemetry) processMetrics() error {
	cpu, err := t.meter.Float64ObservableGauge("process.cpu.utilization", metric.WithUnit("1"),
		metric.WithDescription("Share of one CPU the process used since the last collection."))
	if err != nil {
		return err
	}
	mem, err := t.meter.Int64ObservableGauge("process.memory.usage", metric.WithUnit("By"),
		metric.WithDescription("The process's resident memory."))
	if err != nil {
		return err
	}
	heap, err := t.meter.Int64ObservableGauge("process.runtime.go.mem.heap_alloc", metric.WithUnit("By"),
		metric.WithDescription("Bytes of allocated heap objects."))
	if err != nil {
		return err
	}
	var mu sync.Mutex
	lastTicks, lastTime := cpuTicks(), time.Now()
	_, err = t.meter.RegisterCallback(func(_ context.Context, o metric.Observer) error {
		mu.Lock()
		defer mu.Unlock()
		ticks, now := cpuTicks(), time.Now()
		if elapsed := now.Sub(lastTime).Seconds(); elapsed > 0 {
			o.ObserveFloat64(cpu, float64(ticks-lastTicks)/100/elapsed)
		}
		lastTicks, lastTime = ticks, now
		o.ObserveInt64(mem, rss())
		var ms runtime.MemStats
		runtime.ReadMemStats(&ms)
		o.ObserveInt64(heap, int64(ms.HeapAlloc))
		return nil
	}, cpu, mem, heap)
	return err
}

// cpuTicks is the process's utime+stime in clock ticks (100 a second on Linux).
func cpuTicks() int64 {
	data, err := os.ReadFile("/proc/self/stat")
	if err != nil {
		return 0
	}
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	if len(f) < 13 {
		return 0
	}
	u, _ := strconv.ParseInt(f[11], 10, 64)
	s, _ := strconv.ParseInt(f[12], 10, 64)
	return u + s
}

// rss is VmRSS in bytes.
func rss() int64 {
	data, err := os.ReadFile("/proc/self/status")
	if err != nil {
		return 0
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kib, _ := strconv.ParseInt(f[1], 10, 64)
			return kib * 1024
		}
	}
	return 0
}

// must stops the program on an error it cannot go on from.
func must(err error, what string) {
	if err != nil {
		fmt.Fprintf(os.Stderr, "shop: %s: %v\n", what, err)
		os.Exit(1)
	}
}
