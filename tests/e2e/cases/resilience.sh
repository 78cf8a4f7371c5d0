# shellcheck shell=bash
# `[[ cond ]] && pass || fail ...` is safe here: pass never fails.
# shellcheck disable=SC2015
# Resilience: a database outage in the middle of a load, and slow clients holding many
# half-sent requests open. Sourced by tests/e2e/run.sh after the stack is up; uses its globals
# (B, PORT, SERVER, TMP, DB_DIR, WPID, WLOG, ALICE_PW, DAVE_PW) and helpers (new_browser, get,
# post_login, expect_greeting, ctl, mariadb_start/stop) and tests/e2e/lib.sh.
#
# Everything started here is stopped before run_resilience_cases returns: the load loops are
# bounded (every curl has --max-time) and waited for, the slow connections are file
# descriptors of this shell, closed at the end (and by the kernel if the run aborts).

RES_LOAD_LOOPS=3
RES_LOAD_ITERATIONS=60 # per loop; one request each, two for a login (form, then POST)
RES_SLOW_CLIENTS=40

# res_now_ms: milliseconds since the epoch.
res_now_ms() { date +%s%3N; }

# res_curl_status CURL_ARGS...: prints the status (000 when nothing came back).
res_curl_status() {
  local code
  code="$(curl -s -g --max-time 10 -o /dev/null -w '%{http_code}' "$@" 2>/dev/null)" || true
  printf '%s\n' "${code:-000}"
}

# res_load_loop ID OUT USER_JAR: RES_LOAD_ITERATIONS requests, rotating between an anonymous
# GET / (kind anon), a logged-in GET / with USER_JAR (kind user, read only; twice per round)
# and a login as dave in a fresh browser (kind form for GET /auth/login, then kind login for
# the POST; one round in four, as each costs an argon2id hash). Appends
# "START_MS END_MS KIND STATUS" per request to OUT. Runs in the background: no assertions here.
res_load_loop() {
  local id="$1" out="$2" user_jar="$3" i start code token
  local jar="$TMP/res-load-jar.$id" body="$TMP/res-load-body.$id"
  for ((i = 0; i < RES_LOAD_ITERATIONS; i++)); do
    start="$(res_now_ms)"
    case $(((i + id) % 4)) in
      0)
        code="$(res_curl_status "$B/")"
        printf '%s %s anon %s\n' "$start" "$(res_now_ms)" "$code" >>"$out"
        ;;
      1 | 3)
        code="$(res_curl_status -b "$user_jar" "$B/")"
        printf '%s %s user %s\n' "$start" "$(res_now_ms)" "$code" >>"$out"
        ;;
      2)
        : >"$jar"
        : >"$body"
        code="$(curl -s -g --max-time 10 -b "$jar" -c "$jar" -o "$body" -w '%{http_code}' \
          "$B/auth/login" 2>/dev/null)" || true
        printf '%s %s form %s\n' "$start" "$(res_now_ms)" "${code:-000}" >>"$out"
        token="$(BODY="$body" csrf_token_from_body)" || token=""
        if [[ -n "$token" ]]; then
          start="$(res_now_ms)"
          code="$(res_curl_status -b "$jar" -c "$jar" --data-urlencode "csrf_token=$token" \
            --data-urlencode "email=dave@example.com" --data-urlencode "password=$DAVE_PW" \
            "$B/auth/login")"
          printf '%s %s login %s\n' "$start" "$(res_now_ms)" "$code" >>"$out"
        fi
        ;;
    esac
    sleep 0.05
  done
}

# res_statuses FILE KIND [FROM_MS TO_MS]: the statuses of KIND, one a line; with a window, only
# requests that started after FROM_MS and ended before TO_MS.
res_statuses() {
  awk -v k="$2" -v from="${3:-0}" -v to="${4:-99999999999999}" \
    '$3 == k && $1 > from && $2 < to { print $4 }' "$1"
}

# res_count_other FILE KIND ALLOWED_REGEX: how many statuses of KIND do not match.
res_count_other() {
  res_statuses "$1" "$2" | grep -cvE "^($3)$" || true
}

# res_summary FILE KIND: "200 x12, 503 x4" for failure messages.
res_summary() {
  res_statuses "$1" "$2" | sort | uniq -c | awk '{ printf "%s%s x%s", sep, $2, $1; sep = ", " }'
}

# res_wait_pids TIMEOUT_SECONDS PID...: waits for our background loops, bounded; kills what is
# left (our own subshells, by pid). Returns 1 when something had to be killed.
res_wait_pids() {
  local timeout="$1" pid i alive
  shift
  for ((i = 0; i < timeout * 10; i++)); do
    alive=0
    for pid in "$@"; do
      kill -0 "$pid" 2>/dev/null && alive=1
    done
    ((alive)) || break
    sleep 0.1
  done
  local killed=0
  for pid in "$@"; do
    if kill -0 "$pid" 2>/dev/null; then
      kill -TERM "$pid" 2>/dev/null || true
      killed=1
    fi
    wait "$pid" 2>/dev/null || true
  done
  return "$killed"
}

