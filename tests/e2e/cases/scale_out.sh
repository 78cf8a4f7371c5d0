# shellcheck shell=bash
# `[[ cond ]] && pass || fail ...` is safe here: pass never fails.
# shellcheck disable=SC2015
# Scale-out: two independent worker pools, as two hosts would run them (their own spawn-fcgi,
# socket and configuration file, the same secret_key and database), behind one nginx whose
# upstream lists both, and each behind an nginx of its own so a test can pick the pool.
# Sourced by tests/e2e/run.sh after the stack is up; uses its globals (TMP, CONF, AUTHFCGI,
# AUTHCTL) and helpers (new_browser, jar_cookie, ctl, expect_greeting, workers_start/stop,
# nginx_start/stop, free_port) and tests/e2e/lib.sh. nginx fronts the pools whichever web
# server the run is for: the subject here is the workers, not the web server.
#
# Everything started here is stopped before run_scale_out_cases returns, and, should the run
# abort in between, by run.sh's EXIT trap: so_register_cleanup puts so_teardown in front of it
# for the duration.

SO_EMAIL=scale-out@example.com
SO_USER=scaleout
SO_PW='scale-out password 1'
SO_THROTTLE=3
SO_RC=0

# so_register_cleanup / so_unregister_cleanup: run so_teardown before run.sh's own EXIT trap
# (keeping the exit status it sees), and restore that trap afterwards.
so_register_cleanup() {
  SO_SAVED_EXIT_TRAP="$(trap -p EXIT)"
  local previous="" words=()
  if [[ -n "$SO_SAVED_EXIT_TRAP" ]]; then
    # `trap -- 'COMMAND' EXIT`, quoted for reuse as shell input.
    eval "words=($SO_SAVED_EXIT_TRAP)"
    previous="${words[2]}"
  fi
  # shellcheck disable=SC2064 # expanded now on purpose: the previous trap's command
  trap "SO_RC=\$?; so_teardown || true; (exit \$SO_RC); $previous" EXIT
}
so_unregister_cleanup() {
  if [[ -n "${SO_SAVED_EXIT_TRAP:-}" ]]; then
    eval "$SO_SAVED_EXIT_TRAP"
  else
    trap - EXIT
  fi
}

so_teardown() {
  nginx_stop "$SO_DIR/web-shared" || true
  nginx_stop "$SO_DIR/web-b" || true
  nginx_stop "$SO_DIR/web-a" || true
  workers_stop "$SO_SOCK_B" "$SO_DIR/workers-b.pid" || true
  workers_stop "$SO_SOCK_A" "$SO_DIR/workers-a.pid" || true
}

