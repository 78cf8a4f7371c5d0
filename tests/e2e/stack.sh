# shellcheck shell=bash
# The frame the end-to-end suites (run.sh, attacks.sh) share: a work dir, traps that stop
# everything the suite started (also when it aborts) and print the summary as the last line,
# and the worker configuration they write. Sourcing it also sources scripts/lib/common.sh and
# tests/e2e/lib.sh.
#
#   stack_args USAGE "$@"     SERVER, AUTHFCGI, AUTHCTL (absolute) from SERVER AUTHFCGI AUTHCTL
#   stack_init NAME           TMP = a new work dir; traps EXIT, INT and TERM
#   stack_stop                defined by the suite: stops what it started
#   STACK_LOGS=(FILE...)      worker logs whose last lines are shown when something failed
#   stack_finish              the normal end: stop, report, summary (its status is the suite's)
#   write_conf FILE DBNAME SECRET [extra lines...]   a worker configuration for DB_DIR's MariaDB

STACK_HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/common.sh
source "$STACK_HERE/../../scripts/lib/common.sh"
# shellcheck source=tests/e2e/lib.sh
source "$STACK_HERE/lib.sh"

stack_args() { # USAGE SERVER AUTHFCGI AUTHCTL
  local usage="$1"
  shift
  if (($# != 3)); then
    echo "usage: $usage" >&2
    exit 2
  fi
  # shellcheck disable=SC2034 # read by the suite that sources this file
  SERVER="$1"
  AUTHFCGI="$(cd "$(dirname "$2")" && pwd)/$(basename "$2")"
  AUTHCTL="$(cd "$(dirname "$3")" && pwd)/$(basename "$3")"
  [[ -x "$AUTHFCGI" ]] || af_die "no authfcgi executable at $AUTHFCGI"
  [[ -x "$AUTHCTL" ]] || af_die "no authctl executable at $AUTHCTL"
}

stack_init() { # NAME
  STACK_NAME="$1"
  STACK_LOGS=()
  TMP="$(mktemp -d "${TMPDIR:-/tmp}/authfcgi-$1.XXXXXX")"
  chmod 755 "$TMP"
  trap stack_abort EXIT
  trap 'exit 130' INT
  trap 'exit 143' TERM
}

stack_report() { # ABORTED
  local aborted="$1" log
  # An abort before the suite defined stack_stop has nothing of its to stop.
  if declare -F stack_stop >/dev/null; then
    stack_stop || true
  fi
  if ((aborted || E2E_FAILED > 0)); then
    for log in "${STACK_LOGS[@]}"; do
      if [[ -s "$log" ]]; then
        echo "--- worker log ($log), last lines ---"
        tail -n 25 "$log" || true
      fi
    done
  fi
  if [[ "${E2E_KEEP:-0}" == 1 ]]; then
    echo "$STACK_NAME: work dir kept: $TMP"
  else
    rm -rf "$TMP"
  fi
  if ((aborted)) && ! [[ "$E2E_FAIL_FAST" == 1 && E2E_FAILED -gt 0 ]]; then
    echo "$STACK_NAME: aborted before the end (see the error above)"
    E2E_FAILED=$((E2E_FAILED + 1))
  fi
  echo
  e2e_summary
}

stack_abort() {
  local rc=$?
  trap - EXIT INT TERM
  stack_report 1 || true
  ((rc != 0)) || rc=1
  exit "$rc"
}

stack_finish() {
  trap - EXIT INT TERM
  stack_report 0
}

write_conf() { # FILE DBNAME SECRET [extra lines...]
  local file="$1" db="$2" secret="$3"
  shift 3
  {
    echo "secret_key = $secret"
    echo "db_socket = $(mariadb_socket "$DB_DIR")"
    echo "db_user = authfcgi"
    echo "db_password = $DB_PASSWORD"
    echo "db_name = $db"
    echo "templates_dir = $AUTHFCGI_REPO/templates"
    echo "sql_dir = $AUTHFCGI_REPO/sql"
    echo "threads = 2"
    printf '%s\n' "$@"
  } >"$file"
  chmod 600 "$file"
}
