#!/usr/bin/env bash
# `authctl db migrate` on a real MariaDB Galera cluster: two nodes on loopback, from temp dirs
# (node 1 bootstraps the cluster, node 2 joins it with an rsync state transfer), then
#   - the cluster is real: 2 nodes synced, a database created on one node is on the other;
#   - the server's named lock (GET_LOCK) cannot keep two nodes apart (refused, or node-local);
#   - authctl db migrate run against both nodes at the same time: both exit 0, each migration
#     is applied once (a migration that inserts a row leaves one row), on both nodes;
#   - a lock row left by a killed migrator stops both with a message naming it and the fix;
#   - a node set to rolling schema upgrades (RSU) is refused;
#   - running it again is a no-op;
#   - the DB test binary passes against a node (AUTHFCGI_TEST_DB_GALERA=1).
#
#   tests/galera/run.sh BUILD_DIR       (BUILD_DIR holds authctl and tests/authfcgi_db_tests)
#
# Prints PASS/FAIL lines and "N passed, M failed"; exits non-zero on any failure. Everything it
# starts is stopped on every path. GALERA_KEEP=1 keeps the work dir (logs). AUTHFCGI_GALERA_PROVIDER
# overrides the provider library (default: Debian's galera-4).
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/common.sh
source "$HERE/../../scripts/lib/common.sh"

