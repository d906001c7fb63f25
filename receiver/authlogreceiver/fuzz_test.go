package authlogreceiver

import (
	"bufio"
	"context"
	"os"
	"testing"
	"time"

	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/component/componenttest"
	"go.opentelemetry.io/collector/receiver/receivertest"

	"github.com/otelstrata/strata/receiver/authlogreceiver/internal/metadata"
)

// fuzzSeeds are real lines of every shape the receiver reads, and the lines that once crashed it.
var fuzzSeeds = []string{
	"Nov 24 06:12:07 web-1 sshd[20315]: Failed password for root from 203.0.113.7 port 40118 ssh2",
	"<38>1 2026-11-24T06:12:07.880335+00:00 web-1 sshd 20315 - - Accepted publickey for alice from 2001:db8::17 port 42424 ssh2: ED25519 SHA256:qEb",
	"<86>Nov 24 06:12:07 web-1 sudo:    alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/bin/sh",
	"Nov 24 06:12:07 web-1 su[81]: FAILED SU (to root) alice on pts/0",
	"Nov 24 06:12:07 web-1 useradd[90]: new user: name=mallory, UID=1001, GID=1001, home=/home/mallory, shell=/bin/bash",
	"Nov 24 06:12:07 web-1 sshd[1]: pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
	"Nov 24 06:12:07 web-1 sshd[1]: Received disconnect from 203.0.113.8 port 50042:3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
	"Nov 24 06:12:07 web-1 sshd[1]: reverse mapping checking getaddrinfo for x.example [203.0.113.9] failed - POSSIBLE BREAK-IN ATTEMPT!",
	"Nov 24 06:12:07 web-1 sshd[1]: ROOT LOGIN REFUSED FROM \u00a0",
	"Nov 24 06:12:07 web-1 sshd[1]: ROOT LOGIN REFUSED FROM \v\f\u2003\u0085",
	"Nov 24 06:12:07 web-1 sudo: alice :  incorrect password attempts ; USER=root",
	`{"ts":"2026-11-24T10:00:00Z","user":{"email":"a@shop.test"},"client":{"ip":"203.0.113.7"},"result":"FAILURE"}`,
	`{"ts":1e400,"user":[1,2],"client":{"ip":"::ffff:203.0.113.7"},"result":"ok","port":-1}`,
	"2026-11-24T06:12:01.114201+00:00 web-1 sshd[20311]: Invalid user oracle from 203.0.113.7 port 40112",
}

// FuzzLine feeds one line in each format through the whole path of the receiver (envelope, message, JSON mapping,
// detections, records): no line may panic it.
func FuzzLine(f *testing.F) {
	for _, s := range fuzzSeeds {
		f.Add(s)
	}
	file, err := os.Open("../../examples/quickstart/auth-sample.log")
	require.NoError(f, err)
	scanner := bufio.NewScanner(file)
	for scanner.Scan() {
		f.Add(scanner.Text())
	}
	require.NoError(f, file.Close())

	tel := componenttest.NewTelemetry()
	f.Cleanup(func() { _ = tel.Shutdown(context.Background()) })
	telemetry, err := metadata.NewTelemetryBuilder(tel.NewTelemetrySettings())
	require.NoError(f, err)
	var handlers []*lineHandler
	for _, format := range formats {
		cfg := createDefaultConfig().(*Config)
		cfg.Timezone, cfg.Format, cfg.Unrecognized = "UTC", format, unrecognizedPassthrough
		cfg.JSON.Timestamp, cfg.JSON.User, cfg.JSON.SourceAddress, cfg.JSON.Outcome = "ts", "user.email", "client.ip", "result"
		cfg.JSON.SourcePort, cfg.JSON.Event, cfg.JSON.Message = "port", "event", "msg"
		p, err := newLineHandler(cfg, receivertest.NewNopSettings(metadata.Type), telemetry)
		require.NoError(f, err)
		handlers = append(handlers, p)
	}
	now := time.Date(2026, 11, 25, 0, 0, 0, 0, time.UTC)
	f.Fuzz(func(t *testing.T, line string) {
		for _, p := range handlers {
			for range 3 { // the same line again reaches the detections' thresholds
				p.process([][]byte{[]byte(line)}, map[string]any{"log.file.name": "auth.log"}, now)
			}
			p.metrics(now)
		}
	})
}
