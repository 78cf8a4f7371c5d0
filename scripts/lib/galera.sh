# shellcheck shell=bash
# Starting and stopping MariaDB Galera nodes on loopback, for tests/galera (its pytest fixtures
# call these functions). Source it; it sources common.sh and defines functions only.
#
# A node lives in its own directory DIR: DIR/my.cnf, DIR/data, DIR/mariadb.{pid,log}, DIR/port
# (its TCP port) and its socket (socket_path DIR mysql.sock). One node bootstraps the cluster
# (galera_install, then galera_start DIR NAME --wsrep-new-cluster); the others join it with an
# rsync state transfer. Every wait is bounded; a failed start names the node and its log (the
# caller shows the log's tail).

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

# galera_run_as: the account the nodes run as. As root it is mysql (as packaged): run as root,
# the joiner's rsync daemon would switch to "nobody", which cannot write the data directory, and
# the state transfer fails. Empty when not root (the nodes run as the current user).
galera_run_as() {
  ((EUID == 0)) || return 0
  id mysql >/dev/null 2>&1 || af_die "running as root needs the mysql user (mariadb-server)"
  printf 'mysql\n'
}

# galera_check_tools PROVIDER: fails with the package to install when something is missing.
galera_check_tools() {
  [[ -f "$1" ]] || af_die "no Galera provider at $1 (apt-get install galera-4)"
  command -v rsync >/dev/null 2>&1 ||
    af_die "rsync is needed for the state transfer (apt-get install rsync)"
  command -v wsrep_sst_rsync >/dev/null 2>&1 || af_die "wsrep_sst_rsync (mariadb-server) is missing"
  command -v mariadb-install-db >/dev/null 2>&1 || af_die "mariadb-install-db (mariadb-server) is missing"
  galera_run_as >/dev/null
}

galera_socket() { socket_path "$1" mysql.sock; }

# galera_write_config DIR NAME CLUSTER_ADDRESS GCOMM_PORT PROVIDER: DIR/my.cnf for one node,
# listening on 127.0.0.1 only (group communication on GCOMM_PORT; SQL, IST and SST on free
# ports); DIR/port holds the SQL port. The state transfer scripts read my.cnf too.
galera_write_config() {
  local dir="$1" name="$2" cluster="$3" gcomm="$4" provider="$5" run_as port ist sst
  run_as="$(galera_run_as)"
  port="$(free_port)"
  ist="$(free_port)"
  sst="$(free_port)"
  mkdir -p "$dir/data" "$dir/tmp"
  printf '%s\n' "$port" >"$dir/port"
  cat >"$dir/my.cnf" <<EOF
[mysqld]
datadir=$dir/data
socket=$(galera_socket "$dir")
pid-file=$dir/mariadb.pid
log-error=$dir/mariadb.log
tmpdir=$dir/tmp
port=$port
bind-address=127.0.0.1
${run_as:+user=$run_as}
skip-name-resolve
character-set-server=utf8mb4
collation-server=utf8mb4_unicode_ci
innodb-buffer-pool-size=64M
innodb-flush-log-at-trx-commit=2
max-connections=200
# What Galera requires
binlog-format=ROW
default-storage-engine=InnoDB
innodb-autoinc-lock-mode=2
wsrep-on=ON
wsrep-provider=$provider
wsrep-cluster-name=authfcgi_galera_test
wsrep-cluster-address=$cluster
wsrep-node-name=$name
wsrep-node-address=127.0.0.1:$gcomm
wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:$gcomm;ist.recv_addr=127.0.0.1:$ist;gcache.size=32M
wsrep-sst-method=rsync
wsrep-sst-receive-address=127.0.0.1:$sst
EOF
  [[ -z "$run_as" ]] || chown -R "$run_as:$run_as" "$dir"
}

# galera_install DIR: the system tables for the bootstrap node (a joiner receives its data
# directory by state transfer and needs none).
galera_install() {
  local dir="$1" run_as user_opt=()
  run_as="$(galera_run_as)"
  [[ -z "$run_as" ]] || user_opt=(--user="$run_as")
  if ! mariadb-install-db --defaults-file="$dir/my.cnf" --auth-root-authentication-method=socket \
    "${user_opt[@]}" --skip-test-db >"$dir/install.log" 2>&1; then
    tail -n 20 "$dir/install.log" >&2
    af_die "mariadb-install-db failed for $dir (log: $dir/install.log)"
  fi
}

# galera_admin: the socket-authenticated administrative account.
galera_admin() {
  if ((EUID == 0)); then printf 'root\n'; else id -un; fi
}

# galera_start DIR NAME [mariadbd options]: starts the node and waits until it is synced with
# the cluster and answers queries, at most GALERA_START_TIMEOUT seconds (90). The launched pid
# is recorded at once (DIR/mariadbd.launched), so galera_stop stops a node whose start failed
# or was interrupted before mariadbd wrote its own pid file.
galera_start() {
  local dir="$1" name="$2" log launched state admin deadline
  shift 2
  log="$dir/mariadb.log"
  admin="$(galera_admin)"
  deadline=$((SECONDS + ${GALERA_START_TIMEOUT:-90}))
  af_log "Starting Galera $name $*"
  # setsid: a Ctrl-C in the terminal reaches only the test run, which stops the nodes in order.
  setsid mariadbd --defaults-file="$dir/my.cnf" "$@" </dev/null >>"$dir/stdout.log" 2>&1 &
  launched=$!
  printf '%s\n' "$launched" >"$dir/mariadbd.launched"
  while ((SECONDS < deadline)); do
    # No wsrep_sync_wait here: a read that waits for the cluster cannot answer before the node
    # has joined it.
    state="$(mariadb --no-defaults --socket="$(galera_socket "$dir")" -u "$admin" -N -B \
      --connect-timeout=2 -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null |
      cut -f2)" || true
    [[ "$state" != Synced ]] || return 0
    kill -0 "$launched" 2>/dev/null || af_die "Galera $name exited during start-up (log: $log)"
    sleep 0.1
  done
  af_die "Galera $name was not synced within ${GALERA_START_TIMEOUT:-90} s (log: $log)"
}

# galera_stop DIR: stops the node (SIGTERM, bounded wait, SIGKILL) and removes its socket.
galera_stop() {
  local dir="$1"
  stop_pidfile mariadbd 30 "$dir/mariadb.pid"
  stop_pidfile mariadbd 30 "$dir/mariadbd.launched"
  rm -f "$(galera_socket "$dir")"
}
