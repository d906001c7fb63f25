package anomalyprocessor

import (
	"context"
	"fmt"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/processor/cumulativetodeltaprocessor"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/processor"
	"go.opentelemetry.io/collector/processor/processortest"
)

// hostMetrics is a scrape of 100 hosts as the hostmetrics receiver gives it: per host, CPU time by cpu and state (4
// cpus × 8 states, cumulative), memory by state, load averages, network and disk io by device and direction
// (cumulative): 56 points.
func hostMetrics(at time.Time, tick int) pmetric.Metrics {
	md := pmetric.NewMetrics()
	ts := pcommon.NewTimestampFromTime(at)
	for h := range 100 {
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("host.name", fmt.Sprintf("host-%03d", h))
		ms := rm.ScopeMetrics().AppendEmpty().Metrics()
		sum := func(name string, monotonic bool) pmetric.NumberDataPointSlice {
			m := ms.AppendEmpty()
			m.SetName(name)
			s := m.SetEmptySum()
			s.SetIsMonotonic(monotonic)
			s.SetAggregationTemporality(pmetric.AggregationTemporalityCumulative)
			return s.DataPoints()
		}
		point := func(dps pmetric.NumberDataPointSlice, v float64, kv ...string) {
			dp := dps.AppendEmpty()
			dp.SetTimestamp(ts)
			dp.SetDoubleValue(v)
			for i := 0; i < len(kv); i += 2 {
				dp.Attributes().PutStr(kv[i], kv[i+1])
			}
		}
		cpu := sum("system.cpu.time", true)
		for c := range 4 {
			for _, state := range []string{"user", "system", "idle", "interrupt", "nice", "softirq", "steal", "wait"} {
				point(cpu, float64(tick*(c+1)), "cpu", fmt.Sprintf("cpu%d", c), "state", state)
			}
		}
		mem := sum("system.memory.usage", false)
		for i, state := range []string{"used", "free", "buffered", "cached", "slab_reclaimable", "slab_unreclaimable"} {
			point(mem, float64(1e9+i*1e6+tick%7), "state", state)
		}
		load := ms.AppendEmpty()
		load.SetName("system.cpu.load_average.1m")
		point(load.SetEmptyGauge().DataPoints(), 1.5+float64(tick%5)/10)
		for _, name := range []string{"system.network.io", "system.disk.io"} {
			dps := sum(name, true)
			for _, dev := range []string{"eth0", "eth1", "lo", "sda"} {
				for _, dir := range []string{"receive", "transmit"} {
					point(dps, float64(tick*1000), "device", dev, "direction", dir)
				}
			}
		}
	}
	return md
}

// BenchmarkHostMetrics100 is the processor's cost per point on a pipeline carrying host metrics of 100 hosts, every
// point watched: with the score and band added for every point (emit: all), and only for anomalous ones; beside it,
// in the same run, contrib's cumulativetodelta processor on the same requests (per-series state too, the nearest
// job of a contrib processor in this distribution: no contrib anomaly detector builds at v0.149.0).
func BenchmarkHostMetrics100(b *testing.B) {
	requests := make([]pmetric.Metrics, 64)
	t := time.Now()
	for i := range requests {
		requests[i] = hostMetrics(t.Add(time.Duration(i)*10*time.Second), i)
	}
	points := requests[0].DataPointCount()
	run := func(b *testing.B, process func(pmetric.Metrics) error) {
		i := 0
		for b.Loop() {
			b.StopTimer()
			md := pmetric.NewMetrics()
			requests[i%len(requests)].CopyTo(md)
			// every round of requests is newer than the last
			shiftTimestamps(md, time.Duration(i/len(requests))*640*time.Second)
			b.StartTimer()
			if err := process(md); err != nil {
				b.Fatal(err)
			}
			i++
		}
		b.ReportMetric(float64(b.Elapsed().Nanoseconds())/float64(b.N*points), "ns/point")
	}
	for _, emit := range []string{"all", "anomalous"} {
		b.Run("emit="+emit, func(b *testing.B) {
			f := NewFactory()
			cfg := f.CreateDefaultConfig().(*Config)
			cfg.Emit = emit
			run(b, consumeMetrics(b, f, cfg))
		})
	}
	b.Run("contrib=cumulativetodelta", func(b *testing.B) {
		f := cumulativetodeltaprocessor.NewFactory()
		run(b, consumeMetrics(b, f, f.CreateDefaultConfig()))
	})
}

// consumeMetrics starts the processor f makes of cfg, in front of a consumer that drops what it gets, and returns
// its ConsumeMetrics: the way a pipeline calls any processor.
func consumeMetrics(b *testing.B, f processor.Factory, cfg component.Config) func(pmetric.Metrics) error {
	p, err := f.CreateMetrics(context.Background(), processortest.NewNopSettings(f.Type()), cfg, consumertest.NewNop())
	if err != nil {
		b.Fatal(err)
	}
	if err := p.Start(context.Background(), componenttest.NewNopHost()); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() { _ = p.Shutdown(context.Background()) })
	return func(md pmetric.Metrics) error { return p.ConsumeMetrics(context.Background(), md) }
}

func shiftTimestamps(md pmetric.Metrics, d time.Duration) {
	for _, rm := range md.ResourceMetrics().All() {
		for _, m := range rm.ScopeMetrics().At(0).Metrics().All() {
			var dps pmetric.NumberDataPointSlice
			if m.Type() == pmetric.MetricTypeGauge {
				dps = m.Gauge().DataPoints()
			} else {
				dps = m.Sum().DataPoints()
			}
			for _, dp := range dps.All() {
				dp.SetTimestamp(dp.Timestamp() + pcommon.Timestamp(d))
			}
		}
	}
}
