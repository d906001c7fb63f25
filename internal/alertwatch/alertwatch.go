// Package alertwatch lets the host a pipeline runs in watch the alert exporter's alerts change state: a backtest
// records every change, pending ones included, whatever its receivers are sent.
package alertwatch // import "github.com/otelstrata/strata/internal/alertwatch"

import (
	"time"

	"go.opentelemetry.io/collector/component"
)

// Change is one alert entering a state.
type Change struct {
	At          time.Time
	Rule        string
	State       string // pending, firing or resolved
	Labels      map[string]string
	Annotations map[string]string
	Fingerprint string
	Value       float64 // the series' value at the change
}

// Watcher is told of every change, in order, after the evaluation that made it.
type Watcher interface {
	AlertChanged(Change)
}

// FromHost returns the extension of the host that is a Watcher, or nil when there is none (in a collector).
func FromHost(host component.Host) Watcher {
	if host == nil {
		return nil
	}
	for _, ext := range host.GetExtensions() {
		if w, ok := ext.(Watcher); ok {
			return w
		}
	}
	return nil
}
