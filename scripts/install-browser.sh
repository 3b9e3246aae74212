#!/usr/bin/env bash
# The real-browser tests of the queue board and the merchant console need two things that do
# not come from Cargo:
#   - Debian's chromium (/usr/bin/chromium), installed with apt when missing;
#   - playwright-core, pinned by tests/browser/package-lock.json, installed with `npm ci` into
#     target/tools/browser (playwright-core only drives a browser; it downloads none).
# Idempotent: a second run only checks what is installed.
set -Eeuo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium
MODULES_DIR=target/tools/browser
LOCK=tests/browser/package-lock.json

if [[ -x "$CHROMIUM" ]]; then
    echo "browser: chromium present ($("$CHROMIUM" --version 2>/dev/null || echo 'version unknown'))"
else
    if [[ $(id -u) -ne 0 ]]; then
        echo "browser: ERROR: $CHROMIUM is missing; install Debian's chromium package as root" >&2
        exit 1
    fi
    echo "browser: installing Debian's chromium"
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -qq
    apt-get install -y -qq --no-install-recommends chromium fonts-dejavu-core >/dev/null
    [[ -x "$CHROMIUM" ]] || { echo "browser: ERROR: chromium did not install at $CHROMIUM" >&2; exit 1; }
fi

command -v npm >/dev/null || { echo "browser: ERROR: npm is missing (Debian's nodejs and npm packages)" >&2; exit 1; }

# The installed lock is compared with the committed one, so a changed pin installs again.
if [[ -f "$MODULES_DIR/node_modules/playwright-core/package.json" ]] && cmp -s "$LOCK" "$MODULES_DIR/package-lock.json"; then
    echo "browser: playwright-core present in $MODULES_DIR"
    exit 0
fi
mkdir -p "$MODULES_DIR"
cp tests/browser/package.json tests/browser/.npmrc "$LOCK" "$MODULES_DIR/"
(cd "$MODULES_DIR" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error)
[[ -f "$MODULES_DIR/node_modules/playwright-core/package.json" ]] ||
    { echo "browser: ERROR: playwright-core did not install in $MODULES_DIR" >&2; exit 1; }
echo "browser: playwright-core installed in $MODULES_DIR"
