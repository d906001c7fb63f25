#!/usr/bin/env bash
# Runs every Go fuzz target of the module (func FuzzXxx in a _test.go file) for FUZZTIME each (default 1m), one
# target at a time, and fails on the first finding (Go writes the failing input under the package's
# testdata/fuzz/, where `go test` replays it from then on).
set -euo pipefail
cd "$(dirname "$0")/.."
fuzztime=${FUZZTIME:-1m}
grep -rl --include='*_test.go' -E '^func Fuzz[A-Z][A-Za-z0-9_]*\(' receiver processor connector exporter converter internal |
  sort | while read -r file; do
    pkg=./$(dirname "$file")
    for target in $(sed -n -E 's/^func (Fuzz[A-Za-z0-9_]*)\(.*/\1/p' "$file"); do
      echo "fuzz $pkg $target ($fuzztime)"
      go test -run '^$' -fuzz "^${target}\$" -fuzztime "$fuzztime" "$pkg"
    done
  done
