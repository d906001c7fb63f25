// Package confcheck holds the range checks that every component's Validate makes of durations, counts and
// fractions, worded as the collector's own errors are ("key: must be ..."). NaN is never in range.
package confcheck // import "github.com/otelstrata/strata/internal/confcheck"

import (
	"fmt"
	"time"
)

// MinInterval is the shortest period of any loop a component runs (polls, probes, flushes, evaluations): a
// shorter one burns CPU and measures nothing more.
const MinInterval = 100 * time.Millisecond

// Duration returns an error when d is below lo or, when hi is positive, above hi.
func Duration(key string, d, lo, hi time.Duration) error {
	if d < lo {
		return fmt.Errorf("%s: must be at least %s, not %s", key, lo, d)
	}
	if hi > 0 && d > hi {
		return fmt.Errorf("%s: must be at most %s, not %s", key, hi, d)
	}
	return nil
}

// Int returns an error when v is outside [lo, hi].
func Int(key string, v, lo, hi int) error {
	if v < lo || v > hi {
		return fmt.Errorf("%s: must be from %d to %d, not %d", key, lo, hi, v)
	}
	return nil
}

// Open returns an error when v is NaN or outside the open interval (lo, hi).
func Open(key string, v, lo, hi float64) error {
	if !(v > lo && v < hi) {
		return fmt.Errorf("%s: %v is not in (%v, %v)", key, v, lo, hi)
	}
	return nil
}

// Closed returns an error when v is NaN or outside [lo, hi].
func Closed(key string, v, lo, hi float64) error {
	if !(v >= lo && v <= hi) {
		return fmt.Errorf("%s: %v is not in [%v, %v]", key, v, lo, hi)
	}
	return nil
}
