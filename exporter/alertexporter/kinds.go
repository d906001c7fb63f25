package alertexporter // import "github.com/otelstrata/strata/exporter/alertexporter"

import (
	"errors"
	"fmt"
	"strings"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/vm"
)

// maxHistory bounds the points a predictive series keeps (least squares) and the records a log series keeps.
const maxHistory = 512

// point is a value at a time.
type point struct {
	t time.Time
	v float64
}

// prediction is the state of a predictive series: its recent points (linear) or Holt's level and trend.
type prediction struct {
	points       []point
	level, trend float64 // Holt: the smoothed value and its change per second
	lastT        time.Time
	n            int
}

// Holt's smoothing weights: the level follows a new point by 0.3, the trend by 0.1.
const holtAlpha, holtBeta = 0.3, 0.1

// add learns a point.
func (p *prediction) add(t time.Time, v float64, window time.Duration) {
	p.points = append(p.points, point{t, v})
	cut := 0
	for cut < len(p.points) && t.Sub(p.points[cut].t) > window {
		cut++
	}
	if len(p.points)-cut > maxHistory {
		cut = len(p.points) - maxHistory
	}
	p.points = p.points[cut:]
	p.n++
	if p.n == 1 {
		p.level, p.lastT = v, t
		return
	}
	dt := t.Sub(p.lastT).Seconds()
	if dt <= 0 {
		return
	}
	level := holtAlpha*v + (1-holtAlpha)*(p.level+p.trend*dt)
	p.trend = holtBeta*(level-p.level)/dt + (1-holtBeta)*p.trend
	p.level, p.lastT = level, t
}

// predict returns the value expected horizon after now, and whether enough history backs it (three points at least).
func (p *prediction) predict(now time.Time, horizon time.Duration, method string) (float64, bool) {
	if len(p.points) < 3 {
		return 0, false
	}
	if method == "holt" {
		return p.level + p.trend*(now.Add(horizon).Sub(p.lastT).Seconds()), true
	}
	// least squares over the window, as Prometheus's predict_linear
	t0 := p.points[0].t
	var n, sx, sy, sxx, sxy float64
	for _, q := range p.points {
		x := q.t.Sub(t0).Seconds()
		n++
		sx += x
		sy += q.v
		sxx += x * x
		sxy += x * q.v
	}
	den := n*sxx - sx*sx
	if den == 0 {
		return sy / n, true
	}
	slope := (n*sxy - sx*sy) / den
	intercept := (sy - slope*sx) / n
	return intercept + slope*now.Add(horizon).Sub(t0).Seconds(), true
}

// records is the state of a log series: the times of its last matching records.
type records struct{ times []time.Time }

func (r *records) add(t time.Time, count int) {
	r.times = append(r.times, t)
	if len(r.times) > max(count, 1) {
		r.times = r.times[len(r.times)-max(count, 1):]
	}
}

// holds reports whether count records arrived within window before now.
func (r *records) holds(now time.Time, count int, window time.Duration) bool {
	return len(r.times) >= count && now.Sub(r.times[len(r.times)-count]) <= window
}

// compileComposite compiles a composite rule's expression over the names of the other rules.
func compileComposite(src string, rules []RuleConfig) (*vm.Program, error) {
	if strings.TrimSpace(src) == "" {
		return nil, errors.New("must be set")
	}
	env := map[string]any{}
	for _, r := range rules {
		if r.Kind != kindComposite {
			env[r.Name] = false
		}
	}
	prog, err := expr.Compile(src, expr.Env(env), expr.AsBool())
	if err != nil {
		return nil, fmt.Errorf("%w (rule names are the variables; composite rules cannot be nested)", err)
	}
	return prog, nil
}
