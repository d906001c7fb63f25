package bench

import (
	"fmt"
	"net"
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/otelstrata/strata/internal/e2e"
)

// authLogFileLines is the length of the file both tools read: long enough that startup is a small share of either.
const authLogFileLines = 1_000_000

// BenchmarkAuthlogBesideFail2ban reads a file of a million auth log lines with otelcol-strata's authlog receiver
// (default rules) end to end, with a record for every line (emit: all) and with the detections only, then with
// fail2ban-regex and Debian's sshd filter, one after the other in each iteration so that all meet the same state of
// the machine, and reports each and their ratios per CPU-second.
func BenchmarkAuthlogBesideFail2ban(b *testing.B) {
	fail2ban := e2e.RequireProgram(b, "fail2ban-regex")
	dir := b.TempDir()
	file := filepath.Join(dir, "auth.log")
	if err := os.WriteFile(file, []byte(strings.Join(e2e.AuthLines(authLogFileLines), "\n")+"\n"), 0o600); err != nil {
		b.Fatal(err)
	}
	all, detections := authlogConfig(b, dir, "all"), authlogConfig(b, dir, "detections")
	for b.Loop() {
		ours, oursDetections := runAuthlog(b, all, file), runAuthlog(b, detections, file)
		theirs := runFail2banRegex(b, fail2ban, file)
		b.ReportMetric(ours.linesPerCPU, "lines/CPU-s")
		b.ReportMetric(ours.linesPerSecond, "lines/s")
		b.ReportMetric(ours.cpuPercent, "CPU-%")
		b.ReportMetric(ours.records, "records")
		b.ReportMetric(ours.rssMiB, "RSS-MiB")
		b.ReportMetric(ours.startupCPU, "startup-CPU-s")
		b.ReportMetric(oursDetections.linesPerCPU, "detections-only-lines/CPU-s")
		b.ReportMetric(oursDetections.linesPerSecond, "detections-only-lines/s")
		b.ReportMetric(oursDetections.records, "detections-only-records")
		b.ReportMetric(theirs.linesPerCPU, "fail2ban-lines/CPU-s")
		b.ReportMetric(theirs.linesPerSecond, "fail2ban-lines/s")
		b.ReportMetric(ours.linesPerCPU/theirs.linesPerCPU, "ratio/CPU-s")
		b.ReportMetric(ours.linesPerSecond/theirs.linesPerSecond, "ratio/wall")
		b.ReportMetric(oursDetections.linesPerCPU/theirs.linesPerCPU, "detections-only-ratio/CPU-s")
	}
}

// fileRun is what one tool did with the file.
type fileRun struct {
	linesPerCPU, linesPerSecond, cpuPercent, records, rssMiB, startupCPU float64
}

// authlogSetup is a collector's configuration file, the address of its own telemetry and the directory it watches.
type authlogSetup struct{ config, telemetry, logs string }

// authlogConfig writes a collector's configuration: an authlog receiver with emit set to emit, watching dir/emit
// (created here) from the beginning of each file, its records and metrics to a debug exporter, its own telemetry on
// a free port.
func authlogConfig(b *testing.B, dir, emit string) authlogSetup {
	logs := filepath.Join(dir, emit)
	if err := os.Mkdir(logs, 0o700); err != nil {
		b.Fatal(err)
	}
	telemetry := fmt.Sprintf("127.0.0.1:%d", e2e.FreePort(b))
	host, port, _ := net.SplitHostPort(telemetry)
	portNumber, _ := strconv.Atoi(port)
	config := e2e.WriteYAML(b, filepath.Join(dir, emit+".yaml"), map[string]any{
		"receivers": map[string]any{"authlog": map[string]any{
			"include": []any{filepath.Join(logs, "*.log")}, "start_at": "beginning", "timezone": "UTC", "emit": emit,
		}},
		"exporters": map[string]any{"debug": map[string]any{"verbosity": "basic"}},
		"service": map[string]any{
			"telemetry": map[string]any{
				"logs":    map[string]any{"level": "warn"},
				"metrics": map[string]any{"readers": []any{map[string]any{"pull": map[string]any{"exporter": map[string]any{"prometheus": map[string]any{"host": host, "port": portNumber}}}}}},
			},
			"pipelines": map[string]any{
				"logs":    map[string]any{"receivers": []any{"authlog"}, "exporters": []any{"debug"}},
				"metrics": map[string]any{"receivers": []any{"authlog"}, "exporters": []any{"debug"}},
			},
		},
	})
	return authlogSetup{config, telemetry, logs}
}

