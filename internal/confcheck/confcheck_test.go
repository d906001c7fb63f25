package confcheck

import (
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
)

func TestChecks(t *testing.T) {
	assert.NoError(t, Duration("ttl", time.Second, time.Millisecond, 0))
	assert.EqualError(t, Duration("ttl", time.Nanosecond, time.Millisecond, 0), "ttl: must be at least 1ms, not 1ns")
	assert.EqualError(t, Duration("interval", time.Hour, time.Second, time.Minute), "interval: must be at most 1m0s, not 1h0m0s")
	assert.NoError(t, Int("max_concurrency", 10, 1, 10))
	assert.EqualError(t, Int("max_concurrency", 1e12, 1, 10000), "max_concurrency: must be from 1 to 10000, not 1000000000000")
	assert.NoError(t, Open("quantile", 0.5, 0, 1))
	assert.EqualError(t, Open("quantile", math.NaN(), 0, 1), "quantile: NaN is not in (0, 1)")
	assert.EqualError(t, Open("quantile", 1, 0, 1), "quantile: 1 is not in (0, 1)")
	assert.NoError(t, Closed("rate", 1, 0, 1))
	assert.EqualError(t, Closed("rate", math.NaN(), 0, 1), "rate: NaN is not in [0, 1]")
}
