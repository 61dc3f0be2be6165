#!/usr/bin/env bash
# The run-report test opens the report in a real headless browser: Debian's chromium.
# Installed once when missing (needs root or sudo and the Debian package mirror).
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-browser >/dev/null 2>&1; then exit 0; fi
as_root=""
[ "$(id -u)" -eq 0 ] || as_root="sudo"
echo "Installing Debian's chromium for the run-report browser test ..."
$as_root apt-get update -qq
DEBIAN_FRONTEND=noninteractive $as_root apt-get install -y -qq --no-install-recommends chromium >/dev/null
