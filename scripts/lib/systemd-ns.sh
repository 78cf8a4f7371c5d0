# shellcheck shell=bash
# A live systemd as PID 1 of throw-away namespaces, for tests/systemd (pytest calls these
# functions; the checks are Python). Source it; it defines functions only.
#
#   systemd_ns_preflight                    can a live systemd run here? exit 77 + reason if not
#   systemd_ns_boot DIR BUILD DB_PASSWORD   installs and boots; prints systemd's pid (host view)
#   systemd_ns_exec DIR SECONDS CMD...      runs CMD inside the namespaces (bounded)
#   systemd_ns_nginx_start DIR PORT SOCKET  nginx (conf/nginx) inside the namespaces
#   systemd_ns_teardown DIR                 kills everything booted from DIR; safe to repeat
#
# DIR is a work directory (mode 0755) whose DIR/db holds the private MariaDB, already started
# with a database and account `authfcgi` (password DB_PASSWORD); DIR/db is bound to /run/mysqld.
# systemd runs as PID 1 of new PID, mount, UTS, network and cgroup namespaces, in a cgroup of
# its own. In its mount namespace /etc and /usr are overlays (their changes land in DIR): the
# units of conf/systemd are installed into /etc/systemd/system as docs/deployment.md says, the
# binaries into /usr/bin, templates and migrations into /usr/share/authfcgi, an `authfcgi`
# account is added when the host has none, and /run is a fresh tmpfs. Nothing is installed on
# the host; everything dies with the namespaces. The pids and the cgroup are recorded in DIR
# (sdpid, unshare.pid, cgroup) for systemd_ns_teardown.

# shellcheck source=scripts/lib/common.sh
source "$(dirname "${BASH_SOURCE[0]}")/common.sh"

SYSTEMD_NS_UNITS=(authfcgi.socket authfcgi.service authfcgi@.service authfcgi-spawn-fcgi.service)
SYSTEMD_NS_SKIP=77

_systemd_ns_binary() {
  local candidate
  for candidate in /lib/systemd/systemd /usr/lib/systemd/systemd; do
    [[ -x "$candidate" ]] && printf '%s\n' "$candidate" && return 0
  done
  return 1
}

_systemd_ns_cgroup_mount() { findmnt -rn -t cgroup2 -o TARGET | head -n1; }

# Prints the reason and returns 77 when a live systemd cannot run here; dies (exit 1) when a
# tool of the project's own set is missing.
systemd_ns_preflight() {
  local tool
  if ((EUID != 0)); then
    echo "needs root to create namespaces and run systemd as their PID 1"
    return "$SYSTEMD_NS_SKIP"
  fi
  if ! _systemd_ns_binary >/dev/null; then
    echo "systemd is not installed"
    return "$SYSTEMD_NS_SKIP"
  fi
  for tool in unshare nsenter systemctl journalctl mountpoint findmnt; do
    if ! command -v "$tool" >/dev/null 2>&1; then
      echo "$tool is not installed"
      return "$SYSTEMD_NS_SKIP"
    fi
  done
  if [[ -z "$(_systemd_ns_cgroup_mount)" ]]; then
    echo "no cgroup2 file system is mounted (systemd needs one)"
    return "$SYSTEMD_NS_SKIP"
  fi
  # What the test needs besides systemd is part of the project's tool set: missing is an error.
  for tool in nginx spawn-fcgi cgi-fcgi mariadbd runuser; do
    command -v "$tool" >/dev/null 2>&1 || af_die "$tool is not installed (cgi-fcgi: libfcgi-bin)"
  done
}

_systemd_ns_sdpid() { cat "$1/sdpid" 2>/dev/null || true; }

