package authlogreceiver

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

var t0 = time.Date(2026, 11, 24, 18, 0, 0, 0, time.UTC)

// feed runs raw sshd lines, one a given interval apart from t0, through a default detector and returns what fired.
type feeder struct {
	t        *testing.T
	detector *detector
	fired    []*detection
	evicted  []string
}

func newFeeder(t *testing.T, change func(*Config)) *feeder {
	cfg := createDefaultConfig().(*Config)
	if change != nil {
		change(cfg)
	}
	require.NoError(t, cfg.Validate())
	f := &feeder{t: t}
	f.detector = newDetector(cfg, func(rule string) { f.evicted = append(f.evicted, rule) })
	return f
}

func (f *feeder) line(at time.Duration, process, msg string) {
	f.t.Helper()
	var ev event
	require.True(f.t, recognize(process, msg, &ev), msg)
	f.detector.observe(&observation{event: &ev, time: t0.Add(at), host: "web-1", process: process}, func(d *detection) {
		f.fired = append(f.fired, d)
	})
}

func (f *feeder) rules() []string {
	names := make([]string, len(f.fired))
	for i, d := range f.fired {
		names[i] = d.rule.Name
	}
	return names
}

func failed(user, ip string) string {
	return fmt.Sprintf("Failed password for %s from %s port 50022 ssh2", user, ip)
}

func TestBruteForceOncePerEpisode(t *testing.T) {
	f := newFeeder(t, nil)
	for i := range 4 {
		f.line(time.Duration(i)*time.Minute, "sshd", failed("root", "203.0.113.7"))
	}
	assert.Empty(t, f.fired, "four failures are not five")
	f.line(4*time.Minute, "sshd", failed("root", "203.0.113.7"))
	require.Equal(t, []string{"brute_force"}, f.rules())
	d := f.fired[0]
	assert.Equal(t, "203.0.113.7", d.source)
	assert.Equal(t, "root", d.user)
	assert.Equal(t, 5, d.count)
	assert.Equal(t, t0, d.first)
	assert.Equal(t, t0.Add(4*time.Minute), d.last)

	for i := 5; i < 12; i++ { // the attack goes on: the same episode, no new detection
		f.line(time.Duration(i)*time.Minute, "sshd", failed("root", "203.0.113.7"))
	}
	assert.Equal(t, []string{"brute_force"}, f.rules())

	// Quiet for longer than the window: the rule re-arms, and a new burst is a new episode.
	for i := range 5 {
		f.line(30*time.Minute+time.Duration(i)*time.Second, "sshd", failed("root", "203.0.113.7"))
	}
	assert.Equal(t, []string{"brute_force", "brute_force"}, f.rules())
}

func TestBruteForceNeedsTheWindow(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("brute_force") })
	for i := range 10 { // one failure every three minutes: never five in ten minutes
		f.line(time.Duration(i)*3*time.Minute, "sshd", failed("root", "203.0.113.7"))
	}
	assert.Empty(t, f.fired)
}

func TestSlowBruteForce(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("brute_force", "slow_brute_force") })
	for i := range 30 { // every 5 minutes for 2.5 hours: under brute_force's rate, over slow_brute_force's
		f.line(time.Duration(i)*5*time.Minute, "sshd", failed("root", "203.0.113.7"))
	}
	assert.Equal(t, []string{"slow_brute_force"}, f.rules())
}

func TestDistributedBruteForce(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("distributed_brute_force") })
	for i := range 5 {
		f.line(time.Duration(i)*time.Minute, "sshd", failed("admin", fmt.Sprintf("198.51.100.%d", i+1)))
	}
	require.Equal(t, []string{"distributed_brute_force"}, f.rules())
	assert.Equal(t, "admin", f.fired[0].user)
	assert.Equal(t, 5, f.fired[0].distinct)
	assert.Empty(t, f.fired[0].source, "many sources: none is the source")
}

func TestPasswordSpraying(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("password_spraying") })
	// One source, many users, two tries each.
	for i := range 10 {
		for try := range 2 {
			f.line(time.Duration(i*2+try)*time.Minute, "sshd", failed(fmt.Sprintf("user%d", i), "203.0.113.9"))
		}
	}
	require.Equal(t, []string{"password_spraying"}, f.rules())
	assert.Equal(t, 10, f.fired[0].distinct)
	assert.Equal(t, 19, f.fired[0].count, "it fires on the first try of the tenth user")

	// A brute force on a few users is not spraying: users tried more than max_per_value times do not count.
	g := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("password_spraying") })
	for i := range 40 {
		g.line(time.Duration(i)*10*time.Second, "sshd", failed(fmt.Sprintf("user%d", i%4), "203.0.113.9"))
	}
	assert.Empty(t, g.fired)
}

