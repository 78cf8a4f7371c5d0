# shellcheck shell=bash
# Pass/fail counting for the test scripts that are not HTTP suites (tests/galera, tests/systemd,
# tests/package; the e2e suites use tests/e2e/lib.sh). Each check prints one line.
#   ok [WHAT]                counts a pass (printed when named)
#   bad WHAT [DETAIL]        counts a failure; DETAIL (logs, values) on an indented line
#   check WHAT COMMAND...    ok when COMMAND succeeds, else bad
# PASSED and FAILED hold the counts for the script's summary.

PASSED=0
FAILED=0

ok() {
  PASSED=$((PASSED + 1))
  [[ -z "${1:-}" ]] || printf 'ok   %s\n' "$1"
}

bad() {
  FAILED=$((FAILED + 1))
  printf 'FAIL %s\n' "$1"
  [[ -z "${2:-}" ]] || printf '     %s\n' "$2"
}

check() {
  local what="$1"
  shift
  if "$@"; then ok "$what"; else bad "$what"; fi
}
