package main

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"math"
	"math/rand/v2"
	"net/http"
	"sync"
	"time"
)

// load is the shop's customers: requests at a rate that follows a daily pattern (one "day" every `day`) with
// noise — browsing, checkouts from three regions, logins from office addresses with the odd mistyped password —
// and, on command, attacks on the login.
type load struct {
	frontend string
	rate     float64
	day      time.Duration
	client   *http.Client
	slots    chan struct{} // requests in flight, bounded

	mu      sync.Mutex
	attacks []fault
}

func newLoad(base int, rate float64, day time.Duration) *load {
	return &load{
		frontend: "http://" + serviceAddr(base, "frontend"),
		rate:     rate, day: day,
		client: &http.Client{Timeout: 10 * time.Second},
		slots:  make(chan struct{}, 256),
	}
}

// attack starts a brute force or a password spraying from one address: Value failed logins a second.
func (l *load) attack(f fault) (fault, error) {
	if f.Kind != "bruteforce" && f.Kind != "spray" {
		return f, fmt.Errorf("kind %q: the load takes bruteforce or spray", f.Kind)
	}
	d, err := time.ParseDuration(f.For)
	if err != nil || d <= 0 || f.Value <= 0 {
		return f, fmt.Errorf("want a positive value (logins a second) and duration (for), got %g and %q", f.Value, f.For)
	}
	f.Until = time.Now().Add(d)
	l.mu.Lock()
	l.attacks = append(l.attacks, f)
	l.mu.Unlock()
	return f, nil
}

// run sends requests until ctx ends.
func (l *load) run(ctx context.Context) {
	start := time.Now()
	next := time.Now()
	tick := time.NewTicker(100 * time.Millisecond)
	defer tick.Stop()
	var sprayed int
	for {
		select {
		case <-ctx.Done():
			return
		case now := <-tick.C:
			// customers: a Poisson process at the day's rate, with slow noise
			phase := 2 * math.Pi * now.Sub(start).Seconds() / l.day.Seconds()
			rate := l.rate * (1 + 0.4*math.Sin(phase)) * (1 + 0.1*math.Sin(7.3*phase+1))
			for next.Before(now) {
				l.send(ctx, l.customer())
				next = next.Add(time.Duration(rand.ExpFloat64() / rate * float64(time.Second)))
			}
			// attackers
			l.mu.Lock()
			for _, a := range l.attacks {
				if now.After(a.Until) {
					continue
				}
				for range poisson(a.Value / 10) {
					user := "admin"
					if a.Kind == "spray" {
						sprayed++
						user = fmt.Sprintf("user%03d", sprayed)
					}
					source := "203.0.113.66"
					if a.Kind == "spray" {
						source = "203.0.113.99"
					}
					l.send(ctx, request{http.MethodPost, "/login", map[string]string{"user": user, "password": fmt.Sprintf("guess%d", rand.IntN(1e6))}, source})
				}
			}
			l.mu.Unlock()
		}
	}
}

type request struct {
	method, path string
	body         any
	source       string
}

var regions = []string{"eu", "eu", "us", "us", "us", "apac"}

func (l *load) customer() request {
	switch x := rand.Float64(); {
	case x < 0.6:
		return request{http.MethodGet, "/products", nil, office()}
	case x < 0.98:
		return request{http.MethodPost, "/checkout", order{Region: regions[rand.IntN(len(regions))],
			Amount: math.Round(math.Exp(3.5+0.6*rand.NormFloat64())*100) / 100, Items: 1 + rand.IntN(3)}, office()}
	default:
		// each user from their own desk, now and then with a typo: one login in a thousand. The five users log in
		// about 50 times in ten minutes each at the default rate; at one typo in a hundred, five of one user in ten
		// minutes (what the brute-force rule counts, as fail2ban's sshd jail does) had a chance of about 10⁻⁴ a
		// window, and opened an incident in a fault-free run once; at one in a thousand, about 10⁻⁹.
		i := rand.IntN(len(users))
		password := accounts[users[i]]
		if rand.Float64() < 0.001 {
			password += "x"
		}
		return request{http.MethodPost, "/login", map[string]string{"user": users[i], "password": password},
			fmt.Sprintf("198.51.100.%d", 200+i)}
	}
}

var users = []string{"alice", "bob", "carol", "dave", "erin"}

func office() string { return fmt.Sprintf("198.51.100.%d", 10+rand.IntN(40)) }

// send runs a request in the background; when every slot is taken, it is not sent (the shop is too slow to
// take more, as customers give up).
func (l *load) send(ctx context.Context, r request) {
	select {
	case l.slots <- struct{}{}:
	default:
		return
	}
	go func() {
		defer func() { <-l.slots }()
		var body io.Reader
		if r.body != nil {
			data, _ := json.Marshal(r.body)
			body = bytes.NewReader(data)
		}
		req, err := http.NewRequestWithContext(ctx, r.method, l.frontend+r.path, body)
		if err != nil {
			return
		}
		req.Header.Set("Content-Type", "application/json")
		req.Header.Set("X-Forwarded-For", r.source)
		resp, err := l.client.Do(req)
		if err != nil {
			return
		}
		_, _ = io.Copy(io.Discard, resp.Body)
		resp.Body.Close()
	}()
}

// poisson draws from a Poisson distribution of mean m (small m).
func poisson(m float64) int {
	n, p := 0, math.Exp(-m)
	for q := rand.Float64(); q > p; q *= rand.Float64() {
		n++
	}
	return n
}
