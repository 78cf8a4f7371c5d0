#!/usr/bin/env bash
# Real-browser test of a running authfcgi site: headless Chromium (Debian's package) driven by
# playwright-core through the real login form, remember-me across a browser restart, logout;
# or (SPEC=register.spec.mjs) through registration, the mailed confirmation link and logging in.
#
#   tests/browser/run.sh BASE_URL EMAIL PASSWORD USERNAME
#   SPEC=register.spec.mjs MAILDIR=DIR tests/browser/run.sh BASE_URL EMAIL PASSWORD USERNAME
#
# login.spec.mjs (the default SPEC): the user must exist (scripts/authctl user add ...).
# register.spec.mjs: the account must not exist yet; MAILDIR is the Maildir the site's mail
# goes to (the SMTP sink, scripts/lib/smtp_sink.py). Installs Debian's chromium (apt-get, as
# root or with passwordless sudo) and the pinned node modules (npm ci) when they are missing;
# when chromium cannot be installed it prints "SKIP: chromium cannot be installed here: ..."
# and exits 0. Screenshots (one PNG per step) go to $BROWSER_SCREENSHOTS (default
# tests/browser/screenshots). Output ends with "N passed, M failed"; exits non-zero on failure.
#
# Environment: SPEC (which *.spec.mjs of this directory, default login.spec.mjs), MAILDIR (for
# register.spec.mjs), CHROMIUM (default /usr/bin/chromium), STEP_TIMEOUT_MS (default 15000),
# BROWSER_TEST_TIMEOUT (seconds for the whole browser run, default 240).
set -euo pipefail

if (($# != 4)) || [[ "$1" == -h || "$1" == --help ]]; then
  echo "usage: [BROWSER_SCREENSHOTS=DIR] [SPEC=register.spec.mjs MAILDIR=DIR]" \
    "tests/browser/run.sh BASE_URL EMAIL PASSWORD USERNAME" >&2
  exit 2
fi
BASE_URL="${1%/}"
EMAIL="$2"
PASSWORD="$3"
USERNAME="$4"

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
CHROMIUM="${CHROMIUM:-/usr/bin/chromium}"
TOTAL_S="${BROWSER_TEST_TIMEOUT:-240}"
SHOTS="${BROWSER_SCREENSHOTS:-$HERE/screenshots}"
[[ "$SHOTS" == /* ]] || SHOTS="$PWD/$SHOTS"
SPEC="${SPEC:-login.spec.mjs}"
MAILDIR="${MAILDIR:-}"

say() { printf 'tests/browser: %s\n' "$*" >&2; }
skip() {
  echo "SKIP: $*"
  exit 0
}
die() {
  say "$*"
  echo "0 passed, 1 failed"
  exit 1
}

# A spec of this directory, by name only (the node process runs in it).
if ! [[ "$SPEC" =~ ^[A-Za-z0-9_-]+\.spec\.mjs$ && -f "$HERE/$SPEC" ]]; then
  die "SPEC=$SPEC is not a *.spec.mjs in $HERE"
fi
if [[ "$SPEC" == register.spec.mjs ]]; then
  [[ -n "$MAILDIR" ]] || die "register.spec.mjs needs MAILDIR (the Maildir the site's mail goes to)"
  [[ "$MAILDIR" == /* ]] || MAILDIR="$PWD/$MAILDIR"
fi

# --- chromium -----------------------------------------------------------------------------------

as_root() {
  if ((EUID == 0)); then
    "$@"
  elif command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; then
    sudo -n "$@"
  else
    return 126
  fi
}

install_chromium() {
  command -v apt-get >/dev/null 2>&1 || { echo "no apt-get (not Debian?)"; return 1; }
  if ((EUID != 0)) && ! { command -v sudo >/dev/null 2>&1 && sudo -n true 2>/dev/null; }; then
    echo "apt-get needs root (or passwordless sudo)"
    return 1
  fi
  local log
  log="$(mktemp "${TMPDIR:-/tmp}/authfcgi-browser-apt.XXXXXX")"
  say "installing chromium with apt-get (once; about a minute)"
  if ! as_root env DEBIAN_FRONTEND=noninteractive timeout 900 \
      apt-get install -y -q --no-install-recommends chromium >"$log" 2>&1; then
    as_root env DEBIAN_FRONTEND=noninteractive timeout 300 apt-get update -q >>"$log" 2>&1 || true
    if ! as_root env DEBIAN_FRONTEND=noninteractive timeout 900 \
        apt-get install -y -q --no-install-recommends chromium >>"$log" 2>&1; then
      grep -E '^(E|W):' "$log" | tail -n 1 || tail -n 1 "$log"
      rm -f "$log"
      return 1
    fi
  fi
  rm -f "$log"
}

if [[ ! -x "$CHROMIUM" ]]; then
  if [[ "$CHROMIUM" != /usr/bin/chromium ]]; then
    die "CHROMIUM=$CHROMIUM is not an executable"
  fi
  if ! reason="$(install_chromium)"; then
    skip "chromium cannot be installed here: ${reason:-apt-get install chromium failed}"
  fi
  [[ -x "$CHROMIUM" ]] || skip "chromium cannot be installed here: no $CHROMIUM after apt-get"
fi

# --- node and playwright-core -------------------------------------------------------------------

command -v node >/dev/null 2>&1 || die "node (>= 20) is required"
command -v npm >/dev/null 2>&1 || die "npm is required"
node_major="$(node -p 'process.versions.node.split(".")[0]')"
((node_major >= 20)) || die "node >= 20 is required (playwright-core), this is $(node --version)"

# npm ci when the modules are missing or older than the lock file.
if [[ ! -f "$HERE/node_modules/playwright-core/package.json" ||
      "$HERE/package-lock.json" -nt "$HERE/node_modules/.package-lock.json" ]]; then
  say "npm ci (playwright-core, no browser download)"
  if ! (cd "$HERE" && PLAYWRIGHT_SKIP_BROWSER_DOWNLOAD=1 timeout 300 \
          npm ci --no-audit --no-fund --loglevel=error >&2); then
    die "npm ci failed in $HERE (is the npm registry reachable?)"
  fi
fi

# --- the test -----------------------------------------------------------------------------------

if ! [[ "$TOTAL_S" =~ ^[0-9]+$ ]] || ((TOTAL_S < 60)); then
  die "BROWSER_TEST_TIMEOUT must be a number of seconds >= 60"
fi
mkdir -p "$SHOTS"
rc=0
(
  cd "$HERE"
  BASE_URL="$BASE_URL" TEST_EMAIL="$EMAIL" TEST_PASSWORD="$PASSWORD" TEST_USERNAME="$USERNAME" \
    MAILDIR="$MAILDIR" BROWSER_SCREENSHOTS="$SHOTS" CHROMIUM="$CHROMIUM" \
    TOTAL_TIMEOUT_MS="$(((TOTAL_S - 15) * 1000))" \
    exec timeout --kill-after=10 "$TOTAL_S" node "$SPEC"
) || rc=$?
if ((rc == 124 || rc == 137)); then
  say "the browser test did not finish within ${TOTAL_S}s"
  echo "0 passed, 1 failed"
fi
exit "$rc"
