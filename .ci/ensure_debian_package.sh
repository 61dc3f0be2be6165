#!/usr/bin/env bash
# Installs a Debian package once, when none of its commands is on PATH (needs root or sudo and the
# Debian package mirror):  .ci/ensure_debian_package.sh PACKAGE COMMAND [COMMAND ...]
# chromium: the run-report tests open the report in a real headless browser;
# nghttp2-client: h2load, the gRPC load generator of `make bench-serving`;
# mariadb-server-core, mariadb-client-core: ML Metadata on a MySQL-compatible server (tests/mysql_server.py
# starts its own; the -core packages install no service).
set -euo pipefail
package="$1"; shift
for command in "$@"; do
  if command -v "$command" >/dev/null 2>&1; then exit 0; fi
done
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
echo "Installing Debian's $package ..."
$as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends "$package" >/dev/null
