package main

import (
	"cmp"
	"fmt"
	"html/template"
	"io"
	"math"
	"slices"
	"strings"
	"time"

	"github.com/otelstrata/strata/internal/semconv"
)

// maxTimelines is how many alerting series the report draws, the busiest first.
const maxTimelines = 20

// timeline is one alerting series in the report: its values, its expected band and its alerts over the history.
type timeline struct {
	Title  string
	Alerts []alertEpisode
	SVG    template.HTML
}

// reportData is what report.html shows.
type reportData struct {
	Summary   summary
	Alerts    int
	Timelines []timeline
	More      int // alerting series not drawn
	Generated string
}

// timelines returns the busiest alerting series' timelines: values from the history (the series store's, or those
// kept of OTLP/JSON), the band the anomaly processor expected, and each alert's time from firing to resolved.
func timelines(res *result, store *seriesStore, rec *recorder, rules map[string]ruleInfo) ([]timeline, int) {
	type group struct {
		key    string
		rule   ruleInfo
		alerts []alertEpisode
	}
	groups := map[string]*group{}
	for _, a := range res.Alerts {
		k := a.Rule + "\x01" + labelText(a.Labels)
		g, ok := groups[k]
		if !ok {
			g = &group{key: alertSeriesKey(a, rules[a.Rule]), rule: rules[a.Rule]}
			groups[k] = g
		}
		g.alerts = append(g.alerts, a)
	}
	ordered := make([]*group, 0, len(groups))
	for _, g := range groups {
		ordered = append(ordered, g)
	}
	slices.SortFunc(ordered, func(x, y *group) int {
		return cmp.Or(cmp.Compare(len(y.alerts), len(x.alerts)), cmp.Compare(labelText(x.alerts[0].Labels), labelText(y.alerts[0].Labels)))
	})
	more := max(len(ordered)-maxTimelines, 0)
	ordered = ordered[:min(len(ordered), maxTimelines)]

	wanted := map[string]*buckets{}
	for _, g := range ordered {
		wanted[g.key] = nil
	}
	values, expected, otlpValues := store.bucketsOf(wanted, rec.bands.span), rec.bands.byKey(), rec.values.byKey()
	var out []timeline
	for _, g := range ordered {
		a := g.alerts[0]
		out = append(out, timeline{Title: labelText(a.Labels), Alerts: g.alerts,
			SVG: drawTimeline(rec.bands.span, cmp.Or(values[g.key], otlpValues[g.key]), expected[g.key], g.rule, g.alerts)})
	}
	return out, more
}

// bucketsOf returns the buckets of the store's series whose labelKey is among wanted.
func (s *seriesStore) bucketsOf(wanted map[string]*buckets, sp span) map[string]*buckets {
	byIndex := map[int32]*buckets{}
	for i, d := range s.series {
		labels := map[string]string{}
		for _, kv := range append(slices.Clone(d.resource), d.attrs...) {
			labels[semconv.PromLabel(kv[0])] = kv[1]
		}
		key := labelKey(d.name, labels)
		if _, ok := wanted[key]; ok {
			b := newBuckets()
			wanted[key], byIndex[int32(i)] = b, b
		}
	}
	if len(byIndex) > 0 {
		for _, p := range s.samples {
			if b := byIndex[p.series]; b != nil {
				b.add(sp.bucket(p.t), p.v, p.v)
			}
		}
	}
	return wanted
}

// The size of a timeline's drawing.
const (
	svgWidth, svgHeight = 960.0, 150.0
	svgLeft, svgBottom  = 60.0, 20.0
)

