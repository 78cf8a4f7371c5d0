#!/usr/bin/env bash
# `[[ cond ]] && pass || fail ...` is safe here: pass never fails.
# shellcheck disable=SC2015
# End-to-end tests: a throw-away stack (private MariaDB, authctl migrations and users, 2
# spawn-fcgi worker processes, a web server on a free loopback port), then curl against every
# row of SPEC's page table.
#
#   tests/e2e/run.sh SERVER AUTHFCGI AUTHCTL      SERVER: nginx or apache (mod_proxy_fcgi)
#
# The same cases run against both servers; they assert what a user sees (e.g. a 413 status,
# whoever sends it).
#
# Ends with "N passed, M failed"; exits non-zero when M > 0. E2E_KEEP=1 keeps the work dir
# (logs) afterwards; E2E_FAIL_FAST=1 stops at the first failure.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=tests/e2e/stack.sh
source "$HERE/stack.sh"
stack_args "tests/e2e/run.sh nginx|apache PATH/TO/authfcgi PATH/TO/authctl" "$@"

stack_init e2e
DB_DIR="$TMP/db"
WEB_DIR="$TMP/web"
WEB2_DIR="$TMP/web2"
SOCK="$(socket_path "$TMP" w.sock)"
SOCK2="$(socket_path "$TMP" w2.sock)"
WPID="$TMP/workers.pid"
WPID2="$TMP/workers2.pid"
WLOG="$TMP/authfcgi.log"
CONF="$TMP/authfcgi.conf"
CONF2="$TMP/authfcgi-short-csrf.conf"
e2e_init "$TMP/http"

# ---------------------------------------------------------------------------------------------
# Web server, selected by $SERVER

# server_check_X: can X run here? server_start_X DIR PORT SOCKET; server_stop_X DIR
server_check_nginx() { command -v nginx >/dev/null 2>&1 || af_die "nginx is not installed"; }
server_start_nginx() { nginx_start "$1" "$2" "$3"; }
server_stop_nginx() { nginx_stop "$1"; }
server_check_apache() {
  apache_bin >/dev/null || af_die "Apache httpd (apache2) is not installed"
  [[ -f "$AUTHFCGI_APACHE_MODULES/mod_proxy_fcgi.so" ]] ||
    af_die "no mod_proxy_fcgi in $AUTHFCGI_APACHE_MODULES"
}
server_start_apache() { apache_start "$1" "$2" "$3"; }
server_stop_apache() { apache_stop "$1"; }

case "$SERVER" in
  nginx | apache) ;;
  *) af_die "unknown server '$SERVER' (nginx or apache)" ;;
esac
"server_check_$SERVER" || exit 1

stack_stop() {
  "server_stop_$SERVER" "$WEB2_DIR" || true
  "server_stop_$SERVER" "$WEB_DIR" || true
  workers_stop "$SOCK2" "$WPID2" || true
  workers_stop "$SOCK" "$WPID" || true
  mariadb_stop "$DB_DIR" || true
}
STACK_LOGS=("$WLOG")

# ---------------------------------------------------------------------------------------------
# The stack

DB_PASSWORD="$(random_password)"
mariadb_start "$DB_DIR"
mariadb_create_app_db "$DB_DIR" authfcgi_e2e authfcgi "$DB_PASSWORD"

SECRET="$(random_hex 32)"
# The page cases below fail many logins from 127.0.0.1 on purpose; throttling has cases of its
# own with the defaults (attacks.sh).
LOOSE_THROTTLE=("throttle_account_max_failures = 1000" "throttle_address_max_failures = 1000")
write_conf "$CONF" authfcgi_e2e "$SECRET" "${LOOSE_THROTTLE[@]}"

ctl() { "$AUTHCTL" --config "$CONF" "$@"; }
ctl db migrate >"$TMP/migrate.log" 2>&1 || {
  cat "$TMP/migrate.log" >&2
  af_die "authctl db migrate failed"
}

ALICE_PW='correct horse & battery=staple'
BOB_PW='b0b-Password%2F+plus'
CAROL_PW='carol password 3'
DAVE_PW='dave-smoke-pw'
add_user() { # EMAIL USERNAME PASSWORD
  printf '%s\n' "$3" | ctl user add --email "$1" --username "$2" >>"$TMP/authctl.log" 2>&1
}
add_user alice@example.com alice "$ALICE_PW" || af_die "authctl user add alice failed ($(tail -n 3 "$TMP/authctl.log"))"
add_user bob@example.com bob "$BOB_PW" || af_die "authctl user add bob failed"
add_user Carol@Example.COM carol "$CAROL_PW" || af_die "authctl user add carol failed"
add_user dave@example.com dave "$DAVE_PW" || af_die "authctl user add dave failed"

