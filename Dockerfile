# otelcol-strata as a small, static, non-root image: `make image` (docker build -t otelcol-strata:<version> .).
# The build stage runs the same `make build` as every other build; the image holds the static binary, CA
# certificates and the three deployment configurations of examples/ (agent, gateway, sidecar) under
# /etc/otelcol-strata, and runs as the distroless "nonroot" user (65532).
ARG GO_VERSION=1.26

FROM golang:${GO_VERSION}-bookworm AS build
WORKDIR /src
ENV CGO_ENABLED=0
COPY go.mod go.sum ./
RUN --mount=type=cache,target=/go/pkg/mod go mod download
COPY . .
RUN --mount=type=cache,target=/go/pkg/mod --mount=type=cache,target=/root/.cache/go-build make build

FROM gcr.io/distroless/static-debian12:nonroot
COPY --from=build /src/_build/otelcol-strata /otelcol-strata
COPY examples/agent/collector.yaml /etc/otelcol-strata/agent.yaml
COPY examples/gateway/collector.yaml /etc/otelcol-strata/gateway.yaml
COPY examples/sidecar/collector.yaml /etc/otelcol-strata/sidecar.yaml
USER 65532:65532
# OTLP gRPC and HTTP, the collector's own metrics, the Prometheus exporter, health_check
EXPOSE 4317 4318 8888 8889 13133
ENTRYPOINT ["/otelcol-strata"]
CMD ["--config=/etc/otelcol-strata/gateway.yaml"]
