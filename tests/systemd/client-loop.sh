#!/usr/bin/env bash
# One client of tests/systemd/run.sh: sends requests one after another until STOP_FILE exists
# (or MAX_SECONDS pass) and appends one line per request to OUT: "ok MODE" or "FAIL MODE ...".
#
#   client-loop.sh secret|login BASE_URL OUT STOP_FILE MAX_SECONDS EMAIL PASSWORD
#
# secret: logs in once, then GET /secret again and again (each one looks the session up in the
#         database); expects 200 and the secret page.
# login:  GET /auth/login then POST the credentials (argon2id, a slow request), each time with a
#         fresh cookie jar; expects 302 to /.
set -euo pipefail

(($# == 7)) || {
  echo "usage: $0 secret|login BASE_URL OUT STOP_FILE MAX_SECONDS EMAIL PASSWORD" >&2
  exit 2
}
MODE="$1" BASE="${2%/}" OUT="$3" STOP="$4" MAX="$5" EMAIL="$6" PASSWORD="$7"

# shellcheck source=tests/e2e/lib.sh
source "$(dirname "${BASH_SOURCE[0]}")/../e2e/lib.sh"
WORK="$(mktemp -d "${TMPDIR:-/tmp}/authfcgi-client.XXXXXX")"
trap 'rm -rf "$WORK"' EXIT
e2e_init "$WORK"
JAR="$WORK/jar"

record() { printf '%s\n' "$*" >>"$OUT"; }

# Logs in with a fresh jar; prints nothing, fails with a reason on stdout.
login() {
  rm -f "$JAR"
  http -b "$JAR" -c "$JAR" "$BASE/auth/login"
  if [[ "$STATUS" != 200 ]]; then
    echo "GET /auth/login -> $STATUS"
    return 1
  fi
  local token
  token="$(csrf_token_from_body)" || {
    echo "no csrf_token in the login form"
    return 1
  }
  http -b "$JAR" -c "$JAR" --data-urlencode "csrf_token=$token" \
    --data-urlencode "email=$EMAIL" --data-urlencode "password=$PASSWORD" "$BASE/auth/login"
  if [[ "$STATUS" != 302 ]]; then
    echo "POST /auth/login -> $STATUS"
    return 1
  fi
}

if [[ "$MODE" == secret ]]; then
  if ! why="$(login)"; then
    record "FAIL secret initial login: $why"
    exit 0
  fi
fi

end=$((SECONDS + MAX))
while [[ ! -e "$STOP" ]] && ((SECONDS < end)); do
  case "$MODE" in
    secret)
      http -b "$JAR" "$BASE/secret"
      if [[ "$STATUS" == 200 ]] && body_has "Only authenticated users are allowed!"; then
        record "ok secret"
      else
        record "FAIL secret GET /secret -> $STATUS"
      fi
      ;;
    login)
      if why="$(login)"; then
        record "ok login"
      else
        record "FAIL login $why"
      fi
      ;;
    *)
      echo "unknown mode $MODE" >&2
      exit 2
      ;;
  esac
done
