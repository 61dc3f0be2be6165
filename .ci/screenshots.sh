#!/usr/bin/env bash
# A PNG beside every HTML page under a reports folder (run reports, runs index, data reports), taken
# by headless chromium without network, so a person can look without opening a browser:
#   .ci/screenshots.sh [REPORTS_DIR]    (default: work/reports; `make screenshots`)
set -euo pipefail
reports="${1:-work/reports}"
browser="$(command -v chromium || command -v chromium-browser || true)"
if [ -z "$browser" ]; then
  echo "error: chromium is needed for screenshots: run .ci/ensure_debian_package.sh chromium chromium" >&2
  exit 1
fi
if [ ! -d "$reports" ]; then
  echo "error: no reports in $reports: run the pipeline first (make run)" >&2
  exit 1
fi
offline=()
if unshare --net true 2>/dev/null; then offline=(unshare --net); fi
count=0
while IFS= read -r -d '' page; do
  shot="${page%.html}.png"
  "${offline[@]}" "$browser" --headless --no-sandbox --disable-gpu --hide-scrollbars \
    --window-size=1300,2400 --screenshot="$shot" "file://$(realpath "$page")" >/dev/null 2>&1
  [ -s "$shot" ] || { echo "error: no screenshot of $page" >&2; exit 1; }
  echo "$shot"
  count=$((count + 1))
done < <(find "$reports" -name '*.html' -print0 | sort -z)
echo "$count screenshot(s) written"
