#!/usr/bin/env bash
# `[[ cond ]] && pass || fail ...` is safe here: pass never fails.
# shellcheck disable=SC2015
# Attacks over HTTP: what an attacker would try against a real stack (private MariaDB, authctl
# migrations and users, 2 spawn-fcgi worker processes on one socket, nginx on a free loopback
# port), each answered as SPEC says: open redirects, tampered and forged cookies, replay after
# logout, session fixation, throttling across worker processes, SQL injection, equal timing,
# HTML escaping, Location headers.
#
#   tests/e2e/attacks.sh SERVER AUTHFCGI AUTHCTL      SERVER: nginx
#
# Ends with "N passed, M failed"; exits non-zero when M > 0. E2E_KEEP=1 keeps the work dir
# (logs) afterwards; E2E_FAIL_FAST=1 stops at the first failure.
#
# Throttling budget: every request comes from 127.0.0.1, and many cases fail logins on purpose
# (about 100 failures), so the main stack raises both throttle limits to 1000. The throttling
# case gets a stack of its own with the DEFAULT limits: its own database (the failure counters
# live in the database, so a shared one would carry the main stack's failures of 127.0.0.1 over
# the default per-address limit of 20) and two worker processes, each on its own socket behind
# its own nginx, so the case can send failures to each in turn: the 6th try goes to the process
# that saw only 2 of the 5 failures, which proves the count is shared.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/e2e/stack.sh
source "$HERE/stack.sh"
stack_args "tests/e2e/attacks.sh nginx PATH/TO/authfcgi PATH/TO/authctl" "$@"
if [[ "$SERVER" != nginx ]]; then
  echo "attacks: FAIL only nginx is supported (got '$SERVER')" >&2
  echo "0 passed, 1 failed"
  exit 1
fi
command -v nginx >/dev/null 2>&1 || af_die "nginx is not installed"
command -v perl >/dev/null 2>&1 || af_die "perl is needed (cookie forging)"

stack_init attacks
DB_DIR="$TMP/db"
WEB_DIR="$TMP/web"
SOCK="$(socket_path "$TMP" w.sock)"
WPID="$TMP/workers.pid"
WLOG="$TMP/authfcgi.log"
CONF="$TMP/authfcgi.conf"
# The throttling stack: defaults, its own database, two pools of one process each.
TWEB1_DIR="$TMP/tweb1"
TWEB2_DIR="$TMP/tweb2"
TSOCK1="$(socket_path "$TMP" t1.sock)"
TSOCK2="$(socket_path "$TMP" t2.sock)"
TPID1="$TMP/t1.pid"
TPID2="$TMP/t2.pid"
TLOG1="$TMP/throttle1.log"
TLOG2="$TMP/throttle2.log"
TCONF="$TMP/authfcgi-throttle.conf"
e2e_init "$TMP/http"

stack_stop() {
  nginx_stop "$TWEB2_DIR" || true
  nginx_stop "$TWEB1_DIR" || true
  nginx_stop "$WEB_DIR" || true
  workers_stop "$TSOCK2" "$TPID2" || true
  workers_stop "$TSOCK1" "$TPID1" || true
  workers_stop "$SOCK" "$WPID" || true
  mariadb_stop "$DB_DIR" || true
}
STACK_LOGS=("$WLOG" "$TLOG1" "$TLOG2")

# ---------------------------------------------------------------------------------------------
# The main stack

DB_PASSWORD="$(random_password)"
SECRET="$(random_hex 32)"
mariadb_start "$DB_DIR"
mariadb_create_app_db "$DB_DIR" authfcgi_attacks authfcgi "$DB_PASSWORD"

# See the top of this file for why the main stack raises both limits.
write_conf "$CONF" authfcgi_attacks "$SECRET" "throttle_account_max_failures = 1000" \
  "throttle_address_max_failures = 1000"

ctl() { "$AUTHCTL" --config "$CONF" "$@"; }
ctl db migrate >"$TMP/migrate.log" 2>&1 || {
  cat "$TMP/migrate.log" >&2
  af_die "authctl db migrate failed"
}

ALICE_PW='alice-Pass-1 & more'
BOB_PW='bob-pass-2'
XSS_NAME='<script>alert(1)</script>'
XSS_PW='xss-pass-3'
QUOTE_NAME=$'q"u\'o&te <b>'
QUOTE_PW='quote-pass-4'
add_user() { # CONF EMAIL USERNAME PASSWORD
  printf '%s\n' "$4" | "$AUTHCTL" --config "$1" user add --email "$2" --username "$3" \
    >>"$TMP/authctl.log" 2>&1
}
add_user "$CONF" alice@example.com alice "$ALICE_PW" || af_die "authctl user add alice failed ($(tail -n 3 "$TMP/authctl.log"))"
add_user "$CONF" bob@example.com bob "$BOB_PW" || af_die "authctl user add bob failed"
add_user "$CONF" xss@example.com "$XSS_NAME" "$XSS_PW" || af_die "authctl user add xss failed"
add_user "$CONF" quote@example.com "$QUOTE_NAME" "$QUOTE_PW" || af_die "authctl user add quote failed"
ctl user list >"$TMP/users.before" 2>&1 || af_die "authctl user list failed"