func TestUserEnumeration(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("user_enumeration") })
	for i, u := range []string{"oracle", "test", "admin", "oracle", "pi", "ubuntu"} {
		f.line(time.Duration(i)*time.Second, "sshd", fmt.Sprintf("Invalid user %s from 203.0.113.7 port %d", u, 40000+i))
	}
	require.Equal(t, []string{"user_enumeration"}, f.rules())
	assert.Equal(t, 5, f.fired[0].distinct)
}

func TestSuccessAfterFailures(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("success_after_failures") })
	f.line(0, "sshd", "Accepted password for alice from 203.0.113.7 port 50100 ssh2")
	assert.Empty(t, f.fired, "a success alone is nothing")
	for i := range 5 {
		f.line(time.Duration(i+1)*time.Minute, "sshd", failed("alice", "203.0.113.7"))
	}
	f.line(7*time.Minute, "sshd", "Accepted password for alice from 203.0.113.7 port 50101 ssh2")
	require.Equal(t, []string{"success_after_failures"}, f.rules())
	assert.Equal(t, "203.0.113.7", f.fired[0].source)
	assert.Equal(t, "alice", f.fired[0].user)
	assert.Equal(t, "T1078", f.fired[0].rule.Technique)

	// Failures from another source do not make this source's success suspicious.
	g := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("success_after_failures") })
	for i := range 5 {
		g.line(time.Duration(i)*time.Minute, "sshd", failed("alice", "198.51.100.1"))
	}
	g.line(6*time.Minute, "sshd", "Accepted password for alice from 203.0.113.7 port 50101 ssh2")
	assert.Empty(t, g.fired)
}

func TestSudoRules(t *testing.T) {
	f := newFeeder(t, nil)
	f.line(0, "sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id")
	f.line(time.Minute, "sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id")
	f.line(2*time.Minute, "sudo", "alice : TTY=pts/0 ; PWD=/home/alice ; USER=postgres ; COMMAND=/usr/bin/psql")
	assert.Equal(t, []string{"sudo_first_root"}, f.rules(), "the first root command only, and not another target")

	f.line(3*time.Minute, "sudo", "alice : 3 incorrect password attempts ; TTY=pts/0 ; PWD=/home/alice ; USER=root ; COMMAND=/usr/bin/id")
	assert.Equal(t, []string{"sudo_first_root", "sudo_auth_failures"}, f.rules(), "one line standing for three attempts")

	f.line(4*time.Minute, "sudo", "bob : user NOT in sudoers ; TTY=pts/1 ; PWD=/home/bob ; USER=root ; COMMAND=/bin/bash")
	assert.Equal(t, "sudo_not_allowed", f.fired[2].rule.Name)
	assert.Equal(t, "bob", f.fired[2].user)
	assert.Equal(t, "root", f.fired[2].targetUser)
}

func TestAccountRules(t *testing.T) {
	f := newFeeder(t, nil)
	f.line(0, "useradd", "new user: name=mallory, UID=1001, GID=1001, home=/home/mallory, shell=/bin/bash, from=/dev/pts/0")
	f.line(time.Second, "usermod", "add 'mallory' to group 'sudo'")
	f.line(2*time.Second, "usermod", "add 'mallory' to group 'video'")
	f.line(3*time.Second, "passwd", "pam_unix(passwd:chauthtok): password changed for mallory")
	assert.Equal(t, []string{"account_created", "privileged_group_added", "account_changed"}, f.rules())
	assert.Equal(t, "sudo", f.fired[1].group)
	assert.Equal(t, "mallory", f.fired[1].targetUser)
}

