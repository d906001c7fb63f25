#!/usr/bin/env bash
# Starts the collector on a config and, once its health endpoint answers, prints the config's leading comment
# block (the "where to look" lines of every example). Ctrl-C or SIGTERM stops the collector cleanly.
# A companion command after the config (the quickstart's shop simulator, the demo's shop) starts first and stops
# with it.
set -euo pipefail
binary=${1:?usage: run.sh BINARY CONFIG [COMPANION ARGS...]}
config=${2:?usage: run.sh BINARY CONFIG [COMPANION ARGS...]}
shift 2
# healthy HOST:PORT: the endpoint answers GET / with 200 (bash's /dev/tcp, so curl is not needed).
healthy() (
  exec 2>/dev/null 3<>"/dev/tcp/${1%:*}/${1##*:}" || exit 1
  printf 'GET / HTTP/1.0\r\nHost: %s\r\n\r\n' "$1" >&3
  read -r -t 2 line <&3 || exit 1
  [[ $line == *" 200 "* ]]
)

companion=
if [ $# -gt 0 ]; then
  "$@" &
  companion=$!
  trap 'kill -TERM "$companion" 2>/dev/null || true' EXIT
  # STRATA_COMPANION_READY=HOST:PORT: wait until the companion answers there (the demo shop, once its services
  # are up); otherwise a moment for its first writes (the quickstart shop's schema) before the collector's reads.
  if [ -n "${STRATA_COMPANION_READY:-}" ]; then
    for _ in $(seq 1 150); do
      healthy "$STRATA_COMPANION_READY" && break
      kill -0 "$companion" 2>/dev/null || exit 1
      sleep 0.2
    done
  else
    sleep 0.5
  fi
fi

# The health_check endpoint of the config, if it has one (the first `endpoint:` after `health_check:`).
# Any indentation: the block ends at the next line indented no deeper than `health_check:`.
health=$(awk '
  /^ *health_check:/ { h = 1; ind = index($0, "h") - 1; next }
  h && /[^ ]/ { match($0, /^ */); if (RLENGTH <= ind) exit; if ($1 == "endpoint:") { print $2; exit } }
' "$config")


"$binary" --config="$config" &
pid=$!
trap 'kill -TERM "$pid" 2>/dev/null || true' INT TERM

if [ -n "$health" ]; then
  for _ in $(seq 1 300); do
    kill -0 "$pid" 2>/dev/null || break
    healthy "$health" && break
    sleep 0.2
  done
fi
if kill -0 "$pid" 2>/dev/null; then
  {
    printf '\n==== otelcol-strata is running (pid %s) on %s ====\n' "$pid" "$config"
    sed -n '/^#/!q; s/^# \{0,1\}//p' "$config"
    printf '==== stop with Ctrl-C ====\n\n'
  } >&2
fi
set +e
wait "$pid"
status=$?
# A signal delivered to this script interrupts the first wait; wait again for the collector's own exit status.
if kill -0 "$pid" 2>/dev/null; then wait "$pid"; status=$?; fi
exit "$status"
