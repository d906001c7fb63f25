package authlogreceiver

import (
	"context"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/open-telemetry/opentelemetry-collector-contrib/extension/storage/storagetest"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/consumer/consumertest"
	"go.opentelemetry.io/collector/pdata/plog"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/otel/attribute"
	"go.opentelemetry.io/otel/sdk/metric/metricdata"
	"go.opentelemetry.io/otel/sdk/metric/metricdata/metricdatatest"

	"github.com/otelstrata/strata/internal/semconv"
	"github.com/otelstrata/strata/receiver/authlogreceiver/internal/metadatatest"
)

// testReceiver is an authlog receiver reading dir, with sinks for both signals.
type testReceiver struct {
	logs    *consumertest.LogsSink
	metrics *consumertest.MetricsSink
	rcv     component.Component
	tel     *componenttest.Telemetry
}

func startReceiver(t *testing.T, raw map[string]any, host component.Host) *testReceiver {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	base := map[string]any{"start_at": "beginning", "poll_interval": "20ms", "metrics_interval": "100ms"}
	for k, v := range raw {
		base[k] = v
	}
	require.NoError(t, confmap.NewFromStringMap(base).Unmarshal(cfg))
	require.NoError(t, cfg.Validate())
	tr := &testReceiver{logs: new(consumertest.LogsSink), metrics: new(consumertest.MetricsSink), tel: componenttest.NewTelemetry()}
	t.Cleanup(func() { require.NoError(t, tr.tel.Shutdown(context.Background())) })
	set := metadatatest.NewSettings(tr.tel)
	f := NewFactory()
	logs, err := f.CreateLogs(context.Background(), set, cfg, tr.logs)
	require.NoError(t, err)
	metrics, err := f.CreateMetrics(context.Background(), set, cfg, tr.metrics)
	require.NoError(t, err)
	require.Same(t, logs, metrics, "one receiver serves both signals")
	tr.rcv = logs
	require.NoError(t, tr.rcv.Start(context.Background(), host))
	return tr
}

func (tr *testReceiver) stop(t *testing.T) {
	require.NoError(t, tr.rcv.Shutdown(context.Background()))
}

// records returns the log records received so far, by event name ("" for passthrough records).
func (tr *testReceiver) records() map[string][]plog.LogRecord {
	byEvent := map[string][]plog.LogRecord{}
	for _, ld := range tr.logs.AllLogs() {
		for _, rl := range ld.ResourceLogs().All() {
			for _, sl := range rl.ScopeLogs().All() {
				for _, lr := range sl.LogRecords().All() {
					byEvent[lr.EventName()] = append(byEvent[lr.EventName()], lr)
				}
			}
		}
	}
	return byEvent
}

// attr is an attribute of a record as a string, "" when absent.
func attr(lr plog.LogRecord, key string) string {
	if v, ok := lr.Attributes().Get(key); ok {
		return v.AsString()
	}
	return ""
}

