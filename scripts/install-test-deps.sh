#!/usr/bin/env bash
# Installs the real servers the integration tests and the comparison benchmarks run (Debian packages), where this
# machine lets us: as root with apt-get. Elsewhere it lists what is missing; the tests that need a missing server skip, unless
# STRATA_REQUIRE_INTEGRATION=1 (set by .ci/run) makes them fail.
# Services are not started by the packages' scripts: each test starts its own server on loopback.
set -euo pipefail

# command -> Debian package providing it
declare -A packages=(
  [prometheus]=prometheus
  [promtool]=prometheus
  [prometheus-blackbox-exporter]=prometheus-blackbox-exporter
  [/usr/sbin/sshd]=openssh-server
  [sshpass]=sshpass
  [ssh-keygen]=openssh-client
  [fail2ban-regex]=fail2ban
  [prometheus-sql-exporter]=prometheus-sql-exporter
  [prometheus-alertmanager]=prometheus-alertmanager
  [chromium]=chromium
)

missing=()
for cmd in "${!packages[@]}"; do
  command -v "$cmd" >/dev/null 2>&1 || missing+=("${packages[$cmd]}")
done
# PostgreSQL's server programs are not on the PATH on Debian: /usr/lib/postgresql/VERSION/bin.
compgen -G '/usr/lib/postgresql/*/bin/initdb' >/dev/null || command -v initdb >/dev/null || missing+=(postgresql)
if [ ${#missing[@]} -eq 0 ]; then
  echo "install-test-deps: every integration server is installed"
  exit 0
fi
if [ "$(id -u)" -ne 0 ] || ! command -v apt-get >/dev/null 2>&1; then
  echo "install-test-deps: missing ${missing[*]}, and this is not a root Debian machine: install them by hand" >&2
  exit 0
fi

# Keep package scripts from starting the services they install (policy-rc.d, as in Debian's container images).
policy=/usr/sbin/policy-rc.d
created_policy=false
if [ ! -e "$policy" ]; then
  printf '#!/bin/sh\nexit 101\n' > "$policy" && chmod +x "$policy" && created_policy=true
fi
trap '$created_policy && rm -f "$policy"' EXIT

echo "install-test-deps: installing ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
apt-get update -qq
apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
echo "install-test-deps: installed ${missing[*]}"
