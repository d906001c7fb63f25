// Command strata-backtest replays recorded telemetry (CSV, OTLP/JSON files, or a Prometheus server's history)
// through a collector configuration's Strata components in simulated time, and reports every alert and incident
// the configuration would have raised.
package main

import (
	"context"
	"errors"
	"flag"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"runtime/pprof"
	"strings"
	"time"

	"go.opentelemetry.io/collector/config/confighttp"
	"go.opentelemetry.io/collector/config/configopaque"
	"go.opentelemetry.io/collector/confmap"
	"go.opentelemetry.io/collector/confmap/xconfmap"
	"go.uber.org/zap"
	"go.yaml.in/yaml/v3"
)

// listFlag is a flag that may be given several times.
type listFlag []string

func (l *listFlag) String() string     { return strings.Join(*l, ",") }
func (l *listFlag) Set(v string) error { *l = append(*l, v); return nil }

func main() {
	if err := realMain(context.Background(), os.Args[1:], os.Stdout); err != nil {
		fmt.Fprintln(os.Stderr, "strata-backtest:", err)
		os.Exit(1)
	}
}

// realMain runs the command with args, writing the summary to stdout.
func realMain(ctx context.Context, args []string, stdout io.Writer) error {
	fs := flag.NewFlagSet("strata-backtest", flag.ContinueOnError)
	fs.Usage = func() {
		fmt.Fprintln(fs.Output(), `usage: strata-backtest --config collector.yaml [--csv F]... [--otlp F]... [--prometheus URL --query Q... --start T --end T --step D] [flags]

Replays history through the configuration's Strata components in simulated time and writes what they would have
done: every alert (alerts.jsonl, notifications/), every incident record (incidents.jsonl), the summary
(summary.json and the console) and, with --scores, the anomaly processor's points (scores.jsonl).`)
		fs.PrintDefaults()
	}
	var o options
	var csvs, otlps, queries, headers, pipelines listFlag
	var promURL, start, end string
	var step time.Duration
	var verbose bool
	fs.StringVar(&o.config, "config", "", "the collector configuration (required)")
	fs.Var(&csvs, "csv", "a CSV file of history: a header naming time, value, metric (or __name__) and label columns (repeatable)")
	fs.Var(&otlps, "otlp", "an OTLP/JSON file as the contrib file exporter writes it, a request a line (repeatable)")
	fs.StringVar(&promURL, "prometheus", "", "a Prometheus server's URL to read history from with query_range")
	fs.Var(&queries, "query", "a PromQL query for --prometheus; name=expr names an expression's series (repeatable)")
	clientFile := fs.String("prometheus-client", "", "a YAML file of the collector's HTTP client settings for --prometheus (tls, headers, timeout, proxy_url; endpoint if --prometheus is not given)")
	fs.Var(&headers, "header", "an HTTP header for --prometheus, as 'Name: value' (repeatable; e.g. Authorization)")
	fs.StringVar(&start, "start", "", "the start of the range read from --prometheus (RFC 3339 or Unix seconds)")
	fs.StringVar(&end, "end", "", "the end of the range read from --prometheus (RFC 3339 or Unix seconds)")
	fs.DurationVar(&step, "step", time.Minute, "the resolution read from --prometheus")
	fs.Var(&pipelines, "pipeline", "a pipeline the history feeds (repeatable); default: every pipeline with a receiver")
	fs.StringVar(&o.out, "out", "backtest", "the output directory")
	fs.StringVar(&o.state, "state", "", "a file_storage directory: the anomaly processor's models start from it and are written back to it at the end")
	fs.BoolVar(&o.scores, "scores", false, "keep the anomaly processor's points in scores.jsonl")
	scoresFrom := fs.String("scores-from", "", "with --scores, keep only the points from this time on (RFC 3339 or Unix seconds)")
	fs.DurationVar(&o.tail, "tail", 0, "how long the clock runs on after the last point, so that waits and resolutions end")
	fs.BoolVar(&verbose, "verbose", false, "log the components' warnings and errors")
	compareWith := fs.String("compare", "", "a second configuration to run on the same history; its outputs go to OUT/compare, the difference to OUT/compare.json")
	cpuProfile := fs.String("cpuprofile", "", "write a CPU profile of the run to this file (go tool pprof reads it)")
	if err := fs.Parse(args); err != nil {
		return err
	}
	if o.config == "" {
		fs.Usage()
		return errors.New("--config is required")
	}
	o.csv, o.otlp, o.pipelines = csvs, otlps, pipelines
	if *scoresFrom != "" {
		var err error
		if o.scoresFrom, err = parseTime(*scoresFrom); err != nil {
			return fmt.Errorf("--scores-from: %w", err)
		}
	}
	if promURL != "" || *clientFile != "" {
		p, err := newPromSource(promURL, *clientFile, queries, headers, start, end, step)
		if err != nil {
			return err
		}
		o.prometheus = p
	}
	if len(o.csv) == 0 && len(o.otlp) == 0 && o.prometheus == nil {
		return errors.New("no history: give --csv, --otlp or --prometheus")
	}
	o.logger = zap.NewNop()
	if verbose {
		l, err := zap.NewDevelopment(zap.IncreaseLevel(zap.WarnLevel), zap.AddStacktrace(zap.DPanicLevel))
		if err != nil {
			return err
		}
		o.logger = l
	}
	if *cpuProfile != "" {
		f, err := os.Create(*cpuProfile)
		if err != nil {
			return err
		}
		defer f.Close()
		if err := pprof.StartCPUProfile(f); err != nil {
			return err
		}
		defer pprof.StopCPUProfile()
	}
	res, err := runAndWrite(ctx, o, stdout)
	if err != nil || *compareWith == "" {
		return err
	}
	ob := o
	ob.config, ob.out = *compareWith, filepath.Join(o.out, "compare")
	fmt.Fprintf(stdout, "\n%s\n\n", *compareWith)
	resB, err := runAndWrite(ctx, ob, stdout)
	if err != nil {
		return err
	}
	return writeComparison(stdout, o.out, compare(res, resB, o.config, ob.config))
}

