package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"time"

	"github.com/prometheus/common/model"
	"go.uber.org/zap"
)

// flapDetector is the stage that holds back the notifications of alerts that fire and resolve again and again. It
// learns of each transition when the alert changes state.
type flapDetector struct {
	cfg     FlappingConfig
	logger  *zap.Logger
	history map[model.Fingerprint][]time.Time // recent transitions of each alert
	flaps   map[model.Fingerprint]bool        // alerts held as flapping
}

func newFlapDetector(cfg FlappingConfig, logger *zap.Logger) *flapDetector {
	return &flapDetector{cfg: cfg, logger: logger, history: map[model.Fingerprint][]time.Time{}, flaps: map[model.Fingerprint]bool{}}
}

func (s *flapDetector) run(_ string, notes [][]*alert, _ time.Time) [][]*alert {
	return filter(notes, func(a *alert) bool { return !s.flaps[a.fingerprint] })
}

// transition records that an alert fired or resolved at now, and holds it back from then on when that makes it
// flap.
func (s *flapDetector) transition(a *alert, now time.Time) {
	if s.cfg.Transitions <= 0 {
		return
	}
	h := append(s.history[a.fingerprint], now)
	kept := h[:0]
	for _, t := range h {
		if now.Sub(t) <= s.cfg.Window {
			kept = append(kept, t)
		}
	}
	if len(kept) > s.cfg.Transitions {
		kept = kept[len(kept)-s.cfg.Transitions:]
	}
	s.history[a.fingerprint] = kept
	flapping := len(kept) >= s.cfg.Transitions
	if flapping && !s.flaps[a.fingerprint] {
		s.logger.Warn("alert flapping: its notifications are held until it is stable", zap.String("labels", a.labels.String()))
	}
	s.flaps[a.fingerprint] = flapping
}

// settle lets an alert held as flapping go again once it has had no transition for the flapping window.
func (s *flapDetector) settle(fp model.Fingerprint, now time.Time) {
	if h := s.history[fp]; s.flaps[fp] && len(h) > 0 && now.Sub(h[len(h)-1]) >= s.cfg.Window {
		delete(s.flaps, fp)
	}
}

// prune forgets the transitions of alerts whose last one is older than the flapping window: they can no longer
// make the alert flap, and the alerts they belong to may be long gone.
func (s *flapDetector) prune(now time.Time) {
	for fp, h := range s.history {
		if len(h) == 0 || now.Sub(h[len(h)-1]) > s.cfg.Window {
			delete(s.history, fp)
			delete(s.flaps, fp)
		}
	}
}