func TestReceiverReadsAuthLog(t *testing.T) {
	dir := t.TempDir()
	var lines []string
	for i := range 6 {
		lines = append(lines, fmt.Sprintf("Nov 24 18:40:%02d web-1 sshd[4242]: Failed password for root from 203.0.113.7 port %d ssh2", i, 50000+i))
	}
	lines = append(lines,
		"Nov 24 18:41:00 web-1 sshd[4243]: Accepted publickey for alice from 192.0.2.10 port 51234 ssh2: ED25519 SHA256:x",
		"Nov 24 18:41:01 web-1 sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
		"Nov 24 18:41:02 web-1 sshd[4242]: Invalid user \xe9ric from 203.0.113.8 port 40000", // Latin-1, not UTF-8
		"Nov 24 18:41:03 web-1 CRON[77]: pam_unix(cron:session): session closed for user root",
		"Nov 24 18:41:04 web-1 kernel: [12345.678] eth0: link up",
		"Nov 99 18:41:05 this is not syslog",
		"\x00\x01\x02binary\x00junk",
		// longer than max_log_size, its rest a forged line: cut where the file consumer cuts (4 KiB)
		"Nov 24 18:41:05 web-1 sshd[4242]: "+strings.Repeat("A", 4096-34)+"Nov 24 18:41:05 web-1 sshd[1]: Accepted password for root from 198.51.100.66 port 1 ssh2",
		"2026-11-24T18:41:06.000000+00:00 web-1 su[88]: FAILED SU (to root) bob on pts/1",
	)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.log"), []byte(strings.Join(lines, "\n")+"\n"), 0o600))

	tr := startReceiver(t, map[string]any{"include": []any{filepath.Join(dir, "*.log")}, "timezone": "UTC", "max_log_size": "4KiB"},
		componenttest.NewNopHost())
	require.Eventually(t, func() bool {
		r := tr.records()
		return len(r[semconv.EventAuth]) == 11 && len(r[semconv.EventDetection]) == 2
	}, 10*time.Second, 20*time.Millisecond, "records: %v", tr.records())
	require.Eventually(t, func() bool { return len(tr.metrics.AllMetrics()) > 0 }, 10*time.Second, 20*time.Millisecond)
	tr.stop(t)

	recs := tr.records()
	first := recs[semconv.EventAuth][0]
	assert.Equal(t, lines[0], first.Body().Str())
	assert.Equal(t, time.Date(2026, 11, 24, 18, 40, 0, 0, time.UTC), first.Timestamp().AsTime())
	assert.Equal(t, plog.SeverityNumberWarn, first.SeverityNumber())
	for key, want := range map[string]string{
		"event.name": "strata.auth", "strata.auth.event": "failed_auth", "strata.auth.outcome": "failure",
		"strata.auth.method": "password", "user.name": "root", "source.address": "203.0.113.7", "source.port": "50000",
		"process.executable.name": "sshd", "process.pid": "4242", "host.name": "web-1", "log.file.name": "auth.log",
	} {
		assert.Equal(t, want, attr(first, key), key)
	}
	invalid := recs[semconv.EventAuth][8]
	assert.Equal(t, "\ufffdric", attr(invalid, "user.name"), "an invalid UTF-8 line is repaired and still read")

	var rules []string
	for _, d := range recs[semconv.EventDetection] {
		rules = append(rules, attr(d, "security_rule.name"))
	}
	assert.Equal(t, []string{"brute_force", "sudo_first_root"}, rules)
	bf := recs[semconv.EventDetection][0]
	for key, want := range map[string]string{
		"event.name": "strata.security.detection", "security_rule.category": "authentication",
		"strata.threat.technique.id": "T1110.001", "source.address": "203.0.113.7", "user.name": "root",
		"strata.detection.count": "5", "strata.detection.window": "600", "strata.detection.key": "source",
		"strata.detection.first_seen": "2026-11-24T18:40:00Z", "strata.detection.last_seen": "2026-11-24T18:40:04Z",
	} {
		assert.Equal(t, want, attr(bf, key), key)
	}
	assert.Equal(t, "high", bf.SeverityText())
	assert.Contains(t, bf.Body().Str(), "brute_force (T1110.001, high): 5 matching events in 4s, source 203.0.113.7")

	metadatatest.AssertEqualReceiverAuthlogLines(t, tr.tel, []metricdata.DataPoint[int64]{
		{Attributes: attribute.NewSet(attribute.String("result", "recognized")), Value: 11},
		{Attributes: attribute.NewSet(attribute.String("result", "unrecognized")), Value: 1}, // the kernel line
		{Attributes: attribute.NewSet(attribute.String("result", "malformed")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("result", "binary")), Value: 1},
		{Attributes: attribute.NewSet(attribute.String("result", "too_long")), Value: 2}, // the long line and its rest
	}, metricdatatest.IgnoreTimestamp())

	attempts := lastSums(tr.metrics.AllMetrics(), "strata.auth.attempts")
	assert.Equal(t, int64(6), attempts["failure/password/sshd"])
	assert.Equal(t, int64(1), attempts["success/publickey/sshd"])
	assert.Equal(t, int64(1), attempts["failure//sshd"], "the invalid user line")
	assert.Equal(t, int64(1), attempts["success//sudo"])
	assert.Equal(t, int64(1), attempts["failure//su"])
	detections := lastSums(tr.metrics.AllMetrics(), "strata.security.detections")
	assert.Equal(t, map[string]int64{"brute_force/authentication": 1, "sudo_first_root/privilege_escalation": 1}, detections)
}

// lastSums returns the last value of each data point of a cumulative sum, keyed by its attribute values.
func lastSums(all []pmetric.Metrics, name string) map[string]int64 {
	out := map[string]int64{}
	for _, md := range all {
		for _, rm := range md.ResourceMetrics().All() {
			for _, sm := range rm.ScopeMetrics().All() {
				for _, m := range sm.Metrics().All() {
					if m.Name() != name {
						continue
					}
					for _, dp := range m.Sum().DataPoints().All() {
						var parts []string
						switch name {
						case "strata.auth.attempts":
							parts = []string{attrOf(dp, "strata.auth.outcome"), attrOf(dp, "strata.auth.method"), attrOf(dp, "process.executable.name")}
						default:
							parts = []string{attrOf(dp, "security_rule.name"), attrOf(dp, "security_rule.category")}
						}
						out[strings.Join(parts, "/")] = dp.IntValue()
					}
				}
			}
		}
	}
	return out
}

func attrOf(dp pmetric.NumberDataPoint, key string) string {
	v, _ := dp.Attributes().Get(key)
	return v.AsString()
}

func TestReceiverPassthrough(t *testing.T) {
	dir := t.TempDir()
	require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.log"), []byte("Nov 24 18:41:04 web-1 kernel: eth0: link up\n"), 0o600))
	tr := startReceiver(t, map[string]any{"include": []any{filepath.Join(dir, "auth.log")}, "unrecognized": "passthrough"}, componenttest.NewNopHost())
	require.Eventually(t, func() bool { return len(tr.records()[""]) == 1 }, 10*time.Second, 20*time.Millisecond)
	tr.stop(t)
	lr := tr.records()[""][0]
	assert.Equal(t, "Nov 24 18:41:04 web-1 kernel: eth0: link up", lr.Body().Str())
	assert.Equal(t, "kernel", attr(lr, "process.executable.name"))
}