if (($# != 1)); then
  echo "usage: tests/galera/run.sh BUILD_DIR" >&2
  exit 2
fi
BUILD="$(cd "$1" && pwd)"
AUTHCTL="$BUILD/authctl"
DB_TESTS="$BUILD/tests/authfcgi_db_tests"
PROVIDER="${AUTHFCGI_GALERA_PROVIDER:-/usr/lib/galera/libgalera_smm.so}"
[[ -x "$AUTHCTL" ]] || af_die "no authctl at $AUTHCTL (build first)"
[[ -f "$PROVIDER" ]] || af_die "no Galera provider at $PROVIDER (apt-get install galera-4)"
command -v rsync >/dev/null 2>&1 || af_die "rsync is needed for the state transfer (apt-get install rsync)"
command -v wsrep_sst_rsync >/dev/null 2>&1 || af_die "wsrep_sst_rsync (mariadb-server) is missing"

# shellcheck source=tests/lib/checks.sh
source "$HERE/../lib/checks.sh"

TMP="$(mktemp -d "${TMPDIR:-/tmp}/authfcgi-galera.XXXXXX")"
chmod 755 "$TMP"
BACKGROUND=() # pids of the clients started in the background here

cleanup() {
  local rc=$? pid
  trap - EXIT INT TERM
  for pid in "${BACKGROUND[@]}"; do
    if pid_alive "$pid"; then kill -TERM "$pid" 2>/dev/null || true; fi
  done
  # The joiner first, so the bootstrap node is the last one of the cluster to go.
  stop_pidfile mariadbd 30 "$TMP/node2/mariadb.pid" || true
  stop_pidfile mariadbd 30 "$TMP/node1/mariadb.pid" || true
  if ((rc != 0 || FAILED > 0)); then
    for log in "$TMP"/node*/mariadb.log; do
      [[ -f "$log" ]] || continue
      echo "--- $log, last lines ---"
      grep -v '^\s*$' "$log" | tail -n 15 || true
    done
  fi
  if [[ "${GALERA_KEEP:-0}" == 1 ]]; then
    echo "galera: work dir kept: $TMP"
  else
    rm -rf "$TMP"
  fi
  if ((rc != 0)); then
    echo "galera: aborted before the end (exit code $rc, see the error above)"
    FAILED=$((FAILED + 1))
  fi
  echo
  echo "$PASSED passed, $FAILED failed"
  ((rc != 0)) || ((FAILED == 0)) || rc=1
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

ADMIN=root
((EUID == 0)) || ADMIN="$(id -un)"
# As root the nodes run as mysql (as packaged): run as root, the joiner's rsync daemon would
# switch to "nobody", which cannot write the data directory, and the state transfer fails.
RUN_AS=""
if ((EUID == 0)); then
  id mysql >/dev/null 2>&1 || af_die "running as root needs the mysql user (mariadb-server)"
  RUN_AS=mysql
fi

GCOMM1="$(free_port)"
GCOMM2="$(free_port)"
CLUSTER="gcomm://127.0.0.1:$GCOMM1,127.0.0.1:$GCOMM2"

node_dir() { printf '%s/node%s\n' "$TMP" "$1"; }
node_socket() { socket_path "$(node_dir "$1")" mysql.sock; }

# node_sql N [mariadb args]: the administrative account on node N, tab-separated, no headers.
# wsrep_sync_wait: a read sees every write committed anywhere in the cluster before it.
node_sql() {
  local node="$1"
  shift
  mariadb --no-defaults --socket="$(node_socket "$node")" -u "$ADMIN" --connect-timeout=5 \
    --init-command="SET SESSION wsrep_sync_wait = 1" -N -B "$@"
}

# galera_write_config N: DIR/my.cnf for node N. The state transfer scripts read it too.
galera_write_config() {
  local node="$1" dir port ist sst gcomm
  dir="$(node_dir "$node")"
  port="$(free_port)"
  ist="$(free_port)"
  sst="$(free_port)"
  gcomm="$GCOMM1"
  ((node == 1)) || gcomm="$GCOMM2"
  mkdir -p "$dir/data" "$dir/tmp"
  printf '%s\n' "$port" >"$dir/port"
  cat >"$dir/my.cnf" <<EOF
[mysqld]
datadir=$dir/data
socket=$(node_socket "$node")
pid-file=$dir/mariadb.pid
log-error=$dir/mariadb.log
tmpdir=$dir/tmp
port=$port
bind-address=127.0.0.1
${RUN_AS:+user=$RUN_AS}
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
wsrep-provider=$PROVIDER
wsrep-cluster-name=authfcgi_galera_test
wsrep-cluster-address=$CLUSTER
wsrep-node-name=node$node
wsrep-node-address=127.0.0.1:$gcomm
wsrep-provider-options=gmcast.listen_addr=tcp://127.0.0.1:$gcomm;ist.recv_addr=127.0.0.1:$ist;gcache.size=32M
wsrep-sst-method=rsync
wsrep-sst-receive-address=127.0.0.1:$sst
EOF
  [[ -z "$RUN_AS" ]] || chown -R "$RUN_AS:$RUN_AS" "$dir"
}

# galera_start N [mariadbd options]: starts node N and waits (bounded) until it is synced with
# the cluster and answers queries.
galera_start() {
  local node="$1" dir log pidfile launched i state
  shift
  dir="$(node_dir "$node")"
  log="$dir/mariadb.log"
  pidfile="$dir/mariadb.pid"
  af_log "Starting Galera node $node $*"
  setsid mariadbd --defaults-file="$dir/my.cnf" "$@" </dev/null >>"$dir/stdout.log" 2>&1 &
  launched=$!
  for ((i = 0; i < 900; i++)); do
    # Not node_sql: a read that waits for the cluster cannot answer before the node has joined.
    state="$(mariadb --no-defaults --socket="$(node_socket "$node")" -u "$ADMIN" -N -B \
      --connect-timeout=2 -e "SHOW STATUS LIKE 'wsrep_local_state_comment'" 2>/dev/null |
      cut -f2)" || true
    if [[ "$state" == Synced ]]; then
      [[ -f "$pidfile" ]] || printf '%s\n' "$launched" >"$pidfile"
      return 0
    fi
    if ! kill -0 "$launched" 2>/dev/null; then
      grep -v '^\s*$' "$log" | tail -n 30 >&2 || true
      af_die "Galera node $node exited during start-up (log: $log)"
    fi
    sleep 0.1
  done
  grep -v '^\s*$' "$log" | tail -n 30 >&2 || true
  printf '%s\n' "$launched" >>"$pidfile"
  af_die "Galera node $node was not synced within 90 s (log: $log)"
}

# ---------------------------------------------------------------------------------------------
# The cluster

galera_write_config 1
galera_write_config 2
user_opt=()
[[ -z "$RUN_AS" ]] || user_opt=(--user="$RUN_AS")
# Only the bootstrap node needs system tables: the joiner receives node 1's data directory.
mariadb-install-db --defaults-file="$(node_dir 1)/my.cnf" --auth-root-authentication-method=socket \
  "${user_opt[@]}" --skip-test-db >"$TMP/install.log" 2>&1 ||
  {
    tail -n 20 "$TMP/install.log" >&2
    af_die "mariadb-install-db failed"
  }

galera_start 1 --wsrep-new-cluster
galera_start 2

for node in 1 2; do
  size="$(node_sql "$node" -e "SHOW STATUS LIKE 'wsrep_cluster_size'" | cut -f2)"
  check "node $node is synced in a cluster of 2 nodes (wsrep_cluster_size $size)" \
    test "$size" = 2
done

DB=authfcgi_galera
DB_USER=authfcgi
DB_PASSWORD="$(random_password)"
# DDL and account changes on node 1 replicate to node 2 (total order isolation). The account
# exists for the socket (localhost) and for TCP from 127.0.0.1 (names are not resolved).
node_sql 1 <<SQL
CREATE DATABASE $DB CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE DATABASE authfcgi_test CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
CREATE USER '$DB_USER'@'localhost' IDENTIFIED BY '$DB_PASSWORD';
CREATE USER '$DB_USER'@'127.0.0.1' IDENTIFIED BY '$DB_PASSWORD';
GRANT ALL PRIVILEGES ON \`$DB\`.* TO '$DB_USER'@'localhost', '$DB_USER'@'127.0.0.1';
GRANT ALL PRIVILEGES ON \`authfcgi_test\`.* TO '$DB_USER'@'localhost', '$DB_USER'@'127.0.0.1';
SQL
check "a database and account created on node 1 are on node 2" \
  test "$(node_sql 2 -e "SELECT COUNT(*) FROM mysql.user WHERE user = '$DB_USER'") $(
    node_sql 2 -e "SHOW DATABASES LIKE '$DB'"
  )" = "2 $DB"

# ---------------------------------------------------------------------------------------------
# GET_LOCK cannot serialise migrations across nodes

probe_lock() { # NODE: GET_LOCK's answer, or the error text
  node_sql "$1" -e "SELECT GET_LOCK('authfcgi_galera_probe', 0)" 2>&1 || true
}
first="$(probe_lock 1)"
if [[ "$first" == *"GET_LOCK in cluster"* ]]; then
  ok "GET_LOCK is refused on a Galera node: $first"
else
  # Hold the lock on node 1 for a few seconds and ask node 2 for it meanwhile.
  node_sql 1 -e "SELECT GET_LOCK('authfcgi_galera_probe', 0), SLEEP(8)" >/dev/null 2>&1 &
  BACKGROUND+=("$!")
  held=""
  for ((i = 0; i < 50; i++)); do
    held="$(node_sql 1 -e "SELECT IS_USED_LOCK('authfcgi_galera_probe')")"
    [[ "$held" == NULL ]] || break
    sleep 0.1
  done
  second="$(probe_lock 2)"
  if [[ "$held" != NULL && "$second" == 1 ]]; then
    ok "GET_LOCK held on node 1 is granted on node 2 as well: it is local to one node"
  elif [[ "$second" == *"GET_LOCK in cluster"* ]]; then
    ok "GET_LOCK is refused on a Galera node: $second"
  else
    bad "GET_LOCK should be refused or node-local on Galera" "node 1 holder: $held; node 2: $second"
  fi
  kill -TERM "${BACKGROUND[-1]}" 2>/dev/null || true
fi

# ---------------------------------------------------------------------------------------------
# authctl db migrate against both nodes at once

SQL_DIR="$TMP/sql"
mkdir -p "$SQL_DIR"
cp "$AUTHFCGI_REPO"/sql/[0-9]*.sql "$SQL_DIR/"
mapfile -t FILE_VERSIONS < <(find "$SQL_DIR" -name '[0-9]*_*.sql' -printf '%f\n' |
  sed 's/_.*//; s/^0*//' | sort -n)
EXPECTED="$(
  IFS=,
  echo "${FILE_VERSIONS[*]}"
)"

# Node 1 through its socket, node 2 over TCP, as two hosts pointing at two nodes would.
write_conf() { # FILE NODE
  {
    if (($2 == 1)); then
      echo "db_socket = $(node_socket 1)"
    else
      echo "db_host = 127.0.0.1"
      echo "db_port = $(cat "$(node_dir 2)/port")"
    fi
    echo "db_user = $DB_USER"
    echo "db_password = $DB_PASSWORD"
    echo "db_name = $DB"
    echo "templates_dir = $AUTHFCGI_REPO/templates"
    echo "sql_dir = $SQL_DIR"
    echo "threads = 1"
  } >"$1"
  chmod 600 "$1"
}
write_conf "$TMP/node1.conf" 1
write_conf "$TMP/node2.conf" 2

# migrate_both NAME: authctl db migrate against node 1 and node 2 started together; sets RC1,
# RC2 and leaves the output in $TMP/NAME.node{1,2}.log.
migrate_both() {
  local name="$1" pid1 pid2
  timeout 90 "$AUTHCTL" --config "$TMP/node1.conf" db migrate >"$TMP/$name.node1.log" 2>&1 &
  pid1=$!
  timeout 90 "$AUTHCTL" --config "$TMP/node2.conf" db migrate >"$TMP/$name.node2.log" 2>&1 &
  pid2=$!
  BACKGROUND+=("$pid1" "$pid2")
  RC1=0
  RC2=0
  wait "$pid1" || RC1=$?
  wait "$pid2" || RC2=$?
}

# applied_by NAME: the versions both runs of NAME report as applied, sorted, comma-separated.
applied_by() {
  sed -n 's/^authctl: applied migrations //p' "$TMP/$1.node1.log" "$TMP/$1.node2.log" |
    tr ',' '\n' | tr -d ' ' | sed '/^$/d' | sort -n | paste -sd, -
}

show_logs() { tr '\n' ' ' <"$TMP/$1.node1.log" && echo "| node 2:" && tr '\n' ' ' <"$TMP/$1.node2.log"; }

# The tables every node must have after the migrations, and migration 002's column.
schema_on() { # NODE
  node_sql "$1" -e "SELECT
    (SELECT COUNT(*) FROM information_schema.tables WHERE table_schema = '$DB' AND table_name IN
      ('users', 'sessions', 'remember_tokens', 'login_throttle', 'schema_version',
       'schema_migration_lock')),
    (SELECT COUNT(*) FROM information_schema.columns WHERE table_schema = '$DB'
      AND table_name = 'remember_tokens' AND column_name = 'used_at'),
    (SELECT GROUP_CONCAT(version ORDER BY version) FROM $DB.schema_version),
    (SELECT COUNT(*) FROM $DB.schema_migration_lock)" 2>&1 | tr '\n' ' ' || true
}

start=$SECONDS
migrate_both first
check "both concurrent runs exit 0 (node 1: $RC1, node 2: $RC2)" test "$RC1:$RC2" = 0:0
applied="$(applied_by first)"
if [[ "$applied" == "$EXPECTED" ]]; then
  ok "each migration was applied once between the two runs ($applied) in $((SECONDS - start)) s"
else
  bad "each migration applied once: expected $EXPECTED, got '$applied'" "$(show_logs first)"
fi
for node in 1 2; do
  schema="$(schema_on "$node" | tr '\t' ' ' | sed 's/ $//')"
  check "node $node: 6 tables, remember_tokens.used_at, schema_version $EXPECTED, no lock row ($schema)" \
    test "$schema" = "6 1 $EXPECTED 0"
done

# A migrator killed while it held the lock leaves its row: both runs wait the full 30 s for
# it, then stop with a message that names it and says how to clear it. Nothing is applied.
cat >"$SQL_DIR/900_galera_probe.sql" <<'SQL'
-- Test only: a migration with a row, so running it twice would show.
CREATE TABLE IF NOT EXISTS galera_probe (id INT NOT NULL AUTO_INCREMENT PRIMARY KEY, note VARCHAR(20));
INSERT INTO galera_probe (note) VALUES ('applied');
SQL
node_sql 1 -e "INSERT INTO $DB.schema_migration_lock (id, holder, token, acquired_at)
  VALUES (1, 'deploy-host pid 4242', 'feedfacefeedfacefeedfacefeedface', UTC_TIMESTAMP())"
start=$SECONDS
migrate_both stale
check "with a stale lock row both runs stop with exit code 5 (node 1: $RC1, node 2: $RC2) after $((SECONDS - start)) s" \
  test "$RC1:$RC2" = 5:5
for node in 1 2; do
  if grep -q "deploy-host pid 4242" "$TMP/stale.node$node.log" &&
    grep -q "DELETE FROM schema_migration_lock WHERE id = 1;" "$TMP/stale.node$node.log"; then
    ok "node $node's message names the holder and the DELETE that clears it"
  else
    bad "node $node's message names the holder and the fix" "$(tr '\n' ' ' <"$TMP/stale.node$node.log")"
  fi
done
check "nothing was applied while the lock was held" \
  test "$(node_sql 2 -e "SELECT COUNT(*) FROM information_schema.tables
    WHERE table_schema = '$DB' AND table_name = 'galera_probe'")" = 0

# The operator clears it as the message says (on any node), and both run again at once.
node_sql 2 -e "DELETE FROM $DB.schema_migration_lock WHERE id = 1;"
migrate_both cleared
check "after clearing the lock both runs exit 0 (node 1: $RC1, node 2: $RC2)" test "$RC1:$RC2" = 0:0
check "migration 900 was applied by exactly one of them ($(applied_by cleared))" \
  test "$(applied_by cleared)" = 900
for node in 1 2; do
  rows="$(node_sql "$node" -e "SELECT COUNT(*) FROM $DB.galera_probe")"
  check "node $node: the migration's INSERT ran once (galera_probe has $rows row)" test "$rows" = 1
done

# A node switched to rolling schema upgrades (RSU) would apply DDL to itself only while the
# schema_version rows replicate everywhere: authctl refuses to migrate there.
node_sql 2 -e "SET GLOBAL wsrep_OSU_method = 'RSU'"
rc=0
timeout 60 "$AUTHCTL" --config "$TMP/node2.conf" db migrate >"$TMP/rsu.log" 2>&1 || rc=$?
node_sql 2 -e "SET GLOBAL wsrep_OSU_method = 'TOI'"
if ((rc == 5)) && grep -q "wsrep_OSU_method = RSU" "$TMP/rsu.log"; then
  ok "a node with wsrep_OSU_method = RSU is refused (exit 5) with the reason"
else
  bad "a node with wsrep_OSU_method = RSU is refused (exit $rc)" "$(tr '\n' ' ' <"$TMP/rsu.log")"
fi

migrate_both again
check "a third run on both nodes exits 0 (node 1: $RC1, node 2: $RC2)" test "$RC1:$RC2" = 0:0
if grep -q "schema is up to date" "$TMP/again.node1.log" &&
  grep -q "schema is up to date" "$TMP/again.node2.log"; then
  ok "both report the schema up to date"
else
  bad "both report the schema up to date" "$(show_logs again)"
fi
for node in 1 2; do
  schema="$(schema_on "$node" | tr '\t' ' ' | sed 's/ $//')"
  check "node $node: schema_version unchanged ($schema)" test "$schema" = "6 1 $EXPECTED,900 0"
done

# ---------------------------------------------------------------------------------------------
# The DB tests against node 2, over TCP

if [[ -x "$DB_TESTS" ]]; then
  start=$SECONDS
  if AUTHFCGI_TEST_DB_HOST=127.0.0.1 AUTHFCGI_TEST_DB_PORT="$(cat "$(node_dir 2)/port")" \
    AUTHFCGI_TEST_DB_USER="$DB_USER" AUTHFCGI_TEST_DB_PASSWORD="$DB_PASSWORD" \
    AUTHFCGI_TEST_DB_NAME=authfcgi_test AUTHFCGI_TEST_DB_GALERA=1 \
    timeout 300 "$DB_TESTS" >"$TMP/db_tests.log" 2>&1; then
    ok "the DB tests pass against Galera node 2 ($(grep -c '^\[       OK' "$TMP/db_tests.log") tests, $((SECONDS - start)) s)"
  else
    bad "the DB tests against Galera node 2" "$(grep -E '^\[  FAILED|Failure|error' "$TMP/db_tests.log" | head -n 20)"
  fi
else
  bad "the DB test binary is missing: $DB_TESTS"
fi
