# shellcheck shell=bash
# Shared functions for scripts/run, scripts/test and the test suites (tests/*/: they start and
# stop their services through these).
# Source it; it defines functions only (plus AUTHFCGI_REPO) and changes no shell options.
#
# Every wait is bounded, and every stop only touches processes whose pid this code recorded
# (checked against the expected program name, so a recycled pid is never killed).

AUTHFCGI_REPO="$(cd "$(dirname "${BASH_SOURCE[0]}")/../.." && pwd)"

AUTHFCGI_PACKAGES=(
  build-essential cmake pkg-config libfcgi-dev spawn-fcgi libcgicc-dev libmysqlcppconn-dev
  libsodium-dev libkainjow-mustache-dev libssl-dev libgtest-dev libgmock-dev nginx apache2 mariadb-server
  libzxcvbn-dev libcurl4-openssl-dev # password strength (libzxcvbn), mail over SMTP (libcurl)
  mariadb-client curl
  galera-4 rsync iproute2 # tests/galera: a two-node cluster, joined by rsync state transfer
  systemd util-linux libfcgi-bin # tests/systemd: a live systemd in namespaces; cgi-fcgi
  python3-pytest python3-requests # tests/http: the HTTP suite (pytest + requests)
  python3-prometheus-client # tests/http: parses /auth/status?openmetrics as Prometheus would
  python3-aiosmtpd openssl # the local SMTP sink (scripts/lib/smtp_sink.py); its test CA
  scdoc lintian man-db # the manual pages (docs/man/*.scd); tests/package: lintian, man on the .deb
)

af_log() { printf '%s\n' "$*" >&2; }
af_die() {
  printf 'error: %s\n' "$*" >&2
  exit 1
}

# ---------------------------------------------------------------------------------------------
# Packages and build