# Writes the accounts, units, configuration and binaries into DIR's overlay upper layers.
_systemd_ns_install() {
  local t="$1" build="$2" db_password="$3" af_uid af_gid new_user="" new_group="" id unit
  # The authfcgi account and group: the host's when it has them (the Debian package creates
  # them), else added in the namespace with an id the host does not use.
  af_uid="$(id -u authfcgi 2>/dev/null || true)"
  af_gid="$(getent group authfcgi | cut -d: -f3 || true)"
  for ((id = 990; id >= 900; id--)); do
    [[ -z "$af_uid" || -z "$af_gid" ]] || break
    if ! getent passwd "$id" >/dev/null && ! getent group "$id" >/dev/null; then
      [[ -n "$af_uid" ]] || af_uid="$id" new_user=1
      [[ -n "$af_gid" ]] || af_gid="$id" new_group=1
    fi
  done
  [[ -n "$af_uid" && -n "$af_gid" ]] || af_die "no free uid/gid between 900 and 990"

  mkdir -p "$t"/{etc.upper,etc.work,usr.upper,usr.work,units,empty,nginx}
  chmod 0755 "$t/etc.upper" "$t/usr.upper"
  # Accounts as Debian has them after `adduser --system --group authfcgi` (www-data exists).
  getent passwd >"$t/etc.upper/passwd"
  getent group >"$t/etc.upper/group"
  if [[ -n "$new_user" ]]; then
    printf 'authfcgi:x:%s:%s:authfcgi worker:/nonexistent:/usr/sbin/nologin\n' "$af_uid" \
      "$af_gid" >>"$t/etc.upper/passwd"
  fi
  [[ -z "$new_group" ]] || printf 'authfcgi:x:%s:\n' "$af_gid" >>"$t/etc.upper/group"
  getent group www-data >/dev/null || printf 'www-data:x:33:\n' >>"$t/etc.upper/group"
  chmod 0644 "$t/etc.upper/passwd" "$t/etc.upper/group"

  # The installation steps of docs/deployment.md, into the overlays' upper layers.
  install -d -m 0755 "$t/etc.upper/systemd/system" "$t/etc.upper/authfcgi"
  for unit in "${SYSTEMD_NS_UNITS[@]}"; do
    install -m 0644 "$AUTHFCGI_REPO/conf/systemd/$unit" "$t/etc.upper/systemd/system/"
  done
  {
    printf 'secret_key = %s\n' "$(random_hex 32)"
    printf 'db_socket = /run/mysqld/%s\n' "$(basename "$(mariadb_socket "$t/db")")"
    printf 'db_user = authfcgi\ndb_password = %s\ndb_name = authfcgi\n' "$db_password"
    printf 'threads = 4\n'
  } >"$t/etc.upper/authfcgi/authfcgi.conf"
  chown "0:$af_gid" "$t/etc.upper/authfcgi/authfcgi.conf"
  chmod 0640 "$t/etc.upper/authfcgi/authfcgi.conf"
  install -d -m 0755 "$t/usr.upper/bin" "$t/usr.upper/share" "$t/usr.upper/share/authfcgi"
  install -m 0755 "$build/authfcgi" "$build/authctl" "$t/usr.upper/bin/"
  cp -r "$AUTHFCGI_REPO/templates" "$AUTHFCGI_REPO/sql" "$t/usr.upper/share/authfcgi/"
  chmod -R a+rX "$t/usr.upper/share/authfcgi"

  # The boot target: the journal (for `journalctl -u authfcgi`) and the standard targets the
  # units' default dependencies name. No other host unit is on the unit path, so none of the
  # host's services start in here.
  cat >"$t/units/authfcgi-test.target" <<'EOF'
[Unit]
Description=authfcgi systemd test
Wants=basic.target systemd-journald.socket systemd-journald-dev-log.socket
After=basic.target
EOF
  for unit in systemd-journald.service systemd-journald.socket systemd-journald-dev-log.socket \
    systemd-journald-audit.socket sysinit.target basic.target sockets.target paths.target \
    timers.target slices.target shutdown.target multi-user.target; do
    if [[ -e "/lib/systemd/system/$unit" ]]; then
      ln -s "/lib/systemd/system/$unit" "$t/units/$unit"
    fi
  done
  : >"$t/console"

  # PID 1 of the namespaces until it execs systemd. /proc/sys is read-only (as under
  # systemd-nspawn) so systemd's start-up tuning cannot change the host's kernel settings.
  cat >"$t/pid1.sh" <<EOF
#!/bin/bash
set -eu
mount --make-rprivate /
if mountpoint -q /sys/fs/cgroup; then umount -R /sys/fs/cgroup; fi
mount -t cgroup2 cgroup2 /sys/fs/cgroup
mount -t overlay overlay -o lowerdir=/etc,upperdir=$t/etc.upper,workdir=$t/etc.work /etc
mount -t overlay overlay -o lowerdir=/usr,upperdir=$t/usr.upper,workdir=$t/usr.work /usr
mount -t tmpfs -o mode=0755,nosuid,nodev tmpfs /run
mkdir -p /run/mysqld /run/systemd/journald.conf.d
mount --bind $t/db /run/mysqld
printf '[Journal]\nStorage=volatile\n' >/run/systemd/journald.conf.d/authfcgi-test.conf
if [ -d /var/log/journal ]; then mount -t tmpfs -o mode=0755 tmpfs /var/log/journal; fi
mount --bind $t/console /dev/console
mount --bind /proc/sys /proc/sys
mount -o remount,bind,ro /proc/sys
ip link set lo up 2>/dev/null || true
export container=authfcgi-test SYSTEMD_UNIT_PATH=/etc/systemd/system:$t/units
export SYSTEMD_GENERATOR_PATH=$t/empty SYSTEMD_ENVIRONMENT_GENERATOR_PATH=$t/empty
exec $(_systemd_ns_binary) --system --unit=authfcgi-test.target --log-target=journal --show-status=no
EOF
  chmod 0755 "$t/pid1.sh"
}