// drawTimeline returns an SVG of a series: the band (grey), the values (blue: each bucket's lowest to highest),
// a threshold rule's threshold (dashed), and each alert from firing to resolved (red).
func drawTimeline(sp span, values, band *buckets, rule ruleInfo, alerts []alertEpisode) template.HTML {
	lo, hi := math.Inf(1), math.Inf(-1)
	for _, b := range []*buckets{values, band} {
		if b == nil {
			continue
		}
		for i := range b.lo {
			if !math.IsNaN(b.lo[i]) {
				lo, hi = math.Min(lo, b.lo[i]), math.Max(hi, b.hi[i])
			}
		}
	}
	if rule.kind == "threshold" {
		lo, hi = math.Min(lo, rule.value), math.Max(hi, rule.value)
	}
	if math.IsInf(lo, 0) {
		lo, hi = 0, 1
	}
	if hi == lo {
		hi, lo = hi+1, lo-1
	}
	plotW, plotH := svgWidth-svgLeft, svgHeight-svgBottom
	x := func(i int) float64 { return svgLeft + (float64(i)+0.5)*plotW/timelineBuckets }
	xt := func(t time.Time) float64 {
		return svgLeft + float64(t.UnixNano()-sp.from)*plotW/float64(max(sp.to-sp.from, 1))
	}
	y := func(v float64) float64 { return 4 + (hi-v)*(plotH-8)/(hi-lo) }
	var s strings.Builder
	fmt.Fprintf(&s, `<svg xmlns="http://www.w3.org/2000/svg" width="%.0f" height="%.0f" viewBox="0 0 %.0f %.0f" role="img">`, svgWidth, svgHeight, svgWidth, svgHeight)
	fmt.Fprintf(&s, `<rect x="%.0f" y="0" width="%.0f" height="%.0f" fill="#fafafa" stroke="#ddd"/>`, svgLeft, plotW, plotH)
	for _, a := range alerts {
		end := time.Unix(0, sp.to)
		if a.EndsAt != nil {
			end = *a.EndsAt
		}
		x0, x1 := xt(a.StartsAt), xt(end)
		fmt.Fprintf(&s, `<rect class="alert" x="%.1f" y="0" width="%.1f" height="%.0f" fill="#e53935" fill-opacity="0.25"><title>%s %s → %s</title></rect>`,
			x0, math.Max(x1-x0, 1.5), plotH, template.HTMLEscapeString(a.Rule), a.StartsAt.Format(time.RFC3339), endText(a))
	}
	area := func(b *buckets, class, fill string) {
		if b == nil {
			return
		}
		var top, bottom []string
		flush := func() {
			if len(top) > 0 {
				slices.Reverse(bottom)
				fmt.Fprintf(&s, `<polygon class="%s" points="%s %s" fill="%s" stroke="%s" stroke-width="1"/>`, class, strings.Join(top, " "), strings.Join(bottom, " "), fill, fill)
			}
			top, bottom = nil, nil
		}
		for i := range b.lo {
			if math.IsNaN(b.lo[i]) {
				flush() // a gap
				continue
			}
			top = append(top, fmt.Sprintf("%.1f,%.1f", x(i), y(b.hi[i])))
			bottom = append(bottom, fmt.Sprintf("%.1f,%.1f", x(i), y(b.lo[i])))
		}
		flush()
	}
	area(band, "band", "#bdbdbd")
	area(values, "values", "#1e88e5")
	if rule.kind == "threshold" {
		fmt.Fprintf(&s, `<line class="threshold" x1="%.0f" x2="%.0f" y1="%.1f" y2="%.1f" stroke="#e53935" stroke-dasharray="4 3"/>`, svgLeft, svgWidth, y(rule.value), y(rule.value))
	}
	fmt.Fprintf(&s, `<text x="%.0f" y="%.1f" font-size="10" text-anchor="end">%s</text>`, svgLeft-4, y(hi)+8, number(hi))
	fmt.Fprintf(&s, `<text x="%.0f" y="%.1f" font-size="10" text-anchor="end">%s</text>`, svgLeft-4, y(lo), number(lo))
	fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" font-size="10">%s</text>`, svgLeft, svgHeight-6, time.Unix(0, sp.from).UTC().Format("2006-01-02 15:04"))
	fmt.Fprintf(&s, `<text x="%.0f" y="%.0f" font-size="10" text-anchor="end">%s</text>`, svgWidth, svgHeight-6, time.Unix(0, sp.to).UTC().Format("2006-01-02 15:04"))
	s.WriteString(`</svg>`)
	return template.HTML(s.String()) // built here from numbers and escaped text
}

func number(v float64) string { return fmt.Sprintf("%.4g", v) }

func endText(a alertEpisode) string {
	if a.EndsAt == nil {
		return "firing at the end"
	}
	return a.EndsAt.Format(time.RFC3339)
}

