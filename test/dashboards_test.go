package test

import (
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"testing"
	"time"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/model"
	"github.com/prometheus/prometheus/model/rulefmt"
	"github.com/prometheus/prometheus/promql/parser"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"

	"github.com/otelstrata/strata/internal/e2e"
)

// query is a PromQL expression of a dashboard panel or a rule, with where it is and the labels its text uses
// ($labels.x of a rule's annotations).
type query struct {
	where, expr string
	labels      []string
}

// grafanaVariables are what Grafana substitutes before a query reaches Prometheus.
var grafanaVariables = strings.NewReplacer("$__rate_interval", "1m", "$__range", "5m", "$service", ".*")

func dashboardQueries(t *testing.T) []query {
	t.Helper()
	files, err := filepath.Glob(filepath.Join(repoRoot, "examples", "grafana", "dashboards", "*.json"))
	require.NoError(t, err)
	require.Len(t, files, 6, "a dashboard per layer and the incidents overview")
	var queries []query
	for _, f := range files {
		data, err := os.ReadFile(f)
		require.NoError(t, err)
		var d struct {
			UID    string `json:"uid"`
			Panels []struct {
				Title   string `json:"title"`
				Targets []struct {
					Expr string `json:"expr"`
				} `json:"targets"`
			} `json:"panels"`
		}
		require.NoError(t, json.Unmarshal(data, &d), f)
		require.NotEmpty(t, d.UID, f)
		require.NotEmpty(t, d.Panels, f)
		for _, p := range d.Panels {
			require.NotEmpty(t, p.Targets, "%s: panel %q has no query", f, p.Title)
			for _, target := range p.Targets {
				queries = append(queries, query{where: fmt.Sprintf("%s: %q", filepath.Base(f), p.Title), expr: grafanaVariables.Replace(target.Expr)})
			}
		}
	}
	return queries
}

// ruleQueries reads examples/prometheus/rules.yaml with Prometheus's own rule parser (which checks every field and
// expression as promtool does) and returns its expressions and the series it records, with their labels (those its
// expression groups by).
func ruleQueries(t *testing.T) ([]query, map[string]map[string]bool) {
	t.Helper()
	path := filepath.Join(repoRoot, "examples", "prometheus", "rules.yaml")
	groups, errs := rulefmt.ParseFile(path, false, model.UTF8Validation)
	require.Empty(t, errs, "rules.yaml")
	records := map[string]map[string]bool{}
	var queries []query
	templateLabel := regexp.MustCompile(`\$labels\.(\w+)`)
	for _, g := range groups.Groups {
		for _, r := range g.Rules {
			q := query{where: "rules.yaml: " + r.Record + r.Alert, expr: r.Expr}
			for _, a := range r.Annotations {
				for _, m := range templateLabel.FindAllStringSubmatch(a, -1) {
					q.labels = append(q.labels, m[1])
				}
			}
			if r.Record != "" {
				expr, err := parser.ParseExpr(r.Expr)
				require.NoError(t, err, q.where)
				records[r.Record] = map[string]bool{}
				parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
					if a, ok := node.(*parser.AggregateExpr); ok && !a.Without {
						for _, l := range a.Grouping {
							records[r.Record][l] = true
						}
					}
					return nil
				})
			}
			queries = append(queries, q)
		}
	}
	return queries, records
}

// problems lists what in q does not hold against the scraped families: metrics that do not exist, label matchers
// and grouping labels that name no label of those metrics. A recorded series has the labels its rule groups by.
func problems(q query, families map[string]*dto.MetricFamily, records map[string]map[string]bool) []string {
	expr, err := parser.ParseExpr(q.expr)
	if err != nil {
		return []string{fmt.Sprintf("%s: %v", q.where, err)}
	}
	labelsOf := func(name string) (map[string]bool, bool) {
		if recorded, ok := records[name]; ok {
			return recorded, true
		}
		for _, n := range []string{name, strings.TrimSuffix(name, "_bucket"), strings.TrimSuffix(name, "_count"), strings.TrimSuffix(name, "_sum")} {
			if f, ok := families[n]; ok {
				set := map[string]bool{"le": f.GetType() == dto.MetricType_HISTOGRAM}
				for _, m := range f.GetMetric() {
					for _, l := range m.GetLabel() {
						set[l.GetName()] = true
					}
				}
				return set, true
			}
		}
		return nil, false
	}
	var out []string
	// every label some metric of a subexpression has; recorded series have their grouping labels
	available := func(n parser.Node) map[string]bool {
		set := map[string]bool{}
		parser.Inspect(n, func(node parser.Node, _ []parser.Node) error {
			switch x := node.(type) {
			case *parser.VectorSelector:
				ls, _ := labelsOf(x.Name)
				for l := range ls {
					set[l] = true
				}
			case *parser.AggregateExpr:
				if !x.Without {
					for _, l := range x.Grouping {
						set[l] = true
					}
				}
			}
			return nil
		})
		return set
	}
	parser.Inspect(expr, func(node parser.Node, _ []parser.Node) error {
		switch x := node.(type) {
		case *parser.VectorSelector:
			ls, ok := labelsOf(x.Name)
			if !ok {
				out = append(out, fmt.Sprintf("%s: no metric %s", q.where, x.Name))
				return nil
			}
			for _, m := range x.LabelMatchers {
				if m.Name != model.MetricNameLabel && !m.Matches("") && !ls[m.Name] {
					out = append(out, fmt.Sprintf("%s: %s has no label %s", q.where, x.Name, m.Name))
				}
			}
		case *parser.AggregateExpr:
			have := available(x.Expr)
			for _, l := range x.Grouping {
				if !have[l] {
					out = append(out, fmt.Sprintf("%s: no label %s to group by", q.where, l))
				}
			}
		}
		return nil
	})
	have := available(expr)
	for _, l := range q.labels {
		if !have[l] {
			out = append(out, fmt.Sprintf("%s: the annotations use $labels.%s, which its series do not have", q.where, l))
		}
	}
	return out
}

// TestDemoDashboards runs the demo (with a brute force on its login, so that detections, incidents and alerts
// exist) and checks every query of examples/grafana/dashboards and examples/prometheus/rules.yaml against what the
// distribution actually exports: each parses, each metric exists, each label it matches or groups by is there.
func TestDemoDashboards(t *testing.T) {
	if testing.Short() {
		t.Skip("the demo takes minutes")
	}
	queries := dashboardQueries(t)
	rules, records := ruleQueries(t)
	queries = append(queries, rules...)
	for _, q := range queries {
		_, err := parser.ParseExpr(q.expr)
		require.NoError(t, err, q.where)
	}
	d := e2e.StartDemo(t, binary, filepath.Join(repoRoot, "_build", "shop"), repoRoot, true)
	require.NoError(t, d.Fault("load", "bruteforce", 3, "", time.Minute))
	var last []string
	d.Collector.WaitFor(t, "every metric and label the dashboards and rules use", 4*time.Minute, func() error {
		families, err := e2e.ScrapePrometheus(d.Metrics)
		if err != nil {
			return err
		}
		last = nil
		for _, q := range queries {
			last = append(last, problems(q, families, records)...)
		}
		if len(last) > 0 {
			return fmt.Errorf("%d problems:\n%s", len(last), strings.Join(last, "\n"))
		}
		return nil
	})
	slices.Sort(last)
	assert.Empty(t, last)
}
