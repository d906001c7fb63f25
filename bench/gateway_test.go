package bench

import (
	"context"
	"net/http"
	"net/http/httptest"
	"testing"
	"time"

	"github.com/otelstrata/strata/internal/e2e"
)

// BenchmarkDeploymentTiers sizes the two tiers of examples/agent and examples/gateway, as the scale-out test runs
// them: one agent (OTLP in, Kafka out, persistent queue) and one gateway (Kafka in; sampling, anomaly, correlation,
// alert; OTLP out) around a Kafka protocol broker in the benchmark process (kfake, 6 partitions), saturated with
// OTLP/HTTP traces (4 senders, requests of 100 traces × 10 spans, 1 % failing). It reports each tier's spans a
// second, CPU and resident memory, and its spans per CPU-second: the figure to size a tier by. Everything shares the
// same 2 cores: the absolute rates are this machine's, the per-CPU-second costs are the tiers'.
func BenchmarkDeploymentTiers(b *testing.B) {
	const warmup, window = 10 * time.Second, 30 * time.Second
	load := newTraceLoad(b, false)
	for b.Loop() {
		kafka := e2e.StartKafka(b, 6)
		accept := httptest.NewServer(http.HandlerFunc(func(http.ResponseWriter, *http.Request) {}))
		gateway := e2e.StartGateway(b, binary, repoRoot, "gw-1", kafka.Broker, accept.URL)
		agent := e2e.StartAgent(b, binary, repoRoot, kafka.Broker)
		ctx, cancel := context.WithTimeout(context.Background(), warmup+window)
		done := make(chan int64)
		go func() { done <- load.send(ctx, "http://"+agent.OTLP+"/v1/traces", 4, 0) }()
		time.Sleep(warmup)
		tiers := []*e2e.Tier{agent, gateway}
		spans0, cpu0 := make([]float64, 2), make([]int, 2)
		for i, tier := range tiers {
			spans0[i], _ = spanCounts(b, tier.Telemetry)
			cpu0[i] = cpuTicks(b, tier.PID())
		}
		time.Sleep(window)
		for i, tier := range tiers {
			spans, _ := spanCounts(b, tier.Telemetry)
			cpu := float64(cpuTicks(b, tier.PID())-cpu0[i]) / window.Seconds()
			rate := (spans - spans0[i]) / window.Seconds()
			b.ReportMetric(rate, tier.Name+"-spans/s")
			b.ReportMetric(cpu, tier.Name+"-CPU-%")
			b.ReportMetric(rate/(cpu/100), tier.Name+"-spans/CPU-s")
			b.ReportMetric(float64(rssKiB(b, tier.PID()))/1024, tier.Name+"-RSS-MiB")
		}
		cancel()
		<-done
		accept.Close()
	}
}