// runAndWrite runs a backtest, writes its outputs and prints its summary.
func runAndWrite(ctx context.Context, o options, stdout io.Writer) (*result, error) {
	res, err := run(ctx, o)
	if err != nil {
		return nil, err
	}
	s := summarize(res)
	if err := writeOutputs(o.out, res, s); err != nil {
		return nil, err
	}
	printSummary(stdout, res, s, o.out)
	return res, nil
}

// newPromSource returns the Prometheus source the flags describe: the client settings of clientFile (when given),
// then the endpoint and headers of the flags.
func newPromSource(endpoint, clientFile string, queries, headers []string, start, end string, step time.Duration) (*promSource, error) {
	p := &promSource{ClientConfig: confighttp.NewDefaultClientConfig(), Queries: queries, Step: step}
	if clientFile != "" {
		data, err := os.ReadFile(clientFile)
		if err != nil {
			return nil, err
		}
		var raw map[string]any
		if err := yaml.Unmarshal(data, &raw); err != nil {
			return nil, fmt.Errorf("%s: %w", clientFile, err)
		}
		if err := confmap.NewFromStringMap(raw).Unmarshal(&p.ClientConfig); err != nil {
			return nil, fmt.Errorf("%s: %w", clientFile, err)
		}
		if err := xconfmap.Validate(&p.ClientConfig); err != nil {
			return nil, fmt.Errorf("%s: %w", clientFile, err)
		}
	}
	if endpoint != "" {
		p.Endpoint = endpoint
	}
	var err error
	if p.Start, err = parseTime(start); err != nil {
		return nil, fmt.Errorf("--start: %w", err)
	}
	if p.End, err = parseTime(end); err != nil {
		return nil, fmt.Errorf("--end: %w", err)
	}
	for _, h := range headers {
		name, value, ok := strings.Cut(h, ":")
		if !ok {
			return nil, fmt.Errorf("--header %q is not 'Name: value'", h)
		}
		p.Headers.Set(strings.TrimSpace(name), configopaque.String(strings.TrimSpace(value)))
	}
	return p, p.validate()
}
