package bench

import (
	"bufio"
	"fmt"
	"math"
	"math/rand/v2"
	"os"
	"os/exec"
	"path/filepath"
	"syscall"
	"testing"
	"time"
)

// writeWeek writes a week of 1,000 series at a point a minute (10,080,000 points) as strata-backtest's CSV: ten
// host metrics of 100 hosts in 20 services, daily seasonal with noise, host-7 200 higher for 30 minutes on day 4.
func writeWeek(b *testing.B, path string) {
	f, err := os.Create(path)
	if err != nil {
		b.Fatal(err)
	}
	defer f.Close()
	w := bufio.NewWriterSize(f, 1<<20)
	fmt.Fprintln(w, "time,metric,host.name,service.name,value")
	r := rand.New(rand.NewPCG(1, 1))
	start := time.Date(2026, 11, 23, 0, 0, 0, 0, time.UTC).Unix()
	metrics := []string{"system.cpu.utilization", "system.memory.utilization", "http.server.request.duration",
		"http.server.requests", "system.network.io", "system.disk.io", "system.cpu.load_average.1m",
		"db.client.connections.usage", "process.threads", "system.filesystem.utilization"}
	for i := range 7 * 1440 {
		day := math.Sin(2 * math.Pi * float64(i) / 1440)
		for h := range 100 {
			for m, name := range metrics {
				v := 100 + 30*day*float64(m%3) + r.NormFloat64()*5
				if h == 7 && i >= 5000 && i < 5030 {
					v += 200
				}
				fmt.Fprintf(w, "%d,%s,host-%d,svc-%d,%.2f\n", start+int64(i)*60, name, h, h%20, v)
			}
		}
	}
	if err := w.Flush(); err != nil {
		b.Fatal(err)
	}
}

// BenchmarkBacktestWeek1000Series runs the built strata-backtest on one core (GOMAXPROCS=1) over a week of 1,000
// series through anomaly, correlation and alert (testdata/backtest-week.yaml), reading the CSV included, and reports
// its wall time, CPU time and peak resident memory.
func BenchmarkBacktestWeek1000Series(b *testing.B) {
	backtest := filepath.Join(filepath.Dir(binary), "strata-backtest")
	if _, err := os.Stat(backtest); err != nil {
		b.Fatalf("%s: build it with make build", backtest)
	}
	dir := b.TempDir()
	history := filepath.Join(dir, "week.csv")
	writeWeek(b, history)
	var wall, cpu time.Duration
	var rss int64
	for b.Loop() {
		cmd := exec.Command(backtest, "--config", "testdata/backtest-week.yaml", "--csv", history, "--out", filepath.Join(dir, "out"))
		cmd.Env = append(os.Environ(), "GOMAXPROCS=1")
		start := time.Now()
		if out, err := cmd.CombinedOutput(); err != nil {
			b.Fatalf("%v: %s", err, out)
		}
		wall += time.Since(start)
		use := cmd.ProcessState.SysUsage().(*syscall.Rusage)
		cpu += time.Duration(use.Utime.Nano() + use.Stime.Nano())
		rss = max(rss, use.Maxrss)
	}
	n := float64(b.N)
	b.ReportMetric(wall.Seconds()/n, "s-wall")
	b.ReportMetric(cpu.Seconds()/n, "s-CPU")
	b.ReportMetric(float64(rss)/1024, "MiB-peak-RSS")
	b.ReportMetric(10_080_000/(cpu.Seconds()/n), "points/CPU-s")
}
