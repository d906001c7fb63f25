package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"net/netip"
	"strconv"
	"strings"

	"github.com/otelstrata/strata/internal/semconv"
)

// Event kinds (strata.auth.event).
const (
	kindFailedAuth        = "failed_auth"         // sshd: Failed <method> for ..., PAM: Authentication failure for ...
	kindFailedPublickey   = "failed_publickey"    // sshd: Failed publickey for ... (a client trying its keys in turn)
	kindAccepted          = "accepted"            // sshd: Accepted <method> for ...
	kindInvalidUser       = "invalid_user"        // sshd: Invalid user ... from ...
	kindNotAllowed        = "not_allowed"         // sshd: User ... not allowed because ...; ROOT LOGIN REFUSED
	kindMaxAuthExceeded   = "max_auth_exceeded"   // sshd: maximum authentication attempts exceeded; Too many authentication failures
	kindClosedPreauth     = "closed_preauth"      // sshd: Connection closed by [authenticating|invalid] user ... [preauth]
	kindDisconnected      = "disconnected"        // sshd: Disconnected from ...; Received disconnect from ...
	kindNoIdentification  = "no_identification"   // sshd: Did not receive identification string from ...
	kindProtocolError     = "protocol_error"      // sshd: banner exchange, kex, bad protocol version, unable to negotiate
	kindAuthTimeout       = "auth_timeout"        // sshd: Timeout before authentication
	kindBreakInAttempt    = "break_in_attempt"    // sshd: ... POSSIBLE BREAK-IN ATTEMPT!
	kindPAMAuthFailure    = "pam_auth_failure"    // pam_unix(...:auth): authentication failure; PAM: Authentication failure for
	kindPAMUserUnknown    = "pam_user_unknown"    // pam_unix(...:auth): check pass; user unknown
	kindSessionOpened     = "session_opened"      // pam_unix(...:session): session opened for user ...
	kindSessionClosed     = "session_closed"      // pam_unix(...:session): session closed for user ...
	kindSudoCommand       = "sudo_command"        // sudo: alice : TTY=... ; USER=root ; COMMAND=...
	kindSudoAuthFailure   = "sudo_auth_failure"   // sudo: alice : 3 incorrect password attempts ; ...
	kindSudoNotInSudoers  = "sudo_not_in_sudoers" // sudo: bob : user NOT in sudoers ; ...
	kindSudoDenied        = "sudo_command_denied" // sudo: bob : command not allowed ; ...
	kindSu                = "su"                  // su: (to root) alice on pts/0
	kindSuFailure         = "su_failure"          // su: FAILED SU (to root) alice on pts/0
	kindAccountCreated    = "account_created"     // useradd: new user: name=...
	kindAccountDeleted    = "account_deleted"     // userdel: delete user '...'
	kindAccountModified   = "account_modified"    // usermod: change user ..., lock/unlock; chage
	kindPasswordChanged   = "password_changed"    // passwd, chpasswd, usermod -p
	kindGroupCreated      = "group_created"       // useradd/groupadd: new group: name=...
	kindGroupDeleted      = "group_deleted"       // userdel/groupdel: removed group ...
	kindGroupMemberAdded  = "group_member_added"  // usermod -aG: add '...' to group '...'; gpasswd -a
	kindGroupMemberRemove = "group_member_removed"
)

// event is one recognised line. Its strings are slices of the line.
type event struct {
	kind        string
	outcome     string // semconv.OutcomeSuccess, OutcomeFailure, or "" for lines that decide no authentication
	method      string
	user        string
	targetUser  string
	group       string
	source      netip.Addr
	port        int
	reason      string
	command     string
	invalidUser bool
	count       int // attempts the line stands for (sudo's "3 incorrect password attempts"), 1 otherwise
}

// recognize reads the message of a line written by process into ev, and says whether it is one it knows.
func recognize(process, msg string, ev *event) bool {
	*ev = event{count: 1}
	if strings.HasPrefix(msg, "pam_") {
		return recognizePAM(msg, ev)
	}
	switch process {
	case "sshd", "sshd-session", "sshd-auth":
		return recognizeSSHD(msg, ev)
	case "sudo":
		return recognizeSudo(msg, ev)
	case "su":
		return recognizeSu(msg, ev)
	case "useradd", "usermod", "userdel", "groupadd", "groupdel", "groupmod", "gpasswd", "passwd", "chpasswd", "chage", "adduser", "deluser":
		return recognizeAccount(msg, ev)
	}
	return false
}

// firstField returns the first word of s, or "" when s holds only white space.
func firstField(s string) string {
	if f := strings.Fields(s); len(f) > 0 {
		return f[0]
	}
	return ""
}

