//go:build integration

package authlogreceiver

import (
	"bufio"
	"bytes"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelstrata/strata/internal/e2e"
	"github.com/otelstrata/strata/internal/semconv"
	"github.com/otelstrata/strata/receiver/authlogreceiver/internal/metadata"
)

// sshServer is OpenSSH's sshd on a loopback port, logging with -E to its own file, for one test.
type sshServer struct {
	port    int
	log     string
	userKey string
}

// startSSHD starts a real sshd as root. It touches no account of the machine: the valid user is root (with wrong
// passwords), and the key that logs in successfully is listed in a file of the test's (AuthorizedKeysFile).
func startSSHD(t *testing.T) *sshServer {
	t.Helper()
	sshd := e2e.RequireProgram(t, "/usr/sbin/sshd")
	keygen := e2e.RequireProgram(t, "ssh-keygen")
	if os.Geteuid() != 0 {
		if os.Getenv("STRATA_REQUIRE_INTEGRATION") == "1" {
			t.Fatal("sshd must run as root")
		}
		t.Skip("sshd must run as root")
	}
	require.NoError(t, os.MkdirAll("/run/sshd", 0o755)) // its privilege separation directory
	dir := t.TempDir()
	s := &sshServer{port: e2e.FreePort(t), log: filepath.Join(dir, "sshd.log"), userKey: filepath.Join(dir, "userkey")}
	for _, key := range []string{filepath.Join(dir, "hostkey"), s.userKey} {
		out, err := exec.Command(keygen, "-q", "-t", "ed25519", "-N", "", "-f", key).CombinedOutput()
		require.NoError(t, err, string(out))
	}
	pub, err := os.ReadFile(s.userKey + ".pub")
	require.NoError(t, err)
	require.NoError(t, os.WriteFile(filepath.Join(dir, "authorized_keys"), pub, 0o600))
	config := filepath.Join(dir, "sshd_config")
	require.NoError(t, os.WriteFile(config, []byte(fmt.Sprintf(`Port %d
ListenAddress 127.0.0.1
HostKey %s/hostkey
PidFile %s/sshd.pid
AuthorizedKeysFile %s/authorized_keys
StrictModes no
PermitRootLogin yes
PasswordAuthentication yes
KbdInteractiveAuthentication no
UsePAM yes
MaxAuthTries 3
LogLevel INFO
`, s.port, dir, dir, dir)), 0o600))
	p := e2e.StartProcess(t, sshd, "-D", "-f", config, "-E", s.log)
	p.WaitFor(t, "sshd listening", 10*time.Second, func() error {
		data, _ := os.ReadFile(s.log)
		if !bytes.Contains(data, []byte("Server listening")) {
			return fmt.Errorf("not yet")
		}
		return nil
	})
	return s
}

// logins runs the attempts at once (each failed password costs PAM's two-second delay), then the key login.
func (s *sshServer) logins(t *testing.T, attempts map[string]int) {
	t.Helper()
	var wg sync.WaitGroup
	for user, n := range attempts {
		for range n {
			wg.Add(1)
			go func() {
				defer wg.Done()
				s.ssh(t, user, "wrong-password")
			}()
		}
	}
	wg.Wait()
	s.ssh(t, "root", "")
}

// ssh runs one ssh login attempt: with a password through sshpass (one password prompt), or with the user key.
func (s *sshServer) ssh(t *testing.T, user, password string) {
	t.Helper()
	args := []string{"-p", strconv.Itoa(s.port), "-o", "StrictHostKeyChecking=no", "-o", "UserKnownHostsFile=/dev/null",
		"-o", "ConnectTimeout=5", "-o", "LogLevel=ERROR"}
	var cmd *exec.Cmd
	if password != "" {
		args = append(args, "-o", "PreferredAuthentications=password", "-o", "PubkeyAuthentication=no",
			"-o", "NumberOfPasswordPrompts=1", user+"@127.0.0.1", "true")
		cmd = exec.Command(e2e.RequireProgram(t, "sshpass"), append([]string{"-p", password, "ssh"}, args...)...)
	} else {
		args = append(args, "-i", s.userKey, "-o", "BatchMode=yes", user+"@127.0.0.1", "true")
		cmd = exec.Command("ssh", args...)
	}
	out, err := cmd.CombinedOutput()
	if password == "" {
		require.NoError(t, err, "key login: %s", out)
	}
}

