package main

import (
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/pdata/pcommon"
	"go.opentelemetry.io/collector/pdata/pmetric"
)

// otlpLines returns the rows of a CSV history as the file exporter writes them: a metrics request a line, one per
// minute, each host a resource.
func otlpLines(t *testing.T, rows []string) []string {
	t.Helper()
	var lines []string
	var md pmetric.Metrics
	var at string
	flush := func() {
		if at == "" {
			return
		}
		data, err := (&pmetric.JSONMarshaler{}).MarshalMetrics(md)
		require.NoError(t, err)
		lines = append(lines, string(data))
	}
	for _, row := range rows {
		f := strings.Split(row, ",")
		if f[0] != at {
			flush()
			md, at = pmetric.NewMetrics(), f[0]
		}
		sec, err := strconv.ParseInt(f[0], 10, 64)
		require.NoError(t, err)
		v, err := strconv.ParseFloat(f[4], 64)
		require.NoError(t, err)
		rm := md.ResourceMetrics().AppendEmpty()
		rm.Resource().Attributes().PutStr("host.name", f[2])
		m := rm.ScopeMetrics().AppendEmpty().Metrics().AppendEmpty()
		m.SetName(f[1])
		dp := m.SetEmptyGauge().DataPoints().AppendEmpty()
		dp.SetTimestamp(pcommon.NewTimestampFromTime(time.Unix(sec, 0)))
		dp.SetDoubleValue(v)
		dp.Attributes().PutStr("region", f[3])
	}
	flush()
	return lines
}

// TestOTLPJSONReplaysAsCSV: the same history recorded by the file exporter, with two requests swapped, raises the
// same threshold alert as the CSV.
func TestOTLPJSONReplaysAsCSV(t *testing.T) {
	lines := otlpLines(t, loadHistory())
	lines[100], lines[101] = lines[101], lines[100]
	path := filepath.Join(t.TempDir(), "metrics.json")
	require.NoError(t, os.WriteFile(path, []byte(strings.Join(lines, "\n")+"\n"), 0o644))
	out := t.TempDir()
	res := replay(t, options{config: "testdata/load.yaml", otlp: []string{path}, out: out})
	assert.Equal(t, inputCounts{Points: 3 * 2 * 1440, OutOfOrder: 1}, res.Input)
	high := alertsOf(res, "HighLoad")
	require.Len(t, high, 1)
	assert.Equal(t, fault.Add(2*time.Minute+10*time.Second), high[0].StartsAt)
	require.NotNil(t, high[0].EndsAt)
	assert.Equal(t, fault.Add(30*time.Minute+10*time.Second), *high[0].EndsAt)

	require.NoError(t, writeOutputs(out, res, summarize(res)))
	for _, s := range parseHTML(t, filepath.Join(out, "report.html")).all("div", "series") {
		if strings.HasPrefix(s.all("h3", "")[0].text, "HighLoad") {
			assert.Len(t, s.all("polygon", "values"), 1, "the values of OTLP/JSON history drawn")
		}
	}
}

func TestBadOTLPJSONIsNamed(t *testing.T) {
	path := filepath.Join(t.TempDir(), "bad.json")
	require.NoError(t, os.WriteFile(path, []byte(`{"resourceMetrics":[]}`+"\n"+`{"hello":1}`+"\n"), 0o644))
	_, err := readOTLPJSON(path, &inputCounts{})
	require.EqualError(t, err, path+":2: not an OTLP/JSON request of metrics, traces or logs")
	require.NoError(t, os.WriteFile(path, []byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"traceId":"zz"}]}]}]}`+"\n"), 0o644))
	_, err = readOTLPJSON(path, &inputCounts{})
	require.ErrorContains(t, err, path+":1: traces:")
}

func FuzzDecodeRequest(f *testing.F) {
	f.Add([]byte(`{"resourceMetrics":[{"scopeMetrics":[{"metrics":[{"name":"m","gauge":{"dataPoints":[{"timeUnixNano":"1","asDouble":1}]}}]}]}]}`))
	f.Add([]byte(`{"resourceLogs":[{"scopeLogs":[{"logRecords":[{"observedTimeUnixNano":"5","body":{"stringValue":"x"}}]}]}]}`))
	f.Add([]byte(`{"resourceSpans":[{"scopeSpans":[{"spans":[{"endTimeUnixNano":"7"}]}]}]}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		b, err := decodeRequest(data)
		if err != nil {
			return
		}
		_ = b.metrics.DataPointCount() + b.traces.SpanCount() + b.logs.LogRecordCount()
	})
}
