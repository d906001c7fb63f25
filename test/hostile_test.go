package test

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net/http"
	"os"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
	"go.opentelemetry.io/collector/pdata/pmetric/pmetricotlp"

	"github.com/otelstrata/strata/internal/e2e"
)

// hostileLines is how many hostile lines the auth log gets in each run.
const hostileLines = 1_000_000

// TestHostileInputLeavesItRunning drives the built binary with what once crashed or blinded it — a gauge at 1 then
// 1e39 over OTLP, a point from the year 2200, the sshd lines that panicked the auth log receiver, a million hostile
// lines (random bytes, cut lines, forged addresses) — with storage on and off, and restarts it on the same storage:
// every run reads everything, keeps answering, and exits 0 on SIGTERM.
func TestHostileInputLeavesItRunning(t *testing.T) {
	for _, storage := range []bool{true, false} {
		t.Run(fmt.Sprintf("storage=%v", storage), func(t *testing.T) {
			dir := t.TempDir()
			authLog := filepath.Join(dir, "auth.log")
			require.NoError(t, os.WriteFile(authLog, nil, 0o600))
			otlp, telemetry, health := e2e.FreePort(t), e2e.FreePort(t), e2e.FreePort(t)
			authlog := map[string]any{"include": []any{authLog}, "start_at": "beginning", "timezone": "UTC"}
			anomaly := map[string]any{"warm_up": 2}
			extensions := map[string]any{"health_check": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", health)}}
			enabled := []any{"health_check"}
			if storage {
				require.NoError(t, os.Mkdir(filepath.Join(dir, "state"), 0o700))
				extensions["file_storage"] = map[string]any{"directory": filepath.Join(dir, "state")}
				enabled = append(enabled, "file_storage")
				authlog["storage"], anomaly["storage"], anomaly["save_interval"] = "file_storage", "file_storage", "1s"
			}
			service := map[string]any{
				"extensions": enabled,
				"pipelines": map[string]any{
					"metrics": map[string]any{"receivers": []any{"otlp"}, "processors": []any{"anomaly"}, "exporters": []any{"debug"}},
					"logs":    map[string]any{"receivers": []any{"authlog"}, "exporters": []any{"debug"}},
				},
			}
			service["telemetry"] = map[string]any{"metrics": map[string]any{"readers": []any{map[string]any{"pull": map[string]any{
				"exporter": map[string]any{"prometheus": map[string]any{"host": "127.0.0.1", "port": telemetry}}}}}}}
			config := writeYAML(t, "hostile.yaml", map[string]any{
				"extensions": extensions,
				"receivers": map[string]any{
					"otlp":    map[string]any{"protocols": map[string]any{"http": map[string]any{"endpoint": fmt.Sprintf("127.0.0.1:%d", otlp)}}},
					"authlog": authlog,
				},
				"processors": map[string]any{"anomaly": anomaly},
				"exporters":  map[string]any{"debug": map[string]any{"verbosity": "basic"}},
				"service":    service,
			})
			lines := 0
			for run := range 2 {
				c := startCollector(t, config)
				c.WaitFor(t, "health", 30*time.Second, func() error {
					_, err := e2e.HTTPGet(fmt.Sprintf("http://127.0.0.1:%d/", health))
					return err
				})
				written := appendHostileLines(t, authLog, uint64(run))
				lines += written
				want := lines // read from the beginning again
				if storage {
					want = written // read on from the position kept
				}
				start := time.Now().Add(time.Duration(run*15-20) * time.Minute) // later each run, never in the future
				for i, v := range []float64{1, 1e39, -1e39, 2, 3, 1e39, 4} {
					postGauge(t, otlp, start.Add(time.Duration(i)*time.Second), v)
				}
				postGauge(t, otlp, time.Date(2200, 1, 1, 0, 0, 0, 0, time.UTC), 5)
				postGauge(t, otlp, start.Add(time.Minute), 6) // scored: the point from 2200 did not move the clock
				c.WaitFor(t, "every auth log line read", 3*time.Minute, func() error {
					if n := counter(t, telemetry, "otelcol_receiver_authlog_lines"); n < float64(want) {
						return fmt.Errorf("%v of %d lines", n, want)
					}
					return nil
				})
				c.WaitFor(t, "the points scored after the one from 2200", 30*time.Second, func() error {
					if n := counter(t, telemetry, `otelcol_processor_anomaly_points[^ ]*outcome="scored"`); n < 8 {
						return fmt.Errorf("%v points scored", n)
					}
					return nil
				})
				_, err := e2e.HTTPGet(fmt.Sprintf("http://127.0.0.1:%d/", health))
				require.NoError(t, err, "run %d: still healthy", run)
				require.NoError(t, c.Stop(30*time.Second), "run %d: exit 0 on SIGTERM", run)
			}
		})
	}
}

// appendHostileLines appends the lines that once panicked or fooled the auth log receiver and hostileLines more
// (random bytes, white space, cut and forged lines) to path, and returns how many lines it wrote.
func appendHostileLines(t *testing.T, path string, seed uint64) int {
	t.Helper()
	rng := rand.New(rand.NewPCG(seed, 7))
	var b bytes.Buffer
	known := []string{
		"Nov 24 06:12:07 web-1 sshd[1]: ROOT LOGIN REFUSED FROM \u00a0",
		"Nov 24 06:12:07 web-1 sshd[1]: ROOT LOGIN REFUSED FROM \v\f\u2003\u0085",
		"Nov 24 06:12:07 web-1 sshd[1]: ROOT LOGIN REFUSED FROM " + strings.Repeat(" ", 40),
		"Nov 24 06:12:07 web-1 sshd[1]: Disconnecting invalid user x 198.51.100.66 port 1: 203.0.113.8 port 2: Too many authentication failures",
		"Nov 24 06:12:07 web-1 sudo: alice :  incorrect password attempts ; USER=root",
		`{"ts":1e400,"user":[1,2],"result":"ok"}`,
	}
	for _, l := range known {
		b.WriteString(l + "\n")
	}
	words := []string{"Failed password for", "Accepted publickey for", "Invalid user", "from", "port", "ssh2", ":",
		"::ffff:203.0.113.7", "2001:db8::1", "203.0.113.7", "ROOT LOGIN REFUSED FROM", "Received disconnect from", "3:",
		"Auth fail", "[preauth]", "\u00a0", "pam_unix(sshd:auth):", "rhost=", "user=", "\xff\xfe", "sudo:", "COMMAND="}
	for i := range hostileLines {
		fmt.Fprintf(&b, "Nov 24 06:%02d:%02d web-%d sshd[%d]:", i/60%60, i%60, rng.IntN(1000), rng.IntN(1<<20))
		for range rng.IntN(12) {
			b.WriteByte(' ')
			b.WriteString(words[rng.IntN(len(words))])
		}
		b.WriteByte('\n')
	}
	f, err := os.OpenFile(path, os.O_APPEND|os.O_WRONLY, 0)
	require.NoError(t, err)
	_, err = f.Write(b.Bytes())
	require.NoError(t, err)
	require.NoError(t, f.Close())
	return len(known) + hostileLines
}

// postGauge sends one point of a gauge over OTLP/HTTP.
func postGauge(t *testing.T, port int, at time.Time, v float64) {
	t.Helper()
	md := pmetric.NewMetrics()
	rm := md.ResourceMetrics().AppendEmpty()
	rm.Resource().Attributes().PutStr("service.name", "shop")
	m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
	m.SetName("shop.orders.rate")
	dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
	dp.SetTimestamp(pcommon.NewTimestampFromTime(at))
	dp.SetDoubleValue(v)
	body, err := pmetricotlp.NewExportRequestFromMetrics(md).MarshalProto()
	require.NoError(t, err)
	resp, err := http.Post(fmt.Sprintf("http://127.0.0.1:%d/v1/metrics", port), "application/x-protobuf", bytes.NewReader(body))
	require.NoError(t, err)
	require.NoError(t, resp.Body.Close())
	require.Equal(t, http.StatusOK, resp.StatusCode)
}

// counter sums the samples of the collector's own metric whose line matches pattern (a name, then label matchers
// as a regular expression), read from its telemetry port; 0 when there is none yet.
func counter(t *testing.T, port int, pattern string) float64 {
	t.Helper()
	body, err := e2e.HTTPGet(fmt.Sprintf("http://127.0.0.1:%d/metrics", port))
	if err != nil {
		return 0
	}
	re := regexp.MustCompile(`(?m)^` + pattern + `[^ \n]* ([0-9.e+]+)$`)
	sum := 0.0
	for _, m := range re.FindAllStringSubmatch(string(body), -1) {
		v, _ := strconv.ParseFloat(m[1], 64)
		sum += v
	}
	return sum
}
