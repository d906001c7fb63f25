#!/usr/bin/env bash
# Fails when a collector core or contrib module is off its pin (core v0.149.0, core stable v1.55.0, contrib v0.149.0)
# in builder-config.yaml, in go.mod's requirements, in the modules our packages and tests compile against, or in the
# modules the generated distribution under _build/ compiles against (when it exists), or when the manifest and go.mod
# disagree on a module. (`go list -deps` rather than `go list -m all`: the full graph of the distribution names
# module versions the proxy here does not serve, though nothing compiles them.)
# BUILDER_CONFIG and GOMOD_DIR point it at other files (its own tests use that).
set -uo pipefail
cd "$(dirname "$0")/.."
manifest=${BUILDER_CONFIG:-builder-config.yaml}
moddir=${GOMOD_DIR:-.}

# off_pin WHERE: reads "module version" lines on stdin and prints one line per collector module off its pin.
off_pin() {
  awk -v where="$1" '
    $1 ~ /^go\.opentelemetry\.io\/collector(\/|$)/ {
      pin = ($2 ~ /^v1\./) ? "v1.55.0" : "v0.149.0"
      if ($2 != pin) printf "%s: %s %s (pin: %s)\n", where, $1, $2, pin
    }
    $1 ~ /^github\.com\/open-telemetry\/opentelemetry-collector-contrib(\/|$)/ {
      if ($2 != "v0.149.0") printf "%s: %s %s (pin: v0.149.0)\n", where, $1, $2
    }'
}

manifest_modules() { sed -n 's/^ *- *gomod: *\([^ ]*\) *\([^ ]*\).*/\1 \2/p' "$manifest"; }
# The require lines of go.mod itself, block and single-line forms, without resolving anything.
required_modules() { awk '/^require \(/ {b=1; next} b && /^\)/ {b=0} b && NF >= 2 {print $1, $2} /^require [^(]/ {print $2, $3}' "$moddir/go.mod"; }

# compiled_modules DIR PATTERN: "module version" of every module whose packages DIR's PATTERN compiles, tests included.
compiled_modules() {
  (cd "$1" && go list -deps -test -f '{{with .Module}}{{if .Main}}{{else if .Replace}}{{.Path}} {{.Replace.Version}}{{else}}{{.Path}} {{.Version}}{{end}}{{end}}' "$2") | sort -u
}

problems=$(
  manifest_modules | off_pin "$manifest"
  required_modules | off_pin "$moddir/go.mod"
  if resolved=$(compiled_modules "$moddir" ./... 2>&1); then
    echo "$resolved" | off_pin "compiled by our module"
    # The manifest and go.mod must agree on every module they share.
    join <(manifest_modules | sort) <(echo "$resolved" | awk 'NF >= 2 {print $1, $2}' | sort) |
      awk -v m="$manifest" '$2 != $3 {printf "%s says %s %s but go.mod resolves %s\n", m, $1, $2, $3}'
  else
    echo "go list failed in $moddir: $resolved"
  fi
  if [ -z "${GOMOD_DIR:-}" ] && [ -f _build/go.mod ]; then
    if built=$(compiled_modules _build . 2>&1); then
      echo "$built" | off_pin "compiled into _build/otelcol-strata"
    else
      echo "go list failed in _build: $built"
    fi
  fi
)

if [ -n "$problems" ]; then
  echo "check-versions: collector modules off their pins:" >&2
  echo "$problems" >&2
  exit 1
fi
echo "check-versions: every collector and contrib module is at its pin"