// breakInAttempt reads sshd's two reverse-mapping warnings:
// "reverse mapping checking getaddrinfo for <name> [<ip>] failed - POSSIBLE BREAK-IN ATTEMPT!" and
// "Address <ip> maps to <name>, but this does not map back to the address - POSSIBLE BREAK-IN ATTEMPT!".
func breakInAttempt(msg string, ev *event) bool {
	ev.kind, ev.reason = kindBreakInAttempt, "reverse DNS mismatch"
	if strings.HasPrefix(msg, "Address ") {
		addr, _, _ := strings.Cut(msg[len("Address "):], " ")
		ev.source, _ = netip.ParseAddr(addr)
		return ev.source.IsValid()
	}
	if open := strings.IndexByte(msg, '['); open >= 0 {
		if end := strings.IndexByte(msg[open:], ']'); end > 0 {
			ev.source, _ = netip.ParseAddr(msg[open+1 : open+end])
		}
	}
	return ev.source.IsValid()
}

// fromAddress reads "<user> from <ip> port <port>[ ...]" (the user may contain spaces: the last " from " splits).
func fromAddress(s string, ev *event) bool {
	user, rest, ok := cutLast(s, " from ")
	if !ok {
		return false
	}
	ev.user = user
	return addressPort(rest, ev)
}

// userAddress reads "[authenticating |invalid ]user <user> <ip> port <port>" or "<ip> port <port>".
func userAddress(s string, ev *event) bool {
	switch {
	case strings.HasPrefix(s, "authenticating user "):
		s = s[len("authenticating user "):]
	case strings.HasPrefix(s, "invalid user "):
		s, ev.invalidUser = s[len("invalid user "):], true
	case strings.HasPrefix(s, "user "):
		s = s[len("user "):]
	default:
		return addressPort(s, ev)
	}
	// <user> <ip> port <port>: the address is the third field from the end.
	i := strings.LastIndex(s, " port ")
	if i < 0 {
		return false
	}
	j := strings.LastIndexByte(s[:i], ' ')
	if j < 0 {
		return false
	}
	ev.user = s[:j]
	return addressPort(s[j+1:], ev)
}

// cutAfterPort splits "<who> <ip> port <port>: <reason>" after the port, at the last ": " whose left side ends in
// " <ip> port <digits>": a user name may itself hold ": " and a fake address, never after the real one.
func cutAfterPort(s string) (who, reason string, ok bool) {
	for end := len(s); ; {
		i := strings.LastIndex(s[:end], ": ")
		if i < 0 {
			return s, "", false
		}
		left := s[:i]
		if p := strings.LastIndex(left, " port "); p >= 0 && isDigits(left[p+len(" port "):]) {
			if a := strings.LastIndexByte(left[:p], ' '); a >= 0 {
				if _, err := netip.ParseAddr(left[a+1 : p]); err == nil {
					return left, s[i+2:], true
				}
			}
		}
		end = i
	}
}

// addressPort reads "<ip> port <port>[ anything]" or a bare "<ip>".
func addressPort(s string, ev *event) bool {
	addr, rest, hasPort := strings.Cut(s, " port ")
	var err error
	if ev.source, err = netip.ParseAddr(addr); err != nil {
		return false
	}
	if hasPort {
		end := 0
		for end < len(rest) && rest[end] >= '0' && rest[end] <= '9' {
			end++
		}
		ev.port, _ = strconv.Atoi(rest[:end])
	}
	return true
}

func cutInvalidUser(user string) (string, bool) {
	for _, p := range []string{"invalid user ", "illegal user "} {
		if strings.HasPrefix(user, p) {
			return user[len(p):], true
		}
	}
	return user, false
}

func cutLast(s, sep string) (string, string, bool) {
	i := strings.LastIndex(s, sep)
	if i < 0 {
		return s, "", false
	}
	return s[:i], s[i+len(sep):], true
}