# Apache's children run as www-data when we are root: the socket goes to that group.
SOCK_GROUP="$(web_server_group "$SERVER")"
workers_start "$SOCK" "$WPID" "$WLOG" 2 "$AUTHFCGI" "$CONF" "$SOCK_GROUP"
PORT="$(free_port)"
"server_start_$SERVER" "$WEB_DIR" "$PORT" "$SOCK"
B="http://127.0.0.1:$PORT"
E2E_BASE="$B"
wait_http "$B/" 30 || af_die "the stack did not answer at $B/"
echo "e2e: $SERVER on $B (work dir $TMP)"

# ---------------------------------------------------------------------------------------------
# Helpers: browsers are cookie jars

new_browser() {
  local jar="$TMP/jar.$1"
  : >"$jar"
  printf '%s\n' "$jar"
}
get() { # JAR PATH [curl args...]
  local jar="$1" path="$2"
  shift 2
  http -b "$jar" -c "$jar" "$@" "$B$path"
}
jar_cookie() { awk -F'\t' -v n="$2" 'NF >= 7 && $6 == n { v = $7 } END { print v }' "$1"; }
drop_cookie() {
  awk -F'\t' -v n="$2" '!(NF >= 7 && $6 == n)' "$1" >"$1.tmp"
  mv "$1.tmp" "$1"
}
# input_tag NAME: the <input> tag with name="NAME" in the last body.
input_tag() { tr '\n' ' ' <"$BODY" | grep -o "<input[^>]*name=\"$1\"[^>]*>" | head -n1; }
expect_input() { # NAME REGEX WHAT
  local tag
  tag="$(input_tag "$1" || true)"
  if [[ -n "$tag" && "$tag" =~ $2 ]]; then pass; else fail "$3 (input $1: '${tag:-<missing>}')"; fi
}
login_path() { # [NEXT]
  if [[ -n "${1:-}" ]]; then
    printf '/auth/login?next=%s\n' "$(urlencode "$1")"
  else
    printf '/auth/login\n'
  fi
}
# post_login JAR EMAIL PASSWORD [REMEMBER(y)] [NEXT]: fetches the form, then posts it.
post_login() {
  local jar="$1" email="$2" password="$3" remember="${4:-}" next="${5:-}" token
  get "$jar" "$(login_path "$next")"
  if ! token="$(csrf_token_from_body)"; then
    fail "the login form carries a csrf_token"
    return 1
  fi
  local args=(--data-urlencode "csrf_token=$token" --data-urlencode "email=$email"
    --data-urlencode "password=$password")
  [[ "$remember" == y ]] && args+=(--data-urlencode "remember_me=y")
  get "$jar" "$(login_path "$next")" "${args[@]}"
}
expect_greeting() { # NAME (Anonymous or a username) — checks body and navbar together
  expect_body_has "Hello, $1!" "greeting 'Hello, $1!'"
  if [[ "$1" == Anonymous ]]; then
    expect_body_has 'href="/auth/login"' "navbar Log In link"
    expect_body_lacks 'href="/auth/logout"' "no Log Out link when anonymous"
  else
    expect_body_has 'href="/auth/logout"' "navbar Log Out link"
    expect_body_lacks 'href="/auth/login"' "no Log In link when logged in"
  fi
}
expect_html_headers() { # WHAT
  expect_header Content-Type '^text/html; ?charset=(utf|UTF)-8$' "$1: Content-Type"
  expect_header X-Frame-Options '^DENY$' "$1: X-Frame-Options"
  expect_header X-Content-Type-Options '^nosniff$' "$1: X-Content-Type-Options"
  expect_header Referrer-Policy '^same-origin$' "$1: Referrer-Policy"
  expect_header Content-Security-Policy "frame-ancestors 'none'" "$1: CSP frame-ancestors"
}
expect_no_store() { expect_header Cache-Control 'no-store' "$1: Cache-Control no-store"; }

# ---------------------------------------------------------------------------------------------
# Cases

