package detectbench

import (
	"testing"
	"time"

	"github.com/otelstrata/strata/internal/anomaly"
)

func TestDiag3(t *testing.T) {
	step := 10 * time.Second
	rng := rngOf(3, "control", string(Memory), step.String())
	sh := generate(Memory, step, startOf(rng, step), int(Days*24*time.Hour/step), rng)
	s := sh.series()
	d := anomaly.New(anomaly.DefaultConfig())
	for i, tm := range s.Times {
		r := d.Update(tm, s.Values[i])
		h := tm.Sub(s.Times[0]).Hours()
		if r.View != "" && h < 48 {
			t.Logf("%.2fh %s %s", h, tm.Format("Mon 15:04:05"), r.View)
		}
	}
	t.Logf("saw period %.1f min, start %s", sh.params.sawPeriod, s.Times[0].Format("Mon 15:04"))
}