# Installs the Debian packages the project needs, only those that are missing.
ensure_packages() {
  local missing=() pkg status
  for pkg in "${AUTHFCGI_PACKAGES[@]}"; do
    status="$(dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null || true)"
    if [[ "$status" != "install ok installed" ]]; then
      missing+=("$pkg")
    fi
  done
  if ((${#missing[@]} == 0)); then
    return 0
  fi
  af_log "Installing missing packages: ${missing[*]}"
  local sudo=()
  if ((EUID != 0)); then
    command -v sudo >/dev/null 2>&1 || af_die "missing packages (${missing[*]}) and no sudo; install them as root"
    sudo=(sudo)
  fi
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get update -q
  "${sudo[@]}" env DEBIAN_FRONTEND=noninteractive apt-get install -y -q --no-install-recommends \
    "${missing[@]}"
  # The nginx, apache2 and mariadb packages start system services; our instances are private
  # and do not need them, but we leave the system's choice alone.
}

# Prints the absolute build directory: $AUTHFCGI_BUILD_DIR (relative to the repo root) or build/.
build_dir() {
  local dir="${AUTHFCGI_BUILD_DIR:-build}"
  [[ "$dir" == /* ]] || dir="$AUTHFCGI_REPO/$dir"
  printf '%s\n' "$dir"
}

# build_project [TARGET...]: configures and builds into build_dir (all targets by default).
build_project() {
  local dir targets=()
  dir="$(build_dir)"
  (($# == 0)) || targets=(--target "$@")
  af_log "Building ${*:-everything} into $dir"
  cmake -S "$AUTHFCGI_REPO" -B "$dir" -DCMAKE_BUILD_TYPE=RelWithDebInfo >/dev/null
  cmake --build "$dir" -j"$(nproc)" "${targets[@]}"
}

# ---------------------------------------------------------------------------------------------
# Ports, pids, sockets

# True when something accepts TCP connections on 127.0.0.1:$1.
port_in_use() {
  (exec 3<>"/dev/tcp/127.0.0.1/$1") 2>/dev/null
}

# Prints a free TCP port on 127.0.0.1.
free_port() {
  local port
  if command -v python3 >/dev/null 2>&1 &&
    port="$(python3 -c 'import socket
s = socket.socket()
s.bind(("127.0.0.1", 0))
print(s.getsockname()[1])
s.close()' 2>/dev/null)" && [[ -n "$port" ]]; then
    printf '%s\n' "$port"
    return 0
  fi
  local i
  for ((i = 0; i < 200; i++)); do
    port=$((20000 + RANDOM % 40000))
    if ! port_in_use "$port"; then
      printf '%s\n' "$port"
      return 0
    fi
  done
  af_die "no free port found on 127.0.0.1"
}

# A unix socket path must fit in sun_path (108 bytes). Prints $1/$2 when it fits, else a short
# path under /tmp derived from it.
socket_path() {
  local path="$1/$2"
  if ((${#path} < 100)); then
    printf '%s\n' "$path"
  else
    local sum
    sum="$(printf '%s' "$path" | cksum | cut -d' ' -f1)"
    printf '/tmp/authfcgi-%s-%s-%s\n' "$(id -u)" "$sum" "$2"
  fi
}

# pid_alive PID [NAME]: the process exists (and its command name is NAME, when given).
pid_alive() {
  local pid="$1" name="${2:-}"
  [[ "$pid" =~ ^[0-9]+$ ]] || return 1
  kill -0 "$pid" 2>/dev/null || return 1
  # /proc/PID/stat is "pid (comm) state ...". A zombie (exited, not yet reaped) is not alive.
  local stat
  stat="$(cat "/proc/$pid/stat" 2>/dev/null)" || return 1
  local comm="${stat#*\(}"
  comm="${comm%\)*}"
  local state="${stat##*\) }"
  [[ "${state:0:1}" != Z && "${state:0:1}" != X ]] || return 1
  if [[ -n "$name" ]]; then
    [[ "$comm" == "$name"* ]] || return 1
  fi
  return 0
}

# Prints the pids listed in a pid file (one or more, whitespace separated).
pids_from_file() {
  [[ -f "$1" ]] || return 0
  local pid
  # shellcheck disable=SC2013 # spawn-fcgi may write several pids, not always newline-ended
  for pid in $(cat "$1" 2>/dev/null); do
    [[ "$pid" =~ ^[0-9]+$ ]] && printf '%s\n' "$pid"
  done
  return 0
}

# stop_pids NAME TIMEOUT_SECONDS PID...: SIGTERM, bounded wait, then SIGKILL.
# Only pids whose command name is NAME are touched.
stop_pids() {
  local name="$1" timeout="$2"
  shift 2
  local pids=() pid
  for pid in "$@"; do
    if pid_alive "$pid" "$name"; then
      pids+=("$pid")
      kill -TERM "$pid" 2>/dev/null || true
    fi
  done
  ((${#pids[@]} > 0)) || return 0
  local i alive
  pids_wait_gone "$name" $((timeout * 10)) "${pids[@]}" && return 0
  for pid in "${pids[@]}"; do
    if pid_alive "$pid" "$name"; then
      af_log "$name (pid $pid) did not stop within ${timeout}s; killing it"
      kill -KILL "$pid" 2>/dev/null || true
    fi
  done
  pids_wait_gone "$name" 50 "${pids[@]}" || true
  return 0
}

# pids_wait_gone NAME TENTHS PID...: waits up to TENTHS tenths of a second for every PID (a
# process called NAME) to be gone; fails when some are still alive.
pids_wait_gone() {
  local name="$1" tenths="$2" i pid alive
  shift 2
  for ((i = 0; i < tenths; i++)); do
    alive=0
    for pid in "$@"; do
      pid_alive "$pid" "$name" && alive=1
    done
    ((alive)) || return 0
    sleep 0.1
  done
  return 1
}

# stop_pidfile NAME TIMEOUT FILE: stops what FILE lists, then removes FILE.
stop_pidfile() {
  local name="$1" timeout="$2" file="$3"
  [[ -f "$file" ]] || return 0
  local pids
  mapfile -t pids < <(pids_from_file "$file")
  if ((${#pids[@]} > 0)); then
    stop_pids "$name" "$timeout" "${pids[@]}"
  fi
  rm -f "$file"
}

# True when any pid listed in FILE is alive and named NAME.
pidfile_alive() {
  local name="$1" file="$2" pid
  for pid in $(pids_from_file "$file"); do
    pid_alive "$pid" "$name" && return 0
  done
  return 1
}

# wait_http URL TIMEOUT_SECONDS: waits until curl gets an answer (any 2xx/3xx).
wait_http() {
  local url="$1" timeout="$2" i
  for ((i = 0; i < timeout * 5; i++)); do
    if curl -fsS -o /dev/null --max-time 2 "$url" 2>/dev/null; then
      return 0
    fi
    sleep 0.2
  done
  return 1
}

# ---------------------------------------------------------------------------------------------
# Private MariaDB: data in DIR/data, socket DIR/mysql.sock (or a short /tmp path), no TCP.

mariadb_socket() { socket_path "$1" mysql.sock; }

# Runs the mariadb client as the administrative (socket-authenticated) account.
mariadb_admin_sql() {
  local dir="$1"
  shift
  local admin=root
  ((EUID == 0)) || admin="$(id -un)"
  mariadb --no-defaults --socket="$(mariadb_socket "$dir")" -u "$admin" "$@"
}

# mariadb_start DIR: initialises DIR/data when needed and starts mariadbd; waits until it answers.
mariadb_start() {
  local dir="$1"
  local data="$dir/data" sock pidfile="$dir/mariadb.pid" log="$dir/mariadb.log"
  sock="$(mariadb_socket "$dir")"
  mkdir -p "$dir" "$dir/tmp"

  if pidfile_alive mariadbd "$pidfile"; then
    af_die "a MariaDB for $dir is already running (pid $(pids_from_file "$pidfile" | head -n1))"
  fi
  # Stale leftovers of a crash: the server refuses to start while its socket file exists.
  rm -f "$pidfile" "$sock" "$sock.lock"

  local user_opt=()
  ((EUID == 0)) && user_opt=(--user=root)

  if [[ ! -d "$data/mysql" ]]; then
    af_log "Initialising MariaDB data in $data"
    rm -rf "$data"
    mkdir -p "$data"
    if ! mariadb-install-db --no-defaults --datadir="$data" --auth-root-authentication-method=socket \
      "${user_opt[@]}" --skip-test-db >"$dir/install.log" 2>&1; then
      tail -n 20 "$dir/install.log" >&2
      af_die "mariadb-install-db failed (log: $dir/install.log)"
    fi
  fi

  af_log "Starting MariaDB (socket $sock)"
  # setsid: a Ctrl-C in the terminal reaches only the script, which stops things in order.
  setsid mariadbd --no-defaults --datadir="$data" --socket="$sock" --skip-networking \
    --pid-file="$pidfile" --log-error="$log" --tmpdir="$dir/tmp" "${user_opt[@]}" \
    --character-set-server=utf8mb4 --collation-server=utf8mb4_unicode_ci \
    --innodb-buffer-pool-size=64M --skip-name-resolve --max-connections=200 \
    </dev/null >>"$log" 2>&1 &
  local launched=$! i
  for ((i = 0; i < 600; i++)); do
    if mariadb-admin --no-defaults --socket="$sock" -u "$( ((EUID == 0)) && echo root || id -un)" \
      --connect-timeout=2 ping >/dev/null 2>&1; then
      # The pid file is written before the socket accepts; keep it as the record.
      [[ -f "$pidfile" ]] || printf '%s\n' "$launched" >"$pidfile"
      return 0
    fi
    if ! kill -0 "$launched" 2>/dev/null && ! pidfile_alive mariadbd "$pidfile"; then
      tail -n 30 "$log" >&2
      af_die "MariaDB exited during start-up (log: $log)"
    fi
    sleep 0.1
  done
  tail -n 30 "$log" >&2
  local recorded
  mapfile -t recorded < <(pids_from_file "$pidfile")
  stop_pids mariadbd 10 "$launched" "${recorded[@]}"
  af_die "MariaDB did not answer within 60s (log: $log)"
}

# mariadb_create_app_db DIR DBNAME DBUSER PASSWORD: idempotent.
mariadb_create_app_db() {
  local dir="$1" name="$2" user="$3" password="$4"
  [[ "$name" =~ ^[A-Za-z0-9_]+$ && "$user" =~ ^[A-Za-z0-9_]+$ ]] ||
    af_die "database and user names must be [A-Za-z0-9_]+"
  [[ "$password" =~ ^[A-Za-z0-9_]+$ ]] || af_die "generated passwords are [A-Za-z0-9_]+"
  mariadb_admin_sql "$dir" <<SQL
CREATE DATABASE IF NOT EXISTS \`$name\` CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER IF NOT EXISTS '$user'@'localhost' IDENTIFIED BY '$password';
ALTER USER '$user'@'localhost' IDENTIFIED BY '$password';
GRANT ALL PRIVILEGES ON \`$name\`.* TO '$user'@'localhost';
FLUSH PRIVILEGES;
SQL
}

# mariadb_stop DIR
mariadb_stop() {
  local dir="$1"
  stop_pidfile mariadbd 60 "$dir/mariadb.pid"
  rm -f "$(mariadb_socket "$dir")"
}

# Prints a random [A-Za-z0-9] password / hex secret.
random_password() {
  LC_ALL=C tr -dc 'A-Za-z0-9' </dev/urandom | head -c 32 || true
  printf '\n'
}
random_hex() {
  od -An -tx1 -N"${1:-32}" /dev/urandom | tr -d ' \n'
  printf '\n'
}

# ---------------------------------------------------------------------------------------------
# FastCGI workers (spawn-fcgi)

# workers_start SOCKET PIDFILE LOGFILE PROCESSES AUTHFCGI CONFIG [SOCKET_GROUP [ROLE]]
# Starts PROCESSES worker processes sharing one listening socket; PIDFILE lists them all.
# The socket has mode 0660; SOCKET_GROUP (honoured as root only, as spawn-fcgi -G) lets a web
# server running as another user (Apache's www-data children, see web_server_group) connect.
# SOCKET may be 127.0.0.1:PORT instead (TCP, for Apache's authorizer); ROLE is the FastCGI role
# the workers answer (authfcgi --role): responder (default) or authorizer.
workers_start() {
  local sock="$1" pidfile="$2" log="$3" n="$4" bin="$5" conf="$6" group="${7:-}"
  local role="${8:-responder}"
  [[ -x "$bin" ]] || af_die "no worker executable at $bin (build first)"
  if pidfile_alive "$(basename "$bin")" "$pidfile"; then
    af_die "workers are already running (pid file $pidfile)"
  fi
  # A stale socket from a crash: spawn-fcgi replaces it when nothing listens on it.
  rm -f "$pidfile"
  af_log "Starting $n authfcgi worker processes on $sock ($role)"
  local listen=()
  if [[ "$sock" =~ ^(127\.[0-9.]+):([0-9]+)$ ]]; then
    listen=(-a "${BASH_REMATCH[1]}" -p "${BASH_REMATCH[2]}")
  else
    listen=(-s "$sock" -M 0660)
    if [[ -n "$group" ]] && ((EUID == 0)); then
      listen+=(-G "$group")
    fi
  fi
  printf '=== %s starting %s worker process(es)\n' "$(date '+%F %T')" "$n" >>"$log"
  # spawn-fcgi forks the workers, writes every pid to PIDFILE and exits. It points the workers'
  # stderr at /dev/null, so each goes through sh, which sends stderr to LOG and then execs the
  # worker (same pid, so PIDFILE stays right).
  # shellcheck disable=SC2016,SC2094 # $0..$2 are expanded by that sh; LOG is only appended to
  if ! setsid -w spawn-fcgi "${listen[@]}" -F "$n" -P "$pidfile" -- \
    /bin/sh -c 'exec "$0" --config "$1" --role "$3" 2>>"$2"' "$bin" "$conf" "$log" "$role" \
    </dev/null >>"$log" 2>&1; then
    log_since_marker "$log" | tail -n 20 >&2
    stop_pidfile "$(basename "$bin")" 5 "$pidfile"
    af_die "spawn-fcgi failed (log: $log)"
  fi
  # A worker that refuses its configuration exits at once: give it a moment and check.
  local pid dead=0
  sleep 0.5
  for pid in $(pids_from_file "$pidfile"); do
    pid_alive "$pid" "$(basename "$bin")" || dead=1
  done
  if ((dead)) || [[ ! -s "$pidfile" ]]; then
    log_since_marker "$log" | tail -n 20 >&2
    stop_pidfile "$(basename "$bin")" 5 "$pidfile"
    af_die "authfcgi workers exited during start-up (log: $log)"
  fi
}

# workers_reload PIDFILE LOG: SIGHUP to every live worker of PIDFILE (spawn-fcgi has no master
# to do it), then waits (bounded) until each has logged the outcome, and prints those lines.
# Returns 1 when a worker refused the new configuration or did not answer.
workers_reload() {
  local pidfile="$1" log="$2" pid sent=0 before
  before="$(wc -c <"$log" 2>/dev/null || echo 0)"
  for pid in $(pids_from_file "$pidfile"); do
    if pid_alive "$pid" authfcgi; then
      kill -HUP "$pid" && sent=$((sent + 1))
    fi
  done
  ((sent > 0)) || {
    af_log "no live worker in $pidfile"
    return 1
  }
  local outcomes="" i
  for ((i = 0; i < 100; i++)); do
    outcomes="$(tail -c +"$((before + 1))" "$log" | grep -E 'authfcgi: (reloaded|reload refused)' || true)"
    (($(printf '%s' "$outcomes" | grep -c .) >= sent)) && break
    sleep 0.1
  done
  tail -c +"$((before + 1))" "$log" | grep -E 'authfcgi: (reload|reloaded)' >&2 || true
  (($(printf '%s' "$outcomes" | grep -c 'reloaded') == sent))
}

# Prints LOG from its last "=== " start marker on.
log_since_marker() {
  # shellcheck disable=SC2016 # a sed program, not shell
  sed -n '/^=== /h; /^=== /!H; ${x; p}' "$1"
}

# workers_stop SOCKET PIDFILE [NAME]: SIGTERM lets each worker drain.
workers_stop() {
  local sock="$1" pidfile="$2" name="${3:-authfcgi}"
  stop_pidfile "$name" 20 "$pidfile"
  if [[ "$sock" == */* ]]; then
    rm -f "$sock"
  fi
}

# ---------------------------------------------------------------------------------------------
# nginx, private instance from conf/nginx/authfcgi-local.conf.in

# nginx_start DIR PORT FCGI_SOCKET [FCGI_SOCKET...]: renders DIR/nginx.conf from the template
# (an upstream with every socket, as for workers on several hosts) and starts it. The protected
# places of the template come along; /whoami proxies to the whoami app on 127.0.0.1 at
# $AUTHFCGI_WHOAMI_PORT (whoami_start), and answers 404 when that is unset.
nginx_start() {
  local dir="$1" port="$2"
  shift 2
  local template="$AUTHFCGI_REPO/conf/nginx/authfcgi-local.conf.in" servers="" s
  [[ -f "$template" ]] || af_die "missing $template"
  for s in "$@"; do
    servers+="server unix:$s; "
  done
  # AUTHFCGI_NGINX_KEEPALIVE=N: nginx keeps up to N idle connections to the workers per nginx
  # worker process (2 of them) and sends FCGI_KEEP_CONN (fastcgi_keep_conn), for scripts/bench.
  local keep_conn="# fastcgi_keep_conn off: one request per connection"
  if [[ -n "${AUTHFCGI_NGINX_KEEPALIVE:-}" ]]; then
    [[ "$AUTHFCGI_NGINX_KEEPALIVE" =~ ^[1-9][0-9]*$ ]] || af_die "AUTHFCGI_NGINX_KEEPALIVE must be a number"
    # nginx closes its idle ones after 1 s, before the workers would (2 s): a request is never
    # written on a connection the worker is closing.
    servers+="keepalive $AUTHFCGI_NGINX_KEEPALIVE; keepalive_timeout 1s; "
    keep_conn="fastcgi_keep_conn on;"
  fi
  mkdir -p "$dir/logs" "$dir/tmp"
  local user_line="# not root: the workers run as the current user"
  ((EUID == 0)) && user_line="user root root;  # private instance: workers must reach the socket"
  local whoami="return 404;  # no whoami app with this instance"
  if [[ -n "${AUTHFCGI_WHOAMI_PORT:-}" ]]; then
    [[ "$AUTHFCGI_WHOAMI_PORT" =~ ^[0-9]+$ ]] || af_die "AUTHFCGI_WHOAMI_PORT must be a port number"
    whoami="proxy_pass http://127.0.0.1:$AUTHFCGI_WHOAMI_PORT;"
  fi
  # AUTHFCGI_NGINX_EXTRA: a file of directives for the server block (scripts/bench's places).
  local extra=/dev/null
  if [[ -n "${AUTHFCGI_NGINX_EXTRA:-}" ]]; then
    [[ -f "$AUTHFCGI_NGINX_EXTRA" ]] || af_die "no file $AUTHFCGI_NGINX_EXTRA (AUTHFCGI_NGINX_EXTRA)"
    extra="$AUTHFCGI_NGINX_EXTRA"
  fi
  sed -e "/^ *@EXTRA@$/{r $extra" -e "d}" \
    -e "s|@PORT@|$port|g" -e "s|server unix:@SOCKET@;|$servers|" -e "s|@VARDIR@|$dir|g" \
    -e "s|@USER_LINE@|$user_line|g" -e "s|@CONFDIR@|$AUTHFCGI_REPO/conf/nginx|g" \
    -e "s|@SITEDIR@|$AUTHFCGI_REPO/conf/local-site|g" -e "s|@WHOAMI@|$whoami|g" \
    -e "s|@KEEP_CONN@|$keep_conn|g" "$template" >"$dir/nginx.conf"
  nginx_start_conf "$dir" "$port" "$dir/nginx.conf"
}

# nginx_start_conf DIR PORT CONF: starts nginx with the main configuration CONF (whose pid file
# is DIR/nginx.pid) and waits until it accepts on 127.0.0.1:PORT; nginx_stop DIR stops it.
nginx_start_conf() {
  local dir="$1" port="$2" conf="$3" pidfile="$1/nginx.pid"
  if pidfile_alive nginx "$pidfile"; then
    af_die "nginx for $dir is already running (pid $(pids_from_file "$pidfile" | head -n1))"
  fi
  rm -f "$pidfile"
  if port_in_use "$port"; then
    af_die "port $port on 127.0.0.1 is already in use (set AUTHFCGI_PORT to another port)"
  fi
  mkdir -p "$dir/logs"
  if ! nginx -t -q -p "$dir" -c "$conf" -e "$dir/logs/error.log" >>"$dir/logs/start.log" 2>&1; then
    cat "$dir/logs/start.log" >&2
    af_die "nginx rejected $conf"
  fi
  af_log "Starting nginx on http://127.0.0.1:$port/"
  if ! nginx -p "$dir" -c "$conf" -e "$dir/logs/error.log" </dev/null >>"$dir/logs/start.log" 2>&1; then
    tail -n 20 "$dir/logs/error.log" "$dir/logs/start.log" >&2 || true
    af_die "nginx failed to start (logs in $dir/logs)"
  fi
  local i
  for ((i = 0; i < 100; i++)); do
    if pidfile_alive nginx "$pidfile" && port_in_use "$port"; then
      # The worker processes too: they outlive a master killed with SIGKILL and keep the port.
      child_pids "$(pids_from_file "$pidfile" | head -n1)" >"$dir/nginx.workers"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$dir/logs/error.log" >&2 || true
  nginx_stop "$dir"
  af_die "nginx did not come up on port $port (logs in $dir/logs)"
}

# child_pids PID: the current child processes of PID (nginx's workers, Apache's children).
child_pids() {
  [[ -n "$1" ]] || return 0
  local f
  for f in /proc/"$1"/task/*/children; do
    [[ -r "$f" ]] && tr ' ' '\n' <"$f" | grep -E '^[0-9]+$'
  done
  return 0
}

# web_server_stop NAME PIDFILE CHILDREN_FILE: stops a web server whose parent (master) pid is in
# PIDFILE and whose children were recorded at start in CHILDREN_FILE. SIGTERM is nginx's fast
# shutdown and makes Apache stop its children at once (like `-k stop`); children left over by a
# parent that died (alive now, or recorded at start) are stopped as well; bounded wait, then
# SIGKILL. Only processes called NAME are touched.
web_server_stop() {
  local name="$1" pidfile="$2" children="$3" pids=() parent
  parent="$(pids_from_file "$pidfile" | head -n1)"
  if [[ -n "$parent" ]] && pid_alive "$parent" "$name"; then
    mapfile -t pids < <(child_pids "$parent")
    pids=("$parent" "${pids[@]}")
  fi
  if [[ -f "$children" ]]; then
    mapfile -t -O "${#pids[@]}" pids < <(pids_from_file "$children")
  fi
  if ((${#pids[@]} > 0)); then
    stop_pids "$name" 15 "${pids[@]}"
  fi
  rm -f "$pidfile" "$children"
}

nginx_stop() { web_server_stop nginx "$1/nginx.pid" "$1/nginx.workers"; }

# ---------------------------------------------------------------------------------------------
# whoami: the small app behind the gateway's /whoami (scripts/lib/whoami.py), on 127.0.0.1

# python_service_start NAME PORT PIDFILE LOG SCRIPT [ARG...]: starts one of our Python helpers
# (SCRIPT --port PORT --pid-file PIDFILE ARG...) in its own session, its output appended to
# LOG, and waits (10 s at most) until it has written PIDFILE and accepts on 127.0.0.1:PORT.
# NAME says which helper in the errors.
python_service_start() {
  local name="$1" port="$2" pidfile="$3" log="$4" script="$5" py
  shift 5
  py="$(command -v /usr/bin/python3 || command -v python3)" || af_die "$name needs python3"
  if pidfile_alive python3 "$pidfile"; then
    af_die "$name is already running (pid $(pids_from_file "$pidfile" | head -n1))"
  fi
  rm -f "$pidfile" # stale, from a crash
  if port_in_use "$port"; then
    af_die "port $port on 127.0.0.1 is already in use ($name)"
  fi
  # setsid: a Ctrl-C in the terminal reaches only the script, which stops things in order.
  setsid "$py" "$script" --port "$port" --pid-file "$pidfile" "$@" </dev/null >>"$log" 2>&1 &
  local launched=$! i
  for ((i = 0; i < 100; i++)); do
    if [[ -s "$pidfile" ]] && port_in_use "$port"; then
      return 0
    fi
    if ! kill -0 "$launched" 2>/dev/null; then
      log_since_marker "$log" | tail -n 20 >&2
      af_die "$name exited during start-up (log: $log)"
    fi
    sleep 0.1
  done
  log_since_marker "$log" | tail -n 20 >&2
  stop_pids python3 5 "$launched"
  rm -f "$pidfile"
  af_die "$name did not accept on port $port within 10s (log: $log)"
}

# whoami_start DIR PORT: starts it (pid file DIR/whoami.pid, log DIR/whoami.log) and waits until
# it accepts on PORT; whoami_stop DIR stops it.
whoami_start() {
  mkdir -p "$1"
  python_service_start whoami "$2" "$1/whoami.pid" "$1/whoami.log" \
    "$AUTHFCGI_REPO/scripts/lib/whoami.py"
}

whoami_stop() { stop_pidfile python3 10 "$1/whoami.pid"; }

# ---------------------------------------------------------------------------------------------
# SMTP sink: the local mail server (scripts/lib/smtp_sink.py, Debian's python3-aiosmtpd) that
# keeps every mail in a Maildir, on 127.0.0.1

# smtp_sink_start DIR PORT [ARG...]: starts it (pid file DIR/smtp.pid, log DIR/smtp.log, Maildir
# DIR/mail unless an ARG --maildir says otherwise) and waits until it accepts on PORT; ARGs go
# to smtp_sink.py (--tls-cert F --tls-key F, --require-tls, --auth-user U
# --auth-password-file F, --max-size N). smtp_sink_stop DIR stops it; the mails stay.
smtp_sink_start() {
  local dir="$1" port="$2" log="$1/smtp.log"
  shift 2
  [[ "$port" =~ ^[0-9]+$ ]] || af_die "the SMTP sink port must be a number (got '$port')"
  "$(command -v /usr/bin/python3 || command -v python3)" -c 'import aiosmtpd' 2>/dev/null ||
    af_die "the SMTP sink needs Debian's python3-aiosmtpd (apt-get install python3-aiosmtpd)"
  mkdir -p "$dir"
  printf '=== %s starting the SMTP sink on 127.0.0.1:%s\n' "$(date '+%F %T')" "$port" >>"$log"
  python_service_start "the SMTP sink" "$port" "$dir/smtp.pid" "$log" \
    "$AUTHFCGI_REPO/scripts/lib/smtp_sink.py" --maildir "$dir/mail" "$@"
}

smtp_sink_stop() { stop_pidfile python3 10 "$1/smtp.pid"; }

# ---------------------------------------------------------------------------------------------
# Apache httpd (mod_proxy_fcgi), private instance from conf/apache/authfcgi-local.conf.in

AUTHFCGI_APACHE_MODULES="${AUTHFCGI_APACHE_MODULES:-/usr/lib/apache2/modules}"
# Apache will not run its children as root: started as root they become this user and group.
AUTHFCGI_APACHE_USER="${AUTHFCGI_APACHE_USER:-www-data}"
AUTHFCGI_APACHE_GROUP="${AUTHFCGI_APACHE_GROUP:-www-data}"

apache_bin() {
  local bin
  for bin in apache2 httpd /usr/sbin/apache2 /usr/sbin/httpd; do
    if command -v "$bin" >/dev/null 2>&1; then
      command -v "$bin"
      return 0
    fi
  done
  return 1
}

# web_server_group SERVER: the group the worker socket must belong to so SERVER's processes can
# connect (empty when they run as the socket's owner: nginx here, or anything when not root).
web_server_group() {
  if [[ "$1" == apache ]] && ((EUID == 0)); then
    printf '%s\n' "$AUTHFCGI_APACHE_GROUP"
  fi
  return 0
}

# apache_start DIR PORT FCGI_SOCKET [AUTHORIZER]: renders DIR/apache.conf, starts Apache (it
# daemonizes and writes DIR/apache.pid) and waits until it accepts on 127.0.0.1:PORT. The
# gateway's places ask the authorizer workers at AUTHORIZER (127.0.0.1:PORT; without one they
# answer 500); /whoami proxies to $AUTHFCGI_WHOAMI_PORT (whoami_start), else 404. As root, the children
# run as $AUTHFCGI_APACHE_USER, so the worker socket must be reachable by that user: start the
# workers with SOCKET_GROUP "$(web_server_group apache)" and keep the socket's directories
# searchable; this is checked here, with a clear error, before Apache starts.
apache_start() {
  local dir="$1" port="$2" fsock="$3" authorizer="${4:-127.0.0.1:9}"
  local template="$AUTHFCGI_REPO/conf/apache/authfcgi-local.conf.in"
  [[ "$authorizer" =~ ^127\.[0-9.]+:[0-9]+$ ]] || af_die "the authorizer must be 127.x.x.x:PORT"
  local whoami='ProxyPass "/whoami" "!"  # no whoami app with this instance: 404'
  if [[ -n "${AUTHFCGI_WHOAMI_PORT:-}" ]]; then
    [[ "$AUTHFCGI_WHOAMI_PORT" =~ ^[0-9]+$ ]] || af_die "AUTHFCGI_WHOAMI_PORT must be a port number"
    whoami="ProxyPass \"/whoami\" \"http://127.0.0.1:$AUTHFCGI_WHOAMI_PORT/whoami\" timeout=30"
  fi
  local conf="$dir/apache.conf" pidfile="$dir/apache.pid" bin name stale=()
  [[ -f "$template" ]] || af_die "missing $template"
  bin="$(apache_bin)" || af_die "Apache httpd (apache2) is not installed"
  name="$(basename "$bin")"
  if pidfile_alive "$name" "$pidfile"; then
    af_die "Apache for $dir is already running (pid $(pids_from_file "$pidfile" | head -n1))"
  fi
  # Stale leftovers of a crash: children that outlived their parent still hold the port.
  if [[ -f "$dir/apache.children" ]]; then
    mapfile -t stale < <(pids_from_file "$dir/apache.children")
    ((${#stale[@]} == 0)) || stop_pids "$name" 10 "${stale[@]}"
  fi
  rm -f "$pidfile" "$dir/apache.children"
  if port_in_use "$port"; then
    af_die "port $port on 127.0.0.1 is already in use (set AUTHFCGI_PORT to another port)"
  fi
  mkdir -p "$dir/logs" "$dir/run" "$dir/lock"
  # The static places, copied where the children (www-data when started as root) may read them
  # whatever the permissions of the checkout.
  rm -rf "$dir/site"
  cp -R "$AUTHFCGI_REPO/conf/local-site" "$dir/site"
  chmod -R a+rX "$dir/site"
  local user_lines="# not root: the children run as the current user"
  if ((EUID == 0)); then
    user_lines="User $AUTHFCGI_APACHE_USER\nGroup $AUTHFCGI_APACHE_GROUP"
    id "$AUTHFCGI_APACHE_USER" >/dev/null 2>&1 ||
      af_die "Apache runs its children as $AUTHFCGI_APACHE_USER, which does not exist"
    # The children re-open the file mutexes and may use the runtime directory.
    chown "$AUTHFCGI_APACHE_USER:$AUTHFCGI_APACHE_GROUP" "$dir/run" "$dir/lock"
    if command -v runuser >/dev/null 2>&1 &&
      ! runuser -u "$AUTHFCGI_APACHE_USER" -- test -w "$fsock" 2>/dev/null; then
      af_die "$AUTHFCGI_APACHE_USER cannot connect to the worker socket $fsock (its group must be $AUTHFCGI_APACHE_GROUP with mode 0660, and every parent directory searchable)"
    fi
  fi
  sed -e "s|@PORT@|$port|g" -e "s|@SOCKET@|$fsock|g" -e "s|@VARDIR@|$dir|g" \
    -e "s|@MODULES@|$AUTHFCGI_APACHE_MODULES|g" -e "s|@USER_LINES@|$user_lines|g" \
    -e "s|@AUTHORIZER@|$authorizer|g" -e "s|@CONFDIR@|$AUTHFCGI_REPO/conf/apache|g" \
    -e "s|@SITEDIR@|$dir/site|g" -e "s|@WHOAMI@|$whoami|g" \
    "$template" >"$conf"
  if ! "$bin" -t -f "$conf" >>"$dir/logs/start.log" 2>&1; then
    cat "$dir/logs/start.log" >&2
    af_die "Apache rejected $conf"
  fi
  af_log "Starting Apache on http://127.0.0.1:$port/"
  # -k start forks, detaches (its own session) and writes the pid file; the first process exits.
  if ! "$bin" -f "$conf" -k start </dev/null >>"$dir/logs/start.log" 2>&1; then
    tail -n 20 "$dir/logs/error.log" "$dir/logs/start.log" >&2 || true
    apache_stop "$dir"
    af_die "Apache failed to start (logs in $dir/logs)"
  fi
  local i parent
  for ((i = 0; i < 100; i++)); do
    if pidfile_alive "$name" "$pidfile" && port_in_use "$port"; then
      parent="$(pids_from_file "$pidfile" | head -n1)"
      child_pids "$parent" >"$dir/apache.children"
      return 0
    fi
    sleep 0.1
  done
  tail -n 20 "$dir/logs/error.log" "$dir/logs/start.log" >&2 || true
  apache_stop "$dir"
  af_die "Apache did not come up on port $port (logs in $dir/logs)"
}

# apache_stop DIR
apache_stop() {
  local name=apache2 bin
  if bin="$(apache_bin)"; then
    name="$(basename "$bin")"
  fi
  web_server_stop "$name" "$1/apache.pid" "$1/apache.children"
}
