# Strata: an OpenTelemetry Collector distribution. `make run` builds and starts it; `make test` tests it.
SHELL := /bin/bash
.DEFAULT_GOAL := build

GO      ?= go
TOOL    := $(GO) tool -modfile=tools/go.mod
BINARY  := _build/otelcol-strata
SHOPSIM := _build/shopsim
SHOP    := _build/shop
BACKTEST := _build/strata-backtest
QUICKSTART := examples/quickstart/config.yaml
CONFIG  ?= $(QUICKSTART)
# Flags for `go test`; CI and `make test` run every package with the race detector.
TESTFLAGS ?= -race -timeout 45m

# What the distribution is built from: the manifest, our module, and the non-test Go files of our components and of
# what they share in internal/ (internal/e2e is test tooling, not part of the binary).
SOURCES := builder-config.yaml go.mod go.sum \
	$(shell find receiver processor connector exporter converter internal -name '*.go' -not -name '*_test.go' \
	  -not -path 'internal/e2e/*' 2>/dev/null)

.PHONY: build run demo scenarios test test-integration fuzz bench nab detect-bench rca-bench generate lint check-versions validate image clean

## build: the otelcol-strata binary in _build/ with ocb (skipped when nothing it is built from changed),
## strata-backtest, the quickstart's shop simulator and the demo's shop
build: $(BINARY) $(BACKTEST) $(SHOPSIM) $(SHOP)

$(BINARY): $(SOURCES)
	$(TOOL) builder --config=builder-config.yaml
	@touch $@

$(BACKTEST): $(SOURCES) $(wildcard cmd/strata-backtest/*.go)
	$(GO) build -o $@ ./cmd/strata-backtest

$(SHOPSIM): go.mod go.sum $(wildcard examples/quickstart/shopsim/*.go)
	$(GO) build -o $@ ./examples/quickstart/shopsim

$(SHOP): go.mod go.sum $(wildcard examples/demo/shop/*.go)
	$(GO) build -o $@ ./examples/demo/shop

## run: build, then start the collector on $(CONFIG) (default: the quickstart, with its shop simulator) and print
## where to look
run: build
	./scripts/run.sh $(BINARY) $(CONFIG) $(if $(filter $(QUICKSTART),$(CONFIG)),$(SHOPSIM) -db _build/quickstart/shop.db)

## demo: build, then start the collector on examples/demo/collector.yaml beside the demo shop (six services with
## OpenTelemetry, their load, faults on command: `_build/shop fault -help`) and print where to look
demo: build
	STRATA_COMPANION_READY=127.0.0.1:7100 ./scripts/run.sh $(BINARY) examples/demo/collector.yaml $(SHOP) run -db _build/demo/shop.db -auth-log _build/demo/auth.jsonl

## scenarios: every fault of the demo and a 10-minute fault-free control, each from a clean start; the table of
## times to detect, root causes and alerts goes into BENCHMARKS.md (about 60 minutes)
scenarios: build
	./scripts/install-test-deps.sh   # the alerts go through a real Alertmanager where it is installed
	STRATA_SCENARIOS=full STRATA_BINARY=$(abspath $(BINARY)) $(GO) test -run 'TestScenarios' -v -timeout 90m ./test/

## test: unit tests of every package and the tests of the built binary (test/), then every fuzz target briefly
test: build
	STRATA_BINARY=$(abspath $(BINARY)) $(GO) test $(TESTFLAGS) ./...
	FUZZTIME=5s ./scripts/fuzz.sh

## fuzz: every fuzz target of the module for FUZZTIME each (default 1m)
FUZZTIME ?= 1m
fuzz:
	FUZZTIME=$(FUZZTIME) ./scripts/fuzz.sh

## test-integration: installs (where it may) and starts real servers (Prometheus, ...) and tests against them
test-integration: build
	./scripts/install-test-deps.sh
	STRATA_BINARY=$(abspath $(BINARY)) $(GO) test -tags integration -timeout 30m -run Integration ./...

## bench: Go benchmarks of every package and load runs against the built binary, beside the tools they are compared
## with (installed where it may, as for test-integration); results go to BENCHMARKS.md
bench: build
	./scripts/install-test-deps.sh
	STRATA_BINARY=$(abspath $(BINARY)) $(GO) test -run '^$$' -bench . -benchmem -count 1 -timeout 60m ./...

## nab: the anomaly detector (default configuration) over the Numenta Anomaly Benchmark, scored with NAB's three
## profiles into BENCHMARKS.md; NAB_DATA is a checkout of numenta/NAB, NAB_OUT (optional) gets the per-row scores
NAB_DATA ?= ../shared/data/nab
NAB_OUT  ?=
nab:
	$(GO) run ./internal/nab/cmd/nab -data $(NAB_DATA) -out "$(NAB_OUT)" -benchmarks BENCHMARKS.md

## detect-bench: the anomaly detector's alarms (at the default budget and three others) over the detection suite's
## evaluation seeds, per fault kind and on fault-free controls, into BENCHMARKS.md;
## `go run ./internal/detectbench/cmd/detect-bench` runs the development seeds, on which parameters are chosen
detect-bench:
	$(GO) run ./internal/detectbench/cmd/detect-bench -eval -sweep 0.001,0.1,1 -benchmarks BENCHMARKS.md

## rca-bench: the root-cause suite (docs/rca-bench.md): the demo's cases on the evaluation seeds replayed through
## strata-backtest with the default configuration, scored beside two baselines, into BENCHMARKS.md (about 15
## minutes); `go run ./internal/rcabench/cmd/rca-bench` runs the development seeds, `-cases DIR` your own
rca-bench: build
	$(GO) run ./internal/rcabench/cmd/rca-bench -backtest $(BACKTEST) -eval -benchmarks BENCHMARKS.md

## generate: mdatagen for every component (its //go:generate line)
generate:
	$(GO) generate ./...

## lint: gofmt, go vet and staticcheck (pinned in tools/go.mod)
lint:
	@unformatted=$$(gofmt -l $$(git ls-files --cached --others --exclude-standard '*.go')); \
	  if [ -n "$$unformatted" ]; then echo "gofmt: not formatted:"; echo "$$unformatted"; exit 1; fi
	$(GO) vet ./...
	$(GO) vet -tags integration ./...
	$(TOOL) staticcheck ./...

## check-versions: fails when a collector or contrib module is off its pin, or builder-config.yaml and go.mod disagree
check-versions:
	./scripts/check-versions.sh

## validate: the built binary's `validate` on every collector config (a YAML file with a `service:` key) under examples/
validate: build
	@set -e; for f in $$(grep -rl --include='*.yaml' '^service:' examples | sort); do \
	  echo "validate $$f"; extra=$$(grep -q "^ *kubeletstats:" $$f && echo --config=test/testdata/outside-pod.yaml || true); \
	  K8S_NODE_NAME=$${K8S_NODE_NAME:-node-1} $(BINARY) validate --config=$$f $$extra; done

## image: the container image otelcol-strata:$(VERSION) from the Dockerfile (needs Docker and its registries)
VERSION := $(shell sed -n 's/^  version: //p' builder-config.yaml)
image:
	docker build -t otelcol-strata:$(VERSION) .

## clean: remove the build output
clean:
	rm -rf _build
