package authlogreceiver

import (
	"net/netip"
	"testing"

	"github.com/stretchr/testify/assert"
)

// TestRecognize runs the recogniser over real lines (as sshd, PAM, sudo, su and shadow-utils write them on Debian
// and RHEL-family hosts) and checks what it reads from each.
func TestRecognize(t *testing.T) {
	ip := netip.MustParseAddr
	for _, tc := range []struct {
		process, msg string
		want         event
	}{
		// sshd, password and other methods, valid and invalid users
		{"sshd", "Failed password for root from 203.0.113.7 port 50022 ssh2",
			event{kind: kindFailedAuth, outcome: "failure", method: "password", user: "root", source: ip("203.0.113.7"), port: 50022}},
		{"sshd", "Failed password for invalid user admin from 203.0.113.7 port 50024 ssh2",
			event{kind: kindFailedAuth, outcome: "failure", method: "password", user: "admin", invalidUser: true, source: ip("203.0.113.7"), port: 50024}},
		{"sshd", "Failed publickey for alice from 2001:db8::17 port 42424 ssh2: RSA SHA256:AbCdEf0123456789",
			event{kind: kindFailedPublickey, outcome: "failure", method: "publickey", user: "alice", source: ip("2001:db8::17"), port: 42424}},
		{"sshd", "Failed keyboard-interactive/pam for invalid user test from 198.51.100.4 port 6011 ssh2",
			event{kind: kindFailedAuth, outcome: "failure", method: "keyboard-interactive/pam", user: "test", invalidUser: true, source: ip("198.51.100.4"), port: 6011}},
		{"sshd", "Failed none for invalid user  from 198.51.100.4 port 6012 ssh2",
			event{kind: kindFailedAuth, outcome: "failure", method: "none", invalidUser: true, source: ip("198.51.100.4"), port: 6012}},
		{"sshd-session", "Failed password for invalid user john doe from 198.51.100.4 port 6013 ssh2",
			event{kind: kindFailedAuth, outcome: "failure", method: "password", user: "john doe", invalidUser: true, source: ip("198.51.100.4"), port: 6013}},
		{"sshd", "Invalid user oracle from 192.0.2.55 port 38810",
			event{kind: kindInvalidUser, outcome: "failure", user: "oracle", invalidUser: true, source: ip("192.0.2.55"), port: 38810}},
		{"sshd", "Invalid user  from 192.0.2.55 port 38811",
			event{kind: kindInvalidUser, outcome: "failure", invalidUser: true, source: ip("192.0.2.55"), port: 38811}},
		{"sshd", "Accepted password for alice from 192.0.2.10 port 51234 ssh2",
			event{kind: kindAccepted, outcome: "success", method: "password", user: "alice", source: ip("192.0.2.10"), port: 51234}},
		{"sshd", "Accepted publickey for strataprobe from 127.0.0.1 port 46424 ssh2: ED25519 SHA256:qEbWUq5niDVYNW17aDUNcTUWZW5hww8vExEjP/DcnsI",
			event{kind: kindAccepted, outcome: "success", method: "publickey", user: "strataprobe", source: ip("127.0.0.1"), port: 46424}},
		{"sshd", "Connection closed by authenticating user root 203.0.113.7 port 50030 [preauth]",
			event{kind: kindClosedPreauth, reason: "Connection closed", user: "root", source: ip("203.0.113.7"), port: 50030}},
		{"sshd", "Connection closed by invalid user nosuchuser 127.0.0.1 port 40668 [preauth]",
			event{kind: kindClosedPreauth, reason: "Connection closed", user: "nosuchuser", invalidUser: true, source: ip("127.0.0.1"), port: 40668}},
		{"sshd", "Connection reset by 203.0.113.9 port 40100 [preauth]",
			event{kind: kindClosedPreauth, reason: "Connection reset", source: ip("203.0.113.9"), port: 40100}},
		{"sshd", "Disconnected from invalid user admin 203.0.113.7 port 50024 [preauth]",
			event{kind: kindDisconnected, user: "admin", invalidUser: true, source: ip("203.0.113.7"), port: 50024}},
		{"sshd", "Disconnected from user strataprobe 127.0.0.1 port 46424",
			event{kind: kindDisconnected, user: "strataprobe", source: ip("127.0.0.1"), port: 46424}},
		{"sshd", "Received disconnect from 127.0.0.1 port 46424:11: disconnected by user",
			event{kind: kindDisconnected, reason: "disconnected by user", source: ip("127.0.0.1"), port: 46424}},
		{"sshd", "error: maximum authentication attempts exceeded for root from 203.0.113.7 port 50040 ssh2 [preauth]",
			event{kind: kindMaxAuthExceeded, outcome: "failure", reason: "maximum authentication attempts exceeded", user: "root", source: ip("203.0.113.7"), port: 50040}},
		{"sshd", "error: maximum authentication attempts exceeded for invalid user pi from 203.0.113.8 port 50041 ssh2 [preauth]",
			event{kind: kindMaxAuthExceeded, outcome: "failure", reason: "maximum authentication attempts exceeded", user: "pi", invalidUser: true, source: ip("203.0.113.8"), port: 50041}},
		{"sshd", "Disconnecting invalid user pi 203.0.113.8 port 50041: Too many authentication failures [preauth]",
			event{kind: kindDisconnected, reason: "Too many authentication failures", user: "pi", invalidUser: true, source: ip("203.0.113.8"), port: 50041}},
		{"sshd", "Received disconnect from 203.0.113.8 port 50042:3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
			event{kind: kindMaxAuthExceeded, outcome: "failure", reason: "com.jcraft.jsch.JSchException: Auth fail", source: ip("203.0.113.8"), port: 50042}},
		{"sshd", "User not known to the underlying authentication module for bob from 203.0.113.9",
			event{kind: kindInvalidUser, outcome: "failure", user: "bob", invalidUser: true, source: ip("203.0.113.9")}},
		{"sshd", "User carol not allowed because account is locked",
			event{kind: kindNotAllowed, outcome: "failure", user: "carol", reason: "not allowed because account is locked"}},
		{"sshd", "Did not receive identification string from 198.51.100.23 port 61000",
			event{kind: kindNoIdentification, outcome: "failure", reason: "did not receive identification string", source: ip("198.51.100.23"), port: 61000}},
		{"sshd", "banner exchange: Connection from 198.51.100.23 port 61001: invalid format",
			event{kind: kindProtocolError, outcome: "failure", reason: "banner exchange: invalid format", source: ip("198.51.100.23"), port: 61001}},
		{"sshd", "Unable to negotiate with 198.51.100.24 port 61002: no matching key exchange method found. Their offer: diffie-hellman-group1-sha1 [preauth]",
			event{kind: kindProtocolError, outcome: "failure", reason: "no matching key exchange method found. Their offer: diffie-hellman-group1-sha1", source: ip("198.51.100.24"), port: 61002}},
		{"sshd", "error: kex_exchange_identification: Connection closed by remote host",
			event{kind: kindProtocolError, outcome: "failure", reason: "kex_exchange_identification: Connection closed by remote host"}},
		{"sshd", "Bad protocol version identification 'GET / HTTP/1.1' from 198.51.100.25 port 61003",
			event{kind: kindProtocolError, outcome: "failure", reason: "bad protocol version identification", source: ip("198.51.100.25"), port: 61003}},
		{"sshd", "fatal: Timeout before authentication for 198.51.100.26 port 61004",
			event{kind: kindAuthTimeout, reason: "timeout before authentication", source: ip("198.51.100.26"), port: 61004}},
		{"sshd", "reverse mapping checking getaddrinfo for host-203-0-113-50.example.net [203.0.113.50] failed - POSSIBLE BREAK-IN ATTEMPT!",
			event{kind: kindBreakInAttempt, reason: "reverse DNS mismatch", source: ip("203.0.113.50")}},
		{"sshd", "Address 203.0.113.51 maps to evil.example.com, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!",
			event{kind: kindBreakInAttempt, reason: "reverse DNS mismatch", source: ip("203.0.113.51")}},
		{"sshd", "error: PAM: Authentication failure for root from 203.0.113.7",
			event{kind: kindFailedAuth, outcome: "failure", method: "password", user: "root", source: ip("203.0.113.7")}},
		{"sshd", "PAM: Authentication failure for illegal user ftp from 203.0.113.9",
			event{kind: kindFailedAuth, outcome: "failure", method: "password", user: "ftp", invalidUser: true, source: ip("203.0.113.9")}},
		{"sshd", "User root from 203.0.113.7 not allowed because not listed in AllowUsers",
			event{kind: kindNotAllowed, outcome: "failure", user: "root", reason: "not allowed because not listed in AllowUsers", source: ip("203.0.113.7")}},
		{"sshd", "ROOT LOGIN REFUSED FROM 203.0.113.7 port 50050",
			event{kind: kindNotAllowed, outcome: "failure", user: "root", reason: "root login refused", source: ip("203.0.113.7")}},
		{"sshd", "ROOT LOGIN REFUSED FROM \u00a0\u2003",
			event{kind: kindNotAllowed, outcome: "failure", user: "root", reason: "root login refused"}},
		// the forms of older OpenSSH releases (still in honeypot logs), and IPv6
		{"sshd", "Received disconnect from 203.0.113.8: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
			event{kind: kindMaxAuthExceeded, outcome: "failure", reason: "com.jcraft.jsch.JSchException: Auth fail", source: ip("203.0.113.8")}},
		{"sshd", "Received disconnect from 2001:db8::8: 3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
			event{kind: kindMaxAuthExceeded, outcome: "failure", reason: "com.jcraft.jsch.JSchException: Auth fail", source: ip("2001:db8::8")}},
		{"sshd", "Received disconnect from 2001:db8::8 port 50042:3: com.jcraft.jsch.JSchException: Auth fail [preauth]",
			event{kind: kindMaxAuthExceeded, outcome: "failure", reason: "com.jcraft.jsch.JSchException: Auth fail", source: ip("2001:db8::8"), port: 50042}},
		{"sshd", "Received disconnect from 2001:db8::8 port 50042:11: Bye Bye [preauth]",
			event{kind: kindDisconnected, reason: "Bye Bye", source: ip("2001:db8::8"), port: 50042}},
		{"sshd", "Disconnecting: Too many authentication failures for root [preauth]",
			event{kind: kindMaxAuthExceeded, outcome: "failure", reason: "Too many authentication failures", user: "root"}},
		{"sshd", "Disconnecting: Too many authentication failures for invalid user admin [preauth]",
			event{kind: kindMaxAuthExceeded, outcome: "failure", reason: "Too many authentication failures", user: "admin", invalidUser: true}},
		// a user name that holds ": " and a fake address does not move the source
		{"sshd", "Disconnecting invalid user x 198.51.100.66 port 1: 203.0.113.8 port 50041: Too many authentication failures [preauth]",
			event{kind: kindDisconnected, reason: "Too many authentication failures", user: "x 198.51.100.66 port 1:", invalidUser: true, source: ip("203.0.113.8"), port: 50041}},
		// PAM, the form Linux hosts log
		{"sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root",
			event{kind: kindPAMAuthFailure, outcome: "failure", method: "password", user: "root", source: ip("203.0.113.7")}},
		{"sshd", "pam_unix(sshd:auth): authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7",
			event{kind: kindPAMAuthFailure, outcome: "failure", method: "password", source: ip("203.0.113.7")}},
		{"sshd", "pam_unix(sshd:auth): check pass; user unknown",
			event{kind: kindPAMUserUnknown, outcome: "failure", invalidUser: true}},
		{"sshd", "pam_unix(sshd:session): session opened for user alice(uid=1000) by (uid=0)",
			event{kind: kindSessionOpened, user: "alice"}},
		{"sshd", "pam_unix(sshd:session): session closed for user alice",
			event{kind: kindSessionClosed, user: "alice"}},
		{"sudo", "pam_unix(sudo:auth): authentication failure; logname=bob uid=1001 euid=0 tty=/dev/pts/1 ruser=bob rhost=  user=bob",
			event{kind: kindPAMAuthFailure, outcome: "failure", method: "password", user: "bob", targetUser: "bob"}},
		{"sudo", "pam_unix(sudo:session): session opened for user root(uid=0) by alice(uid=1000)",
			event{kind: kindSessionOpened, user: "alice", targetUser: "root"}},
		{"su", "pam_unix(su:auth): authentication failure; logname=alice uid=1000 euid=0 tty=pts/0 ruser=alice rhost=  user=root",
			event{kind: kindPAMAuthFailure, outcome: "failure", method: "password", user: "alice", targetUser: "root"}},
		{"passwd", "pam_unix(passwd:chauthtok): password changed for mallory",
			event{kind: kindPasswordChanged, targetUser: "mallory"}},
		{"chpasswd", "pam_unix(chpasswd:chauthtok): password changed for strataprobe",
			event{kind: kindPasswordChanged, targetUser: "strataprobe"}},
		// sudo
		{"sudo", "   alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
			event{kind: kindSudoCommand, outcome: "success", user: "alice", targetUser: "root", command: "/usr/bin/id"}},
		{"sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=postgres ; COMMAND=/usr/bin/psql -c select 1 ; select 2",
			event{kind: kindSudoCommand, outcome: "success", user: "alice", targetUser: "postgres", command: "/usr/bin/psql -c select 1 ; select 2"}},
		{"sudo", "alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id",
			event{kind: kindSudoAuthFailure, outcome: "failure", user: "alice", targetUser: "root", command: "/usr/bin/id", reason: "3 incorrect password attempts", count: 3}},
		{"sudo", "    bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash",
			event{kind: kindSudoNotInSudoers, outcome: "failure", user: "bob", targetUser: "root", command: "/bin/bash", reason: "user NOT in sudoers"}},
		{"sudo", "bob : command not allowed ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/usr/bin/passwd root",
			event{kind: kindSudoDenied, outcome: "failure", user: "bob", targetUser: "root", command: "/usr/bin/passwd root", reason: "command not allowed"}},
		{"sudo", "alice : a password is required ; TTY=unknown ; PWD=/ ; USER=root ; COMMAND=/bin/true",
			event{kind: kindSudoAuthFailure, outcome: "failure", user: "alice", targetUser: "root", command: "/bin/true", reason: "a password is required"}},
		// su
		{"su", "(to root) alice on pts/0", event{kind: kindSu, outcome: "success", user: "alice", targetUser: "root"}},
		{"su", "FAILED SU (to root) alice on pts/0", event{kind: kindSuFailure, outcome: "failure", user: "alice", targetUser: "root"}},
		{"su", "Successful su for root by alice", event{kind: kindSu, outcome: "success", user: "alice", targetUser: "root"}},
		{"su", "+ pts/0 alice:root", event{kind: kindSu, outcome: "success", user: "alice", targetUser: "root"}},
		{"su", "- pts/0 alice:root", event{kind: kindSuFailure, outcome: "failure", user: "alice", targetUser: "root"}},
		// account and group changes
		{"useradd", "new user: name=mallory, UID=1001, GID=1001, home=/home/mallory, shell=/bin/bash, from=/dev/pts/0",
			event{kind: kindAccountCreated, targetUser: "mallory"}},
		{"useradd", "new group: name=mallory, GID=1001", event{kind: kindGroupCreated, group: "mallory"}},
		{"groupadd", "group added to /etc/group: name=devs, GID=1002", event{kind: kindGroupCreated, group: "devs"}},
		{"usermod", "add 'mallory' to group 'sudo'", event{kind: kindGroupMemberAdded, targetUser: "mallory", group: "sudo"}},
		{"usermod", "add 'mallory' to shadow group 'sudo'", event{kind: kindGroupMemberAdded, targetUser: "mallory", group: "sudo"}},
		{"usermod", "change user 'mallory' password", event{kind: kindPasswordChanged, targetUser: "mallory"}},
		{"usermod", "lock user 'mallory' password", event{kind: kindAccountModified, targetUser: "mallory", reason: "lock password"}},
		{"usermod", "change user 'mallory' shell from '/bin/bash' to '/bin/sh'",
			event{kind: kindAccountModified, targetUser: "mallory", reason: "change shell from '/bin/bash' to '/bin/sh'"}},
		{"gpasswd", "user mallory added by root to group sudo", event{kind: kindGroupMemberAdded, user: "root", targetUser: "mallory", group: "sudo"}},
		{"userdel", "delete user 'mallory'", event{kind: kindAccountDeleted, targetUser: "mallory"}},
		{"userdel", "removed group 'mallory' owned by 'mallory'", event{kind: kindGroupDeleted, group: "mallory"}},
		{"passwd", "password for 'mallory' changed by 'root'", event{kind: kindPasswordChanged, user: "root", targetUser: "mallory"}},
		{"chage", "changed password expiry for mallory", event{kind: kindAccountModified, targetUser: "mallory", reason: "password expiry changed"}},
	} {
		t.Run(tc.process+": "+tc.msg, func(t *testing.T) {
			var ev event
			assert.True(t, recognize(tc.process, tc.msg, &ev), "not recognised")
			if tc.want.count == 0 {
				tc.want.count = 1
			}
			assert.Equal(t, tc.want, ev)
		})
	}
}

// TestRecognizeRejects checks lines that are not authentication events, or not whole ones.
func TestRecognizeRejects(t *testing.T) {
	for _, tc := range []struct{ process, msg string }{
		{"sshd", "Server listening on 0.0.0.0 port 22."},
		{"sshd", "Received signal 15; terminating."},
		{"sshd", "Failed password for root from not-an-address port 22 ssh2"},
		{"sshd", "Accepted password for alice"},
		{"sshd", "Invalid user bob from"},
		{"cron", "pam_unix(cron:session): something new"},
		{"sudo", "no colon here"},
		{"kernel", "Failed password for root from 203.0.113.7 port 22 ssh2"},
		{"useradd", "failed adding user 'x', data deleted"},
	} {
		var ev event
		assert.False(t, recognize(tc.process, tc.msg, &ev), "%s: %s", tc.process, tc.msg)
	}
}