workers_start "$SOCK" "$WPID" "$WLOG" 2 "$AUTHFCGI" "$CONF"
PORT="$(free_port)"
nginx_start "$WEB_DIR" "$PORT" "$SOCK"
B="http://127.0.0.1:$PORT"
E2E_BASE="$B"
wait_http "$B/" 30 || af_die "the stack did not answer at $B/"
echo "attacks: $SERVER on $B (work dir $TMP)"

# ---------------------------------------------------------------------------------------------
# Helpers: browsers are cookie jars

# (mktemp: new_browser runs in a command substitution, where a counter would not survive.)
new_browser() { mktemp "$TMP/jar.XXXXXX"; }
get() { # JAR PATH [curl args...]
  local jar="$1" path="$2"
  shift 2
  http -b "$jar" -c "$jar" "$@" "$B$path"
}
jar_cookie() { awk -F'\t' -v n="$2" 'NF >= 7 && $6 == n { v = $7 } END { print v }' "$1"; }
# login_query JAR QUERY EMAIL PASSWORD [REMEMBER(y)]: GET /auth/login?QUERY (QUERY is sent as
# is; empty: no query), then POST the form with its token to the same URL. Without a form,
# it fails once and leaves STATUS at 000 (it returns 0 either way: set -e stays out of it).
login_query() {
  local jar="$1" query="$2" email="$3" password="$4" remember="${5:-}" path=/auth/login token
  [[ -z "$query" ]] || path="/auth/login?$query"
  get "$jar" "$path"
  if ! token="$(csrf_token_from_body)"; then
    fail "the login form carries a csrf_token"
    STATUS=000
    return 0
  fi
  local args=(--data-urlencode "csrf_token=$token" --data-urlencode "email=$email"
    --data-urlencode "password=$password")
  [[ "$remember" == y ]] && args+=(--data-urlencode "remember_me=y")
  get "$jar" "$path" "${args[@]}"
}
login() { login_query "$1" "" "$2" "$3" "${4:-}"; }

