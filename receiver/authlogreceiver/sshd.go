package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"net/netip"
	"strings"

	"github.com/otelstrata/strata/internal/semconv"
)

// sshdShape is a shape of sshd message: a message that starts with prefix, ends with suffix and contains contains
// (each when set) is read by read, which gets the message and what follows the prefix.
type sshdShape struct {
	prefix, suffix, contains string
	read                     func(msg, rest string, ev *event) bool
}

// sshdShapes are the messages of sshd (OpenSSH 5 to 9) that say something about authentication, in the order
// they are tried: the first shape a message has reads it.
var sshdShapes = []sshdShape{
	// Failed <method> for [invalid user ]<user> from <ip> port <port> ssh2
	{prefix: "Failed ", read: func(_, rest string, ev *event) bool {
		method, rest, ok := strings.Cut(rest, " for ")
		if !ok || !fromAddress(rest, ev) {
			return false
		}
		ev.kind, ev.outcome, ev.method = kindFailedAuth, semconv.OutcomeFailure, method
		if method == "publickey" {
			ev.kind = kindFailedPublickey
		}
		ev.user, ev.invalidUser = cutInvalidUser(ev.user)
		return true
	}},
	// Accepted <method> for <user> from <ip> port <port> ssh2
	{prefix: "Accepted ", read: func(_, rest string, ev *event) bool {
		method, rest, ok := strings.Cut(rest, " for ")
		if !ok || !fromAddress(rest, ev) {
			return false
		}
		ev.kind, ev.outcome, ev.method = kindAccepted, semconv.OutcomeSuccess, method
		return true
	}},
	// Invalid user <user> from <ip> port <port>, Illegal user ... (OpenSSH before 5)
	{prefix: "Invalid user ", read: invalidUser},
	{prefix: "Illegal user ", read: invalidUser},
	{prefix: "maximum authentication attempts exceeded for ", read: func(_, rest string, ev *event) bool {
		if !fromAddress(rest, ev) {
			return false
		}
		ev.kind, ev.outcome, ev.reason = kindMaxAuthExceeded, semconv.OutcomeFailure, "maximum authentication attempts exceeded"
		ev.user, ev.invalidUser = cutInvalidUser(ev.user)
		return true
	}},
	// Disconnecting: Too many authentication failures[ for <user>] (OpenSSH before 7: no address on the line)
	{prefix: "Disconnecting: Too many authentication failures", read: func(_, rest string, ev *event) bool {
		user, _ := strings.CutPrefix(rest, " for ")
		ev.kind, ev.outcome, ev.reason = kindMaxAuthExceeded, semconv.OutcomeFailure, "Too many authentication failures"
		ev.user, ev.invalidUser = cutInvalidUser(user)
		return true
	}},
	// Disconnecting [invalid|authenticating] user <user> <ip> port <port>: Too many authentication failures
	{prefix: "Disconnecting ", read: func(_, rest string, ev *event) bool {
		who, reason, ok := cutAfterPort(rest)
		if !ok || !userAddress(who, ev) {
			return false
		}
		ev.kind, ev.reason = kindDisconnected, reason // after "maximum authentication attempts exceeded": not counted twice
		return true
	}},
	// Connection closed by [authenticating user <user>|invalid user <user>] <ip> port <port>
	{prefix: "Connection closed by ", read: connectionEnded},
	{prefix: "Connection reset by ", read: connectionEnded},
	{prefix: "Disconnected from ", read: func(_, rest string, ev *event) bool {
		if !userAddress(rest, ev) {
			return false
		}
		ev.kind = kindDisconnected
		return true
	}},
	// Received disconnect from <ip> port <port>:<code>: <reason>, or (OpenSSH before 7) <ip>: <code>: <reason>;
	// code 3 with "Auth fail" is a failure
	{prefix: "Received disconnect from ", read: func(_, rest string, ev *event) bool {
		var addr, tail string
		if a, after, ok := strings.Cut(rest, " port "); ok {
			port, t, _ := strings.Cut(after, ":")
			addr, tail = a+" port "+port, t
		} else {
			addr, tail, _ = strings.Cut(rest, ": ")
		}
		code, reason, _ := strings.Cut(strings.TrimPrefix(tail, " "), ": ")
		if !addressPort(addr, ev) {
			return false
		}
		ev.kind, ev.reason = kindDisconnected, reason
		if code == "3" && strings.HasSuffix(reason, "Auth fail") {
			ev.kind, ev.outcome = kindMaxAuthExceeded, semconv.OutcomeFailure
		}
		return true
	}},
	{prefix: "Did not receive identification string from ", read: func(_, rest string, ev *event) bool {
		if !addressPort(rest, ev) {
			return false
		}
		ev.kind, ev.outcome, ev.reason = kindNoIdentification, semconv.OutcomeFailure, "did not receive identification string"
		return true
	}},
	{prefix: "banner exchange: Connection from ", read: func(_, rest string, ev *event) bool {
		addr, reason, _ := strings.Cut(rest, ": ")
		if !addressPort(addr, ev) {
			return false
		}
		ev.kind, ev.outcome, ev.reason = kindProtocolError, semconv.OutcomeFailure, "banner exchange: "+reason
		return true
	}},
	{prefix: "Unable to negotiate with ", read: func(_, rest string, ev *event) bool {
		addr, reason, _ := strings.Cut(rest, ": ")
		if !addressPort(addr, ev) {
			return false
		}
		ev.kind, ev.outcome, ev.reason = kindProtocolError, semconv.OutcomeFailure, reason
		return true
	}},
	{prefix: "Bad protocol version identification ", read: func(msg, _ string, ev *event) bool {
		i := strings.LastIndex(msg, " from ")
		if i < 0 || !addressPort(msg[i+len(" from "):], ev) {
			return false
		}
		ev.kind, ev.outcome, ev.reason = kindProtocolError, semconv.OutcomeFailure, "bad protocol version identification"
		return true
	}},
	{prefix: "kex_exchange_identification: ", read: protocolError},
	{prefix: "kex_protocol_error: ", read: protocolError},
	// Timeout before authentication for <ip> port <port>
	{prefix: "Timeout before authentication for ", read: func(_, rest string, ev *event) bool {
		if !addressPort(rest, ev) {
			return false
		}
		ev.kind, ev.reason = kindAuthTimeout, "timeout before authentication"
		return true
	}},
	{suffix: "POSSIBLE BREAK-IN ATTEMPT!", read: func(msg, _ string, ev *event) bool { return breakInAttempt(msg, ev) }},
	// PAM: Authentication failure for [illegal user ]<user> from <host>
	{prefix: "PAM: Authentication failure for ", read: func(_, rest string, ev *event) bool {
		user, host, ok := cutLast(rest, " from ")
		if !ok {
			return false
		}
		ev.kind, ev.outcome, ev.method = kindFailedAuth, semconv.OutcomeFailure, "password"
		ev.user, ev.invalidUser = cutInvalidUser(user)
		ev.source, _ = netip.ParseAddr(host)
		return true
	}},
	{prefix: "User not known to the underlying authentication module for ", read: func(_, rest string, ev *event) bool {
		if !fromAddress(rest, ev) {
			return false
		}
		ev.kind, ev.outcome, ev.invalidUser = kindInvalidUser, semconv.OutcomeFailure, true
		return true
	}},
	// User <user> from <ip> not allowed because <reason>
	{prefix: "User ", contains: " not allowed because ", read: func(_, rest string, ev *event) bool {
		who, reason, _ := strings.Cut(rest, " not allowed because ")
		user, addr, hasAddr := cutLast(who, " from ")
		if hasAddr {
			ev.source, _ = netip.ParseAddr(addr)
		}
		ev.kind, ev.outcome, ev.user, ev.reason = kindNotAllowed, semconv.OutcomeFailure, user, "not allowed because "+reason
		return true
	}},
	{prefix: "ROOT LOGIN REFUSED FROM ", read: func(_, rest string, ev *event) bool {
		ev.source, _ = netip.ParseAddr(firstField(rest))
		ev.kind, ev.outcome, ev.user, ev.reason = kindNotAllowed, semconv.OutcomeFailure, "root", "root login refused"
		return true
	}},
}

