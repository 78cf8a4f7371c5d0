# shellcheck shell=bash
# A tiny assertion and HTTP library for the curl end-to-end tests and scripts/smoke.
#
#   e2e_init WORKDIR           where response bodies and headers go
#   http [curl args...] URL    one request; sets STATUS, BODY (file), HDRS (file)
#   expect_status 200 "what"   expect_body_has "text" "what"   expect_header Name regex "what" ...
#   e2e_summary                prints "N passed, M failed"; returns 1 when M > 0
#
# Failures are counted, not fatal (unless E2E_FAIL_FAST=1), and print the request and context.

E2E_PASSED=0
E2E_FAILED=0
E2E_FAIL_FAST="${E2E_FAIL_FAST:-0}"
E2E_CASE=""
STATUS=""
LAST_REQUEST=""

e2e_init() {
  E2E_WORK="$1"
  mkdir -p "$E2E_WORK"
  BODY="$E2E_WORK/body"
  HDRS="$E2E_WORK/headers"
  : >"$BODY"
  : >"$HDRS"
}

# Names the group of checks that follows (shown with failures).
case_begin() {
  E2E_CASE="$1"
  printf -- '- %s\n' "$1"
}

pass() { E2E_PASSED=$((E2E_PASSED + 1)); }

# fail WHAT [DETAIL]: records a failure and prints context about the last response.
fail() {
  E2E_FAILED=$((E2E_FAILED + 1))
  {
    printf 'FAIL [%s] %s\n' "$E2E_CASE" "$1"
    [[ -n "${2:-}" ]] && printf '    %s\n' "$2"
    if [[ -n "$LAST_REQUEST" ]]; then
      printf '    request: %s -> %s\n' "$LAST_REQUEST" "$STATUS"
      printf '    headers:\n'
      tr -d '\r' <"$HDRS" | sed -n '1,15p' | sed 's/^/      /'
      printf '    body (start):\n'
      tr -s '[:space:]' ' ' <"$BODY" | cut -c1-400 | sed 's/^/      /'
      printf '\n'
    fi
  } >&2
  if [[ "$E2E_FAIL_FAST" == 1 ]]; then
    exit 1
  fi
}

check() { # check WHAT COMMAND...: passes when COMMAND succeeds
  local what="$1"
  shift
  if "$@"; then pass; else fail "$what"; fi
}

e2e_summary() {
  printf '%s passed, %s failed\n' "$E2E_PASSED" "$E2E_FAILED"
  ((E2E_FAILED == 0))
}

# ---------------------------------------------------------------------------------------------
# HTTP

# http [curl args...]: never follows redirects; the last argument is the URL.
http() {
  LAST_REQUEST="${*: -1}"
  # Show the method in failure reports.
  local args=" $* "
  if [[ "$args" == *" -I "* || "$args" == *" --head "* ]]; then
    LAST_REQUEST="HEAD $LAST_REQUEST"
  elif [[ "$args" =~ \ -X\ ([A-Z]+)\  ]]; then
    LAST_REQUEST="${BASH_REMATCH[1]} $LAST_REQUEST"
  elif [[ "$args" == *" --data"* || "$args" == *" -d "* ]]; then
    LAST_REQUEST="POST $LAST_REQUEST"
  else
    LAST_REQUEST="GET $LAST_REQUEST"
  fi
  : >"$BODY"
  : >"$HDRS"
  STATUS="$(curl -s -g --max-time 20 -o "$BODY" -D "$HDRS" -w '%{http_code}' "$@" 2>/dev/null)" ||
    true
  [[ -n "$STATUS" ]] || STATUS=000
  # For HEAD, curl writes the headers to the -o file as well: there is no body to keep.
  [[ "$LAST_REQUEST" != HEAD* ]] || : >"$BODY"
}

# header NAME: the value of the last NAME header of the last response (no CR).
header() {
  tr -d '\r' <"$HDRS" | awk -v n="$1" '
    BEGIN { n = tolower(n) }
    { i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == n) { v = substr($0, i + 1); sub(/^[ \t]+/, "", v); last = v; found = 1 } }
    END { if (found) print last; else exit 1 }'
}