var reportTemplate = template.Must(template.New("report").Funcs(template.FuncMap{
	"time": func(t time.Time) string { return t.UTC().Format("2006-01-02 15:04:05") },
	"until": func(a alertEpisode) string {
		if a.EndsAt == nil {
			return "firing at the end"
		}
		return a.EndsAt.UTC().Format("2006-01-02 15:04:05")
	},
	"dur": func(d time.Duration) string { return d.Round(time.Second).String() },
	"perDay": func(rc ruleCount) string {
		if rc.Watched == 0 {
			return "?"
		}
		return fmt.Sprintf("%.3f", rc.PerSeriesDay)
	},
}).Parse(`<!DOCTYPE html>
<html lang="en"><head><meta charset="utf-8"><title>strata-backtest {{time .Summary.From}} → {{time .Summary.To}}</title>
<style>
body{font:14px/1.4 system-ui,sans-serif;margin:24px;color:#212121;max-width:1000px}
table{border-collapse:collapse;margin:8px 0 16px}td,th{border-bottom:1px solid #e0e0e0;padding:3px 10px;text-align:left}
th{background:#f5f5f5}.num{text-align:right}h2{margin-top:28px}.series{margin:18px 0}.series h3{font-size:14px;margin:4px 0;font-family:monospace}
.legend span{display:inline-block;margin-right:14px}.sw{display:inline-block;width:12px;height:10px;margin-right:4px;vertical-align:middle}
</style></head><body>
<h1>strata-backtest</h1>
<p>History {{time .Summary.From}} → {{time .Summary.To}} UTC: {{.Summary.Input.Points}} points in {{.Summary.Input.Series}} series{{if .Summary.Input.Spans}}, {{.Summary.Input.Spans}} spans{{end}}{{if .Summary.Input.Records}}, {{.Summary.Input.Records}} log records{{end}}.
Input: {{.Summary.Input.Duplicates}} duplicates dropped, {{.Summary.Input.OutOfOrder}} out of order, {{.Summary.Input.Resets}} counter resets, {{.Summary.Input.Gaps}} gaps, {{.Summary.Input.NaN}} not a number.</p>
{{range .Summary.Notes}}<p class="note">Note: {{.}}</p>{{end}}
<h2 id="alerts">Alerts ({{.Alerts}})</h2>
<table><tr><th>rule</th><th class="num">alerts</th><th class="num">resolved</th><th class="num">pending only</th><th class="num">series alerting / watched</th><th class="num">firing</th><th class="num">per series-day</th></tr>
{{range .Summary.Rules}}<tr><td>{{.Rule}}</td><td class="num">{{.Alerts}}</td><td class="num">{{.Resolved}}</td><td class="num">{{.NeverFired}}</td><td class="num">{{.Series}} / {{if .Watched}}{{.Watched}}{{else}}?{{end}}</td><td class="num">{{dur .FiringTime}}</td><td class="num">{{perDay .}}</td></tr>
{{end}}</table>
<h2 id="incidents">Incidents ({{len .Summary.Incidents}})</h2>
{{if .Summary.Incidents}}<table><tr><th>opened</th><th>resolved</th><th>root cause</th><th>last root cause</th><th class="num">symptoms</th></tr>
{{range .Summary.Incidents}}<tr><td>{{time .Opened}}</td><td>{{if .Resolved.IsZero}}open at the end{{else}}{{time .Resolved}}{{end}}</td><td>{{.RootCause}}</td><td>{{.LastCause}}</td><td class="num">{{.Symptoms}}</td></tr>
{{end}}</table>{{end}}
<h2 id="series">Alerting series</h2>
<p class="legend"><span><i class="sw" style="background:#1e88e5"></i>values (each bucket's lowest to highest)</span><span><i class="sw" style="background:#bdbdbd"></i>expected band (anomaly processor)</span><span><i class="sw" style="background:#e53935;opacity:.35"></i>alert, firing to resolved</span><span>- - threshold</span></p>
{{range .Timelines}}<div class="series"><h3>{{.Title}}</h3>{{.SVG}}
<div>{{range .Alerts}}<span>{{time .StartsAt}} → {{until .}}</span>; {{end}}</div></div>
{{end}}{{if .More}}<p>{{.More}} more alerting series in alerts.jsonl.</p>{{end}}
<p><small>{{.Generated}}</small></p>
</body></html>
`))

// writeHTML writes report.html.
func writeHTML(w io.Writer, data reportData) error { return reportTemplate.Execute(w, data) }
