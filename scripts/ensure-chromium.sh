#!/usr/bin/env bash
# Browser tests need Debian's Chromium (Playwright cannot download browsers here).
set -euo pipefail
CHROMIUM="${MCQA_CHROMIUM:-/usr/bin/chromium}"
if [ -x "$CHROMIUM" ]; then exit 0; fi
if [ "$(id -u)" = "0" ] && command -v apt-get >/dev/null; then
  echo "Installing Chromium for the browser tests (apt-get install chromium)..."
  apt-get update -qq && DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
  exit 0
fi
echo "Chromium is missing: install it with 'sudo apt-get install -y chromium' (or set MCQA_CHROMIUM to its path)." >&2
exit 1