case_begin "anonymous index and navbar"
A="$(new_browser anon)"
get "$A" /
expect_status 200 "GET /"
expect_greeting Anonymous
expect_body_has "Log In" "navbar text Log In"
expect_html_headers "GET /"
expect_no_store "GET /"

case_begin "HEAD / is GET without a body"
http -I "$B/"
expect_status 200 "HEAD /"
expect_header Content-Type '^text/html' "HEAD /: Content-Type"
expect_header X-Frame-Options '^DENY$' "HEAD /: X-Frame-Options"
http -I "$B/no-such-page"
expect_status 404 "HEAD /no-such-page"

case_begin "login form fields"
get "$A" /auth/login
expect_status 200 "GET /auth/login"
expect_html_headers "GET /auth/login"
expect_no_store "GET /auth/login"
if csrf_token_from_body >/dev/null; then pass; else fail "csrf_token value is a token"; fi
expect_input csrf_token 'type="hidden"' "csrf_token is hidden"
expect_input email 'type="(email|text)"' "email field"
expect_input password 'type="password"' "password field"
expect_input remember_me 'type="checkbox"' "remember_me is a checkbox"
expect_input remember_me 'value="y"' "remember_me value y"
if tr '\n' ' ' <"$BODY" | grep -qE '<(input|button)[^>]*type="submit"[^>]*(value="Log In"|>Log In)'; then
  pass
else
  fail "submit button 'Log In'"
fi

case_begin "CSRF token missing -> 400"
C="$(new_browser csrf)"
get "$C" /auth/login
get "$C" /auth/login --data-urlencode "email=alice@example.com" --data-urlencode "password=$ALICE_PW"
expect_status 400 "POST without csrf_token"
expect_body_has "The CSRF token is missing." "missing message"
expect_html_headers "CSRF 400 page"
get "$C" /
expect_greeting Anonymous

case_begin "CSRF token invalid -> 400"
get "$C" /auth/login --data-urlencode "csrf_token=not-a-token" \
  --data-urlencode "email=alice@example.com" --data-urlencode "password=$ALICE_PW"
expect_status 400 "POST with a made-up csrf_token"
expect_body_has "The CSRF token is invalid." "invalid message"
# A real token, but bound to another browser's session.
get "$A" /auth/login
other_token="$(csrf_token_from_body || true)"
get "$C" /auth/login --data-urlencode "csrf_token=$other_token" \
  --data-urlencode "email=alice@example.com" --data-urlencode "password=$ALICE_PW"
expect_status 400 "POST with another session's csrf_token"
expect_body_has "The CSRF token is invalid." "invalid message for a foreign token"
# No session cookie at all, with a token taken from a page.
http --data-urlencode "csrf_token=$other_token" --data-urlencode "email=alice@example.com" \
  --data-urlencode "password=$ALICE_PW" "$B/auth/login"
expect_status 400 "POST with a token but no session cookie"
get "$C" /
expect_greeting Anonymous

case_begin "validation messages keep the email and never echo the password"
V="$(new_browser valid)"
SECRET_TYPED='Typed-Secret-Pw-123'
validation_case() { # EMAIL PASSWORD MESSAGE WHAT
  local token
  get "$V" /auth/login
  token="$(csrf_token_from_body || true)"
  get "$V" /auth/login --data-urlencode "csrf_token=$token" --data-urlencode "email=$1" \
    --data-urlencode "password=$2"
  expect_status 200 "$4"
  expect_body_has "$3" "$4: message"
  expect_body_lacks "$SECRET_TYPED" "$4: password not echoed"
  expect_body_lacks "Invalid email or password." "$4: no credential check"
  if [[ -n "$1" ]]; then
    expect_input email "value=\"$1\"" "$4: typed email kept"
  fi
}
validation_case "" "$SECRET_TYPED" "This field is required." "empty email"
validation_case "not-an-email" "$SECRET_TYPED" "Invalid email address." "bad email"
LONG_EMAIL="$(printf 'a%.0s' {1..53})@example.com" # 65 characters
validation_case "$LONG_EMAIL" "$SECRET_TYPED" "Field must be between 1 and 64 characters long." "65-char email"
validation_case "alice@example.com" "" "This field is required." "empty password"

