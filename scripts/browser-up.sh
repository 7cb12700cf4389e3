#!/usr/bin/env bash
# Installs a headless browser for the report test (Debian's chromium) when it is missing; needs root
# and apt-get. Elsewhere the browser test is skipped and says why.
set -euo pipefail
if command -v chromium >/dev/null 2>&1 || command -v chromium-headless-shell >/dev/null 2>&1; then exit 0; fi
if [ "$(id -u)" != 0 ] || ! command -v apt-get >/dev/null; then
  echo "browser-up: needs root and apt-get to install chromium; skipping" >&2; exit 1
fi
apt-get update -qq
DEBIAN_FRONTEND=noninteractive apt-get install -y -qq chromium >/dev/null
echo "browser-up: $(chromium --version)"