# set_cookie NAME: the whole Set-Cookie value for cookie NAME in the last response.
set_cookie() {
  tr -d '\r' <"$HDRS" | awk -v n="$1" '
    { i = index($0, ":"); if (i > 0 && tolower(substr($0, 1, i - 1)) == "set-cookie") {
        v = substr($0, i + 1); sub(/^[ \t]+/, "", v)
        if (index(v, n "=") == 1) { last = v; found = 1 } } }
    END { if (found) print last; else exit 1 }'
}

# set_cookie_value NAME: just the value part of NAME's Set-Cookie.
set_cookie_value() {
  local line
  line="$(set_cookie "$1")" || return 1
  line="${line#*=}"
  printf '%s\n' "${line%%;*}"
}

# Decodes HTML character references (what a browser does with attribute values).
html_unescape() {
  perl -pe 's/&#[xX]([0-9a-fA-F]+);/chr(hex($1))/ge; s/&#([0-9]+);/chr($1)/ge;
            s/&quot;/"/g; s/&apos;/\x27/g; s/&lt;/</g; s/&gt;/>/g; s/&amp;/&/g'
}

# csrf_token_from_body: the value of the hidden csrf_token input in the last body.
csrf_token_from_body() {
  local tag value
  tag="$(tr '\n' ' ' <"$BODY" | grep -o '<input[^>]*name="csrf_token"[^>]*>' | head -n1)" || return 1
  [[ -n "$tag" ]] || return 1
  value="$(sed -nE 's/.*[[:space:]]value="([^"]*)".*/\1/p' <<<"$tag" | html_unescape)"
  [[ "$value" =~ ^[A-Za-z0-9._~-]+$ ]] || return 1
  printf '%s\n' "$value"
}

# Percent-encodes $1 for a query string.
urlencode() {
  # Byte by byte: a non-ASCII character becomes its UTF-8 bytes (%EF%BC%8F), as a browser sends.
  local LC_ALL=C
  local s="$1" out="" c i
  for ((i = 0; i < ${#s}; i++)); do
    c="${s:i:1}"
    case "$c" in
      [A-Za-z0-9._~-]) out+="$c" ;;
      *) out+="$(printf '%%%02X' "'$c")" ;;
    esac
  done
  printf '%s\n' "$out"
}

# ---------------------------------------------------------------------------------------------
# Assertions on the last response

expect_status() {
  if [[ "$STATUS" == "$1" ]]; then pass; else fail "${2:-status} (expected $1, got $STATUS)"; fi
}

body_has() { grep -qF -- "$1" "$BODY"; }

expect_body_has() {
  if body_has "$1"; then pass; else fail "${2:-body} (expected body to contain '$1')"; fi
}

expect_body_lacks() {
  if body_has "$1"; then fail "${2:-body} (expected body NOT to contain '$1')"; else pass; fi
}

expect_body_empty() {
  if [[ ! -s "$BODY" ]]; then pass; else fail "${1:-body} (expected an empty body, got $(wc -c <"$BODY") bytes)"; fi
}

# expect_header NAME EXTENDED_REGEX [WHAT]
expect_header() {
  local v
  if v="$(header "$1")" && [[ "$v" =~ $2 ]]; then
    pass
  else
    fail "${3:-header $1} (expected $1 matching /$2/, got '${v:-<none>}')"
  fi
}

expect_no_header() {
  local v
  if v="$(header "$1")"; then fail "${2:-header $1} (expected no $1, got '$v')"; else pass; fi
}

expect_location() {
  local v
  v="$(header Location || true)"
  # An absolute URL to this same site ($E2E_BASE, no trailing slash) counts as its path.
  if [[ -n "${E2E_BASE:-}" && "$v" == "$E2E_BASE"/* ]]; then
    v="${v#"$E2E_BASE"}"
  fi
  if [[ "$v" == "$1" ]]; then pass; else fail "${2:-Location} (expected '$1', got '$v')"; fi
}
