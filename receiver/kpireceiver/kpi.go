package kpireceiver // import "github.com/otelstrata/strata/receiver/kpireceiver"

import (
	"errors"
	"fmt"
	"math"
	"slices"
	"sort"
	"time"

	"github.com/expr-lang/expr"
	"github.com/expr-lang/expr/ast"
	"github.com/expr-lang/expr/vm"
)

// Reasons an evaluation gives no point.
const (
	reasonDivisionByZero = "division_by_zero"
	reasonNotANumber     = "not_a_number"
	reasonMissingInput   = "missing_input"
	reasonStaleInput     = "stale_input"
	reasonWarmingUp      = "warming_up"
	reasonError          = "error"
)

// errWarmingUp is the error of an evaluation in which a window function had no earlier reading to compare with.
var errWarmingUp = errors.New("warming up: a window function has no earlier reading yet")

// kpiProgram is a compiled KPI with the state of its window functions.
type kpiProgram struct {
	cfg     *KPIConfig
	program *vm.Program
	vars    []string  // the value IDs the expression reads
	windows []*window // one per rate/delta/avg call in the expression
	of      string    // the metric of the rate a ratio is a share of (its `of`)

	// Set before each run: the attribute set the expression is evaluated for, the time of the newest reading of
	// its inputs (window functions step only when it changes, whatever the evaluation interval), and the time of
	// the evaluation.
	key      string
	dataTime time.Time
	now      time.Time
	// warming is set by a window function without enough readings. It gives NaN rather than an error, so that
	// the evaluation goes on and every window function of the expression records its reading.
	warming bool
}

// window is one call of rate, delta or avg, with its history per attribute set.
type window struct {
	fn      string
	n       int
	history map[string]*history
}

type history struct {
	values []float64
	times  []time.Time
	seen   time.Time
}

// compileKPI parses and checks a KPI's expression against the value IDs defined by the sources.
func compileKPI(k *KPIConfig, ids map[string]string) (*kpiProgram, error) {
	p := &kpiProgram{cfg: k}
	env := map[string]any{"interval_seconds": 0.0}
	for id := range ids {
		env[id] = 0.0
	}
	patcher := &windowPatcher{p: p, ids: ids}
	program, err := expr.Compile(k.Expr,
		expr.Env(env),
		expr.AsFloat64(),
		expr.Patch(patcher),
		expr.Function("__window", p.windowCall, new(func(int, float64) float64)),
	)
	if patcher.err != nil {
		return nil, patcher.err
	}
	if err != nil {
		return nil, err // expr's errors say the line and column, with the expression marked
	}
	p.program = program
	sort.Strings(p.vars)
	p.vars = slices.Compact(p.vars)
	if len(p.vars) == 0 {
		return nil, errors.New("reads no value: name at least one value id")
	}
	return p, nil
}

// windowPatcher rewrites rate(x), delta(x) and avg(x, n) into __window(site, x), one site per call, and records
// which value IDs the expression reads.
type windowPatcher struct {
	p   *kpiProgram
	ids map[string]string
	err error
}

func (w *windowPatcher) Visit(node *ast.Node) {
	switch n := (*node).(type) {
	case *ast.IdentifierNode:
		if _, ok := w.ids[n.Value]; ok {
			w.p.vars = append(w.p.vars, n.Value)
		}
	case *ast.CallNode:
		callee, ok := n.Callee.(*ast.IdentifierNode)
		if !ok || callee.Value != "rate" && callee.Value != "delta" && callee.Value != "avg" {
			return
		}
		// rate(x) and delta(x) compare the last two readings; rate(x, n) and delta(x, n) the last n+1 (a window
		// of n steps); avg(x, n) averages the last n.
		if len(n.Arguments) < 1 || len(n.Arguments) > 2 || callee.Value == "avg" && len(n.Arguments) != 2 {
			w.fail("%s takes (x, n)%s, not %d argument(s)", callee.Value, map[bool]string{true: " or (x)"}[callee.Value != "avg"], len(n.Arguments))
			return
		}
		win := &window{fn: callee.Value, n: 2, history: map[string]*history{}}
		if len(n.Arguments) == 2 {
			size, ok := n.Arguments[1].(*ast.IntegerNode)
			if !ok || size.Value < 1 || size.Value > 1000 {
				w.fail("%s(x, n): n must be a whole number from 1 to 1000", callee.Value)
				return
			}
			win.n = size.Value
			if callee.Value != "avg" {
				win.n++ // n steps span n+1 readings
			}
		}
		site := len(w.p.windows)
		w.p.windows = append(w.p.windows, win)
		ast.Patch(node, &ast.CallNode{
			Callee:    &ast.IdentifierNode{Value: "__window"},
			Arguments: []ast.Node{&ast.IntegerNode{Value: site}, n.Arguments[0]},
		})
	}
}

func (w *windowPatcher) fail(format string, args ...any) {
	if w.err == nil {
		w.err = fmt.Errorf(format, args...)
	}
}

