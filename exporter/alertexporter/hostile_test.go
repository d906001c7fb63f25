package alertexporter

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// TestSlackTextIsEscaped: label values from untrusted input (an sshd user name, a KPI's JSON) cannot mention
// @channel or disguise a link in Slack.
func TestSlackTextIsEscaped(t *testing.T) {
	slack := newReceiverServer(t)
	h := newHarness(t, `
rules:
  - {name: Login, kind: threshold, metric: logins, op: ">", value: 0, annotations: {summary: "login by {{ .Labels.user_name }}"}}
`, map[string]string{"slack": "slack " + slack.srv.URL})
	h.point(t, "logins", 1, map[string]string{"user.name": "<!channel> <https://evil.example|your bank> & `x`"})
	h.tick(10 * time.Second)
	require.Len(t, slack.received(), 1)
	var m slackMessage
	require.NoError(t, json.Unmarshal(slack.received()[0], &m))
	text := m.Attachments[0].Text
	assert.NotContains(t, text, "<!channel>")
	assert.NotContains(t, text, "<https://")
	assert.Contains(t, text, "login by &lt;!channel&gt; &lt;https://evil.example|your bank&gt; &amp;")
}

// TestHugeAttributeMakesASmallNotification: a 120 KB attribute is cut in the labels and annotations sent.
func TestHugeAttributeMakesASmallNotification(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
rules:
  - {name: Big, kind: threshold, metric: m, op: ">", value: 0, annotations: {description: "{{ .Labels.blob }} {{ .Labels.blob }}"}}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	h.point(t, "m", 1, map[string]string{"blob": strings.Repeat("é", 60000)})
	h.tick(10 * time.Second)
	require.Len(t, am.received(), 1)
	assert.Less(t, len(am.received()[0]), 16<<10)
	var alerts []amAlert
	require.NoError(t, json.Unmarshal(am.received()[0], &alerts))
	assert.True(t, strings.HasSuffix(alerts[0].Labels["blob"], "…"))
	assert.LessOrEqual(t, len(alerts[0].Labels["blob"]), maxLabelValue)
	assert.LessOrEqual(t, len(alerts[0].Annotations["description"]), maxAnnotation)
}

// TestPagerDutyEventStaysUnderItsLimit: an alert with more details than PagerDuty takes sends the first ones and
// says how many were left out.
func TestPagerDutyEventStaysUnderItsLimit(t *testing.T) {
	a := amAlert{Labels: map[string]string{"alertname": "Big"}, Annotations: map[string]string{}}
	for i := range 1000 {
		a.Labels["l"+strings.Repeat("x", i%50)+string(rune('a'+i%26))+strings.Repeat("y", i/26)] = strings.Repeat("v", 1000)
	}
	data, err := json.Marshal(pagerDutyEventOf("key", a))
	require.NoError(t, err)
	assert.Less(t, len(data), 512<<10)
	assert.Contains(t, string(data), "details left out")
}

// TestErrorsNeverShowTheURL: the collector logs every retry's error; a Slack webhook's path (its secret) and a
// URL's password never appear in it.
func TestErrorsNeverShowTheURL(t *testing.T) {
	p := poster{receiver: "slack", client: http.DefaultClient}
	err := p.post(context.Background(), "http://user:pw@127.0.0.1:1/services/T0/B0/s3cret", map[string]string{}, 1)
	require.Error(t, err)
	assert.NotContains(t, err.Error(), "s3cret")
	assert.NotContains(t, err.Error(), "pw")
	var ue *url.Error
	require.True(t, errors.As(err, &ue))
	assert.Equal(t, "http://127.0.0.1:1/…", ue.URL)
}

// TestFlapHistoryIsPruned: the transitions of alerts that fired and resolved long ago are forgotten, whatever
// number of distinct series (untrusted label values) came and went.
func TestFlapHistoryIsPruned(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
max_series: 100000
rules:
  - {name: Once, kind: threshold, metric: m, op: ">", value: 1}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	for i := range 1000 {
		h.point(t, "m", 2, map[string]string{"user.name": fmt.Sprint("u", i)})
	}
	h.tick(10 * time.Second)
	for i := range 1000 {
		h.point(t, "m", 0, map[string]string{"user.name": fmt.Sprint("u", i)})
	}
	h.tick(10 * time.Second)
	require.Len(t, h.e.flap.history, 1000)
	for range 70 { // beyond the ten-minute flapping window
		h.tick(10 * time.Second)
	}
	assert.Empty(t, h.e.flap.history)
	assert.Empty(t, h.e.flap.flaps)
	assert.Empty(t, h.e.alerts)
}

// TestMillionSeriesStayBounded: a million distinct label values keep the rules' series at max_series; the rest are
// not watched.
func TestMillionSeriesStayBounded(t *testing.T) {
	am := newReceiverServer(t)
	h := newHarness(t, `
max_series: 1000
rules:
  - {name: High, kind: threshold, metric: m, op: ">", value: 1}
`, map[string]string{"am": "alertmanager " + am.srv.URL})
	const n = 1_000_000
	for start := 0; start < n; start += 10_000 {
		md := pmetric.NewMetrics()
		m := md.ResourceMetrics().AppendEmpty().ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName("m")
		dps := m.SetEmptyGauge().DataPoints()
		for i := start; i < start+10_000; i++ {
			dp := dps.AppendEmpty()
			dp.SetDoubleValue(0)
			dp.Attributes().PutStr("user.name", strconv.Itoa(i))
		}
		require.NoError(t, h.e.ConsumeMetrics(context.Background(), md))
	}
	assert.Len(t, h.e.series, 1000)
	assert.Equal(t, n-1000, h.e.untracked)
}