// TestReceiverEmitsDetectionsOnly reads a brute force with emit: detections: its detection arrives, no record of
// the lines themselves does, and the lines are still counted.
func TestReceiverEmitsDetectionsOnly(t *testing.T) {
	dir := t.TempDir()
	var lines strings.Builder
	for i := range 20 {
		fmt.Fprintf(&lines, "Nov 24 18:41:%02d web-1 sshd[%d]: Failed password for root from 203.0.113.9 port %d ssh2\n", i, 900+i, 40000+i)
	}
	require.NoError(t, os.WriteFile(filepath.Join(dir, "auth.log"), []byte(lines.String()), 0o600))
	tr := startReceiver(t, map[string]any{"include": []any{filepath.Join(dir, "auth.log")}, "emit": "detections"}, componenttest.NewNopHost())
	require.Eventually(t, func() bool { return len(tr.records()[semconv.EventDetection]) > 0 }, 10*time.Second, 20*time.Millisecond)
	require.Eventually(t, func() bool {
		lines, err := tr.tel.GetMetric("otelcol_receiver_authlog_lines")
		return err == nil && lines.Data.(metricdata.Sum[int64]).DataPoints[0].Value == 20
	}, 10*time.Second, 20*time.Millisecond)
	tr.stop(t)
	records := tr.records()
	assert.Empty(t, records[semconv.EventAuth])
	assert.Equal(t, "brute_force", attr(records[semconv.EventDetection][0], semconv.AttrSecurityRuleName))
}

// TestRestartAndRotationExactlyOnce stops the receiver in the middle of a file, appends, rotates the file (by
// rename, or by copy and truncate as logrotate's copytruncate does), writes more, and starts a new receiver on the
// same storage: every line arrives exactly once.
func TestRestartAndRotationExactlyOnce(t *testing.T) {
	for _, mode := range []string{"rename", "copytruncate"} {
		t.Run(mode, func(t *testing.T) { testRestartAndRotation(t, mode) })
	}
}

func testRestartAndRotation(t *testing.T, mode string) {
	dir, storageDir := t.TempDir(), t.TempDir()
	path := filepath.Join(dir, "auth.log")
	next := 0
	write := func(f *os.File, n int) {
		var b strings.Builder
		for range n {
			fmt.Fprintf(&b, "Nov 24 18:40:00 web-1 sshd[1]: Failed password for u%d from 203.0.113.7 port %d ssh2\n", next, next%60000+1)
			next++
		}
		_, err := f.WriteString(b.String())
		require.NoError(t, err)
	}
	f, err := os.Create(path)
	require.NoError(t, err)
	write(f, 20000)

	storageID := storagetest.NewStorageID("file_storage")
	host := storagetest.NewStorageHost().WithFileBackedStorageExtension("file_storage", storageDir)
	raw := map[string]any{"include": []any{path + "*"}, "storage": storageID.String(), "max_tracked_keys": 10}

	seen := map[string]int{}
	collect := func(tr *testReceiver) {
		for _, lr := range tr.records()[semconv.EventAuth] {
			seen[lr.Body().Str()]++
		}
	}

	first := startReceiver(t, raw, host)
	require.Eventually(t, func() bool { return len(first.records()[semconv.EventAuth]) > 0 }, 10*time.Second, time.Millisecond)
	first.stop(t) // in the middle of the file
	collect(first)
	t.Logf("the first run read %d of 20000 lines before it stopped", len(seen))

	write(f, 500) // appended while stopped
	require.NoError(t, f.Close())
	if mode == "rename" {
		require.NoError(t, os.Rename(path, path+".1"))
		f, err = os.Create(path)
		require.NoError(t, err)
	} else {
		data, err := os.ReadFile(path)
		require.NoError(t, err)
		require.NoError(t, os.WriteFile(path+".1", data, 0o600))
		f, err = os.OpenFile(path, os.O_WRONLY|os.O_TRUNC, 0o600)
		require.NoError(t, err)
	}
	write(f, 700) // the new content
	require.NoError(t, f.Close())

	second := startReceiver(t, raw, host)
	require.Eventually(t, func() bool {
		return len(seen)+len(second.records()[semconv.EventAuth]) >= next
	}, 20*time.Second, 20*time.Millisecond)
	time.Sleep(200 * time.Millisecond) // a repeat would arrive by now
	second.stop(t)
	collect(second)

	assert.Len(t, seen, next, "every line")
	for line, n := range seen {
		if n != 1 {
			t.Errorf("read %d times: %s", n, line)
		}
	}
}

// TestReceiverWithoutFiles starts on globs that match nothing, as on a host without the auth log.
func TestReceiverWithoutFiles(t *testing.T) {
	tr := startReceiver(t, map[string]any{"include": []any{filepath.Join(t.TempDir(), "none*.log")}}, componenttest.NewNopHost())
	time.Sleep(100 * time.Millisecond)
	tr.stop(t)
	assert.Empty(t, tr.records())
}