// recognizeSSHD reads an sshd message into ev by the first shape it has, and reports whether it has one.
func recognizeSSHD(msg string, ev *event) bool {
	msg = strings.TrimSuffix(msg, " [preauth]")
	msg = strings.TrimPrefix(strings.TrimPrefix(msg, "error: "), "fatal: ")
	for i := range sshdShapes {
		s := &sshdShapes[i]
		if strings.HasPrefix(msg, s.prefix) && strings.HasSuffix(msg, s.suffix) && strings.Contains(msg, s.contains) {
			return s.read(msg, msg[len(s.prefix):], ev)
		}
	}
	return false
}

func invalidUser(_, rest string, ev *event) bool {
	if !fromAddress(rest, ev) {
		return false
	}
	ev.kind, ev.outcome, ev.invalidUser = kindInvalidUser, semconv.OutcomeFailure, true
	return true
}

func connectionEnded(msg, _ string, ev *event) bool {
	reason, who, _ := strings.Cut(msg, " by ")
	if !userAddress(who, ev) {
		return false
	}
	ev.kind, ev.reason = kindClosedPreauth, reason
	return true
}

func protocolError(msg, _ string, ev *event) bool {
	ev.kind, ev.outcome, ev.reason = kindProtocolError, semconv.OutcomeFailure, msg
	return true
}
