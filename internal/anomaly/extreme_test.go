package anomaly

import (
	"encoding/binary"
	"math"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
)

// extremes are the values that broke the float32 model once (1e39 became +Inf and its level a negative index).
var extremes = []float64{1e39, -1e39, math.MaxFloat64, -math.MaxFloat64, 1e30, -1e30, math.SmallestNonzeroFloat64,
	3.5e38, 1, 0, math.Copysign(0, -1), math.Inf(1), math.NaN()}

// checkResult fails when a result holds a score outside [0, 1] or a NaN.
func checkResult(t *testing.T, r Result, what string) {
	t.Helper()
	if !(r.Score >= 0 && r.Score <= 1) || math.IsNaN(r.Expected) || math.IsNaN(r.Lower) || math.IsNaN(r.Upper) {
		t.Fatalf("%s: result %+v", what, r)
	}
}

// TestExtremeValues: a gauge at 1 then 1e39 (and every other extreme) is scored, not a crash, and the model saved
// after it restores and goes on.
func TestExtremeValues(t *testing.T) {
	for _, after := range []int{1, 5, 300} { // during warm-up, just after it, and with every view active
		d := New(DefaultConfig())
		values := noise(after, 1, 0.1, 3)
		for i, v := range values {
			checkResult(t, d.Update(t0.Add(time.Duration(i)*time.Minute), v), "noise")
		}
		i := len(values)
		for _, x := range extremes {
			for range 3 {
				checkResult(t, d.Update(t0.Add(time.Duration(i)*time.Minute), x), "extreme")
				i++
			}
		}
		state, err := d.MarshalBinary()
		require.NoError(t, err)
		restored := New(DefaultConfig())
		require.NoError(t, restored.UnmarshalBinary(state), "after %d points", after)
		for _, v := range noise(300, 1, 0.1, 4) {
			checkResult(t, restored.Update(t0.Add(time.Duration(i)*time.Minute), v), "after the extremes")
			i++
		}
	}
	d := New(DefaultConfig())
	scores := feed(d, append(noise(300, 1, 0.1, 5), 1e39))
	assert.GreaterOrEqual(t, scores[300], 0.999, "a value beyond every float32 is anomalous")
}

// TestStateNotFiniteIsRefused: a model saved by a version that let an infinity in is refused (and learned again by
// the processor), never restored to crash the next point; a finite but huge one is clamped.
func TestStateNotFiniteIsRefused(t *testing.T) {
	d := New(DefaultConfig())
	feed(d, noise(300, 1, 0.1, 6))
	d.extent.hi = float32(math.Inf(1))
	state, err := d.MarshalBinary()
	require.NoError(t, err)
	assert.ErrorContains(t, New(DefaultConfig()).UnmarshalBinary(state), "not finite")

	d.extent.hi = math.MaxFloat32
	d.extent.lo = -math.MaxFloat32
	state, err = d.MarshalBinary()
	require.NoError(t, err)
	restored := New(DefaultConfig())
	require.NoError(t, restored.UnmarshalBinary(state))
	assert.Equal(t, float32(1e30), restored.extent.hi)
	checkResult(t, restored.Update(t0.Add(time.Hour*24), 1), "after a clamped range")
}

// FuzzUpdate runs a series of any float64 values (8 bytes each, with gaps in time taken from the data too) through
// a detector with every view on, saves and restores it midway: no value may panic it or make a score leave [0, 1].
func FuzzUpdate(f *testing.F) {
	seed := func(values ...float64) []byte {
		var b []byte
		for _, v := range values {
			b = binary.LittleEndian.AppendUint64(b, math.Float64bits(v))
		}
		return b
	}
	f.Add(seed(1, 1e39))
	f.Add(seed(extremes...))
	f.Add(seed(noise(100, 10, 1, 1)...))
	cfg := DefaultConfig()
	cfg.WarmUp = 4
	f.Fuzz(func(t *testing.T, data []byte) {
		d := New(cfg)
		at := t0
		for i := 0; i+8 <= len(data); i += 8 {
			bits := binary.LittleEndian.Uint64(data[i:])
			at = at.Add(time.Duration(bits%7200+1) * time.Second)
			checkResult(t, d.Update(at, math.Float64frombits(bits)), "fuzzed value")
			if i == len(data)/16*8 {
				state, err := d.MarshalBinary()
				require.NoError(t, err)
				d = New(cfg)
				require.NoError(t, d.UnmarshalBinary(state))
			}
		}
	})
}

// FuzzUnmarshalBinary reads any bytes as a saved model: either it is refused, or the model it restores scores the
// next points without a panic.
func FuzzUnmarshalBinary(f *testing.F) {
	d := New(DefaultConfig())
	feed(d, noise(3000, 100, 5, 8))
	state, err := d.MarshalBinary()
	require.NoError(f, err)
	f.Add(state)
	f.Add(state[:40])
	f.Add([]byte{2, 0, 0, 0})
	f.Fuzz(func(t *testing.T, data []byte) {
		d := New(DefaultConfig())
		if d.UnmarshalBinary(data) != nil {
			return
		}
		for i, v := range []float64{100, 1e39, -5, 100, 100} {
			checkResult(t, d.Update(t0.Add(time.Duration(i)*time.Hour), v), "after a fuzzed model")
		}
		_, err := d.MarshalBinary()
		require.NoError(t, err)
	})
}