// runAuthlog starts the collector on config, links file into its watched directory once the collector is up, and
// counts the collector's CPU and the wall time from then until its own telemetry says every line was read and every
// record exported (polled every 20 ms), so that the figures leave out its startup, reported apart.
func runAuthlog(b *testing.B, setup authlogSetup, file string) fileRun {
	watched := filepath.Join(setup.logs, "auth.log")
	_ = os.Remove(watched)

	c := e2e.StartCollector(b, binary, setup.config)
	c.WaitFor(b, "telemetry", 30*time.Second, func() error { _, err := authlogProgress(setup.telemetry); return err })
	startupTicks := cpuTicks(b, c.PID())
	if err := os.Link(file, watched); err != nil {
		b.Fatal(err)
	}
	t0 := time.Now()
	var done progress
	for deadline := t0.Add(5 * time.Minute); ; time.Sleep(20 * time.Millisecond) {
		p, err := authlogProgress(setup.telemetry)
		if err == nil && p.lines >= authLogFileLines && p.sent >= p.accepted {
			done = p
			break
		}
		if time.Now().After(deadline) {
			b.Fatalf("not every line read and exported within 5 minutes: %+v, %v", p, err)
		}
	}
	wall, cpu := time.Since(t0).Seconds(), float64(cpuTicks(b, c.PID())-startupTicks)/100
	run := fileRun{
		linesPerCPU: authLogFileLines / cpu, linesPerSecond: authLogFileLines / wall, cpuPercent: cpu / wall * 100,
		records: done.sent, rssMiB: float64(rssKiB(b, c.PID())) / 1024, startupCPU: float64(startupTicks) / 100,
	}
	if err := c.Stop(30 * time.Second); err != nil {
		b.Fatal(err)
	}
	return run
}

type progress struct{ lines, accepted, sent float64 }

// authlogProgress reads the lines the authlog receiver has read, the records it passed on and the records the
// exporter sent, from the collector's own telemetry.
func authlogProgress(telemetry string) (progress, error) {
	families, err := e2e.ScrapePrometheus("http://" + telemetry + "/metrics")
	if err != nil {
		return progress{}, err
	}
	sum := func(name string) float64 {
		var total float64
		for _, m := range families[name].GetMetric() {
			total += m.GetCounter().GetValue()
		}
		return total
	}
	return progress{
		lines:    sum("otelcol_receiver_authlog_lines_total"),
		accepted: sum("otelcol_receiver_accepted_log_records_total"),
		sent:     sum("otelcol_exporter_sent_log_records_total"),
	}, nil
}

// runFail2banRegex runs fail2ban-regex with Debian's sshd filter over file, the whole process timed (its Python
// startup, under a second, included).
func runFail2banRegex(b *testing.B, fail2ban, file string) fileRun {
	cmd := exec.Command(fail2ban, file, "/etc/fail2ban/filter.d/sshd.conf")
	t0 := time.Now()
	out, err := cmd.CombinedOutput()
	if err != nil {
		b.Fatal(err, string(out))
	}
	wall := time.Since(t0).Seconds()
	cpu := (cmd.ProcessState.UserTime() + cmd.ProcessState.SystemTime()).Seconds()
	return fileRun{linesPerCPU: authLogFileLines / cpu, linesPerSecond: authLogFileLines / wall, cpuPercent: cpu / wall * 100}
}