case_begin "unknown email and wrong password answer alike"
U="$(new_browser unknown)"
post_login "$U" "nobody@example.com" "$ALICE_PW"
expect_status 200 "unknown email"
expect_body_has "Invalid email or password." "unknown email message"
expect_body_lacks "$ALICE_PW" "password not echoed"
sed -E 's/value="[^"]*"/value=""/g' "$BODY" >"$TMP/unknown.html"
post_login "$U" "alice@example.com" "wrong password"
expect_status 200 "wrong password"
expect_body_has "Invalid email or password." "wrong password message"
sed -E 's/value="[^"]*"/value=""/g' "$BODY" >"$TMP/wrongpw.html"
if cmp -s "$TMP/unknown.html" "$TMP/wrongpw.html"; then
  pass
else
  fail "identical pages for unknown email and wrong password" \
    "$(diff "$TMP/unknown.html" "$TMP/wrongpw.html" | head -n 6 | tr '\n' ' ')"
fi
get "$U" /
expect_greeting Anonymous

case_begin "successful login"
L="$(new_browser login)"
get "$L" /auth/login
pre_session="$(jar_cookie "$L" session)"
post_login "$L" alice@example.com "$ALICE_PW"
expect_status 302 "POST /auth/login"
expect_location / "redirect to /"
cookie="$(set_cookie session || true)"
if [[ -n "$cookie" ]]; then pass; else fail "Set-Cookie session"; fi
[[ "$cookie" =~ [Hh]ttp[Oo]nly ]] && pass || fail "session cookie HttpOnly ($cookie)"
[[ "$cookie" =~ [Ss]ame[Ss]ite=[Ll]ax ]] && pass || fail "session cookie SameSite=Lax ($cookie)"
[[ "$cookie" =~ [Pp]ath=/(;|$) ]] && pass || fail "session cookie Path=/ ($cookie)"
[[ ! "$cookie" =~ [Ee]xpires= && ! "$cookie" =~ [Mm]ax-[Aa]ge= ]] && pass ||
  fail "session cookie has no Expires/Max-Age ($cookie)"
[[ ! "$cookie" =~ [Ss]ecure ]] && pass || fail "no Secure over plain HTTP ($cookie)"
post_session="$(set_cookie_value session || true)"
if [[ -n "$pre_session" && "$pre_session" != "$post_session" ]]; then
  pass
else
  fail "session cookie changes at login (before '${pre_session:0:20}', after '${post_session:0:20}')"
fi
if set_cookie remember_token >/dev/null; then fail "no remember_token without remember_me"; else pass; fi
get "$L" /
expect_status 200 "GET / logged in"
expect_greeting alice
expect_no_store "GET / logged in"
get "$L" /secret
expect_status 200 "GET /secret logged in"
expect_body_has "Only authenticated users are allowed!" "secret page"
expect_html_headers "GET /secret"
expect_no_store "GET /secret"
get "$L" /auth/login
expect_status 200 "GET /auth/login while logged in"
expect_body_has 'href="/auth/logout"' "login page navbar shows Log Out when logged in"
# The pre-login cookie is worth nothing after login (no fixation).
http -H "Cookie: session=$pre_session" "$B/"
expect_greeting Anonymous

case_begin "remember me"
R="$(new_browser remember)"
post_login "$R" alice@example.com "$ALICE_PW" y
expect_status 302 "POST /auth/login with remember_me"
rcookie="$(set_cookie remember_token || true)"
[[ "$rcookie" =~ [Mm]ax-[Aa]ge=31536000(;|$) ]] && pass || fail "remember_token Max-Age=31536000 ($rcookie)"
[[ "$rcookie" =~ [Hh]ttp[Oo]nly ]] && pass || fail "remember_token HttpOnly ($rcookie)"
[[ "$rcookie" =~ [Ss]ame[Ss]ite=[Ll]ax ]] && pass || fail "remember_token SameSite=Lax ($rcookie)"
drop_cookie "$R" session
get "$R" /
expect_status 200 "GET / with only remember_token"
expect_greeting alice
if set_cookie session >/dev/null; then pass; else fail "a new session cookie is issued"; fi
get "$R" /secret
expect_status 200 "GET /secret after remember-me login"

