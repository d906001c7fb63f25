package authlogreceiver

import (
	"fmt"
	"net/netip"
	"runtime"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelstrata/strata/internal/e2e"
	"github.com/otelstrata/strata/receiver/authlogreceiver/internal/metadata"
)

func newBenchLineHandler(b *testing.B) *lineHandler {
	cfg := createDefaultConfig().(*Config)
	cfg.Timezone = "UTC"
	tel := componenttest.NewTelemetry()
	b.Cleanup(func() { _ = tel.Shutdown(b.Context()) })
	telemetry, err := metadata.NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(b, err)
	p, err := newLineHandler(cfg, receivertest.NewNopSettings(metadata.Type), telemetry)
	require.NoError(b, err)
	return p
}

// BenchmarkParseAndDetect is what the performance goal counts: lines parsed (envelope and message) and run through
// every default detection rule, on one goroutine, without building log records.
func BenchmarkParseAndDetect(b *testing.B) {
	lines := e2e.AuthLines(100000)
	p := newBenchLineHandler(b)
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	var ev event
	detections := 0
	b.ResetTimer()
	for b.Loop() {
		for _, line := range lines {
			env, ok := parseEnvelope(line, detectFormat(line), p.loc, now)
			if !ok || !recognize(env.process, env.msg, &ev) {
				continue
			}
			p.detector.observe(&observation{event: &ev, time: env.time, host: env.host, process: env.process}, func(*detection) { detections++ })
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkProcess is the whole path of a batch of lines: parsing, detection and the log records sent on.
func BenchmarkProcess(b *testing.B) {
	lines := e2e.AuthLines(100000)
	tokens := make([][]byte, len(lines))
	for i, l := range lines {
		tokens[i] = []byte(l)
	}
	p := newBenchLineHandler(b)
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	b.ReportAllocs()
	b.ResetTimer()
	for b.Loop() {
		for i := 0; i < len(tokens); i += 1000 { // the file consumer's batches
			p.process(tokens[i:min(i+1000, len(tokens))], nil, now)
		}
	}
	b.ReportMetric(float64(len(lines)*b.N)/b.Elapsed().Seconds(), "lines/s")
}

// BenchmarkMemoryPerSource is the memory every default rule keeps for one source that failed once (heap after GC,
// 100,000 distinct sources).
func BenchmarkMemoryPerSource(b *testing.B) {
	const n = 100000
	for b.Loop() {
		cfg := createDefaultConfig().(*Config)
		var before, after runtime.MemStats
		runtime.GC()
		runtime.ReadMemStats(&before)
		e := newDetector(cfg, nil)
		var ev event
		for i := range n {
			ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
			if !recognize("sshd", fmt.Sprintf("Failed password for root from %s port 22 ssh2", ip), &ev) {
				b.Fatal("not recognised")
			}
			e.observe(&observation{event: &ev, time: time.Unix(0, int64(i)*int64(time.Millisecond)), process: "sshd"}, func(*detection) {})
		}
		runtime.GC()
		runtime.ReadMemStats(&after)
		b.ReportMetric(float64(after.HeapAlloc-before.HeapAlloc)/n, "B/source")
		runtime.KeepAlive(e)
	}
}