# ---------------------------------------------------------------------------------------------

res_outage_under_load() {
  local U users_before users_after wpids_before wpids_after load_out="$TMP/res-load.out"
  local load_pids=() l n down_from down_to up_at up_ok=0 restarted=1 recovered=0 pid other
  local load_from load_to

  case_begin "resilience: database outage under load"
  U="$(new_browser res-user)"
  post_login "$U" alice@example.com "$ALICE_PW"
  expect_status 302 "alice logs in before the load"
  get "$U" /
  expect_greeting alice
  users_before="$(ctl user list 2>&1)" || users_before="authctl user list failed: $users_before"
  wpids_before="$(pids_from_file "$WPID" | sort | tr '\n' ' ')"
  for pid in $wpids_before; do
    pid_alive "$pid" authfcgi || fail "worker $pid is running before the load"
  done

  : >"$load_out"
  for ((l = 0; l < RES_LOAD_LOOPS; l++)); do
    res_load_loop "$l" "$load_out.$l" "$U" &
    load_pids+=($!)
  done
  # The outage starts once the load is under way (a few answers in), bounded.
  for ((n = 0; n < 100; n++)); do
    (($(cat "$load_out".* 2>/dev/null | wc -l) < 3 * RES_LOAD_LOOPS)) || break
    sleep 0.05
  done
  mariadb_stop "$DB_DIR"
  down_from="$(res_now_ms)"
  sleep 2
  down_to="$(res_now_ms)"
  (mariadb_start "$DB_DIR") && up_ok=1
  ((up_ok)) && pass || fail "MariaDB starts again after the outage"

  # Service resumes by itself: alice's logged-in page within 15 s, with the load still running.
  for ((n = 0; n < 60; n++)); do
    get "$U" /
    if [[ "$STATUS" == 200 ]]; then
      recovered=1
      break
    fi
    sleep 0.25
  done
  ((recovered)) && pass || fail "logged-in GET / answers 200 again within 15 s of the restart"
  expect_greeting alice
  up_at="$(res_now_ms)"

  res_wait_pids 60 "${load_pids[@]}" && pass || fail "the load loops end within 60 s"
  cat "$load_out".* >"$load_out" 2>/dev/null || true

  # awk reads all its input: with `head`, sort could die of SIGPIPE under pipefail.
  load_from="$(sort -n "$load_out" | awk 'NR == 1 { print $1 }')"
  load_to="$(sort -n -k2,2 "$load_out" | tail -n1 | cut -d' ' -f2)"
  printf '  (load %s ms; database down for %s ms from +%s ms; logged-in pages back %s ms after it was stopped)\n' \
    "$((${load_to:-0} - ${load_from:-0}))" "$((down_to - down_from))" \
    "$((down_from - ${load_from:-0}))" "$((up_at - down_from))"

  # What the load saw: every request answered, only the expected statuses.
  n="$(grep -c . "$load_out" || true)"
  ((n >= RES_LOAD_LOOPS * RES_LOAD_ITERATIONS)) && pass ||
    fail "every load request was recorded ($n of at least $((RES_LOAD_LOOPS * RES_LOAD_ITERATIONS)))"
  other="$(awk '$4 !~ /^(200|302|503)$/' "$load_out" | wc -l)"
  ((other == 0)) && pass ||
    fail "only 200, 302 and 503 under load ($other others)" \
      "$(awk '$4 !~ /^(200|302|503)$/ { print $3, $4 }' "$load_out" | sort | uniq -c | tr '\n' ' ')"
  other="$(awk '$4 == "000"' "$load_out" | wc -l)"
  ((other == 0)) && pass || fail "no request dropped without an answer ($other got none)"
  other="$(res_count_other "$load_out" anon 200)"
  ((other == 0)) && pass || fail "anonymous GET / always 200 ($(res_summary "$load_out" anon))"
  other="$(res_count_other "$load_out" form 200)"
  ((other == 0)) && pass || fail "the login form always 200 ($(res_summary "$load_out" form))"
  other="$(res_count_other "$load_out" user '200|503')"
  ((other == 0)) && pass || fail "logged-in GET / is 200 or 503 ($(res_summary "$load_out" user))"
  other="$(res_count_other "$load_out" login '302|503')"
  ((other == 0)) && pass || fail "login POSTs are 302 or 503 ($(res_summary "$load_out" login))"
  res_statuses "$load_out" login | grep -x 302 >/dev/null && pass || fail "some logins under load succeed"

  # While the database was down (stopped, not yet restarted).
  n="$(res_statuses "$load_out" anon "$down_from" "$down_to" | grep -c . || true)"
  other="$(res_statuses "$load_out" anon "$down_from" "$down_to" | grep -cvx 200 || true)"
  ((n > 0 && other == 0)) && pass ||
    fail "anonymous GET / answers 200 during the outage ($n requests, $other not 200)"
  n="$(res_statuses "$load_out" user "$down_from" "$down_to" | grep -c . || true)"
  other="$(res_statuses "$load_out" user "$down_from" "$down_to" | grep -cvx 503 || true)"
  ((n > 0 && other == 0)) && pass ||
    fail "logged-in GET / answers 503 during the outage ($n requests, $other not 503)"

  # No crash, no restart, nothing lost.
  wpids_after="$(pids_from_file "$WPID" | sort | tr '\n' ' ')"
  for pid in $wpids_after; do
    pid_alive "$pid" authfcgi || restarted=0
  done
  [[ -n "$wpids_before" && "$wpids_before" == "$wpids_after" ]] && ((restarted)) && pass ||
    fail "the same workers run before and after the outage (before: $wpids_before, after: $wpids_after)"
  if grep -qiE 'sanitizer|segmentation|core dumped|terminate called' "$WLOG"; then
    fail "no crash in the worker log" "$(grep -iE 'sanitizer|segmentation|core dumped|terminate called' "$WLOG" | head -n 3 | tr '\n' ' ')"
  else
    pass
  fi
  users_after="$(ctl user list 2>&1)" || users_after="authctl user list failed: $users_after"
  [[ "$users_before" == "$users_after" ]] && pass ||
    fail "authctl user list is unchanged by the outage" "$(diff <(echo "$users_before") <(echo "$users_after") | head -n 6 | tr '\n' ' ')"
  post_login "$U" dave@example.com "$DAVE_PW"
  expect_status 302 "a login after the outage"
  get "$U" /
  expect_greeting dave
}