case_begin "logout"
copied_session="$(jar_cookie "$R" session)"
copied_remember="$(jar_cookie "$R" remember_token)"
get "$R" /auth/logout
expect_status 302 "GET /auth/logout"
expect_location / "logout redirects to /"
get "$R" /
expect_body_has "You have been logged out." "logout flash"
expect_greeting Anonymous
get "$R" /
expect_body_lacks "You have been logged out." "flash shown only once"
get "$R" /secret
expect_status 302 "GET /secret after logout"
http -H "Cookie: session=$copied_session" "$B/"
expect_greeting Anonymous
http -H "Cookie: session=$copied_session" "$B/secret"
expect_status 302 "copied session cookie is dead after logout"
http -H "Cookie: remember_token=$copied_remember" "$B/"
expect_greeting Anonymous
http -H "Cookie: remember_token=$copied_remember" "$B/secret"
expect_status 302 "copied remember_token is dead after logout"
N="$(new_browser neverlogged)"
get "$N" /auth/logout
expect_status 302 "anonymous GET /auth/logout"
expect_location / "anonymous logout redirects to /"

case_begin "/secret when anonymous"
S="$(new_browser secret)"
get "$S" /secret
expect_status 302 "GET /secret anonymous"
expect_location "/auth/login?next=%2Fsecret" "redirect to login with next"
get "$S" "/auth/login?next=%2Fsecret"
expect_status 200 "login page after redirect"
expect_body_has "Please log in to access this page." "login-required flash"
get "$S" "/auth/login?next=%2Fsecret"
expect_body_lacks "Please log in to access this page." "login-required flash shown once"
post_login "$S" alice@example.com "$ALICE_PW" "" /secret
expect_status 302 "login with next=/secret"
expect_location /secret "redirect to next"

case_begin "unsafe next values redirect to /"
i=0
for next in "//evil.example" '/\evil.example' "/%2F%2Fevil.example" "/%5Cevil" "/%2f%5cevil" \
  $'/\t/evil.example' "/%09/evil.example" $'/\r\nX-Evil: 1' "javascript:alert(1)" \
  "https://evil.example" "http:/evil.example" "evil.example"; do
  i=$((i + 1))
  X="$(new_browser "next$i")"
  post_login "$X" bob@example.com "$BOB_PW" "" "$next"
  expect_status 302 "login with next=$(printf '%q' "$next")"
  expect_location / "next=$(printf '%q' "$next") ignored"
  expect_no_header X-Evil "no header injection"
done

case_begin "a logged-in user may log in as another user"
post_login "$L" bob@example.com "$BOB_PW"
expect_status 302 "second login in the same browser"
get "$L" /
expect_greeting bob

case_begin "email is case-insensitive"
E="$(new_browser case)"
post_login "$E" ALICE@EXAMPLE.COM "$ALICE_PW"
expect_status 302 "login with ALICE@EXAMPLE.COM"
get "$E" /
expect_greeting alice
E2="$(new_browser case2)"
post_login "$E2" carol@example.com "$CAROL_PW"
expect_status 302 "login as carol (added as Carol@Example.COM)"
get "$E2" /
expect_greeting carol

case_begin "404 page"
get "$A" /no-such-page
expect_status 404 "GET /no-such-page"
expect_body_has "<html" "404 is an HTML page"
expect_body_has 'href="/auth/login"' "404 page has the layout's navbar"
expect_html_headers "404 page"
get "$A" /auth/login/extra
expect_status 404 "GET /auth/login/extra"

case_begin "405 with Allow"
http -X POST --data "x=1" "$B/"
expect_status 405 "POST /"
expect_header Allow 'GET' "POST /: Allow lists GET"
http -X PUT --data "x=1" "$B/auth/login"
expect_status 405 "PUT /auth/login"
expect_header Allow 'GET' "PUT /auth/login: Allow lists GET"
expect_header Allow 'POST' "PUT /auth/login: Allow lists POST"
http -X DELETE "$B/secret"
expect_status 405 "DELETE /secret"
expect_header Allow 'GET' "DELETE /secret: Allow lists GET"

case_begin "request body over 64 KiB -> 413"
head -c 70000 /dev/zero | tr '\0' 'a' >"$TMP/big"
http --data-binary "@$TMP/big" -H "Content-Type: application/x-www-form-urlencoded" "$B/auth/login"
expect_status 413 "70000-byte POST"

case_begin "chunked request body over 64 KiB is refused"
# nginx answers 413; Apache refuses chunked bodies with 411 (it cannot limit them for
# mod_proxy_fcgi). Either way the form never reaches the app, and nothing breaks.
http -H "Transfer-Encoding: chunked" --data-binary "@$TMP/big" \
  -H "Content-Type: application/x-www-form-urlencoded" "$B/auth/login"
