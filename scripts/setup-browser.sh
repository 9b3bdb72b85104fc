#!/usr/bin/env bash
# What the browser tests (tests/browser) need besides the build: Debian's Chromium, Node.js 20+
# and npm, and playwright-core at the version tests/browser/package-lock.json pins. No browser
# is downloaded: the tests drive /usr/bin/chromium. Safe to run again.
set -euo pipefail
cd "$(dirname "$0")/.."
SUDO=""
[ "$(id -u)" -eq 0 ] || SUDO="sudo"
missing=()
for p in chromium fonts-dejavu-core; do
  dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
command -v node >/dev/null || missing+=(nodejs)
command -v npm >/dev/null || missing+=(npm)
if ((${#missing[@]})); then
  echo "installing: ${missing[*]}"
  $SUDO apt-get update -qq
  DEBIAN_FRONTEND=noninteractive $SUDO apt-get install -y -qq --no-install-recommends "${missing[@]}"
fi
major=$(node -p 'process.versions.node.split(".")[0]')
if [ "$major" -lt 20 ]; then
  echo "the browser tests need Node.js 20 or newer (playwright-core); this machine has $(node --version)" >&2
  exit 1
fi
cd tests/browser
# npm ci installs exactly the lockfile; skipped when that install is already there.
if ! [ node_modules/.rbee-lock -nt package-lock.json ]; then
  npm ci --no-audit --no-fund --loglevel=error
  touch node_modules/.rbee-lock
fi
