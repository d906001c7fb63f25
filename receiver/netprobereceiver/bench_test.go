package netprobereceiver

import (
	"context"
	"fmt"
	"net/http/httptest"
	"runtime"
	"testing"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelstrata/strata/receiver/netprobereceiver/internal/metadata"
)

// BenchmarkMemoryPerTarget is what one configured HTTP target costs the receiver once started: its configuration,
// its prepared client and its place in the schedule, with the workers' stacks shared out (heap + stacks, after GC).
func BenchmarkMemoryPerTarget(b *testing.B) {
	const n = 10000
	for b.Loop() {
		before := heapAndStacks()
		targets := make([]any, n)
		for i := range targets {
			targets[i] = map[string]any{"type": "http", "endpoint": fmt.Sprintf("http://127.0.0.1:1/t/%d", i)}
		}
		cfg := newTestConfig(b, map[string]any{"interval": "1h", "targets": targets})
		rcv, err := NewFactory().CreateMetrics(context.Background(), receivertest.NewNopSettings(metadata.Type), cfg, consumertest.NewNop())
		require.NoError(b, err)
		require.NoError(b, rcv.Start(context.Background(), componenttest.NewNopHost()))
		targets = nil
		after := heapAndStacks()
		b.ReportMetric(float64(after-before)/n, "B/target")
		require.NoError(b, rcv.Shutdown(context.Background()))
		runtime.KeepAlive(cfg)
	}
}

func heapAndStacks() uint64 {
	runtime.GC()
	runtime.GC()
	var m runtime.MemStats
	runtime.ReadMemStats(&m)
	return m.HeapAlloc + m.StackInuse
}

// BenchmarkHTTPProbe is one HTTP probe of a loopback server, new connection included, measured in-process.
func BenchmarkHTTPProbe(b *testing.B) {
	srv := httptest.NewServer(testHTTPServer())
	b.Cleanup(srv.Close)
	cfg := newTestConfig(b, map[string]any{"targets": []any{map[string]any{"type": "http", "endpoint": srv.URL + "/ok"}}})
	tg, err := newTarget(cfg, &cfg.Targets[0], "")
	require.NoError(b, err)
	b.ReportAllocs()
	for b.Loop() {
		if r := tg.run(context.Background()); r[0].err != nil {
			b.Fatal(r[0].err)
		}
	}
}
