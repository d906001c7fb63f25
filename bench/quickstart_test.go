// Package bench measures the built distribution as users run it. `make bench` runs these benchmarks; the figures
// and the command that produced them are kept in BENCHMARKS.md.
package bench

import (
	"fmt"
	"os"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelstrata/strata/internal/e2e"
)

const repoRoot = ".."

var binary string

func TestMain(m *testing.M) {
	if addrs := os.Getenv(targetServerEnv); addrs != "" {
		serveTargets(addrs)
	}
	e2e.MainWithBinary(m, &binary)
}

// BenchmarkQuickstartStartup is the time from exec to a healthy health_check on the quickstart configuration,
// and the time from SIGTERM to exit.
func BenchmarkQuickstartStartup(b *testing.B) {
	q := e2e.NewQuickstart(b, repoRoot, "", false)
	q.StartShop(b, binary, 3)
	var ready, stop time.Duration
	for b.Loop() {
		start := time.Now()
		p := e2e.StartCollector(b, binary, q.Config)
		p.WaitFor(b, "health", 30*time.Second, func() error {
			_, err := e2e.HTTPGet(q.Health)
			return err
		})
		ready += time.Since(start)
		start = time.Now()
		if err := p.Stop(30 * time.Second); err != nil {
			b.Fatal(err)
		}
		stop += time.Since(start)
	}
	b.ReportMetric(float64(ready.Milliseconds())/float64(b.N), "ms-to-healthy")
	b.ReportMetric(float64(stop.Milliseconds())/float64(b.N), "ms-to-exit")
}

// BenchmarkQuickstartIdle runs the quickstart as `make run` does (host metrics, probes, auth logs, the shop's KPIs
// and self-scrape every 10 s, the shop taking 3 orders a second) for a minute and reports the collector's resident
// memory and CPU: what the distribution costs on a host before any application sends data.
func BenchmarkQuickstartIdle(b *testing.B) {
	const settle, window = 10 * time.Second, 60 * time.Second
	q := e2e.NewQuickstart(b, repoRoot, "", false)
	q.StartShop(b, binary, 3)
	for b.Loop() {
		p := e2e.StartCollector(b, binary, q.Config)
		p.WaitFor(b, "health", 30*time.Second, func() error {
			_, err := e2e.HTTPGet(q.Health)
			return err
		})
		time.Sleep(settle)
		cpu0 := cpuTicks(b, p.PID())
		time.Sleep(window)
		cpu := float64(cpuTicks(b, p.PID())-cpu0) / 100 / window.Seconds() // USER_HZ is 100 on Linux
		b.ReportMetric(float64(rssKiB(b, p.PID()))/1024, "RSS-MiB")
		b.ReportMetric(cpu*100, "CPU-%")
		if err := p.Stop(30 * time.Second); err != nil {
			b.Fatal(err)
		}
	}
}

// rssKiB reads VmRSS from /proc/PID/status.
func rssKiB(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/status", pid))
	if err != nil {
		b.Fatal(err)
	}
	for _, line := range strings.Split(string(data), "\n") {
		if f := strings.Fields(line); len(f) >= 2 && f[0] == "VmRSS:" {
			kib, err := strconv.Atoi(f[1])
			if err != nil {
				b.Fatal(err)
			}
			return kib
		}
	}
	b.Fatalf("no VmRSS in /proc/%d/status", pid)
	return 0
}

// cpuTicks is utime+stime from /proc/PID/stat, in clock ticks.
func cpuTicks(b *testing.B, pid int) int {
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/stat", pid))
	if err != nil {
		b.Fatal(err)
	}
	// Fields after the command name, which is in parentheses and may hold spaces: state is [0], utime [11], stime [12].
	f := strings.Fields(string(data[strings.LastIndexByte(string(data), ')')+2:]))
	utime, err1 := strconv.Atoi(f[11])
	stime, err2 := strconv.Atoi(f[12])
	if err1 != nil || err2 != nil {
		b.Fatalf("/proc/%d/stat: %q", pid, data)
	}
	return utime + stime
}