// recognizePAM reads pam_unix's lines, whatever program logged them: "pam_unix(<service>:<type>): <message>".
func recognizePAM(msg string, ev *event) bool {
	head, rest, ok := strings.Cut(msg, "): ")
	if !ok {
		return false
	}
	_, service, _ := strings.Cut(head, "(")
	service, _, _ = strings.Cut(service, ":")
	switch {
	case strings.HasPrefix(rest, "authentication failure;"):
		// authentication failure; logname= uid=0 euid=0 tty=ssh ruser= rhost=203.0.113.7  user=root
		ev.kind, ev.outcome, ev.method = kindPAMAuthFailure, semconv.OutcomeFailure, "password"
		for _, f := range strings.Fields(rest[len("authentication failure;"):]) {
			k, v, _ := strings.Cut(f, "=")
			switch k {
			case "user":
				ev.user = v
			case "rhost":
				ev.source, _ = netip.ParseAddr(v)
			case "ruser":
				if ev.user == "" && service != "sshd" {
					ev.user = v
				}
			}
		}
		if service == "su" || service == "sudo" {
			// logname is who asked; user is who they tried to become.
			ev.targetUser = ev.user
			ev.user = fieldValue(rest, "logname=")
		}
		return true
	case strings.HasPrefix(rest, "check pass; user unknown"):
		ev.kind, ev.outcome, ev.invalidUser = kindPAMUserUnknown, semconv.OutcomeFailure, true
		return true
	case strings.HasPrefix(rest, "session opened for user "):
		// session opened for user root(uid=0) by alice(uid=1000)
		who, by, _ := strings.Cut(rest[len("session opened for user "):], " by ")
		ev.kind, ev.targetUser = kindSessionOpened, stripUID(who)
		ev.user = stripUID(by)
		if ev.user == "" {
			ev.user, ev.targetUser = ev.targetUser, ""
		}
		return true
	case strings.HasPrefix(rest, "session closed for user "):
		ev.kind, ev.user = kindSessionClosed, stripUID(rest[len("session closed for user "):])
		return true
	case strings.HasPrefix(rest, "password changed for "):
		ev.kind, ev.targetUser = kindPasswordChanged, strings.TrimSpace(rest[len("password changed for "):])
		return true
	}
	return false
}

// stripUID turns "alice(uid=1000)" into alice and "(uid=0)" into "".
func stripUID(s string) string {
	name, _, _ := strings.Cut(strings.TrimSpace(s), "(")
	return name
}

func fieldValue(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	v, _, _ := strings.Cut(s[i+len(key):], " ")
	return v
}

// recognizeSudo reads "<user> : [<reason> ; ]TTY=<tty> ; PWD=<dir> ; USER=<target> ; COMMAND=<command>".
func recognizeSudo(msg string, ev *event) bool {
	user, rest, ok := strings.Cut(strings.TrimSpace(msg), " : ")
	if !ok || user == "" || strings.ContainsRune(user, ' ') {
		return false
	}
	ev.user = user
	ev.kind, ev.outcome = kindSudoCommand, semconv.OutcomeSuccess
	for len(rest) > 0 {
		var field string
		field, rest, _ = strings.Cut(rest, " ; ")
		key, value, isKV := strings.Cut(field, "=")
		switch {
		case isKV && key == "USER":
			ev.targetUser = value
		case isKV && key == "COMMAND":
			ev.command = value + joinRest(rest) // a command may itself contain " ; "
			rest = ""
		case isKV && (key == "TTY" || key == "PWD" || key == "ENV" || key == "GROUP" || key == "TSID"):
		case strings.Contains(field, "incorrect password attempt"):
			ev.kind, ev.outcome, ev.reason = kindSudoAuthFailure, semconv.OutcomeFailure, field
			ev.count, _ = strconv.Atoi(firstField(field))
			ev.count = max(ev.count, 1)
		case field == "a password is required" || field == "authentication failure":
			ev.kind, ev.outcome, ev.reason = kindSudoAuthFailure, semconv.OutcomeFailure, field
		case field == "user NOT in sudoers" || field == "user NOT authorized on host":
			ev.kind, ev.outcome, ev.reason = kindSudoNotInSudoers, semconv.OutcomeFailure, field
		case field == "command not allowed":
			ev.kind, ev.outcome, ev.reason = kindSudoDenied, semconv.OutcomeFailure, field
		default:
			ev.reason = field
		}
	}
	return ev.command != "" || ev.kind != kindSudoCommand
}

func joinRest(rest string) string {
	if rest == "" {
		return ""
	}
	return " ; " + rest
}

// recognizeSu reads util-linux's "(to root) alice on pts/0" and "FAILED SU (to root) alice on pts/0", and the
// older "Successful su for root by alice", "+ pts/0 alice:root", "- pts/0 alice:root".
func recognizeSu(msg string, ev *event) bool {
	switch {
	case strings.HasPrefix(msg, "(to ") || strings.HasPrefix(msg, "FAILED SU (to "):
		failed := strings.HasPrefix(msg, "FAILED SU ")
		rest := strings.TrimPrefix(msg, "FAILED SU ")[len("(to "):]
		target, rest, ok := strings.Cut(rest, ") ")
		if !ok {
			return false
		}
		ev.targetUser = target
		ev.user, _, _ = strings.Cut(rest, " on ")
		ev.kind, ev.outcome = kindSu, semconv.OutcomeSuccess
		if failed {
			ev.kind, ev.outcome = kindSuFailure, semconv.OutcomeFailure
		}
		return true
	case strings.HasPrefix(msg, "Successful su for "):
		target, user, ok := strings.Cut(msg[len("Successful su for "):], " by ")
		ev.kind, ev.outcome, ev.targetUser, ev.user = kindSu, semconv.OutcomeSuccess, target, user
		return ok
	case strings.HasPrefix(msg, "+ ") || strings.HasPrefix(msg, "- "):
		f := strings.Fields(msg)
		if len(f) != 3 {
			return false
		}
		user, target, ok := strings.Cut(f[2], ":")
		ev.user, ev.targetUser = user, target
		ev.kind, ev.outcome = kindSu, semconv.OutcomeSuccess
		if msg[0] == '-' {
			ev.kind, ev.outcome = kindSuFailure, semconv.OutcomeFailure
		}
		return ok
	}
	return false
}

