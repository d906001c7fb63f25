package main

import (
	"cmp"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"math"
	"net/http"
	"net/url"
	"strconv"
	"strings"
	"time"

	"go.opentelemetry.io/collector/component"
	"go.opentelemetry.io/collector/config/confighttp"
)

// maxStepsPerQuery keeps each query_range under Prometheus' limit of 11,000 points a series.
const maxStepsPerQuery = 10000

// promSource is a Prometheus server to read history from over its HTTP API.
type promSource struct {
	// ClientConfig is the HTTP client: endpoint (the server's URL), TLS, headers (e.g. Authorization).
	confighttp.ClientConfig `mapstructure:",squash"`
	// Queries are PromQL expressions; "name=expr" names the series of an expression that has no metric name
	// (a rate, a sum).
	Queries []string `mapstructure:"queries"`
	// Start, End and Step are the range and resolution read.
	Start time.Time     `mapstructure:"start"`
	End   time.Time     `mapstructure:"end"`
	Step  time.Duration `mapstructure:"step"`
	// maxSteps is the most steps a query reads at once; maxStepsPerQuery unless a test makes chunks smaller.
	maxSteps int
}

// validate reports what would make the source unreadable.
func (p *promSource) validate() error {
	var errs []error
	if p.Endpoint == "" {
		errs = append(errs, errors.New("prometheus: endpoint is required"))
	} else if u, err := url.Parse(p.Endpoint); err != nil || (u.Scheme != "http" && u.Scheme != "https") {
		errs = append(errs, fmt.Errorf("prometheus: endpoint %q is not an http(s) URL", p.Endpoint))
	}
	if len(p.Queries) == 0 {
		errs = append(errs, errors.New("prometheus: no queries"))
	}
	if p.Step <= 0 {
		errs = append(errs, errors.New("prometheus: step must be positive"))
	}
	if p.Start.IsZero() || !p.End.After(p.Start) {
		errs = append(errs, errors.New("prometheus: start must be before end"))
	}
	return errors.Join(errs...)
}

// read runs each query over the range, in chunks of at most maxStepsPerQuery steps, and adds the series to s.
func (p *promSource) read(ctx context.Context, set component.TelemetrySettings, s *seriesStore) error {
	client, err := p.ToClient(ctx, nil, set)
	if err != nil {
		return fmt.Errorf("prometheus: %w", err)
	}
	chunk := p.Step * time.Duration(cmp.Or(p.maxSteps, maxStepsPerQuery))
	for _, q := range p.Queries {
		name, expr := "", q
		if n, e, ok := strings.Cut(q, "="); ok && isMetricName(n) {
			name, expr = n, e
		}
		for from := p.Start; from.Before(p.End); from = from.Add(chunk + p.Step) {
			to := from.Add(chunk)
			if to.After(p.End) {
				to = p.End
			}
			if err := p.queryRange(ctx, client, name, expr, from, to, s); err != nil {
				return fmt.Errorf("prometheus: query %q from %s: %w", expr, from.Format(time.RFC3339), err)
			}
		}
	}
	return nil
}

// isMetricName reports whether n is a Prometheus metric name, as the name part of "name=expr" must be.
func isMetricName(n string) bool {
	if n == "" {
		return false
	}
	for i, r := range n {
		if !(r == '_' || r == ':' || r >= 'a' && r <= 'z' || r >= 'A' && r <= 'Z' || i > 0 && r >= '0' && r <= '9') {
			return false
		}
	}
	return true
}

// promResponse is the answer of /api/v1/query_range.
type promResponse struct {
	Status    string `json:"status"`
	ErrorType string `json:"errorType"`
	Error     string `json:"error"`
	Data      struct {
		ResultType string `json:"resultType"`
		Result     []struct {
			Metric map[string]string `json:"metric"`
			Values [][2]any          `json:"values"`
		} `json:"result"`
	} `json:"data"`
}

func (p *promSource) queryRange(ctx context.Context, client *http.Client, name, expr string, from, to time.Time, s *seriesStore) error {
	form := url.Values{"query": {expr}, "start": {unixText(from)}, "end": {unixText(to)},
		"step": {strconv.FormatFloat(p.Step.Seconds(), 'f', -1, 64)}}
	req, err := http.NewRequestWithContext(ctx, http.MethodPost, strings.TrimSuffix(p.Endpoint, "/")+"/api/v1/query_range",
		strings.NewReader(form.Encode()))
	if err != nil {
		return err
	}
	req.Header.Set("Content-Type", "application/x-www-form-urlencoded")
	resp, err := client.Do(req)
	if err != nil {
		return err
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(io.LimitReader(resp.Body, 1<<30))
	if err != nil {
		return err
	}
	var r promResponse
	if err := json.Unmarshal(body, &r); err != nil {
		return fmt.Errorf("HTTP %d, not Prometheus' JSON: %.200s", resp.StatusCode, body)
	}
	if r.Status != "success" {
		return fmt.Errorf("%s: %s", r.ErrorType, r.Error)
	}
	if r.Data.ResultType != "matrix" {
		return fmt.Errorf("result is a %s, not a matrix", r.Data.ResultType)
	}
	for _, series := range r.Data.Result {
		n := name
		if n == "" {
			n = series.Metric["__name__"]
		}
		if n == "" {
			return fmt.Errorf("series %v has no metric name: write the query as name=expr", series.Metric)
		}
		d := newSeriesDesc(n, series.Metric)
		for _, pair := range series.Values {
			t, v, err := promSample(pair)
			if err != nil {
				return fmt.Errorf("series %v: %w", series.Metric, err)
			}
			s.add(d, t, v)
		}
	}
	return nil
}

// promSample reads a [unix seconds, "value"] pair.
func promSample(pair [2]any) (time.Time, float64, error) {
	sec, ok := pair[0].(float64)
	text, ok2 := pair[1].(string)
	if !ok || !ok2 {
		return time.Time{}, 0, fmt.Errorf("sample %v is not [time, \"value\"]", pair)
	}
	v, err := strconv.ParseFloat(text, 64)
	if err != nil {
		return time.Time{}, 0, fmt.Errorf("sample value %q is not a number", text)
	}
	return time.UnixMilli(int64(math.Round(sec * 1000))).UTC(), v, nil
}

func unixText(t time.Time) string {
	return strconv.FormatFloat(float64(t.UnixMilli())/1000, 'f', -1, 64)
}
