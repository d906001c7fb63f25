package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import "time"

// stage is one step of the notification path. Each evaluation moves every alert through its states (exporter.go);
// the alerts to send to a receiver then pass these stages in order, as in Alertmanager's notify pipeline:
//
//	inhibit → flap → group → rate limit → send
//
// A stage takes a receiver's notifications, each a list of alerts sent together, and returns those that go on.
type stage interface {
	run(receiver string, notes [][]*alert, now time.Time) [][]*alert
}

// filter returns notes with only the alerts keep accepts; a notification left empty stays, empty.
func filter(notes [][]*alert, keep func(*alert) bool) [][]*alert {
	out := make([][]*alert, len(notes))
	for i, n := range notes {
		for _, a := range n {
			if keep(a) {
				out[i] = append(out[i], a)
			}
		}
	}
	return out
}
