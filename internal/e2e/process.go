// Package e2e runs the built distribution and real servers for tests and benchmarks: processes with a bounded
// lifetime on loopback ports, polling for readiness, and an OTLP sink that receives what the collector exports.
package e2e

import (
	"bytes"
	"fmt"
	"math/rand/v2"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	"go.yaml.in/yaml/v3"
)

// FreePort returns a loopback TCP port that was free a moment ago and that this process has not handed out before.
// It is drawn from below the kernel's ephemeral range (ip_local_port_range), where no outgoing connection and no
// listener on port 0 can take it between this call and the program under test binding it; a port picked by the
// kernel would share that range with every connection the tests and the collectors open.
func FreePort(t testing.TB) int {
	t.Helper()
	portsMu.Lock()
	defer portsMu.Unlock()
	low, high := 10000, ephemeralLow()
	for range 1000 {
		port := 0 // the kernel's pick when the ephemeral range leaves no room below it
		if high-low >= 1000 {
			port = low + rand.IntN(high-low) //nolint:gosec // not a secret
		}
		l, err := net.Listen("tcp", fmt.Sprintf("127.0.0.1:%d", port))
		if err != nil {
			continue
		}
		port = l.Addr().(*net.TCPAddr).Port
		_ = l.Close()
		if portsGiven[port] {
			continue
		}
		portsGiven[port] = true
		return port
	}
	t.Fatalf("no free loopback port in [%d, %d)", low, high)
	return 0
}

var (
	portsMu    sync.Mutex
	portsGiven = map[int]bool{}
)

// ephemeralLow returns the first port of the kernel's ephemeral range: Linux's, else 32768 (Linux's default; macOS and
// Windows start at 49152).
func ephemeralLow() int {
	low := 32768
	if data, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range"); err == nil {
		_, _ = fmt.Sscan(string(data), &low)
	}
	return low
}

// Process is a running program under test (the collector, or a real server such as Prometheus).
type Process struct {
	Output *SyncBuffer // what it wrote on stdout and stderr

	name string
	cmd  *exec.Cmd
	done chan struct{}
	err  error // the exit status, valid once done is closed
}

// RequireProgram returns the path of a real server's program (Prometheus, blackbox_exporter, sshd, ...). When it
// is missing the test skips, unless STRATA_REQUIRE_INTEGRATION=1 (CI) makes that a failure: CI must never pass by
// skipping.
func RequireProgram(t testing.TB, program string) string {
	t.Helper()
	path, err := exec.LookPath(program)
	if err == nil {
		return path
	}
	msg := fmt.Sprintf("%s is not installed (scripts/install-test-deps.sh installs it on a root Debian machine)", program)
	if os.Getenv("STRATA_REQUIRE_INTEGRATION") == "1" {
		t.Fatal(msg)
	}
	t.Skip(msg)
	return ""
}

// BinaryEnv names the variable that holds the built distribution's path; the Makefile sets it.
const BinaryEnv = "STRATA_BINARY"

// Binary returns the built distribution named by $STRATA_BINARY, or "" when it is not set: the tests of the binary
// run only when asked, so `go test ./...` never starts a build of the distribution.
func Binary() (string, error) {
	b := os.Getenv(BinaryEnv)
	if b == "" {
		return "", nil
	}
	if _, err := os.Stat(b); err != nil {
		return "", fmt.Errorf("%s: %w", BinaryEnv, err)
	}
	return filepath.Abs(b)
}

// MainWithBinary runs a package's tests when $STRATA_BINARY names the built distribution, and otherwise says how
// to run them and passes (fails in CI, where STRATA_REQUIRE_INTEGRATION is 1); it stores the binary's path in
// *binary first.
func MainWithBinary(m *testing.M, binary *string) {
	b, err := Binary()
	switch {
	case err != nil:
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	case b == "" && os.Getenv("STRATA_REQUIRE_INTEGRATION") == "1":
		fmt.Fprintf(os.Stderr, "%s is not set: CI may not pass these tests by skipping them\n", BinaryEnv)
		os.Exit(1)
	case b == "":
		fmt.Printf("skipped: these tests run the built distribution; `make test` runs them, or set %s=_build/otelcol-strata\n", BinaryEnv)
		os.Exit(0)
	}
	*binary = b
	os.Exit(m.Run())
}