// recognizeAccount reads the account and group changes of shadow-utils (useradd, usermod, userdel, groupadd,
// gpasswd, passwd, chage).
func recognizeAccount(msg string, ev *event) bool {
	quoted := func(s string) string { // 'name' -> name
		return strings.Trim(s, "'")
	}
	switch {
	case strings.HasPrefix(msg, "new user: "):
		ev.kind, ev.targetUser = kindAccountCreated, fieldValueComma(msg, "name=")
	case strings.HasPrefix(msg, "new group: ") || strings.HasPrefix(msg, "group added to /etc/group: "):
		ev.kind, ev.group = kindGroupCreated, fieldValueComma(msg, "name=")
	case strings.HasPrefix(msg, "delete user "):
		ev.kind, ev.targetUser = kindAccountDeleted, quoted(msg[len("delete user "):])
	case strings.HasPrefix(msg, "removed group ") || strings.HasPrefix(msg, "group '") && strings.HasSuffix(msg, "' removed"):
		name := strings.TrimPrefix(msg, "removed group ")
		name, _, _ = strings.Cut(strings.TrimPrefix(name, "group "), " ")
		ev.kind, ev.group = kindGroupDeleted, quoted(name)
	case strings.HasPrefix(msg, "add '"):
		// add 'mallory' to group 'sudo' / add 'mallory' to shadow group 'sudo'
		user, rest, ok := strings.Cut(msg[len("add "):], " to ")
		if !ok {
			return false
		}
		rest = strings.TrimPrefix(rest, "shadow ")
		ev.kind, ev.targetUser, ev.group = kindGroupMemberAdded, quoted(user), quoted(strings.TrimPrefix(rest, "group "))
	case strings.HasPrefix(msg, "delete '"):
		user, rest, ok := strings.Cut(msg[len("delete "):], " from ")
		if !ok {
			return false
		}
		rest = strings.TrimPrefix(rest, "shadow ")
		ev.kind, ev.targetUser, ev.group = kindGroupMemberRemove, quoted(user), quoted(strings.TrimPrefix(rest, "group "))
	case strings.HasPrefix(msg, "user ") && strings.Contains(msg, " added by ") && strings.Contains(msg, " to group "):
		// gpasswd: user mallory added by root to group sudo
		target, rest, _ := strings.Cut(msg[len("user "):], " added by ")
		by, group, _ := strings.Cut(rest, " to group ")
		ev.kind, ev.targetUser, ev.user, ev.group = kindGroupMemberAdded, target, by, group
	case strings.HasPrefix(msg, "change user '") && strings.HasSuffix(msg, "' password"):
		ev.kind, ev.targetUser = kindPasswordChanged, quoted(strings.TrimSuffix(msg[len("change user "):], " password"))
	case strings.HasPrefix(msg, "change user '"), strings.HasPrefix(msg, "lock user '"), strings.HasPrefix(msg, "unlock user '"):
		_, rest, _ := strings.Cut(msg, " user ")
		name, reason, _ := strings.Cut(rest, " ")
		ev.kind, ev.targetUser, ev.reason = kindAccountModified, quoted(name), strings.TrimSpace(msg[:strings.Index(msg, " user ")]+" "+reason)
	case strings.HasPrefix(msg, "password for '"):
		// passwd: password for 'mallory' changed by 'root'
		target, by, _ := strings.Cut(msg[len("password for "):], " changed by ")
		ev.kind, ev.targetUser, ev.user = kindPasswordChanged, quoted(target), quoted(by)
	case strings.HasPrefix(msg, "changed password expiry for "):
		ev.kind, ev.targetUser, ev.reason = kindAccountModified, msg[len("changed password expiry for "):], "password expiry changed"
	default:
		return false
	}
	return true
}

// fieldValueComma reads key=value from "a=b, key=value, c=d".
func fieldValueComma(s, key string) string {
	i := strings.Index(s, key)
	if i < 0 {
		return ""
	}
	v, _, _ := strings.Cut(s[i+len(key):], ",")
	return v
}
