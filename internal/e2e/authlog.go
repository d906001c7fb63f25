package e2e

import (
	"fmt"
	"math/rand/v2"
	"net/netip"
	"time"
)

// AuthLines returns n lines of a busy bastion's auth log in syslog form, one line every 200 ms from 2026-11-24:
// mostly attacks from about 16,000 sources (failed passwords, invalid users, PAM lines, disconnects), some logins,
// sudo and noise. The same n gives the same lines.
func AuthLines(n int) []string {
	rng := rand.New(rand.NewPCG(1, 2))
	users := []string{"root", "admin", "oracle", "test", "ubuntu", "pi", "postgres", "git", "deploy", "alice"}
	lines := make([]string, 0, n)
	for i := 0; len(lines) < n; i++ {
		ts := time.Date(2026, 11, 24, 0, 0, 0, 0, time.UTC).Add(time.Duration(i) * 200 * time.Millisecond).Format(time.Stamp)
		src := netip.AddrFrom4([4]byte{203, 0, byte(rng.IntN(64)), byte(rng.IntN(256))})
		user := users[rng.IntN(len(users))]
		port := 30000 + rng.IntN(30000)
		pid := 10000 + rng.IntN(50000)
		var msg string
		switch r := rng.IntN(100); {
		case r < 40:
			msg = fmt.Sprintf("Failed password for %s from %s port %d ssh2", user, src, port)
		case r < 55:
			msg = fmt.Sprintf("Invalid user %s from %s port %d", user, src, port)
		case r < 65:
			msg = fmt.Sprintf("pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=%s  user=%s", src, user)
		case r < 78:
			msg = fmt.Sprintf("Connection closed by authenticating user %s %s port %d [preauth]", user, src, port)
		case r < 82:
			msg = fmt.Sprintf("Received disconnect from %s port %d:11: Bye Bye [preauth]", src, port)
		case r < 86:
			msg = fmt.Sprintf("Accepted publickey for alice from 192.0.2.%d port %d ssh2: ED25519 SHA256:abcdef", rng.IntN(20), port)
		case r < 90:
			msg = "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)"
		case r < 93:
			lines = append(lines, fmt.Sprintf("%s bastion sudo:    alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/journalctl -u nginx", ts))
			continue
		default:
			msg = fmt.Sprintf("Did not receive identification string from %s port %d", src, port)
		}
		lines = append(lines, fmt.Sprintf("%s bastion sshd[%d]: %s", ts, pid, msg))
	}
	return lines
}