[[ "$STATUS" == 411 || "$STATUS" == 413 ]] && pass || fail "chunked 70000-byte POST gets 411 or 413 (got $STATUS)"
get "$A" /
expect_status 200 "the site still answers after the refused upload"

case_begin "authctl exit codes and account changes"
rc=0
add_user alice@example.com alice2 "x-password" || rc=$?
[[ "$rc" == 3 ]] && pass || fail "authctl user add with a duplicate email exits 3 (got $rc)"
rc=0
add_user ALICE@example.com alice3 "x-password" || rc=$?
[[ "$rc" == 3 ]] && pass || fail "duplicate email in another case exits 3 (got $rc)"
rc=0
add_user zed@example.com alice "x-password" || rc=$?
[[ "$rc" == 3 ]] && pass || fail "authctl user add with a duplicate username exits 3 (got $rc)"
rc=0
ctl user delete --email nobody@example.com >>"$TMP/authctl.log" 2>&1 || rc=$?
[[ "$rc" == 2 ]] && pass || fail "authctl user delete of an unknown email exits 2 (got $rc)"
rc=0
ctl >>"$TMP/authctl.log" 2>&1 </dev/null || rc=$?
[[ "$rc" == 1 ]] && pass || fail "authctl without a command exits 1 (got $rc)"
rc=0
ctl user list >"$TMP/list.txt" 2>&1 || rc=$?
[[ "$rc" == 0 ]] && pass || fail "authctl user list exits 0 (got $rc)"
grep -q 'alice@example.com' "$TMP/list.txt" && pass || fail "user list shows alice"
grep -q 'carol@example.com' "$TMP/list.txt" && pass || fail "user list shows carol's email lower-cased"
rc=0
ctl db migrate >>"$TMP/authctl.log" 2>&1 || rc=$?
[[ "$rc" == 0 ]] && pass || fail "authctl db migrate a second time exits 0 (got $rc)"
# log out everywhere: bob's browser L becomes anonymous.
rc=0
ctl user logout-everywhere --email bob@example.com >>"$TMP/authctl.log" 2>&1 || rc=$?
[[ "$rc" == 0 ]] && pass || fail "authctl user logout-everywhere exits 0 (got $rc)"
get "$L" /
expect_greeting Anonymous
# password change: old sessions end, the new password works, the old one does not.
P="$(new_browser passwd)"
post_login "$P" bob@example.com "$BOB_PW"
expect_status 302 "bob logs in before the password change"
rc=0
printf '%s\n' "new-bob-password" | ctl user passwd --email bob@example.com >>"$TMP/authctl.log" 2>&1 || rc=$?
[[ "$rc" == 0 ]] && pass || fail "authctl user passwd exits 0 (got $rc)"
get "$P" /
expect_greeting Anonymous
post_login "$P" bob@example.com "new-bob-password"
expect_status 302 "login with the new password"
BOB_PW="new-bob-password"
# delete: a logged-in user that is deleted is anonymous at once.
rc=0
ctl user delete --email carol@example.com >>"$TMP/authctl.log" 2>&1 || rc=$?
[[ "$rc" == 0 ]] && pass || fail "authctl user delete exits 0 (got $rc)"
get "$E2" /
expect_greeting Anonymous

case_begin "scripts/smoke against this stack"
if SMOKE_EMAIL=dave@example.com SMOKE_PASSWORD="$DAVE_PW" SMOKE_USERNAME=dave \
  "$AUTHFCGI_REPO/scripts/smoke" "$B" >"$TMP/smoke.log" 2>&1; then
  pass
else
  fail "scripts/smoke" "$(tail -n 8 "$TMP/smoke.log" | tr '\n' ' ')"
fi