// TestIntegrationRealSSHD makes real failed and successful logins against sshd and reads its log with the
// receiver: the events, and a brute-force detection with the right source and count.
func TestIntegrationRealSSHD(t *testing.T) {
	s := startSSHD(t)
	s.logins(t, map[string]int{"root": 6, "oracle": 1, "admin": 1, "test": 1})

	tr := startReceiver(t, map[string]any{"include": []any{s.log}, "format": "raw"}, componenttest.NewNopHost())
	var byKind map[string]int
	require.Eventually(t, func() bool {
		byKind = map[string]int{}
		for _, lr := range tr.records()[semconv.EventAuth] {
			byKind[attr(lr, "strata.auth.event")]++
		}
		return byKind[kindFailedAuth] >= 9 && byKind[kindInvalidUser] >= 3 && byKind[kindAccepted] >= 1
	}, 20*time.Second, 50*time.Millisecond, "events so far: %v", byKind)
	tr.stop(t)
	t.Logf("events read from the real sshd log: %v", byKind)

	var rootFailures, invalidFailures int
	for _, lr := range tr.records()[semconv.EventAuth] {
		if attr(lr, "strata.auth.event") != kindFailedAuth {
			continue
		}
		assert.Equal(t, "127.0.0.1", attr(lr, "source.address"))
		assert.Equal(t, "password", attr(lr, "strata.auth.method"))
		if attr(lr, "strata.auth.invalid_user") == "true" {
			invalidFailures++
		} else if attr(lr, "user.name") == "root" {
			rootFailures++
		}
	}
	assert.Equal(t, 6, rootFailures)
	assert.Equal(t, 3, invalidFailures)

	detections := map[string][]string{}
	for _, d := range tr.records()[semconv.EventDetection] {
		detections[attr(d, "security_rule.name")] = append(detections[attr(d, "security_rule.name")],
			attr(d, "source.address")+" count="+attr(d, "strata.detection.count"))
	}
	assert.Equal(t, []string{"127.0.0.1 count=5"}, detections["brute_force"], "one brute-force episode, at the fifth failure")
	assert.Equal(t, []string{"127.0.0.1 count=6"}, detections["success_after_failures"], "the key login after the failures")
}

// TestIntegrationSideBySideWithFail2ban reads one real sshd log, in the syslog form /var/log/auth.log has, with
// fail2ban-regex and Debian's sshd filter and with the receiver: every line fail2ban counts as a failure is a
// failure event here. Lines only the receiver counts as failures are listed, with why.
func TestIntegrationSideBySideWithFail2ban(t *testing.T) {
	fail2ban := e2e.RequireProgram(t, "fail2ban-regex")
	s := startSSHD(t)
	s.logins(t, map[string]int{"root": 4, "oracle": 1, "admin": 1})
	time.Sleep(200 * time.Millisecond) // sshd writes the disconnect lines after the client exits

	// The same lines as syslog writes them (sshd -E writes the bare message). sshd serves each connection in a
	// process of its own, and fail2ban follows a connection by that pid, so each client port gets its own pid.
	raw, err := os.ReadFile(s.log)
	require.NoError(t, err)
	stamp := time.Now().Format(time.Stamp)
	portRe := regexp.MustCompile(` port (\d+)`)
	var syslog []string
	for _, line := range strings.Split(strings.TrimSpace(strings.ReplaceAll(string(raw), "\r", "")), "\n") {
		pid := "4242" // the listener
		if m := portRe.FindStringSubmatch(line); m != nil && !strings.HasPrefix(line, "Server listening") {
			pid = m[1]
		}
		syslog = append(syslog, fmt.Sprintf("%s testhost sshd[%s]: %s", stamp, pid, line))
	}
	file := filepath.Join(t.TempDir(), "auth.log")
	require.NoError(t, os.WriteFile(file, []byte(strings.Join(syslog, "\n")+"\n"), 0o600))

	out, err := exec.Command(fail2ban, "--print-all-matched", file, "/etc/fail2ban/filter.d/sshd.conf").CombinedOutput()
	require.NoError(t, err, string(out))
	theirs := matchedLines(string(out))
	require.NotEmpty(t, theirs, "fail2ban matched nothing:\n%s", out)

	ours := failureEvents(t, syslog)
	for _, line := range theirs {
		assert.Contains(t, ours, line, "fail2ban counts this line as a failure, the receiver does not")
	}
	inTheirs := map[string]bool{}
	for _, l := range theirs {
		inTheirs[l] = true
	}
	for line, kind := range ours {
		if !inTheirs[line] {
			t.Logf("a failure here only (%s: fail2ban's filter does not count this kind in mode normal): %s", kind, line)
		}
	}
	t.Logf("fail2ban counted %d failure lines, the receiver %d failure events, over %d lines", len(theirs), len(ours), len(syslog))
	// The brute-force rule counts what fail2ban's jail counts.
	var loginFailures []string
	for _, r := range defaultRules() {
		if r.Name == "brute_force" {
			loginFailures = r.Match.Events
		}
	}
	require.NotEmpty(t, loginFailures)
	var counted int
	for _, kind := range ours {
		for _, k := range loginFailures {
			if kind == k {
				counted++
			}
		}
	}
	assert.Equal(t, len(theirs), counted, "brute_force counts exactly fail2ban's failures")
}

