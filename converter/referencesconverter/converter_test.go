package referencesconverter

import (
	"context"
	"os"
	"path/filepath"
	"testing"

	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	"go.opentelemetry.io/collector/confmap"
	"go.uber.org/goleak"
	"go.yaml.in/yaml/v3"
)

func TestMain(m *testing.M) { goleak.VerifyTestMain(m) }

func convert(t *testing.T, config string) error {
	t.Helper()
	var raw map[string]any
	require.NoError(t, yaml.Unmarshal([]byte(config), &raw))
	conf := confmap.NewFromStringMap(raw)
	before := conf.ToStringMap()
	err := NewFactory().Create(confmap.ConverterSettings{}).Convert(context.Background(), conf)
	assert.Equal(t, before, conf.ToStringMap(), "the configuration is not changed")
	return err
}

// TestReferencesThatCannotWork: a storage extension not declared or not enabled, and a TLS file that is not there,
// are named with their place; components no pipeline uses are not checked.
func TestReferencesThatCannotWork(t *testing.T) {
	ca := filepath.Join(t.TempDir(), "ca.pem")
	require.NoError(t, os.WriteFile(ca, []byte("not checked here"), 0o600))
	err := convert(t, `
extensions:
  file_storage: {}
  file_storage/off: {}
receivers:
  authlog: {storage: file_storage/typo}
  kpi: {storage: file_storage/off}
  filelog/unused: {storage: nowhere}
processors:
  anomaly: {storage: file_storage}
exporters:
  otlp_http:
    tls: {ca_file: /nonexistent/ca.pem, cert_file: `+ca+`}
    sending_queue: {storage: file_storage}
connectors:
  correlation: {storage: file_storage/gone}
service:
  extensions: [file_storage]
  pipelines:
    logs: {receivers: [authlog], exporters: [correlation]}
    metrics: {receivers: [kpi], processors: [anomaly], exporters: [otlp_http]}
    logs/incidents: {receivers: [correlation], exporters: [otlp_http]}
`)
	require.Error(t, err)
	for _, want := range []string{
		`receivers::authlog::storage: "file_storage/typo" is not an extension of this configuration`,
		`receivers::kpi::storage: "file_storage/off" is declared but not in service::extensions`,
		`connectors::correlation::storage: "file_storage/gone" is not an extension of this configuration`,
		`exporters::otlp_http::tls::ca_file: /nonexistent/ca.pem: no such file or directory`,
	} {
		assert.ErrorContains(t, err, want)
	}
	assert.NotContains(t, err.Error(), "filelog/unused", "a component no pipeline uses is never started")
	assert.NotContains(t, err.Error(), "cert_file")
	assert.NotContains(t, err.Error(), "processors::anomaly")
}

func TestValidReferences(t *testing.T) {
	assert.NoError(t, convert(t, `
extensions:
  file_storage: {}
receivers:
  authlog: {storage: file_storage}
exporters:
  debug: {}
service:
  extensions: [file_storage]
  pipelines:
    logs: {receivers: [authlog], exporters: [debug]}
`))
	assert.NoError(t, convert(t, `receivers: {otlp: {}}`), "no service: the collector says what is missing")
}
