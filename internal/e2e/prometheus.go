package e2e

import (
	"bytes"
	"fmt"

	dto "github.com/prometheus/client_model/go"
	"github.com/prometheus/common/expfmt"
	"github.com/prometheus/common/model"
)

// ScrapePrometheus reads a Prometheus text exposition (an exporter's /metrics, blackbox_exporter's /probe) and
// returns its metric families by name.
func ScrapePrometheus(url string) (map[string]*dto.MetricFamily, error) {
	body, err := HTTPGet(url)
	if err != nil {
		return nil, err
	}
	parser := expfmt.NewTextParser(model.UTF8Validation)
	families, err := parser.TextToMetricFamilies(bytes.NewReader(body))
	if err != nil {
		return nil, fmt.Errorf("parsing %s: %w", url, err)
	}
	return families, nil
}
