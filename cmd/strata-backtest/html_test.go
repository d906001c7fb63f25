package main

import (
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"golang.org/x/net/html"
)

// element is a parsed HTML element with its attributes and text.
type element struct {
	tag, class, text string
	children         []*element
}

func parseHTML(t *testing.T, path string) *element {
	t.Helper()
	f, err := os.Open(path)
	require.NoError(t, err)
	defer f.Close()
	doc, err := html.Parse(f)
	require.NoError(t, err)
	var walk func(n *html.Node) *element
	walk = func(n *html.Node) *element {
		e := &element{tag: n.Data}
		for _, a := range n.Attr {
			if a.Key == "class" {
				e.class = a.Val
			}
		}
		for c := n.FirstChild; c != nil; c = c.NextSibling {
			if c.Type == html.TextNode {
				e.text += c.Data
			} else if c.Type == html.ElementNode {
				e.children = append(e.children, walk(c))
			}
		}
		return e
	}
	return walk(doc)
}

// all returns the elements under e (e included) with the tag and, when class is not empty, the class.
func (e *element) all(tag, class string) []*element {
	var out []*element
	if e.tag == tag && (class == "" || e.class == class) {
		out = append(out, e)
	}
	for _, c := range e.children {
		out = append(out, c.all(tag, class)...)
	}
	return out
}

// TestReportDrawsEachAlertingSeries: report.html has a timeline for each alerting series, the threshold rule's with
// its threshold and its one alert at the fault, the anomaly rule's with the expected band.
func TestReportDrawsEachAlertingSeries(t *testing.T) {
	out := t.TempDir()
	res := replay(t, options{config: "testdata/load.yaml", csv: []string{writeCSV(t, loadHistory())}, out: out})
	require.NoError(t, writeOutputs(out, res, summarize(res)))
	doc := parseHTML(t, filepath.Join(out, "report.html"))

	series := doc.all("div", "series")
	require.Len(t, series, 2, "HighLoad and LoadAnomaly on web-1, the fault's host (the others' noise raises no alarm)")
	byTitle := map[string]*element{}
	for _, s := range series {
		byTitle[s.all("h3", "")[0].text] = s
	}
	require.Contains(t, byTitle, `LoadAnomaly{host_name="web-1",region="eu",severity="warning",strata_anomaly_metric="system.cpu.load_average.1m",strata_anomaly_statistic="value"}`)
	high := byTitle[`HighLoad{host_name="web-1",region="eu",severity="warning"}`]
	require.NotNil(t, high, "titles: %v", byTitle)
	alerts := high.all("rect", "alert")
	require.Len(t, alerts, 1)
	assert.Equal(t, "HighLoad "+fault.Add(2*time.Minute+10*time.Second).Format(time.RFC3339)+" → "+
		fault.Add(30*time.Minute+10*time.Second).Format(time.RFC3339), alerts[0].all("title", "")[0].text)
	assert.Len(t, high.all("line", "threshold"), 1)
	assert.Len(t, high.all("polygon", "values"), 1, "no gap in the history")
	for title, s := range byTitle {
		if strings.HasPrefix(title, "LoadAnomaly") {
			assert.NotEmpty(t, s.all("polygon", "band"), "%s: the expected band", title)
			assert.NotEmpty(t, s.all("rect", "alert"), title)
		}
	}
	rows := doc.all("table", "")[0].all("tr", "")
	assert.Len(t, rows, 3, "a header and the two rules")
}
