package authlogreceiver

import (
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

func TestParseEnvelope(t *testing.T) {
	now := time.Date(2026, 11, 24, 20, 0, 0, 0, time.UTC)
	berlin, err := time.LoadLocation("Europe/Berlin")
	require.NoError(t, err)
	for _, tc := range []struct {
		name, line, format string
		loc                *time.Location
		want               envelope
	}{
		{name: "RFC 3164", line: "Nov 24 18:40:01 web-1 sshd[1234]: Failed password for root from 203.0.113.7 port 22 ssh2",
			format: formatSyslog, loc: time.UTC,
			want: envelope{time: time.Date(2026, 11, 24, 18, 40, 1, 0, time.UTC), host: "web-1", process: "sshd", pid: 1234,
				msg: "Failed password for root from 203.0.113.7 port 22 ssh2"}},
		{name: "RFC 3164, day padded, zone from config", line: "Nov  4 08:00:00 web-1 sudo:    alice : TTY=pts/0 ; USER=root ; COMMAND=/bin/id",
			format: formatSyslog, loc: berlin,
			want: envelope{time: time.Date(2026, 11, 4, 8, 0, 0, 0, berlin), host: "web-1", process: "sudo",
				msg: "   alice : TTY=pts/0 ; USER=root ; COMMAND=/bin/id"}},
		{name: "RFC 3164, a December line read in January is last year's", line: "Dec 31 23:59:59 web-1 su: (to root) alice on pts/0",
			format: formatSyslog, loc: time.UTC,
			want: envelope{time: time.Date(2025, 12, 31, 23, 59, 59, 0, time.UTC), host: "web-1", process: "su", msg: "(to root) alice on pts/0"}},
		{name: "ISO 8601 (Debian rsyslog)", line: "2026-11-24T18:40:01.123456+01:00 web-1 sshd[99]: Accepted publickey for alice from 192.0.2.10 port 5 ssh2",
			format: formatISO8601, loc: time.UTC,
			want: envelope{time: time.Date(2026, 11, 24, 18, 40, 1, 123456000, time.FixedZone("", 3600)), host: "web-1", process: "sshd", pid: 99,
				msg: "Accepted publickey for alice from 192.0.2.10 port 5 ssh2"}},
		{name: "RFC 5424", line: "<38>1 2026-11-24T18:40:01.003Z web-1 sshd 4242 - - Invalid user x from 192.0.2.1 port 1",
			format: formatRFC5424, loc: time.UTC,
			want: envelope{time: time.Date(2026, 11, 24, 18, 40, 1, 3000000, time.UTC), host: "web-1", process: "sshd", pid: 4242,
				msg: "Invalid user x from 192.0.2.1 port 1"}},
		{name: "RFC 5424 with structured data", line: `1 2026-11-24T18:40:01Z web-1 sudo - - [meta sequenceId="1"][origin ip="10.0.0.1"] alice : TTY=pts/0 ; USER=root ; COMMAND=/bin/id`,
			format: formatRFC5424, loc: time.UTC,
			want: envelope{time: time.Date(2026, 11, 24, 18, 40, 1, 0, time.UTC), host: "web-1", process: "sudo",
				msg: "alice : TTY=pts/0 ; USER=root ; COMMAND=/bin/id"}},
		{name: "raw sshd -E", line: "Failed password for root from 203.0.113.7 port 22 ssh2", format: formatRaw, loc: time.UTC,
			want: envelope{msg: "Failed password for root from 203.0.113.7 port 22 ssh2"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			assert.Equal(t, tc.format, detectFormat(tc.line))
			got, ok := parseEnvelope(tc.line, tc.format, tc.loc, now)
			require.True(t, ok)
			assert.True(t, tc.want.time.Equal(got.time), "time %s, want %s", got.time, tc.want.time)
			got.time, tc.want.time = time.Time{}, time.Time{}
			assert.Equal(t, tc.want, got)
		})
	}

	january := time.Date(2027, 1, 1, 0, 10, 0, 0, time.UTC)
	got, ok := parseEnvelope("Dec 31 23:59:59 h su: x", formatSyslog, time.UTC, january)
	require.True(t, ok)
	assert.Equal(t, 2026, got.time.Year())
	got, ok = parseEnvelope("Jan  1 00:05:00 h su: x", formatSyslog, time.UTC, january)
	require.True(t, ok)
	assert.Equal(t, 2027, got.time.Year())
}

func TestParseEnvelopeRejects(t *testing.T) {
	now := time.Now()
	for _, tc := range []struct{ line, format string }{
		{"Nov 24 18:40:01", formatSyslog},
		{"Nov 99 18:40:01 host sshd[1]: x", formatSyslog},
		{"Nov 24 18:4x:01 host sshd[1]: x", formatSyslog},
		{"Nov 24 18:40:01 host no colon here", formatSyslog},
		{"2026-13-24T18:40:01Z host sshd: x", formatISO8601},
		{"<38>2 2026-11-24T18:40:01Z h a 1 - - x", formatRFC5424},
		{"<38 1 2026", formatRFC5424},
	} {
		_, ok := parseEnvelope(tc.line, tc.format, time.UTC, now)
		assert.False(t, ok, tc.line)
	}
}
