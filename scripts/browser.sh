#!/usr/bin/env bash
# What the web page's tests (tests/web) need beside the virtualenv, installed when missing:
#   Debian's chromium, which Playwright drives (it never downloads a browser of its own here),
#     with apt (`apt-get update` first), as root;
#   axe-core for the accessibility check, from npm, exactly as tests/web/axe/package-lock.json pins it.
# `make test` runs this before pytest; it fails loudly when either cannot be installed.
set -euo pipefail
cd "$(dirname "$0")/.."

CHROMIUM=/usr/bin/chromium
AXE=tests/web/axe

fail() {
    echo "browser.sh: $*" >&2
    exit 1
}

if [[ ! -x $CHROMIUM ]]; then
    [[ $(id -u) -eq 0 ]] || fail "$CHROMIUM is missing and installing it needs root: apt-get install chromium"
    echo "browser.sh: installing Debian's chromium (for tests/web)" >&2
    export DEBIAN_FRONTEND=noninteractive
    apt-get update -q || fail "apt-get update failed"
    apt-get install -y -q --no-install-recommends chromium fonts-dejavu-core \
        || fail "apt-get install chromium failed"
    [[ -x $CHROMIUM ]] || fail "apt installed chromium but $CHROMIUM is not there"
    "$CHROMIUM" --version >&2
fi

if [[ ! -f $AXE/node_modules/axe-core/axe.min.js ]]; then
    command -v npm >/dev/null || fail "npm is missing: it installs axe-core for tests/web"
    (cd "$AXE" && npm ci --ignore-scripts --no-audit --no-fund --loglevel=error) \
        || fail "npm ci in $AXE failed"
fi