# Prints the set-up's and systemd's last words, the reason, and returns 77.
_systemd_ns_boot_failed() {
  local t="$1"
  {
    echo "--- namespace set-up:"
    tail -n 20 "$t/pid1.log"
    echo "--- systemd console:"
    tail -n 20 "$t/console"
  } >&2
  echo "a live systemd could not start here: $2"
  return "$SYSTEMD_NS_SKIP"
}

# systemd_ns_boot DIR BUILD DB_PASSWORD: prints systemd's host pid once it is running (or
# degraded) with debug logging; 77 and the reason when it cannot boot here. Whatever it started
# is recorded in DIR even when it fails: call systemd_ns_teardown DIR on every path.
systemd_ns_boot() {
  local t="$1" build="$2" db_password="$3" bin cg_mnt cg_self cg unshare_pid child sdpid="" i
  for bin in authfcgi authctl; do
    [[ -x "$build/$bin" ]] || af_die "no $build/$bin (build the authfcgi and authctl targets)"
  done
  [[ -S "$(mariadb_socket "$t/db")" ]] || af_die "no MariaDB socket in $t/db"
  chmod 0755 "$t" "$t/db" # the worker (user authfcgi) reaches the socket through /run/mysqld

  # A child cgroup of ours, to be the root of systemd's cgroup namespace.
  cg_mnt="$(_systemd_ns_cgroup_mount)"
  cg_self="$(sed -n 's/^0:://p' /proc/self/cgroup)"
  cg="$cg_mnt${cg_self%/}/authfcgi-systemd-test.$$"
  if ! mkdir "$cg" 2>/dev/null; then
    echo "cannot create a cgroup under $cg_mnt${cg_self%/} for systemd"
    return "$SYSTEMD_NS_SKIP"
  fi
  printf '%s\n' "$cg" >"$t/cgroup"

  _systemd_ns_install "$t" "$build" "$db_password"

  # Not a child of the test: it outlives this function; teardown kills it by its recorded pid.
  (
    echo "$BASHPID" >"$cg/cgroup.procs"
    exec unshare --pid --fork --kill-child --mount --uts --net --cgroup --propagation private \
      --mount-proc "$t/pid1.sh"
  ) </dev/null >"$t/pid1.log" 2>&1 &
  unshare_pid=$!
  printf '%s\n' "$unshare_pid" >"$t/unshare.pid"

  for ((i = 0; i < 100; i++)); do
    child="$(cat "/proc/$unshare_pid/task/$unshare_pid/children" 2>/dev/null || true)"
    child="${child%% *}"
    if [[ -n "$child" ]] && pid_alive "$child" systemd; then
      sdpid="$child"
      break
    fi
    # (no name check: the subshell becomes unshare only after joining the cgroup)
    pid_alive "$unshare_pid" || {
      _systemd_ns_boot_failed "$t" "the namespace set-up exited"
      return
    }
    sleep 0.1
  done
  if [[ -z "$sdpid" ]]; then
    _systemd_ns_boot_failed "$t" "systemd did not start within 10 s"
    return
  fi
  printf '%s\n' "$sdpid" >"$t/sdpid"

  local state=""
  for ((i = 0; i < 300; i++)); do
    state="$(systemd_ns_exec "$t" 10 systemctl is-system-running 2>/dev/null || true)"
    [[ "$state" == running || "$state" == degraded ]] && break
    pid_alive "$sdpid" systemd || {
      _systemd_ns_boot_failed "$t" "systemd exited"
      return
    }
    sleep 0.1
  done
  if [[ "$state" != running && "$state" != degraded ]]; then
    _systemd_ns_boot_failed "$t" "systemd did not finish starting within 30 s (state '$state')"
    return
  fi
  # systemd logs how a main process ended ("Main process exited, code=..., status=...") at
  # debug level only when it was a success; the journal is the record that survives the unit
  # being unloaded after its stop (after which `systemctl show` reports defaults).
  systemd_ns_exec "$t" 30 systemctl log-level debug || af_die "systemctl log-level debug failed"
  printf '%s\n' "$sdpid"
}

