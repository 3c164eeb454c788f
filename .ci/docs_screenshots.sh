#!/usr/bin/env bash
# Builds the API reference site and screenshots two of its pages with headless Chromium
# (Debian: `apt-get install chromium`), into results/docs_screenshot_*.png, for a look before
# a release.  Not part of the test command (CI needs no browser); `mkdocs build --strict` is.
set -euo pipefail
cd "$(dirname "$0")/.."
site=$(mktemp -d)
python -m mkdocs build --strict -q -d "$site"
python -m http.server 8765 --directory "$site" >/dev/null 2>&1 &
server=$!
trap 'kill $server' EXIT
sleep 1
for page in "index.html:getting_started" "api/samplers/index.html:api_samplers"; do
  chromium --headless=new --no-sandbox --disable-gpu --hide-scrollbars --window-size=1280,1600 \
    --screenshot="results/docs_screenshot_${page##*:}.png" "http://localhost:8765/${page%%:*}"
done
