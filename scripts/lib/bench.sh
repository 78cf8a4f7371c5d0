# shellcheck shell=bash
# Functions for scripts/bench, on top of scripts/lib/common.sh (source that first): starting the
# ceiling and collecting raw figures (CPU ticks, memory); the arithmetic on them is in
# scripts/lib/bench_report.py. Defines functions only and changes no shell options.

# Installs wrk (Debian package wrk) when it is missing.
bench_ensure_wrk() {
  command -v wrk >/dev/null 2>&1 && return 0
  af_log "Installing wrk"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || af_die "wrk is missing and there is no sudo; install the wrk package as root"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends wrk
  command -v wrk >/dev/null 2>&1 || af_die "wrk is still missing after apt-get install wrk"
}

# The kernel keeps 15 characters of a command name; pid checks compare this prefix.
BENCH_CEILING_NAME=authfcgi_ceil

# bench_ceiling_start SOCKET PIDFILE LOGFILE PROCESSES BIN RESPONSE_FILE THREADS
# Starts the ceiling responder exactly as workers_start starts authfcgi: spawn-fcgi forks
# PROCESSES processes sharing one listening socket (fd 0), each with THREADS threads.
bench_ceiling_start() {
  local sock="$1" pidfile="$2" log="$3" n="$4" bin="$5" response="$6" threads="$7"
  [[ -x "$bin" ]] || af_die "no ceiling executable at $bin (build first)"
  rm -f "$pidfile"
  af_log "Starting $n authfcgi_ceiling processes on $sock"
  # shellcheck disable=SC2016,SC2094 # $0..$3 are expanded by that sh; LOG is only appended to
  if ! setsid -w spawn-fcgi -s "$sock" -M 0660 -F "$n" -P "$pidfile" -- \
    /bin/sh -c 'exec "$0" --response "$1" --threads "$2" 2>>"$3"' "$bin" "$response" \
    "$threads" "$log" </dev/null >>"$log" 2>&1; then
    tail -n 20 "$log" >&2
    bench_ceiling_stop "$sock" "$pidfile"
    af_die "spawn-fcgi failed for the ceiling (log: $log)"
  fi
  local pid i alive
  for ((i = 0; i < 5; i++)); do
    sleep 0.1
    alive=0
    for pid in $(pids_from_file "$pidfile"); do
      pid_alive "$pid" "$BENCH_CEILING_NAME" && alive=$((alive + 1))
    done
  done
  if ((alive != n)); then
    tail -n 20 "$log" >&2
    bench_ceiling_stop "$sock" "$pidfile"
    af_die "authfcgi_ceiling exited during start-up (log: $log)"
  fi
}

# bench_ceiling_stop SOCKET PIDFILE
bench_ceiling_stop() {
  stop_pidfile "$BENCH_CEILING_NAME" 10 "$2"
  rm -f "$1"
}

# bench_mem PID...: prints "PID RSS_KIB PSS_KIB" per live process (from smaps_rollup).
bench_mem() {
  local pid key value rss pss
  for pid in "$@"; do
    rss="" pss=""
    while read -r key value _; do
      case "$key" in
        Rss:) rss="$value" ;;
        Pss:) pss="$value" ;;
      esac
    done 2>/dev/null <"/proc/$pid/smaps_rollup" || continue
    [[ -z "$rss" || -z "$pss" ]] || printf '%s %s %s\n' "$pid" "$rss" "$pss"
  done
}

# bench_mem_sample OUTFILE SECONDS PID...: every 0.25 s for SECONDS, appends bench_mem lines.
bench_mem_sample() {
  local out="$1" seconds="$2" i
  shift 2
  for ((i = 0; i < seconds * 4; i++)); do
    bench_mem "$@" >>"$out"
    sleep 0.25
  done
}

# bench_jar_cookie JAR NAME: the value of cookie NAME in a curl cookie jar.
bench_jar_cookie() {
  awk -F'\t' -v n="$2" 'NF >= 7 && $6 == n { v = $7 } END { print v }' "$1"
}

# bench_csrf_token BODYFILE: the csrf_token hidden input's value.
bench_csrf_token() {
  local value
  value="$(tr '\n' ' ' <"$1" | grep -o '<input[^>]*name="csrf_token"[^>]*>' | head -n1 |
    sed -nE 's/.*[[:space:]]value="([^"]*)".*/\1/p')" || return 1
  [[ "$value" =~ ^[A-Za-z0-9._~-]+$ ]] || return 1
  printf '%s\n' "$value"
}

# bench_cgi_response HEADERS BODY OUT: turns what curl saw through nginx (headers from -D, body
# from -o) into the CGI response a FastCGI app sends: "Status:" instead of the status line,
# without the headers nginx adds (Server, Date, Connection, Keep-Alive, Transfer-Encoding).
bench_cgi_response() {
  local headers="$1" body="$2" out="$3"
  tr -d '\r' <"$headers" | awk '
    NR == 1 { sub(/^HTTP\/[0-9.]+ /, ""); printf "Status: %s\r\n", $0; next }
    $0 == "" { exit }
    tolower($0) ~ /^(server|date|connection|keep-alive|transfer-encoding):/ { next }
    { printf "%s\r\n", $0 }
    END { printf "\r\n" }' >"$out"
  cat "$body" >>"$out"
}

# bench_cpu_ticks PID...: the user + system CPU ticks the processes have used so far.
bench_cpu_ticks() {
  local pid sum=0 fields parts
  for pid in "$@"; do
    [[ -r "/proc/$pid/stat" ]] || continue
    # Fields after the ")" that ends the command name: 12th and 13th are utime and stime.
    fields="$(sed 's/^.*) //' "/proc/$pid/stat" 2>/dev/null)" || continue
    read -r -a parts <<<"$fields"
    sum=$((sum + parts[11] + parts[12]))
  done
  printf '%s\n' "$sum"
}

# bench_wait_idle PID...: waits until the processes have used no CPU for 0.2 s (at most 15 s)
# and prints how many milliseconds that took. A login run ends with requests still queued in
# the workers (each process holds THREADS of them, one argon2id verify after the other); the
# next run must not start on that leftover work.
bench_wait_idle() {
  local start now last ticks quiet=0
  start="$(date +%s%N)"
  now="$start"
  last="$(bench_cpu_ticks "$@")"
  while ((quiet < 4 && now - start < 15000000000)); do
    sleep 0.05
    ticks="$(bench_cpu_ticks "$@")"
    if ((ticks == last)); then quiet=$((quiet + 1)); else quiet=0; fi
    last="$ticks"
    now="$(date +%s%N)"
  done
  printf '%s\n' "$(((now - start) / 1000000))"
}

# bench_machine_ticks: CPU ticks every core has spent busy (user, nice, system, irq, softirq,
# steal) since boot.
bench_machine_ticks() {
  local cpu user nice system irq softirq steal
  read -r cpu user nice system _ _ irq softirq steal _ </proc/stat # _ _: idle, iowait
  [[ "$cpu" == cpu ]] || return 1
  printf '%s\n' "$((user + nice + system + irq + softirq + steal))"
}