# res_open_slow FD_ARRAY_NAME PARTIAL_REQUEST: opens a connection to the web server, writes
# the partial request and keeps the descriptor open (its number appended to the array).
res_open_slow() {
  local -n res_fds="$1"
  local fd
  if exec {fd}<>"/dev/tcp/127.0.0.1/$PORT"; then
    res_fds+=("$fd")
    # In a subshell: a write to a connection the server closed must not SIGPIPE this shell.
    (printf '%b' "$2" >&"$fd") 2>/dev/null || return 1
    return 0
  fi
  return 1
}

res_slow_clients() {
  local fds=() fd i opened=0 failed=0 slow_ms=0 start ms X established
  case_begin "resilience: $RES_SLOW_CLIENTS slow clients do not block the others"
  X="$(new_browser res-slow)"
  post_login "$X" alice@example.com "$ALICE_PW"
  expect_status 302 "alice logs in before the slow clients"
  # Half stop in the middle of the headers, half in the middle of a form body. nginx reads a
  # whole request, body included, before it passes it on; so does Apache with the site's
  # proxy-sendcl + BUFFER lines (without them mod_proxy_fcgi streams the body, and each half-sent
  # body holds a worker thread).
  for ((i = 0; i < RES_SLOW_CLIENTS; i++)); do
    if ((i % 2 == 0)); then
      res_open_slow fds 'GET / HTTP/1.1\r\nHost: 127.0.0.1\r\nUser-Agent: slow\r\nX-Slow: ' &&
        opened=$((opened + 1))
    else
      res_open_slow fds 'POST /auth/login HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: 4000\r\n\r\ncsrf_token=x&email=slow%40example.com&pass' &&
        opened=$((opened + 1))
    fi
  done
  ((opened == RES_SLOW_CLIENTS)) && pass ||
    fail "open $RES_SLOW_CLIENTS slow connections and send half a request ($opened did)"
  sleep 0.5
  established="$(ss -Htn state established "( dport = :$PORT )" 2>/dev/null | wc -l)" || established=0
  ((established >= opened)) && pass ||
    fail "the server holds the slow connections open ($established of $opened established)"

  # Meanwhile, other clients are served promptly (every worker request goes through the pool).
  for ((i = 0; i < 12; i++)); do
    start="$(res_now_ms)"
    case $((i % 3)) in
      0) http --max-time 5 "$B/" ;;
      1) get "$X" / --max-time 5 ;;
      2) get "$X" /auth/login --max-time 5 ;;
    esac
    ms=$(($(res_now_ms) - start))
    ((ms <= slow_ms)) || slow_ms="$ms"
    if [[ "$STATUS" != 200 ]] || ((ms > 2000)); then
      failed=$((failed + 1))
      fail "request $((i + 1)) with the slow clients open: 200 within 2 s (got $STATUS in $ms ms)"
    fi
  done
  ((failed == 0)) && pass
  get "$X" /
  expect_greeting alice
  af_log "slow clients: slowest of 12 requests ${slow_ms} ms"

  for fd in "${fds[@]}"; do
    exec {fd}>&-
  done
  get "$X" /
  expect_status 200 "GET / after the slow clients are gone"
}

run_resilience_cases() {
  res_outage_under_load
  res_slow_clients
}