case_begin "expired CSRF token (a second worker with csrf_time_limit = 2)"
write_conf "$CONF2" authfcgi_e2e "$SECRET" "${LOOSE_THROTTLE[@]}" "csrf_time_limit = 2"
PORT2="$(free_port)"
# Subshells: a start-up failure here fails this case, not the whole run.
if (workers_start "$SOCK2" "$WPID2" "$TMP/authfcgi2.log" 1 "$AUTHFCGI" "$CONF2" "$SOCK_GROUP") &&
  ("server_start_$SERVER" "$WEB2_DIR" "$PORT2" "$SOCK2"); then
  X="$(new_browser expired)"
  http -b "$X" -c "$X" "http://127.0.0.1:$PORT2/auth/login"
  token="$(csrf_token_from_body || true)"
  sleep 3.2
  http -b "$X" -c "$X" --data-urlencode "csrf_token=$token" --data-urlencode "email=alice@example.com" \
    --data-urlencode "password=$ALICE_PW" "http://127.0.0.1:$PORT2/auth/login"
  expect_status 400 "POST with a 3-second-old token"
  expect_body_has "The CSRF token has expired." "expired message"
else
  fail "start a second worker with csrf_time_limit = 2" "$(tail -n 5 "$TMP/authfcgi2.log" 2>/dev/null | tr '\n' ' ')"
fi
"server_stop_$SERVER" "$WEB2_DIR" || true
workers_stop "$SOCK2" "$WPID2" || true

# shellcheck source=tests/e2e/cases/bad_input.sh
source "$HERE/cases/bad_input.sh"
run_bad_input_cases

# A real browser through the form: once per run, behind nginx (Chromium is slow to start and
# the pages are the same behind both servers). E2E_BROWSER=0 leaves it out.
if [[ "$SERVER" == nginx && "${E2E_BROWSER:-1}" == 1 ]]; then
  case_begin "a real browser (headless Chromium) logs in, is remembered, logs out"
  add_user browser@example.com browser 'browser-pass-123' || fail "authctl user add browser"
  SHOTS="$(dirname "$AUTHFCGI")/browser-screenshots"
  if BROWSER_SCREENSHOTS="$SHOTS" bash "$HERE/../browser/run.sh" "$B" browser@example.com \
    'browser-pass-123' browser >"$TMP/browser.log" 2>&1; then
    pass
    if grep -q '^SKIP' "$TMP/browser.log"; then
      grep '^SKIP' "$TMP/browser.log"
    else
      echo "e2e: browser screenshots in $SHOTS"
    fi
  else
    fail "the browser test passes" "$(tail -n 15 "$TMP/browser.log" | tr '\n' ' ')"
  fi
fi

# shellcheck source=tests/e2e/cases/resilience.sh
source "$HERE/cases/resilience.sh"
run_resilience_cases
# shellcheck source=tests/e2e/cases/scale_out.sh
source "$HERE/cases/scale_out.sh"
run_scale_out_cases

case_begin "database outage gives 503, then recovers"
D="$(new_browser outage)"
post_login "$D" alice@example.com "$ALICE_PW"
expect_status 302 "login before the outage"
mariadb_stop "$DB_DIR"
get "$D" /
expect_status 503 "logged-in GET / while the database is down"
expect_body_lacks "Exception" "no exception text in the 503 page"
get "$A" /
expect_status 200 "anonymous GET / needs no database"
(mariadb_start "$DB_DIR") || fail "restart MariaDB"
recovered=0
for ((n = 0; n < 30; n++)); do
  get "$D" /
  if [[ "$STATUS" == 200 ]]; then
    recovered=1
    break
  fi
  sleep 0.5
done
((recovered)) && pass || fail "service resumes after the database returns"
expect_greeting alice