func TestIPv6SourcesByPrefix(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules = defaultRulesNamed("brute_force") })
	for i := range 5 { // five addresses of one /64
		f.line(time.Duration(i)*time.Second, "sshd", failed("root", fmt.Sprintf("2001:db8:1:2::%x", i+1)))
	}
	require.Equal(t, []string{"brute_force"}, f.rules())
	assert.Equal(t, "2001:db8:1:2::/64", f.fired[0].source)

	g := newFeeder(t, func(c *Config) { c.Rules, c.IPv6Prefix = defaultRulesNamed("brute_force"), 128 })
	for i := range 5 {
		g.line(time.Duration(i)*time.Second, "sshd", failed("root", fmt.Sprintf("2001:db8:1:2::%x", i+1)))
	}
	assert.Empty(t, g.fired, "with /128, five addresses are five sources")

	h := newFeeder(t, func(c *Config) {
		c.Rules, c.Ignore = defaultRulesNamed("brute_force"), IgnoreConfig{Sources: []string{"192.0.2.0/24"}}
	})
	for i := range 5 { // five IPv4 sources, written as IPv4-mapped IPv6 addresses
		h.line(time.Duration(i)*time.Second, "sshd", failed("root", fmt.Sprintf("::ffff:198.51.100.%d", i+1)))
		h.line(time.Duration(i)*time.Second, "sshd", failed("root", "::ffff:192.0.2.7"))
	}
	assert.Empty(t, h.fired, "::ffff:a.b.c.d is one IPv4 source each, not one ::/64; and the ignore list holds for it")
}

func TestIgnoreLists(t *testing.T) {
	f := newFeeder(t, func(c *Config) {
		c.Ignore = IgnoreConfig{Sources: []string{"10.0.0.0/8", "192.0.2.1"}, Users: []string{"ansible"}}
	})
	for i := range 6 {
		f.line(time.Duration(i)*time.Second, "sshd", failed("root", "10.1.2.3"))
		f.line(time.Duration(i)*time.Second, "sshd", failed("root", "192.0.2.1"))
		f.line(time.Duration(i)*time.Second, "sshd", failed("ansible", "203.0.113.7"))
	}
	assert.Empty(t, f.fired)
}

func TestTrackedKeysAreBounded(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules, c.MaxTrackedKeys = defaultRulesNamed("brute_force"), 100 })
	for i := range 1000 {
		ip := netip.AddrFrom4([4]byte{198, 51, byte(i / 256), byte(i % 256)})
		f.line(time.Duration(i)*time.Millisecond, "sshd", failed("root", ip.String()))
	}
	space := f.detector.spaces[0]
	assert.Len(t, space.keys, 100)
	assert.Len(t, f.evicted, 900)

	// Keys quiet for a window are dropped as time moves on.
	f.line(time.Hour, "sshd", failed("root", "203.0.113.200"))
	assert.Len(t, space.keys, 1)
	assert.Equal(t, 1, space.probation.n+space.protected.n)
}

// TestAttackerOutlivesOneOffSources: an attacker seen twice (two attempts of one connection) is kept while 100,000
// one-off sources pass through a space bounded at 1,000 keys, and flagged at its fifth failure (fail2ban bans it
// too); evictions are counted only for the rules that held something for the key.
func TestAttackerOutlivesOneOffSources(t *testing.T) {
	f := newFeeder(t, func(c *Config) { c.Rules, c.MaxTrackedKeys = defaultRulesNamed("brute_force"), 1000 })
	at := time.Duration(0)
	f.line(at, "sshd", failed("root", "203.0.113.66"))
	for i := range 100_000 {
		if i%25_000 == 0 { // four more failures of the attacker, spread among the others
			f.line(at, "sshd", failed("root", "203.0.113.66"))
		}
		ip := netip.AddrFrom4([4]byte{10, byte(i >> 16), byte(i >> 8), byte(i)})
		f.line(at, "sshd", fmt.Sprintf("Did not receive identification string from %s port 22", ip)) // counted by no rule
		f.line(at, "sshd", failed("admin", ip.String()))
		at += time.Millisecond
	}
	require.Equal(t, []string{"brute_force"}, f.rules(), "the attacker's fifth failure")
	assert.Equal(t, "203.0.113.66", f.fired[0].source)
	space := f.detector.spaces[0]
	assert.Len(t, space.keys, 1000)
	assert.Len(t, f.evicted, 100_000+1-1000, "one eviction a one-off source, for the one rule that held it")
}

// defaultRulesNamed is the default rules with only the named ones enabled.
func defaultRulesNamed(names ...string) []RuleConfig {
	rules := defaultRules()
	for i := range rules {
		rules[i].Enabled = false
		for _, n := range names {
			if rules[i].Name == n {
				rules[i].Enabled = true
			}
		}
	}
	return rules
}
