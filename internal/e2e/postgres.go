package e2e

import (
	"fmt"
	"os"
	"os/exec"
	"os/user"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"
)

// StartPostgres initialises a PostgreSQL cluster in a temporary directory (Debian's `postgresql` package) and
// starts its server on a free loopback port for the test, as the user postgres when the test runs as root (the
// server refuses root). It returns the DSN of the superuser strata (trust authentication, loopback only) on the
// database postgres; the server stops when the test ends.
func StartPostgres(t testing.TB) string {
	t.Helper()
	initdb := requirePostgresProgram(t, "initdb")
	postgres := requirePostgresProgram(t, "postgres")

	dir, err := os.MkdirTemp("", "strata-postgres-")
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { os.RemoveAll(dir) })
	attr := &syscall.SysProcAttr{}
	if os.Geteuid() == 0 {
		u, err := user.Lookup("postgres")
		if err != nil {
			t.Fatalf("running as root, PostgreSQL needs the user postgres (created by Debian's package): %v", err)
		}
		uid, _ := strconv.Atoi(u.Uid)
		gid, _ := strconv.Atoi(u.Gid)
		if err := os.Chown(dir, uid, gid); err != nil {
			t.Fatal(err)
		}
		attr.Credential = &syscall.Credential{Uid: uint32(uid), Gid: uint32(gid)}
	}
	data := filepath.Join(dir, "data")
	cmd := exec.Command(initdb, "-D", data, "-U", "strata", "--auth=trust", "-E", "UTF8", "--no-sync", "--locale=C")
	cmd.SysProcAttr = attr
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("initdb: %v\n%s", err, out)
	}
	port := FreePort(t)
	cmd = exec.Command(postgres, "-D", data, "-p", strconv.Itoa(port), "-k", dir,
		"-c", "listen_addresses=127.0.0.1", "-c", "fsync=off", "-c", "full_page_writes=off")
	cmd.SysProcAttr = attr
	p := StartCmd(t, cmd)
	p.WaitFor(t, "PostgreSQL accepting connections", 60*time.Second, func() error {
		if !strings.Contains(p.Output.String(), "ready to accept connections") {
			return fmt.Errorf("not ready yet")
		}
		return nil
	})
	return fmt.Sprintf("postgres://strata@127.0.0.1:%d/postgres?sslmode=disable", port)
}

// requirePostgresProgram finds a PostgreSQL server program on the PATH or where Debian puts it
// (/usr/lib/postgresql/VERSION/bin, not on the PATH).
func requirePostgresProgram(t testing.TB, name string) string {
	t.Helper()
	if path, err := exec.LookPath(name); err == nil {
		return path
	}
	if found, _ := filepath.Glob("/usr/lib/postgresql/*/bin/" + name); len(found) > 0 {
		return found[len(found)-1]
	}
	return RequireProgram(t, name) // skips, or fails under STRATA_REQUIRE_INTEGRATION=1
}