case_begin "SIGTERM to one of two workers under load: no request fails"
# 4 concurrent loops of curl batches (GET / and GET /auth/login, kept-alive to the web server)
# run until told to stop (at most LOAD_MAX_BATCHES each); one of the two workers gets SIGTERM
# once every loop has been answered, and the load goes on after it is gone.
LOAD_LOOPS=4
LOAD_BATCH=10
LOAD_MAX_BATCHES=100
load_loop() { # INDEX: one status line per request (000 for a transport failure)
  local out="$TMP/load.$1" i
  for ((i = 0; i < LOAD_MAX_BATCHES; i++)); do
    [[ ! -f "$TMP/load.stop" ]] || break
    curl -s -g --max-time 20 -w '%{http_code}\n' "${load_urls[@]}" >>"$out" 2>/dev/null || true
  done
}
count_lines() { cat "$TMP"/load.[0-9] 2>/dev/null | wc -l; }
mapfile -t wpids < <(pids_from_file "$WPID")
if ((${#wpids[@]} == 2)) && pid_alive "${wpids[0]}" authfcgi && pid_alive "${wpids[1]}" authfcgi; then
  victim="${wpids[0]}"
  stopped_before="$(grep -c '^authfcgi: stopped$' "$WLOG" || true)"
  load_urls=()
  for ((n = 0; n < LOAD_BATCH / 2; n++)); do
    load_urls+=(-o /dev/null "$B/" -o /dev/null "$B/auth/login")
  done
  rm -f "$TMP"/load.*
  load_pids=()
  for ((l = 0; l < LOAD_LOOPS; l++)); do
    load_loop "$l" &
    load_pids+=($!)
  done
  # Every loop has had a batch answered: both workers are busy.
  for ((n = 0; n < 200; n++)); do
    ready=0
    for ((l = 0; l < LOAD_LOOPS; l++)); do
      [[ -s "$TMP/load.$l" ]] && ready=$((ready + 1))
    done
    ((ready < LOAD_LOOPS)) || break
    sleep 0.05
  done
  before_kill="$(count_lines)"
  kill -TERM "$victim" 2>/dev/null || true
  gone=0
  for ((n = 0; n < 100; n++)); do
    if ! pid_alive "$victim" authfcgi; then
      gone=1
      break
    fi
    sleep 0.1
  done
  ((gone)) && pass || fail "the signalled worker exits within 10 s of SIGTERM"
  at_exit="$(count_lines)"
  # Keep the load on the remaining worker a little longer, then stop the loops (bounded).
  sleep 0.5
  touch "$TMP/load.stop"
  for pid in "${load_pids[@]}"; do
    wait "$pid" || true
  done
  statuses="$(cat "$TMP"/load.[0-9])"
  total="$(grep -c . <<<"$statuses" || true)"
  ok="$(grep -cx 200 <<<"$statuses" || true)"
  echo "  ($before_kill requests before SIGTERM, $at_exit when the worker was gone, $total in all)"
  if ((total > 0 && ok == total)); then
    pass
  else
    fail "every request under load answers 200 ($ok of $total)" \
      "other statuses: $(grep -vx 200 <<<"$statuses" | sort | uniq -c | tr '\n' ' ')"
  fi
  ((before_kill >= LOAD_LOOPS * LOAD_BATCH)) && pass ||
    fail "the load ran before SIGTERM ($before_kill requests)"
  ((total >= at_exit + LOAD_LOOPS * LOAD_BATCH)) && pass ||
    fail "the load went on after the worker exited ($at_exit -> $total requests)"
  # Exit status 0 is what the worker returns after its "stopped" line (a failure logs its cause
  # and returns 1); spawn-fcgi's workers are not this shell's children, so it cannot wait.
  stopped_after="$(grep -c '^authfcgi: stopped$' "$WLOG" || true)"
  ((stopped_after == stopped_before + 1)) && pass ||
    fail "the signalled worker logs a clean stop (stopped lines: $stopped_before -> $stopped_after)"
  if grep -qE '^authfcgi: .*failed|terminate called' "$WLOG"; then
    fail "no worker failure logged" "$(grep -E '^authfcgi: .*failed|terminate called' "$WLOG" | head -n 3 | tr '\n' ' ')"
  else
    pass
  fi
  pid_alive "${wpids[1]}" authfcgi && pass || fail "the other worker is still running"
  get "$A" /
  expect_status 200 "the remaining worker serves GET /"
else
  fail "two running workers before the load (pids: ${wpids[*]:-none})"
fi

case_begin "workers stop on SIGTERM"
mapfile -t wpids < <(pids_from_file "$WPID")
for pid in "${wpids[@]}"; do
  pid_alive "$pid" authfcgi && kill -TERM "$pid"
done
drained=0
for ((n = 0; n < 100; n++)); do
  alive=0
  for pid in "${wpids[@]}"; do
    pid_alive "$pid" authfcgi && alive=1
  done
  if ((alive == 0)); then
    drained=1
    break
  fi
  sleep 0.1
done
((drained)) && pass || fail "every worker exits within 10 s of SIGTERM"
workers_stop "$SOCK" "$WPID"
if grep -qiE 'sanitizer|segmentation|core dumped|terminate called' "$WLOG"; then
  fail "worker log has no crash" "$(grep -iE 'sanitizer|segmentation|core dumped|terminate called' "$WLOG" | head -n 3 | tr '\n' ' ')"
else
  pass
fi

stack_finish
