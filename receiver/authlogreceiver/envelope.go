package authlogreceiver // import "github.com/otelstrata/strata/receiver/authlogreceiver"

import (
	"strconv"
	"strings"
	"time"
)

// Line formats.
const (
	formatAuto    = "auto"
	formatRaw     = "raw"
	formatSyslog  = "syslog"  // RFC 3164: Nov 24 18:40:01 host sshd[123]: message
	formatISO8601 = "iso8601" // Debian's rsyslog: 2026-11-24T18:40:01.123456+00:00 host sshd[123]: message
	formatRFC5424 = "rfc5424" // <38>1 2026-11-24T18:40:01.123Z host sshd 123 - - message
	formatJSON    = "json"
)

var formats = []string{formatAuto, formatRaw, formatSyslog, formatISO8601, formatRFC5424, formatJSON}

// envelope is what surrounds the message of a line: when, where and which program wrote it.
type envelope struct {
	time    time.Time // zero when the line has no timestamp (raw lines)
	host    string
	process string
	pid     int
	msg     string
}

// detectFormat guesses the format of one line from its first bytes.
func detectFormat(line string) string {
	switch {
	case line == "":
		return formatRaw
	case line[0] == '{':
		return formatJSON
	case line[0] == '<', len(line) > 3 && line[:2] == "1 " && (isDigits(line[2:3]) || line[2] == '-'):
		return formatRFC5424
	case len(line) > 20 && isDigits(line[:4]) && line[4] == '-' && line[10] == 'T':
		return formatISO8601
	case len(line) > 16 && monthIndex(line[:3]) > 0 && line[3] == ' ':
		return formatSyslog
	}
	return formatRaw
}

// parseEnvelope splits a line of the given (non-JSON) format. It returns false when the line does not have the
// format's shape. Timestamps without a year take the year that puts them closest before now (a December line read
// in January is last year's); timestamps without a zone are in loc.
func parseEnvelope(line, format string, loc *time.Location, now time.Time) (envelope, bool) {
	switch format {
	case formatRaw:
		return envelope{msg: line}, true
	case formatSyslog:
		if len(line) < 16 || line[15] != ' ' {
			return envelope{}, false
		}
		t, ok := parseStamp(line[:15], loc, now)
		if !ok {
			return envelope{}, false
		}
		env, ok := parseHostTag(line[16:])
		env.time = t
		return env, ok
	case formatISO8601:
		stamp, rest, ok := strings.Cut(line, " ")
		if !ok {
			return envelope{}, false
		}
		t, err := time.Parse(time.RFC3339Nano, stamp)
		if err != nil {
			return envelope{}, false
		}
		env, ok := parseHostTag(rest)
		env.time = t
		return env, ok
	case formatRFC5424:
		return parseRFC5424(line)
	}
	return envelope{}, false
}

// parseStamp reads "Jan _2 15:04:05" by hand (time.Parse is a tenth of the budget of a line).
func parseStamp(s string, loc *time.Location, now time.Time) (time.Time, bool) {
	month := monthIndex(s[:3])
	day, err1 := strconv.Atoi(strings.TrimSpace(s[4:6]))
	if month == 0 || err1 != nil || day < 1 || day > 31 || s[6] != ' ' || s[9] != ':' || s[12] != ':' {
		return time.Time{}, false
	}
	hh, err1 := strconv.Atoi(s[7:9])
	mm, err2 := strconv.Atoi(s[10:12])
	ss, err3 := strconv.Atoi(s[13:15])
	if err1 != nil || err2 != nil || err3 != nil {
		return time.Time{}, false
	}
	local := now.In(loc)
	t := time.Date(local.Year(), time.Month(month), day, hh, mm, ss, 0, loc)
	if t.After(local.Add(24 * time.Hour)) {
		t = t.AddDate(-1, 0, 0)
	}
	return t, true
}

// parseHostTag reads "host tag[pid]: message" (the host is absent in some relayed lines: "tag[pid]: message").
func parseHostTag(s string) (envelope, bool) {
	var env envelope
	first, rest, ok := strings.Cut(s, " ")
	if !ok {
		return env, false
	}
	if strings.HasSuffix(first, ":") { // no host
		rest, first = s, ""
	} else {
		env.host = first
	}
	tag, msg, ok := strings.Cut(rest, ": ")
	if !ok || tag == "" || strings.ContainsRune(tag, ' ') {
		return env, false
	}
	env.msg = msg
	env.process, env.pid = splitTag(tag)
	return env, true
}

// splitTag splits "sshd[123]" into sshd and 123.
func splitTag(tag string) (string, int) {
	name, pid, ok := strings.Cut(tag, "[")
	if !ok {
		return tag, 0
	}
	n, _ := strconv.Atoi(strings.TrimSuffix(pid, "]"))
	return name, n
}

// parseRFC5424 reads "<PRI>1 TIMESTAMP HOST APP PROCID MSGID SD MSG" (PRI optional, as rsyslog writes files).
func parseRFC5424(line string) (envelope, bool) {
	var env envelope
	if line != "" && line[0] == '<' {
		end := strings.IndexByte(line, '>')
		if end < 0 {
			return env, false
		}
		line = line[end+1:]
	}
	fields := strings.SplitN(line, " ", 7)
	if len(fields) < 7 || fields[0] != "1" {
		return env, false
	}
	if fields[1] != "-" {
		t, err := time.Parse(time.RFC3339Nano, fields[1])
		if err != nil {
			return env, false
		}
		env.time = t
	}
	env.host, env.process = nilValue(fields[2]), nilValue(fields[3])
	env.pid, _ = strconv.Atoi(fields[4])
	msg := fields[6]
	if strings.HasPrefix(msg, "[") { // structured data: skip its elements
		depth, i := 0, 0
		for ; i < len(msg); i++ {
			switch msg[i] {
			case '[':
				depth++
			case ']':
				depth--
			case '\\':
				i++
				continue
			}
			if depth == 0 && (i+1 == len(msg) || msg[i+1] != '[') {
				break
			}
		}
		msg = strings.TrimPrefix(msg[min(i+1, len(msg)):], " ")
	} else {
		msg = strings.TrimPrefix(msg, "- ")
		if msg == "-" {
			msg = ""
		}
	}
	env.msg = strings.TrimPrefix(msg, "\ufeff") // the BOM RFC 5424 allows before a UTF-8 message
	return env, true
}

func nilValue(s string) string {
	if s == "-" {
		return ""
	}
	return s
}

func monthIndex(s string) int {
	switch s {
	case "Jan":
		return 1
	case "Feb":
		return 2
	case "Mar":
		return 3
	case "Apr":
		return 4
	case "May":
		return 5
	case "Jun":
		return 6
	case "Jul":
		return 7
	case "Aug":
		return 8
	case "Sep":
		return 9
	case "Oct":
		return 10
	case "Nov":
		return 11
	case "Dec":
		return 12
	}
	return 0
}

func isDigits(s string) bool {
	for i := 0; i < len(s); i++ {
		if s[i] < '0' || s[i] > '9' {
			return false
		}
	}
	return s != ""
}