# so_nginx_start_multi DIR PORT SOCKET...: nginx_start, but the upstream lists every SOCKET
# (one `server unix:...;` each, as for workers on several hosts) and the access log records
# which one served each request ($upstream_addr first on the line).
so_nginx_start_multi() {
  local dir="$1" port="$2"
  shift 2
  local template="$AUTHFCGI_REPO/conf/nginx/authfcgi-local.conf.in" nginx_conf="$dir/nginx.conf"
  local servers="" s i
  for s in "$@"; do
    servers+="server unix:$s; "
  done
  mkdir -p "$dir/logs" "$dir/tmp"
  local user_line="# not root: the workers run as the current user"
  ((EUID == 0)) && user_line="user root root;  # private instance: workers must reach the socket"
  sed -e "s|server unix:@SOCKET@;|$servers|" \
    -e "s|access_log @VARDIR@/logs/access.log;|log_format upstream '\$upstream_addr \$status \$request'; access_log @VARDIR@/logs/access.log upstream;|" \
    -e "s|@PORT@|$port|g" -e "s|@VARDIR@|$dir|g" -e "s|@USER_LINE@|$user_line|g" \
    "$template" >"$nginx_conf" || return 1
  if (($(grep -o 'server unix:' "$nginx_conf" | wc -l) != $#)) || ! grep -q 'log_format upstream' "$nginx_conf"; then
    af_log "could not render a multi-server upstream from $template"
    return 1
  fi
  nginx -t -q -p "$dir" -c "$nginx_conf" -e "$dir/logs/error.log" >>"$dir/logs/start.log" 2>&1 || {
    cat "$dir/logs/start.log" >&2
    return 1
  }
  nginx -p "$dir" -c "$nginx_conf" -e "$dir/logs/error.log" </dev/null >>"$dir/logs/start.log" 2>&1 ||
    return 1
  for ((i = 0; i < 100; i++)); do
    if pidfile_alive nginx "$dir/nginx.pid" && port_in_use "$port"; then
      nginx_children "$(pids_from_file "$dir/nginx.pid" | awk 'NR == 1')" >"$dir/nginx.workers"
      return 0
    fi
    sleep 0.1
  done
  return 1
}

# so_login BASE JAR EMAIL PASSWORD: the login form from BASE, then its POST (sets STATUS).
so_login() {
  local base="$1" jar="$2" token
  http -b "$jar" -c "$jar" "$base/auth/login"
  token="$(csrf_token_from_body)" || token=""
  http -b "$jar" -c "$jar" --data-urlencode "csrf_token=$token" --data-urlencode "email=$3" \
    --data-urlencode "password=$4" "$base/auth/login"
}

so_start() {
  local secret
  mkdir -p "$SO_DIR"
  # Each "host" has its own copy of the configuration: the same secret and database, and a low
  # account throttle so the shared count shows after a few failures.
  secret="$(sed -n 's/^secret_key = //p' "$CONF")"
  [[ ${#secret} -ge 32 ]] || {
    fail "read secret_key from $CONF"
    return 1
  }
  local host
  for host in a b; do
    sed "s/^throttle_account_max_failures = .*/throttle_account_max_failures = $SO_THROTTLE/" \
      "$CONF" >"$SO_DIR/authfcgi-$host.conf"
    chmod 600 "$SO_DIR/authfcgi-$host.conf"
  done
  grep -qx "throttle_account_max_failures = $SO_THROTTLE" "$SO_DIR/authfcgi-a.conf" &&
    grep -qx "secret_key = $secret" "$SO_DIR/authfcgi-b.conf" || {
    fail "write the two pools' configuration files"
    return 1
  }
  SO_PORT_A="$(free_port)"
  SO_PORT_B="$(free_port)"
  SO_PORT_S="$(free_port)"
  # Subshells: a start-up failure fails this case, not the whole run.
  (workers_start "$SO_SOCK_A" "$SO_DIR/workers-a.pid" "$SO_DIR/authfcgi-a.log" 1 "$AUTHFCGI" \
    "$SO_DIR/authfcgi-a.conf") &&
    (workers_start "$SO_SOCK_B" "$SO_DIR/workers-b.pid" "$SO_DIR/authfcgi-b.log" 1 "$AUTHFCGI" \
      "$SO_DIR/authfcgi-b.conf") &&
    (nginx_start "$SO_DIR/web-a" "$SO_PORT_A" "$SO_SOCK_A") &&
    (nginx_start "$SO_DIR/web-b" "$SO_PORT_B" "$SO_SOCK_B") &&
    so_nginx_start_multi "$SO_DIR/web-shared" "$SO_PORT_S" "$SO_SOCK_A" "$SO_SOCK_B" || {
    fail "start two worker pools and three nginx" \
      "$(tail -n 5 "$SO_DIR"/authfcgi-?.log "$SO_DIR"/web-*/logs/error.log 2>/dev/null | tr '\n' ' ')"
    return 1
  }
  SO_A="http://127.0.0.1:$SO_PORT_A"
  SO_B="http://127.0.0.1:$SO_PORT_B"
  SO_S="http://127.0.0.1:$SO_PORT_S"
  wait_http "$SO_A/" 10 && wait_http "$SO_B/" 10 && wait_http "$SO_S/" 10 || {
    fail "the three nginx answer"
    return 1
  }
}

so_cases() {
  local J JA JB session n greeted=0 served_a served_b

  case_begin "scale-out: one nginx, two pools: a login is recognised whichever pool serves"
  J="$(new_browser so-shared)"
  so_login "$SO_S" "$J" "$SO_EMAIL" "$SO_PW"
  expect_status 302 "login through the shared nginx"
  for ((n = 0; n < 10; n++)); do
    http -b "$J" -c "$J" "$SO_S/"
    if [[ "$STATUS" == 200 ]] && body_has "Hello, $SO_USER!"; then
      greeted=$((greeted + 1))
    fi
  done
  ((greeted == 10)) && pass || fail "10 requests through the shared nginx all greet $SO_USER ($greeted did)"
  served_a="$(grep -cF "unix:$SO_SOCK_A " "$SO_DIR/web-shared/logs/access.log" || true)"
  served_b="$(grep -cF "unix:$SO_SOCK_B " "$SO_DIR/web-shared/logs/access.log" || true)"
  ((served_a > 0 && served_b > 0)) && pass ||
    fail "both pools served through the shared nginx (pool A $served_a, pool B $served_b requests)"

  case_begin "scale-out: logged in through pool A, recognised through pool B"
  JA="$(new_browser so-a)"
  so_login "$SO_A" "$JA" "$SO_EMAIL" "$SO_PW"
  expect_status 302 "login through pool A"
  session="$(jar_cookie "$JA" session)"
  [[ -n "$session" ]] && pass || fail "pool A sets a session cookie"
  http -H "Cookie: session=$session" "$SO_B/"
  expect_status 200 "GET / through pool B with pool A's cookie"
  expect_greeting "$SO_USER"
  http -H "Cookie: session=$session" "$SO_B/secret"
  expect_status 200 "GET /secret through pool B with pool A's cookie"
  # And the other way round.
  JB="$(new_browser so-b)"
  so_login "$SO_B" "$JB" "$SO_EMAIL" "$SO_PW"
  expect_status 302 "login through pool B"
  http -H "Cookie: session=$(jar_cookie "$JB" session)" "$SO_A/"
  expect_greeting "$SO_USER"

  case_begin "scale-out: logged out through pool B, anonymous through pool A"
  http -H "Cookie: session=$session" "$SO_B/auth/logout"
  expect_status 302 "logout through pool B"
  http -b "$JA" -c "$JA" "$SO_A/"
  expect_status 200 "GET / through pool A with the copied (logged-out) cookie"
  expect_greeting Anonymous
  http -b "$JA" "$SO_A/secret"
  expect_status 302 "GET /secret through pool A after the logout through B"

  case_begin "scale-out: failures through pool A throttle the account through pool B"
  for ((n = 1; n <= SO_THROTTLE; n++)); do
    so_login "$SO_A" "$(new_browser "so-fail$n")" "$SO_EMAIL" "wrong password $n"
    expect_status 200 "failure $n through pool A"
    expect_body_has "Invalid email or password." "failure $n through pool A: message"
  done
  so_login "$SO_B" "$(new_browser so-throttled)" "$SO_EMAIL" "$SO_PW"
  expect_status 429 "attempt $((SO_THROTTLE + 1)) through pool B, with the right password"
  expect_header Retry-After '^[0-9]+$' "429 through pool B: Retry-After"
  expect_body_has "Too many failed login attempts." "429 through pool B: message"
  so_login "$SO_S" "$(new_browser so-throttled-s)" "$SO_EMAIL" "$SO_PW"
  expect_status 429 "and through the shared nginx"
  grep -q "event=login_throttled" "$SO_DIR/authfcgi-b.log" && pass ||
    fail "pool B logs the throttled login"
  grep -q "event=login_failed" "$SO_DIR/authfcgi-a.log" && pass ||
    fail "pool A logs the failed logins"
  if grep -qiE 'sanitizer|segmentation|core dumped|terminate called' "$SO_DIR"/authfcgi-?.log; then
    fail "no crash in the pools' logs"
  else
    pass
  fi
}

run_scale_out_cases() {
  local rc=0
  case_begin "scale-out: two worker pools with the same secret and database"
  if ! command -v nginx >/dev/null 2>&1; then
    fail "nginx is installed (the scale-out cases put it in front of both pools)"
    return 0
  fi
  printf '%s\n' "$SO_PW" | ctl user add --email "$SO_EMAIL" --username "$SO_USER" \
    >>"$TMP/authctl.log" 2>&1 || rc=$?
  ((rc == 0)) && pass || fail "authctl user add $SO_EMAIL (exit $rc)"
  SO_DIR="$TMP/scale-out"
  SO_SOCK_A="$(socket_path "$TMP" so-a.sock)"
  SO_SOCK_B="$(socket_path "$TMP" so-b.sock)"
  so_register_cleanup
  if so_start; then
    so_cases
  fi
  so_teardown
  so_unregister_cleanup
  rc=0
  ctl user delete --email "$SO_EMAIL" >>"$TMP/authctl.log" 2>&1 || rc=$?
  ((rc == 0)) && pass || fail "authctl user delete $SO_EMAIL (exit $rc)"
}