// failureEvents runs lines through a receiver with the default configuration and returns its failure events: the
// line of each, with its event kind.
func failureEvents(t *testing.T, lines []string) map[string]string {
	t.Helper()
	cfg := createDefaultConfig().(*Config)
	tel := componenttest.NewTelemetry()
	t.Cleanup(func() { _ = tel.Shutdown(t.Context()) })
	telemetry, err := metadata.NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(t, err)
	proc, err := newLineHandler(cfg, receivertest.NewNopSettings(metadata.Type), telemetry)
	require.NoError(t, err)
	tokens := make([][]byte, len(lines))
	for i, l := range lines {
		tokens[i] = []byte(l)
	}
	ld := proc.process(tokens, nil, time.Now())
	ours := map[string]string{}
	for _, lr := range ld.ResourceLogs().At(0).ScopeLogs().At(0).LogRecords().All() {
		if lr.EventName() == semconv.EventAuth && attr(lr, "strata.auth.outcome") == "failure" {
			ours[lr.Body().Str()] = attr(lr, "strata.auth.event")
		}
	}
	return ours
}

// TestIntegrationCorpusBesideFail2ban reads testdata/sshd-corpus.log — real-format sshd lines of every failure form
// seen on exposed hosts, the older OpenSSH forms and IPv6 among them — with fail2ban-regex and Debian's sshd filter
// (its default mode, normal) and with the receiver: every line fail2ban counts as a failure is a failure event. Mode
// aggressive also counts connections closed before authenticating, which the receiver reports as closed_preauth and
// disconnected events without an outcome (a brute force would count each attempt twice): those are logged.
func TestIntegrationCorpusBesideFail2ban(t *testing.T) {
	fail2ban := e2e.RequireProgram(t, "fail2ban-regex")
	corpus := filepath.Join("testdata", "sshd-corpus.log")
	raw, err := os.ReadFile(corpus)
	require.NoError(t, err)
	ours := failureEvents(t, strings.Split(strings.TrimSpace(string(raw)), "\n"))
	for _, mode := range []string{"normal", "aggressive"} {
		out, err := exec.Command(fail2ban, "--print-all-matched", corpus, "/etc/fail2ban/filter.d/sshd.conf[mode="+mode+"]").CombinedOutput()
		require.NoError(t, err, string(out))
		theirs := matchedLines(string(out))
		require.NotEmpty(t, theirs, "fail2ban matched nothing:\n%s", out)
		for _, line := range theirs {
			switch _, ok := ours[line]; {
			case !ok && mode == "normal":
				t.Errorf("fail2ban counts this line as a failure, the receiver does not: %s", line)
			case !ok:
				t.Logf("mode %s: fail2ban counts this line as a failure, the receiver as no outcome: %s", mode, line)
			}
		}
		t.Logf("mode %s: fail2ban counted %d failure lines, the receiver %d failure events", mode, len(theirs), len(ours))
	}
}

// matchedLines reads the "Matched line(s)" block of fail2ban-regex --print-all-matched.
func matchedLines(out string) []string {
	var lines []string
	in := false
	sc := bufio.NewScanner(strings.NewReader(out))
	for sc.Scan() {
		l := sc.Text()
		switch {
		case strings.HasPrefix(l, "|- Matched line(s):"):
			in = true
		case in && strings.HasPrefix(l, "|  "):
			lines = append(lines, strings.TrimPrefix(l, "|  "))
		case in:
			return lines
		}
	}
	return lines
}