# Anonymous: the greeting and the navbar agree.
is_anonymous_page() {
  [[ "$STATUS" == 200 ]] && body_has "Hello, Anonymous!" && body_has 'href="/auth/login"' &&
    ! body_has 'href="/auth/logout"'
}
expect_anonymous() { # WHAT
  if is_anonymous_page; then pass; else fail "$1: anonymous page (status $STATUS)"; fi
}
expect_anonymous_or_400() { # WHAT
  if [[ "$STATUS" == 400 ]] || is_anonymous_page; then
    pass
  else
    fail "$1: anonymous page or 400 (status $STATUS)"
  fi
}
expect_not_5xx() { # WHAT
  if [[ "$STATUS" =~ ^[1-4][0-9][0-9]$ ]]; then pass; else fail "$1: no 5xx (got $STATUS)"; fi
}
expect_greeting() { expect_body_has "Hello, $1!" "${2:-greeting} 'Hello, $1!'"; }
# Every header line ends with CRLF and has no other CR or LF, and nothing was injected.
expect_clean_headers() { # WHAT
  if ! perl -ne 'exit 1 unless /^(HTTP\/[0-9.]+ [0-9]{3}[^\r\n]*|[A-Za-z0-9-]+:[^\r\n]*|)\r\n\z/' "$HDRS"; then
    fail "$1: header lines are clean (no CR/LF inside a value)"
  else
    pass
  fi
  expect_no_header X-Evil "$1: no injected X-Evil header"
  if set_cookie evil >/dev/null; then fail "$1: no injected Set-Cookie evil"; else pass; fi
}
# The Location of the last response is a path on our origin: one leading '/', no '\', no
# control character or white space (an absolute URL to $B counts as its path).
location_is_local() {
  local v
  v="$(header Location)" || return 1
  [[ "$v" == "$B"/* ]] && v="${v#"$B"}"
  [[ "$v" =~ ^/([^/\\]|$) && "$v" != *\\* ]] || return 1
  ! LC_ALL=C grep -q '[[:cntrl:][:space:]]' <<<"$v"
}
expect_local_location() { # WHAT
  if location_is_local; then
    pass
  else
    fail "$1: Location is a path on our origin (got '$(header Location || true)')"
  fi
}


# ---------------------------------------------------------------------------------------------
# Cases

case_begin "open redirect: next payloads after a real login"
# Values as the app sees them (sent percent-encoded).
DECODED_NEXT=(
  "//evil.example" "///evil.example" '/\evil.example' '\/evil.example' '\\evil.example'
  '/\/evil.example' "https://evil.example" "http://evil.example/" "https:evil.example"
  "http:/evil.example" 'https:/\evil.example' "javascript:alert(1)"
  "JavaScript:alert(document.cookie)" $'java\tscript:alert(1)'
  "data:text/html,<script>alert(1)</script>" "https://127.0.0.1@evil.example/"
  "//user:pass@evil.example" "@evil.example" "evil.example" "/%2F/evil.example"
  "/%2Fevil.example" "/%5Cevil.example" "/%09/evil.example" $'/\t/evil.example'
  $'/\n/evil.example' $'/\r\nLocation: https://evil.example' $'/\r\nX-Evil: 1'
  $'/\r\nSet-Cookie: evil=1' "/ /evil.example" " //evil.example" $'\t//evil.example'
  "/%252F%252Fevil.example" "//evil.example/%2F.." "/.//evil.example" "／／evil.example"
  "/／evil.example" "/∕∕evil.example" "/%E2%80%AE/evil.example" "/%00evil.example"
  "http%3A%2F%2Fevil.example" $'\v//evil.example' "/%2e%2e//evil.example"
  "/secret?x=//evil.example" '/"><script>alert(1)</script>' "/'onmouseover='alert(1)"
  "/$(printf 'a%.0s' {1..3000})" "/$(printf 'b%.0s' {1..2000})"
)
# Query fragments sent exactly as written ("400|": may also be refused as a whole with 400,
# for an invalid UTF-8 or NUL byte in the query).
RAW_NEXT=(
  "//evil.example" '/\evil.example' "%2F%2Fevil.example" "%2f%2fevil.example"
  "/%2Fevil.example" "%5C%5Cevil.example" "/%5Cevil.example" "%2F%5Cevil.example"
  "/%09/evil.example" "%09//evil.example" "/%0d%0aLocation:%20https://evil.example"
  "/%0D%0ASet-Cookie:%20evil=1" "/%0d%0aX-Evil:%201" "https:%2F%2Fevil.example"
  "https%3A%2F%2Fevil.example" "//127.0.0.1@evil.example" "/%2F127.0.0.1%40evil.example"
  "%252F%252Fevil.example" "/%252F%252Fevil.example" "/%25%32%46%25%32%46evil.example"
  "%E2%88%95%E2%88%95evil.example" "%EF%BC%8F%EF%BC%8Fevil.example" "/%EF%BC%8Fevil.example"
  "400|%C0%AF%C0%AFevil.example" "400|/%00/evil.example" "javascript:alert(1)"
  "javascript%3Aalert%281%29" "%20//evil.example" "/%20/evil.example"
  "//evil.example%2F%2E%2E" "/%2e%2e%2f%2fevil.example" "400|%FF" "/%E2%80%AE/evil.example"
  "/%22%3E%3Cscript%3Ealert(1)%3C/script%3E" "/%2509/evil.example" "/%5C%5Cevil.example"
)
# One payload: GET the form with it (the action never carries it unescaped), log in as bob,
# and expect a 302 to a path on our origin.
next_attack() { # QUERY_VALUE LABEL MAY_400
  local value="$1" label="$2" may400="$3" X action plain
  X="$(new_browser)"
  get "$X" "/auth/login?next=$value"
  if [[ "$STATUS" == 400 && "$may400" == 1 ]]; then
    pass
    return 0
  fi
  expect_status 200 "GET /auth/login?next=$label"
  action="$(tr '\n' ' ' <"$BODY" | grep -o '<form[^>]*>' | head -n1 |
    sed -nE 's/.*[[:space:]]action="([^"]*)".*/\1/p' || true)"
  [[ "$action" =~ ^/auth/login(\?next=[A-Za-z0-9%._~-]*)?$ ]] && pass ||
    fail "form action for next=$label is our path with next percent-encoded (got '$action')"
  plain="$(perl -pe 's/%([0-9A-Fa-f]{2})/chr(hex($1))/ge' <<<"$value")"
  if [[ "$plain" == *[\<\"\']* ]]; then
    expect_body_lacks "$plain" "next=$label is not rendered raw"
  fi
  login_query "$X" "next=$value" bob@example.com "$BOB_PW"
  if [[ "$STATUS" == 400 && "$may400" == 1 ]]; then
    pass
    return 0
  fi
  expect_status 302 "login with next=$label"
  expect_local_location "login with next=$label"
  expect_clean_headers "login with next=$label"
  # A next that was not judged safe leaves the form action without it, and the redirect at /.
  if [[ "$(header Location || true)" =~ ^($B)?/$ && "$value" != "/" ]]; then
    [[ "$action" == /auth/login ]] && pass ||
      fail "an ignored next=$label is dropped from the form action too (got '$action')"
  fi
}
n_next=0
for value in "${DECODED_NEXT[@]}"; do
  n_next=$((n_next + 1))
  next_attack "$(urlencode "$value")" "$(printf '%q' "${value:0:60}")" 0
done
for value in "${RAW_NEXT[@]}"; do
  n_next=$((n_next + 1))
  if [[ "$value" == 400\|* ]]; then
    next_attack "${value#400|}" "raw:${value#400|}" 1
  else
    next_attack "$value" "raw:${value:0:60}" 0
  fi
done
echo "  ($n_next next payloads)"
# Sanity: a safe next is honoured, so the cases above did not pass by ignoring every next.
X="$(new_browser)"
login_query "$X" "next=%2Fsecret%3Fa%3D1" bob@example.com "$BOB_PW"
expect_location "/secret?a=1" "a safe next is followed"

case_begin "every byte of a session cookie changed -> anonymous, never 5xx"
S="$(new_browser)"
login "$S" alice@example.com "$ALICE_PW"
expect_status 302 "alice logs in"
SESSION="$(jar_cookie "$S" session)"
http -H "Cookie: session=$SESSION" "$B/"
expect_greeting alice "the untouched session cookie"
# Two substitutions per position: another letter, and the character with its low bit flipped
# (which stays in base64url or leaves the cookie alphabet, both of which must be refused).
flip_char() { # CHAR MODE -> another character
  local c="$1" code
  if [[ "$2" == letter ]]; then
    [[ "$c" == A ]] && printf 'B' || printf 'A'
  else
    code=$(($(printf '%d' "'$c") ^ 1))
    # shellcheck disable=SC2059 # an octal escape built on purpose
    printf "\\$(printf '%03o' "$code")"
  fi
}
byte_flips() { # COOKIE_NAME VALUE OTHER_COOKIES
  local name="$1" value="$2" other="$3" i mode bad=0 count=0 mutated c
  for mode in letter bit; do
    for ((i = 0; i < ${#value}; i++)); do
      c="$(flip_char "${value:i:1}" "$mode")"
      mutated="${value:0:i}$c${value:i+1}"
      [[ "$mutated" != "$value" ]] || continue
      count=$((count + 1))
      http -H "Cookie: ${other}$name=$mutated" "$B/"
      if ! is_anonymous_page; then
        bad=$((bad + 1))
        ((bad > 3)) || fail "$name with position $i changed ($mode): anonymous (status $STATUS)"
      fi
    done
  done
  ((bad == 0)) && pass || fail "$name: $bad of $count changed cookies were not anonymous"
  echo "  ($count changed $name cookies, ${#value} positions)"
}
byte_flips session "$SESSION" ""
http -H "Cookie: session=$SESSION" "$B/"
expect_greeting alice "the untouched session cookie still works afterwards"

case_begin "every byte of a remember_token changed -> anonymous, never 5xx"
R="$(new_browser)"
login "$R" alice@example.com "$ALICE_PW" y
expect_status 302 "alice logs in with remember me"
REMEMBER="$(jar_cookie "$R" remember_token)"
[[ -n "$REMEMBER" ]] && pass || fail "a remember_token cookie is set"
byte_flips remember_token "$REMEMBER" ""
# Only now use the real token (it rotates on use).
http -H "Cookie: remember_token=$REMEMBER" "$B/"
expect_greeting alice "the untouched remember_token logs in after the attempts"

case_begin "forged session cookies -> anonymous or 400, never 5xx"
BS="$(new_browser)"
login "$BS" bob@example.com "$BOB_PW"
BOB_SESSION="$(jar_cookie "$BS" session)"
SIGNED="${SESSION%.*}"
MAC="${SESSION##*.}"
PAYLOAD="${SIGNED#v1.}"
BOB_SIGNED="${BOB_SESSION%.*}"
# alice's payload with another user id (each id the attacker might want), re-encoded.
with_user_id() { # PAYLOAD_B64URL NEW_ID
  perl -MMIME::Base64 -e '
    my ($b64, $id) = @ARGV;
    (my $s = $b64) =~ tr{-_}{+/};
    my $bin = decode_base64($s . "=" x ((4 - length($s) % 4) % 4));
    my $sid_len = unpack("N", substr($bin, 0, 4));
    my $off = 4 + $sid_len;
    die "no user in payload\n" unless substr($bin, $off, 1) eq "\x01";
    substr($bin, $off + 1, 8) = pack("q>", $id);
    my $out = encode_base64($bin, "");
    $out =~ tr{+/}{-_}; $out =~ s/=+$//;
    print $out;' "$1" "$2"
}
FORGED=(
  "$SIGNED" "$SIGNED." "$SIGNED.${MAC:0:${#MAC}-1}" "$SIGNED.${MAC:0:${#MAC}-4}"
  "$SIGNED.${MAC:0:21}" "$SIGNED.$MAC$MAC" "$SIGNED.${MAC}A" "$BOB_SIGNED.$MAC"
  "${SIGNED}AAAA.$MAC" "v1.${PAYLOAD:0:${#PAYLOAD}-4}.$MAC" "v1..$MAC" "v1.$PAYLOAD" "v1."
  "v2.$PAYLOAD.$MAC" "v0.$PAYLOAD.$MAC" "V1.$PAYLOAD.$MAC" "$PAYLOAD.$MAC" ".$MAC" "." ".."
  "v1.$PAYLOAD.$MAC.$MAC" "1" "2" "user_id=1" "eyJ1c2VyX2lkIjoxfQ" "eyJ1c2VyX2lkIjoxfQ.YWJj.ZGVm"
  "v1.eyJ1c2VyX2lkIjoxfQ" "v1.eyJ1c2VyX2lkIjoxfQ.$MAC" "v1.AAAA.AAAA" '""' '"v1.x.y"'
  "v1.$PAYLOAD.$(printf 'A%.0s' {1..43})" "%76%31.$PAYLOAD.$MAC" "v1.$PAYLOAD%2E$MAC"
)
for id in 1 2 3 4 0 -1 9223372036854775807; do
  forged="$(with_user_id "$PAYLOAD" "$id")"
  # alice's own id gives back her real payload, which is no forgery.
  [[ "$forged" == "$PAYLOAD" ]] || FORGED+=("v1.$forged.$MAC")
done
for value in "${FORGED[@]}"; do
  http -H "Cookie: session=$value" "$B/"
  expect_anonymous_or_400 "session=$(printf '%q' "${value:0:50}")"
  http -H "Cookie: session=$value" "$B/secret"
  [[ "$STATUS" == 302 || "$STATUS" == 400 ]] && pass ||
    fail "GET /secret with session=${value:0:40}: 302 or 400 (got $STATUS)"
done
http -H "Cookie: session=" "$B/"
expect_anonymous_or_400 "empty session cookie"
http -H "Cookie: session" "$B/"
expect_anonymous_or_400 "session without '='"
http -H "Cookie: session=$(head -c 10240 /dev/zero | tr '\0' 'A')" "$B/"
expect_anonymous_or_400 "10 KB session cookie"
http -H "Cookie: session=v1.$(head -c 6000 /dev/zero | tr '\0' 'A').$MAC" "$B/"
expect_anonymous_or_400 "6 KB payload with a real MAC"
many=""
for ((i = 0; i < 200; i++)); do many+="c$i=x; "; done
http -H "Cookie: ${many}session=$SESSION" "$B/"
expect_anonymous_or_400 "200 cookies before a real session"
http -H "Cookie: session=junk; session=$SESSION" "$B/"
expect_not_5xx "repeated session cookie"
http -H "Cookie: session=$SESSION" -H "Cookie: session=junk" "$B/"
expect_not_5xx "two Cookie headers"

case_begin "forged remember_token cookies -> anonymous or 400, never 5xx"
SEL="${REMEMBER%%.*}"
VAL="${REMEMBER#*.}"
FORGED_R=(
  "$SEL" "$SEL." ".$VAL" "$SEL.${VAL:0:${#VAL}-1}" "$SEL.${VAL}A" "$SEL.$(printf 'A%.0s' {1..43})"
  "$SEL.$VAL.$VAL" "$SEL..$VAL" "AAAAAAAAAAAAAAAAAAAAAA.$VAL" "." "" "1" "1.1"
  "$(head -c 10240 /dev/zero | tr '\0' 'A').$VAL" "$SEL.%41$VAL"
)
for value in "${FORGED_R[@]}"; do
  http -H "Cookie: remember_token=$value" "$B/"
  expect_anonymous_or_400 "remember_token=$(printf '%q' "${value:0:50}")"
done

case_begin "replay after logout"
RP="$(new_browser)"
login "$RP" bob@example.com "$BOB_PW" y
expect_status 302 "bob logs in with remember me"
copied_session="$(jar_cookie "$RP" session)"
copied_remember="$(jar_cookie "$RP" remember_token)"
http -H "Cookie: session=$copied_session" "$B/"
expect_greeting bob "the copied session works before logout"
get "$RP" /auth/logout
expect_status 302 "logout"
http -H "Cookie: session=$copied_session" "$B/"
expect_anonymous "session cookie copied before logout"
http -H "Cookie: session=$copied_session" "$B/secret"
expect_status 302 "copied session cannot open /secret"
http -H "Cookie: remember_token=$copied_remember" "$B/"
expect_anonymous "remember_token copied before logout"
http -H "Cookie: session=$copied_session; remember_token=$copied_remember" "$B/"
expect_anonymous "both copied cookies together"

case_begin "session fixation"
ATT="$(new_browser)"
get "$ATT" /auth/login
planted="$(jar_cookie "$ATT" session)"
[[ -n "$planted" ]] && pass || fail "the attacker gets a pre-login session cookie"
VICTIM="$(new_browser)"
printf '127.0.0.1\tFALSE\t/\tFALSE\t0\tsession\t%s\n' "$planted" >"$VICTIM"
login "$VICTIM" alice@example.com "$ALICE_PW"
expect_status 302 "the victim logs in with the planted cookie"
after="$(set_cookie_value session || true)"
[[ -n "$after" && "$after" != "$planted" ]] && pass ||
  fail "login issues a new session cookie (planted '${planted:0:20}', after '${after:0:20}')"
get "$VICTIM" /
expect_greeting alice "the victim is logged in"
http -H "Cookie: session=$planted" "$B/"
expect_anonymous "the planted cookie after the victim's login"
http -H "Cookie: session=$planted" "$B/secret"
expect_status 302 "the planted cookie cannot open /secret"
# The planted cookie's CSRF token is no good against the victim's new session either.
get "$ATT" /auth/login
old_token="$(csrf_token_from_body || true)"
http -b "$VICTIM" --data-urlencode "csrf_token=$old_token" --data-urlencode "email=bob@example.com" \
  --data-urlencode "password=$BOB_PW" "$B/auth/login"
expect_status 400 "a token of the planted session is refused after login"

case_begin "SQL injection in every field"
SQLI=(
  "' OR '1'='1" "' OR 1=1 -- " "admin'--" "\"; DROP TABLE users; --" "1; DELETE FROM users"
  "' UNION SELECT id, email, password_hash FROM users -- " "\\' OR 1=1 #" "%27 OR 1=1"
  "' AND SLEEP(3) AND '1'='1" "alice@example.com' -- " "alice@example.com'); DELETE FROM users; --"
  "a'OR'1'='1@example.com" "x@example.com' OR 'x'='x" "'); UPDATE users SET username='pwned'; --"
)
SQ="$(new_browser)"
for inj in "${SQLI[@]}"; do
  label="$(printf '%q' "$inj")"
  # email (alone, and as the password of a real account)
  login "$SQ" "$inj" "$ALICE_PW"
  [[ "$STATUS" =~ ^(200|400)$ ]] && pass || fail "email=$label: 200 or 400 (got $STATUS)"
  expect_body_lacks "Hello, alice!" "email=$label does not log in"
  login "$SQ" alice@example.com "$inj"
  expect_status 200 "password=$label"
  expect_body_has "Invalid email or password." "password=$label is a wrong password"
  # csrf_token
  get "$SQ" /auth/login --data-urlencode "csrf_token=$inj" --data-urlencode "email=alice@example.com" \
    --data-urlencode "password=$ALICE_PW"
  expect_status 400 "csrf_token=$label"
  # next (a real login)
  X="$(new_browser)"
  login_query "$X" "next=$(urlencode "$inj")" bob@example.com "$BOB_PW"
  expect_status 302 "next=$label"
  expect_local_location "next=$label"
  # cookies (raw in the header: the parser must skip or refuse them)
  for cookie in "session=$inj" "remember_token=$inj" "$inj" "session=$(urlencode "$inj")" \
    "remember_token=$(urlencode "$inj").$(urlencode "$inj")"; do
    http -H "Cookie: $cookie" "$B/"
    expect_anonymous_or_400 "Cookie: $(printf '%q' "$cookie")"
  done
  # unknown form fields and the query
  get "$SQ" "/auth/login?$(urlencode "$inj")=$(urlencode "$inj")" --data-urlencode "$inj=$inj"
  expect_not_5xx "field name and query $label"
done
ctl user list >"$TMP/users.after" 2>&1 || fail "authctl user list after the injections"
if cmp -s "$TMP/users.before" "$TMP/users.after"; then
  pass
else
  fail "authctl user list is unchanged" "$(diff "$TMP/users.before" "$TMP/users.after" | head -n 6 | tr '\n' ' ')"
fi
[[ "$(grep -c '@example.com' "$TMP/users.after")" == 4 ]] && pass ||
  fail "exactly the 4 created users are listed"
for pair in "alice@example.com|$ALICE_PW" "bob@example.com|$BOB_PW" "xss@example.com|$XSS_PW" \
  "quote@example.com|$QUOTE_PW"; do
  X="$(new_browser)"
  login "$X" "${pair%%|*}" "${pair#*|}"
  expect_status 302 "${pair%%|*} still logs in with the password (row unchanged)"
done

case_begin "HTML escaping of a username"
H="$(new_browser)"
login "$H" xss@example.com "$XSS_PW"
expect_status 302 "the <script> user logs in"
get "$H" /
expect_status 200 "GET / as the <script> user"
expect_body_has "Hello, &lt;script&gt;alert(1)&lt;/script&gt;!" "the username is escaped"
expect_body_lacks "$XSS_NAME" "the raw <script> tag is not in the page"
get "$H" /secret
expect_body_lacks "$XSS_NAME" "the raw <script> tag is not in /secret"
Q="$(new_browser)"
login "$Q" quote@example.com "$QUOTE_PW"
get "$Q" /
expect_body_lacks "$QUOTE_NAME" "a username with quotes and & is escaped"
expect_body_lacks "<b>" "no raw <b> from a username"
if perl -ne 'BEGIN{$f=1} $f=0 if /Hello, q&quot;u(&#39;|&#x27;|&apos;)o&amp;te &lt;b&gt;!/; END{exit $f}' "$BODY"; then
  pass
else
  fail "the quote username is rendered with entities"
fi
# Email typed into the form comes back escaped in the value attribute.
login "$Q" '"><script>alert(2)</script>@example.com' "x"
expect_status 200 "a login form with a script-y email"
expect_body_lacks '"><script>alert(2)</script>' "the typed email is escaped in the form"

case_begin "Location headers: no CR/LF, never built from Host"
# A Host nginx finds malformed may be refused by nginx itself (400); any redirect must be local.
for host in evil.example "evil.example:80" "127.0.0.1@evil.example" "evil.example:8080/x"; do
  label="$(printf '%q' "$host")"
  for path in /secret /auth/logout; do
    http -H "Host: $host" -H "X-Forwarded-Host: evil.example" "$B$path"
    if [[ "$STATUS" == 400 && "$host" == *[@/]* ]]; then
      pass
      continue
    fi
    expect_status 302 "GET $path with Host $label"
    expect_local_location "GET $path with Host $label"
    [[ "$(header Location || true)" != *evil* ]] && pass || fail "Host $label is not in the Location of $path"
  done
done
X="$(new_browser)"
get "$X" /auth/login
token="$(csrf_token_from_body || true)"
# (curl would match the jar's cookies against the spoofed Host: send the cookie by hand.)
http -H "Cookie: session=$(jar_cookie "$X" session)" -H "Host: evil.example" \
  -H "X-Forwarded-Host: evil.example" \
  -H "X-Forwarded-Proto: https" --data-urlencode "csrf_token=$token" \
  --data-urlencode "email=bob@example.com" --data-urlencode "password=$BOB_PW" "$B/auth/login"
expect_status 302 "login with a spoofed Host"
expect_location / "login with a spoofed Host redirects to the path /"
expect_clean_headers "login with a spoofed Host"
http "$B/secret%0d%0aX-Evil:%201"
expect_clean_headers "a path with an encoded CRLF"
http "$B//evil.example/"
expect_not_5xx "GET //evil.example/"
[[ "$(header Location || true)" != *evil* ]] && pass || fail "GET //evil.example/ does not redirect there"

case_begin "equal timing: unknown email vs wrong password"
TU="$(new_browser)"
TW="$(new_browser)"
: >"$TMP/t.unknown"
: >"$TMP/t.wrong"
# timed_login JAR EMAIL PASSWORD TIMES_FILE NAME: the POST's time goes to TIMES_FILE; the body,
# with attribute values blanked and the email replaced, to $TMP/NAME.body, the Set-Cookie names
# to $TMP/NAME.cookies.
timed_login() {
  local jar="$1" email="$2" password="$3" out token result
  get "$jar" /auth/login
  token="$(csrf_token_from_body || true)"
  : >"$BODY"
  : >"$HDRS"
  result="$(curl -s -g --max-time 20 -o "$BODY" -D "$HDRS" -b "$jar" -c "$jar" \
    -w '%{http_code} %{time_total}' --data-urlencode "csrf_token=$token" \
    --data-urlencode "email=$email" --data-urlencode "password=$password" "$B/auth/login" 2>/dev/null)" ||
    true
  STATUS="${result%% *}"
  LAST_REQUEST="POST $B/auth/login"
  printf '%s\n' "${result#* }" >>"$4"
  out="$TMP/$5"
  sed -E -e 's/value="[^"]*"/value=""/g' -e "s/$email/EMAIL/g" "$BODY" >"$out.body"
  tr -d '\r' <"$HDRS" | sed -nE 's/^[Ss]et-[Cc]ookie: *([^=]*)=.*/\1/p' | sort >"$out.cookies"
}
same_answers=0
for ((i = 0; i < 20; i++)); do
  timed_login "$TU" "nobody$i@example.com" "$ALICE_PW" "$TMP/t.unknown" unknown
  st_unknown="$STATUS"
  timed_login "$TW" alice@example.com "wrong-password-$i" "$TMP/t.wrong" wrong
  if [[ "$st_unknown" == 200 && "$STATUS" == 200 ]] &&
    cmp -s "$TMP/unknown.body" "$TMP/wrong.body" &&
    cmp -s "$TMP/unknown.cookies" "$TMP/wrong.cookies"; then
    same_answers=$((same_answers + 1))
  fi
done
((same_answers == 20)) && pass ||
  fail "identical status, body and Set-Cookie names in $same_answers of 20 pairs" \
    "$(diff "$TMP/unknown.body" "$TMP/wrong.body" | head -n 4 | tr '\n' ' ') cookies: $(tr '\n' ' ' <"$TMP/unknown.cookies") / $(tr '\n' ' ' <"$TMP/wrong.cookies")"
median() { sort -n "$1" | awk '{ v[NR] = $1 } END { if (NR % 2) print v[(NR + 1) / 2]; else print (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
m_unknown="$(median "$TMP/t.unknown")"
m_wrong="$(median "$TMP/t.wrong")"
echo "  (median POST time: unknown email ${m_unknown}s, wrong password ${m_wrong}s)"
if awk -v a="$m_unknown" -v b="$m_wrong" 'BEGIN { r = a > b ? a / b : b / a; exit !(a > 0 && b > 0 && r <= 1.5) }'; then
  pass
else
  fail "median times within 1.5x (unknown ${m_unknown}s, wrong password ${m_wrong}s)"
fi

case_begin "throttling across two worker processes (default limits)"
# Its own database and worker pools: see the top of this file.
mariadb_create_app_db "$DB_DIR" authfcgi_throttle authfcgi "$DB_PASSWORD"
write_conf "$TCONF" authfcgi_throttle "$SECRET"
"$AUTHCTL" --config "$TCONF" db migrate >>"$TMP/migrate.log" 2>&1 || af_die "migrating the throttle database failed"
add_user "$TCONF" bob@example.com bob "$BOB_PW" || af_die "authctl user add (throttle database) failed"
workers_start "$TSOCK1" "$TPID1" "$TLOG1" 1 "$AUTHFCGI" "$TCONF"
workers_start "$TSOCK2" "$TPID2" "$TLOG2" 1 "$AUTHFCGI" "$TCONF"
TB1="http://127.0.0.1:$(free_port)"
nginx_start "$TWEB1_DIR" "${TB1##*:}" "$TSOCK1"
TB2="http://127.0.0.1:$(free_port)"
nginx_start "$TWEB2_DIR" "${TB2##*:}" "$TSOCK2"
wait_http "$TB1/" 30 || af_die "the throttling stack did not answer at $TB1"
wait_http "$TB2/" 30 || af_die "the throttling stack did not answer at $TB2"
MAIN_B="$B"
# Failures 1, 3, 5 go to process 1, failures 2 and 4 and the 6th try to process 2. One cookie
# jar serves both (curl's cookies ignore the port; both processes share the secret).
throttle_account() { # EMAIL RIGHT_PASSWORD NAME
  local email="$1" right="$2" name="$3" jar i ok=0
  jar="$(new_browser)"
  for ((i = 1; i <= 5; i++)); do
    if ((i % 2)); then B="$TB1"; else B="$TB2"; fi
    E2E_BASE="$B"
    login "$jar" "$email" "wrong-$i"
    [[ "$STATUS" == 200 ]] && body_has "Invalid email or password." && ok=$((ok + 1))
  done
  ((ok == 5)) && pass || fail "$name: 5 wrong passwords answer 200 'Invalid email or password.' ($ok of 5)"
  B="$TB2"
  E2E_BASE="$B"
  login "$jar" "$email" "$right"
  expect_status 429 "$name: 6th try with the right password"
  expect_header Retry-After '^[1-9][0-9]*$' "$name: Retry-After in seconds"
  expect_body_has "Too many failed login attempts" "$name: the throttle message"
  expect_body_lacks "Invalid email or password." "$name: no credential answer while throttled"
  sed -E -e 's/value="[^"]*"/value=""/g' "$BODY" >"$TMP/$name.429"
  get "$jar" /
  expect_anonymous "$name: not logged in after the throttled try"
}
throttle_account bob@example.com "$BOB_PW" known
throttle_account nobody@example.com "$BOB_PW" unknown
cmp -s "$TMP/known.429" "$TMP/unknown.429" && pass ||
  fail "the 429 pages of a known and an unknown account are identical" \
    "$(diff "$TMP/known.429" "$TMP/unknown.429" | head -n 4 | tr '\n' ' ')"
served1="$(grep -c 'event=login_failed' "$TLOG1" || true)"
served2="$(grep -c 'event=login_failed' "$TLOG2" || true)"
throttled2="$(grep -c 'event=login_throttled' "$TLOG2" || true)"
echo "  (failures logged per worker process: $served1 and $served2)"
((served1 == 6 && served2 == 4 && throttled2 == 2)) && pass ||
  fail "failures were spread over both processes (6 and 4 failures, 2 throttled; got $served1, $served2, $throttled2)"

case_begin "a burst of parallel guesses gets no more tries than a sequence"
# 16 wrong passwords for one account sent at once, half to each process. Each takes a hash
# (tens of ms), so all 16 pass the throttle check before the first is done: only counting
# each attempt before its password check holds them to the 5 tries a sequence would get.
add_user "$TCONF" carol@example.com carol "$BOB_PW" || af_die "authctl user add carol failed"
BURST=16
burst_dir="$TMP/burst"
mkdir -p "$burst_dir"
burst_ready=0
for ((i = 0; i < BURST; i++)); do
  if ((i % 2)); then B="$TB1"; else B="$TB2"; fi
  E2E_BASE="$B"
  get "$burst_dir/jar.$i" /auth/login
  if token="$(csrf_token_from_body)"; then
    printf '%s\n' "$token" >"$burst_dir/token.$i"
    burst_ready=$((burst_ready + 1))
  fi
done
((burst_ready == BURST)) && pass || fail "every burst client got a login form ($burst_ready of $BURST)"
burst_pids=()
for ((i = 0; i < BURST; i++)); do
  if ((i % 2)); then B="$TB1"; else B="$TB2"; fi
  curl -s -g --max-time 20 -b "$burst_dir/jar.$i" -o "$burst_dir/body.$i" -w '%{http_code}' \
    --data-urlencode "csrf_token=$(cat "$burst_dir/token.$i" 2>/dev/null)" \
    --data-urlencode "email=carol@example.com" --data-urlencode "password=guess-$i" \
    "$B/auth/login" >"$burst_dir/status.$i" 2>/dev/null &
  burst_pids+=("$!")
done
wait "${burst_pids[@]}" || true
tried=0 throttled=0 other=0
for ((i = 0; i < BURST; i++)); do
  status="$(cat "$burst_dir/status.$i" 2>/dev/null || true)"
  if [[ "$status" == 200 ]] && grep -q "Invalid email or password." "$burst_dir/body.$i"; then
    tried=$((tried + 1))
  elif [[ "$status" == 429 ]] && grep -q "Too many failed login attempts" "$burst_dir/body.$i"; then
    throttled=$((throttled + 1))
  else
    other=$((other + 1))
  fi
done
echo "  (burst of $BURST: $tried password checks, $throttled throttled, $other other)"
((tried == 5 && throttled == BURST - 5 && other == 0)) && pass ||
  fail "of $BURST parallel guesses exactly 5 are checked and the rest get 429 (got $tried checked, $throttled throttled, $other other)"
B="$TB1"
E2E_BASE="$B"
carol="$(new_browser)"
login "$carol" carol@example.com "$BOB_PW"
expect_status 429 "after the burst even carol's right password waits"
B="$MAIN_B"
E2E_BASE="$B"

case_begin "no worker crashed"
http "$B/"
expect_status 200 "the main stack still answers"
if grep -qiE 'sanitizer|segmentation|core dumped|terminate called' "$WLOG" "$TLOG1" "$TLOG2"; then
  fail "worker logs have no crash" "$(grep -hiE 'sanitizer|segmentation|core dumped|terminate called' "$WLOG" "$TLOG1" "$TLOG2" | head -n 3 | tr '\n' ' ')"
else
  pass
fi

stack_finish