# systemd_ns_exec DIR SECONDS CMD...: CMD in systemd's mount, PID, UTS and network namespaces,
# killed after SECONDS; its exit status (124 on timeout).
systemd_ns_exec() {
  local t="$1" seconds="$2" sdpid
  shift 2
  sdpid="$(_systemd_ns_sdpid "$t")"
  if ! pid_alive "$sdpid" systemd; then
    af_log "systemd of $t is not running"
    return 125
  fi
  timeout -k 5 "$seconds" nsenter -t "$sdpid" -m -p -u -n -- "$@"
}

# systemd_ns_nginx_start DIR PORT SOCKET: nginx from conf/nginx in the namespaces, its files in
# DIR/nginx, proxying to SOCKET (a path inside the namespaces).
systemd_ns_nginx_start() {
  # shellcheck disable=SC2016 # expanded by the inner bash
  systemd_ns_exec "$1" 60 bash -c 'source "$1" && nginx_start "$2" "$3" "$4"' _ \
    "$AUTHFCGI_REPO/scripts/lib/common.sh" "$1/nginx" "$2" "$3"
}

# systemd_ns_teardown DIR: stops nginx, kills systemd (the kernel then kills every process of
# its PID namespace), the unshare process and removes the cgroup. Leaves DIR itself.
systemd_ns_teardown() {
  local t="$1" sdpid unshare_pid cg i
  sdpid="$(_systemd_ns_sdpid "$t")"
  if pid_alive "$sdpid" systemd; then
    # nginx lives in the namespaces and dies with them; stopping it first keeps its exit quiet.
    # shellcheck disable=SC2016 # expanded by the inner bash
    systemd_ns_exec "$t" 20 bash -c 'source "$1"; nginx_stop "$2"' _ \
      "$AUTHFCGI_REPO/scripts/lib/common.sh" "$t/nginx" >/dev/null 2>&1 || true
    kill -KILL "$sdpid" 2>/dev/null || true
  fi
  unshare_pid="$(cat "$t/unshare.pid" 2>/dev/null || true)"
  if pid_alive "$unshare_pid" unshare; then
    kill -KILL "$unshare_pid" 2>/dev/null || true
  fi
  pids_wait_gone systemd 50 "$sdpid" || af_log "systemd (pid $sdpid) is still alive"
  pids_wait_gone unshare 50 "$unshare_pid" || af_log "unshare (pid $unshare_pid) is still alive"
  cg="$(cat "$t/cgroup" 2>/dev/null || true)"
  if [[ -n "$cg" && -d "$cg" ]]; then
    # The kernel frees a cgroup shortly after its last process is gone.
    for ((i = 0; i < 50; i++)); do
      find "$cg" -depth -type d -exec rmdir {} + 2>/dev/null || true
      [[ -d "$cg" ]] || break
      sleep 0.1
    done
    if [[ -d "$cg" ]]; then
      af_log "could not remove the cgroup $cg"
      return 1
    fi
  fi
  rm -f "$t/sdpid" "$t/unshare.pid" "$t/cgroup"
}
