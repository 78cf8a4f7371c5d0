# shellcheck shell=bash
# `[[ cond ]] && pass || fail ...` is safe here: pass never fails.
# shellcheck disable=SC2015
# Bad input over HTTP: each answer must be a clear 4xx (or the normal page where the input is
# harmless), never a 5xx, never a crash, never a lost row. Sourced by tests/e2e/run.sh after
# the stack is up; uses its helpers (new_browser, get, ctl) and tests/e2e/lib.sh.

# expect_client_error WHAT: a 4xx, not a 5xx and not a dropped connection.
expect_client_error() {
  [[ "$STATUS" =~ ^4[0-9][0-9]$ ]] && pass || fail "$1: a 4xx (got $STATUS)"
}
# expect_no_server_error WHAT: any answer but a 5xx or none.
expect_no_server_error() {
  [[ "$STATUS" =~ ^[234][0-9][0-9]$ ]] && pass || fail "$1: no 5xx (got $STATUS)"
}
# post_form JAR BODY [curl args...]: a POST to /auth/login with a fresh CSRF token prepended.
post_form() {
  local jar="$1" body="$2" token
  shift 2
  get "$jar" /auth/login
  token="$(csrf_token_from_body)" || token=""
  http -b "$jar" -c "$jar" --data-binary "csrf_token=$(urlencode "$token")&$body" "$@" \
    "$B/auth/login"
}
# elapsed_ms COMMAND...: runs COMMAND, sets ELAPSED_MS.
elapsed_ms() {
  local start end
  start="$(date +%s%N)"
  "$@"
  end="$(date +%s%N)"
  ELAPSED_MS=$(((end - start) / 1000000))
}

run_bad_input_cases() {
  local X users_before users_after big
  X="$(new_browser bad-input)"
  users_before="$(ctl user list)"

  case_begin "bad input: oversized header and cookie"
  big="$(head -c 20000 /dev/zero | tr '\0' 'a')"
  get "$X" / -H "X-Padding: $big"
  expect_client_error "a 20 KB header"
  get "$X" / -H "Cookie: session=$big"
  expect_no_server_error "a 20 KB cookie"
  get "$X" / -H "Cookie: $(for i in $(seq 1 80); do printf 'c%d=v; ' "$i"; done)"
  expect_no_server_error "80 cookies"

  case_begin "bad input: malformed forms"
  post_form "$X" "$(for i in $(seq 1 200); do printf 'f%d=v&' "$i"; done)email=a@b.co"
  expect_status 400 "200 form fields"
  post_form "$X" "email=%ff%fe%41&password=x"
  expect_status 400 "invalid UTF-8 in a field"
  post_form "$X" "email=a%00b@example.com&password=x"
  expect_status 400 "a NUL byte in a field"
  post_form "$X" "email=%zz&password=%4"
  expect_status 400 "broken percent-encoding in the body"
  get "$X" "/auth/login?next=%zz"
  expect_status 400 "broken percent-encoding in the query"
  get "$X" "/?a=%00"
  expect_status 400 "a NUL byte in the query"
  get "$X" /auth/login
  http -b "$X" -c "$X" -H 'Content-Type: multipart/form-data' --data-binary $'--x\r\nbroken' \
    "$B/auth/login"
  expect_status 400 "multipart without a boundary"
  http -b "$X" -c "$X" -H 'Content-Type: multipart/form-data; boundary=zzz' \
    --data-binary $'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n' "$B/auth/login"
  expect_status 400 "multipart that never closes"

  case_begin "bad input: odd content types and framing"
  http -b "$X" -c "$X" -X POST "$B/auth/login"
  expect_status 400 "a POST without a body or Content-Type (no CSRF token)"
  http -b "$X" -c "$X" -H 'Content-Type: text/plain' --data-binary 'email=a@b.co' "$B/auth/login"
  expect_status 400 "a text/plain POST (no CSRF token)"
  # nginx reads a chunked body and passes it on; the Apache site refuses one (411) because
  # mod_proxy_fcgi would pass it without a length. Either is a clear answer.
  post_form "$X" "email=nobody@example.com&password=x" -H 'Transfer-Encoding: chunked'
  if [[ "$STATUS" == 200 ]]; then
    expect_body_has "Invalid email or password." "a chunked body is read like any other"
  else
    expect_client_error "a chunked body is refused clearly"
  fi
  http --http1.0 -H 'Host:' "$B/"
  expect_status 200 "HTTP/1.0 without Host"
  expect_body_has "Hello, Anonymous!" "HTTP/1.0 without Host gets the page"

  case_begin "bad input: huge email and password are refused fast"
  elapsed_ms post_form "$X" "email=$(head -c 10000 /dev/zero | tr '\0' 'a')@example.com&password=x"
  expect_status 200 "a 10,000-character email re-renders the form"
  expect_body_has "Field must be between 1 and 64 characters long." "its length message"
  ((ELAPSED_MS < 2000)) && pass || fail "a 10,000-character email answered in ${ELAPSED_MS} ms"
  elapsed_ms post_form "$X" "email=alice%40example.com&password=$(head -c 60000 /dev/zero | tr '\0' 'p')"
  expect_status 200 "a 60,000-character password re-renders the form"
  expect_body_has "Field cannot be longer than 1024 characters." "its length message"
  ((ELAPSED_MS < 2000)) && pass || fail "a 60,000-character password answered in ${ELAPSED_MS} ms"

  case_begin "bad input: nothing lost"
  users_after="$(ctl user list)"
  [[ "$users_before" == "$users_after" ]] && pass || fail "the users table is unchanged"
  get "$X" /
  expect_status 200 "the site still answers"
}