// StartCollector starts binary on configs (merged in order, as the collector merges several --config flags).
func StartCollector(t testing.TB, binary string, configs ...string) *Process {
	t.Helper()
	args := make([]string, 0, len(configs))
	for _, c := range configs {
		args = append(args, "--config="+c)
	}
	return StartProcess(t, binary, args...)
}

// StartProcess starts a program and stops it with SIGTERM when the test ends, unless the test stopped it already.
func StartProcess(t testing.TB, program string, args ...string) *Process {
	t.Helper()
	return StartCmd(t, exec.Command(program, args...))
}

// StartCmd starts a command prepared by the caller (environment, directory) as StartProcess starts a program.
func StartCmd(t testing.TB, cmd *exec.Cmd) *Process {
	t.Helper()
	c := &Process{name: filepath.Base(cmd.Path), cmd: cmd, Output: &SyncBuffer{}, done: make(chan struct{})}
	c.cmd.Stdout, c.cmd.Stderr = c.Output, c.Output
	if err := c.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go func() {
		c.err = c.cmd.Wait()
		close(c.done)
	}()
	t.Cleanup(func() {
		select {
		case <-c.done:
		default:
			_ = c.Stop(30 * time.Second)
		}
		if t.Failed() {
			t.Logf("%s output:\n%s", c.name, c.Output.String())
		}
	})
	return c
}

// PID is the process id.
func (c *Process) PID() int { return c.cmd.Process.Pid }

// Stop sends SIGTERM and waits for the process to exit; the error is its exit status.
func (c *Process) Stop(timeout time.Duration) error {
	if err := c.cmd.Process.Signal(syscall.SIGTERM); err != nil {
		return err
	}
	select {
	case <-c.done:
		return c.err
	case <-time.After(timeout):
		_ = c.cmd.Process.Kill()
		<-c.done
		return fmt.Errorf("no exit %s after SIGTERM", timeout)
	}
}

// WaitFor polls cond every 200 ms until it returns nil, the process exits, or timeout passes.
func (c *Process) WaitFor(t testing.TB, what string, timeout time.Duration, cond func() error) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	for {
		err := cond()
		if err == nil {
			return
		}
		select {
		case <-c.done:
			t.Fatalf("%s exited (%v) while waiting for %s: %v; its last words:\n%s", c.name, c.err, what, err, c.lastLines(3))
		default:
		}
		if time.Now().After(deadline) {
			t.Fatalf("%s: not within %s: %v", what, timeout, err)
		}
		time.Sleep(200 * time.Millisecond)
	}
}

// lastLines returns the end of what the process wrote: where a program that exits says why.
func (c *Process) lastLines(n int) string {
	lines := strings.Split(strings.TrimSpace(c.Output.String()), "\n")
	return strings.Join(lines[max(0, len(lines)-n):], "\n")
}

// HTTPGet returns the body of a GET that answers 200.
func HTTPGet(url string) ([]byte, error) {
	resp, err := http.Get(url) //nolint:gosec // loopback URLs built by the tests
	if err != nil {
		return nil, err
	}
	defer resp.Body.Close()
	var body bytes.Buffer
	if _, err := body.ReadFrom(resp.Body); err != nil {
		return nil, err
	}
	if resp.StatusCode != http.StatusOK {
		return nil, fmt.Errorf("GET %s: %s: %s", url, resp.Status, strings.TrimSpace(body.String()))
	}
	return body.Bytes(), nil
}

// WriteYAML writes v as YAML into path and returns path.
func WriteYAML(t testing.TB, path string, v any) string {
	t.Helper()
	data, err := yaml.Marshal(v)
	if err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(path, data, 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

// SyncBuffer is a bytes.Buffer safe for the process's writes and the test's reads.
type SyncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *SyncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *SyncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}