// windowCall returns __window(site, x): the window function of that call site, for the current attribute set.
func (p *kpiProgram) windowCall(params ...any) (any, error) {
	w := p.windows[params[0].(int)]
	x, err := toFloat(params[1])
	if err != nil {
		return nil, err
	}
	h := w.history[p.key]
	if h == nil {
		h = &history{}
		w.history[p.key] = h
	}
	h.seen = p.now
	if n := len(h.times); n > 0 && !p.dataTime.After(h.times[n-1]) {
		h.values[n-1] = x // no new reading since: the same step, recomputed
	} else {
		h.values = append(h.values, x)
		h.times = append(h.times, p.dataTime)
	}
	if len(h.values) > w.n {
		h.values, h.times = h.values[1:], h.times[1:]
	}
	switch w.fn {
	case "avg":
		sum := 0.0
		for _, v := range h.values {
			sum += v
		}
		return sum / float64(len(h.values)), nil
	case "delta", "rate":
		if len(h.values) < 2 {
			p.warming = true
			return math.NaN(), nil
		}
		first, last := 0, len(h.values)-1
		if w.fn == "delta" {
			return h.values[last] - h.values[first], nil
		}
		increase := 0.0
		for i := first + 1; i <= last; i++ {
			if step := h.values[i] - h.values[i-1]; step >= 0 {
				increase += step
			} else { // the total was reset (a restart of what counts): it counted values[i] since
				increase += h.values[i]
			}
		}
		minutes := h.times[last].Sub(h.times[first]).Minutes()
		if minutes <= 0 {
			p.warming = true
			return math.NaN(), nil
		}
		return increase / minutes, nil
	}
	return nil, fmt.Errorf("unknown window function %s", w.fn)
}

// forget drops the window history of attribute sets not seen since before.
func (p *kpiProgram) forget(before time.Time) {
	for _, w := range p.windows {
		for key, h := range w.history {
			if h.seen.Before(before) {
				delete(w.history, key)
			}
		}
	}
}

// kpiPoint is one evaluation's result for one attribute set: a value, or the reason there is none.
type kpiPoint struct {
	key    string  // the attribute set's key ("" for a KPI whose inputs have no attributes)
	series *series // the attributes of the set (nil: none)
	value  float64
	reason string
	err    error
}

// evaluate runs the KPI over the current values, once per attribute set of its inputs. Inputs without
// attributes apply to every set; an input with attributes that lacks a set is a missing input for that set.
func (p *kpiProgram) evaluate(values map[string]*valueSeries, now time.Time, interval time.Duration) []kpiPoint {
	// The attribute sets: the union over the inputs that have attributes.
	keys := map[string]*series{}
	for _, id := range p.vars {
		vs := values[id]
		if vs == nil {
			continue
		}
		for key, s := range vs.series {
			if key != "" {
				keys[key] = s
			}
		}
	}
	if len(keys) == 0 {
		keys[""] = nil
	}
	sorted := make([]string, 0, len(keys))
	for k := range keys {
		sorted = append(sorted, k)
	}
	sort.Strings(sorted)

	points := make([]kpiPoint, 0, len(sorted))
	env := map[string]any{"interval_seconds": interval.Seconds()}
	for _, key := range sorted {
		pt := kpiPoint{key: key, series: keys[key]}
		var dataTime time.Time
		for _, id := range p.vars {
			vs := values[id]
			var s *series
			if vs != nil {
				if s = vs.series[key]; s == nil {
					s = vs.series[""]
				}
			}
			switch {
			case s == nil:
				pt.reason, pt.err = reasonMissingInput, fmt.Errorf("no value of %s for %s", id, describeKey(key))
			case now.Sub(vs.updated) > vs.staleAfter:
				pt.reason, pt.err = reasonStaleInput, fmt.Errorf("%s was last read %s ago", id, now.Sub(vs.updated).Round(time.Second))
			default:
				env[id] = s.value
				if vs.updated.After(dataTime) {
					dataTime = vs.updated
				}
				continue
			}
			break
		}
		if pt.reason == "" {
			p.key, p.dataTime, p.now, p.warming = key, dataTime, now, false
			out, err := expr.Run(p.program, env)
			switch {
			case p.warming:
				pt.reason, pt.err = reasonWarmingUp, errWarmingUp
			case err != nil:
				pt.reason, pt.err = reasonError, err
			default:
				pt.value = out.(float64)
				if math.IsInf(pt.value, 0) {
					pt.reason, pt.err = reasonDivisionByZero, errors.New("division by zero")
				} else if math.IsNaN(pt.value) {
					pt.reason, pt.err = reasonNotANumber, errors.New("the result is not a number (0/0)")
				}
			}
		}
		points = append(points, pt)
	}
	p.forget(now.Add(-10 * interval))
	return points
}

func describeKey(key string) string {
	if key == "" {
		return "the KPI"
	}
	return "attributes " + key
}
