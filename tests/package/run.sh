#!/usr/bin/env bash
# The Debian package, tried as a new user would: its metadata and contents, `apt-get install`,
# the installed binaries and examples run for real (private MariaDB, the spawn-fcgi example,
# nginx from the nginx example, scripts/smoke with a user added by the installed authctl), then
# `apt-get remove --purge`.
#
#   tests/package/run.sh build-package/authfcgi_<version>_<arch>.deb      (as root)
#
# It installs and removes a system package, so it runs as root only (otherwise it says
# "skipped: not root" and exits 0), and refuses to run where authfcgi is already installed (as
# a package or by hand under /usr). Whatever it does is undone on every exit path: the package
# purged, packages apt pulled in removed, the authfcgi account deleted when it did not exist
# before, every process it started stopped, its temp dir removed.
#
# Ends with "N passed, M failed"; exits non-zero when anything failed.
set -euo pipefail

HERE="$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)"
# shellcheck source=scripts/lib/common.sh
source "$HERE/../../scripts/lib/common.sh"
REPO="$AUTHFCGI_REPO"

if (($# != 1)) || [[ "$1" == -h || "$1" == --help ]]; then
  echo "usage: tests/package/run.sh PATH/TO/authfcgi_VERSION_ARCH.deb" >&2
  exit 2
fi
if ((EUID != 0)); then
  echo "package test skipped: not root (it installs and removes the authfcgi package)"
  exit 0
fi
DEB="$(realpath -e "$1")" || af_die "no package at $1"

# The installed layout (docs/deployment.md, "From the package").
BIN_DIR=/usr/bin
SHARE=/usr/share/authfcgi
DOC=/usr/share/doc/authfcgi
EXAMPLES="$DOC/examples"
UNIT_DIR=/usr/lib/systemd/system
UNITS=(authfcgi.socket authfcgi.service authfcgi@.service authfcgi-spawn-fcgi.service)

# ---------------------------------------------------------------------------------------------
# Refuse to clobber an authfcgi that is already here.

status="$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' authfcgi 2>/dev/null || true)"
if [[ -n "$status" && "$status" != "un "* ]]; then
  echo "tests/package: refusing to run: the authfcgi package is already on this machine" \
    "(dpkg status '$status'); installing this one would replace it and the test would then" \
    "purge it. Remove it first: apt-get remove --purge authfcgi" >&2
  exit 1
fi
for path in "$BIN_DIR/authfcgi" "$BIN_DIR/authctl" "$SHARE" "$DOC" "${UNITS[@]/#/$UNIT_DIR/}"; do
  if [[ -e "$path" || -L "$path" ]]; then
    echo "tests/package: refusing to run: $path exists but belongs to no package (authfcgi" \
      "installed by hand?); dpkg would overwrite it and the purge would delete it. Move it" \
      "away first." >&2
    exit 1
  fi
done

# ---------------------------------------------------------------------------------------------
# Results

# shellcheck source=tests/lib/checks.sh
source "$HERE/../lib/checks.sh"
# require WHAT COMMAND...: as check, but nothing after it makes sense without it.
require() {
  local what="$1"
  shift
  if "$@"; then
    ok
  else
    bad "$what"
    af_die "cannot go on after: $what"
  fi
}
has() { grep -qF -- "$1" "$2"; }     # has TEXT FILE
lacks() { ! grep -qF -- "$1" "$2"; } # lacks TEXT FILE
same() { [[ "$1" == "$2" ]]; }

# ---------------------------------------------------------------------------------------------
# Clean-up on every exit path

TMP="$(mktemp -d "${TMPDIR:-/tmp}/authfcgi-pkg.XXXXXX")"
# The workers (account authfcgi) reach the database socket and nginx (www-data) the worker
# socket through this directory; its listing stays private.
chmod 711 "$TMP"
DB_DIR="$TMP/db"
RUN_DIR="$TMP/run"
LOG_DIR="$TMP/log"
WEB_DIR="$TMP/nginx"
WPID="$RUN_DIR/authfcgi.pid"
WSOCK="$RUN_DIR/authfcgi.sock"

dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort \
  >"$TMP/packages.before"
HAD_USER=0
HAD_GROUP=0
getent passwd authfcgi >/dev/null && HAD_USER=1
getent group authfcgi >/dev/null && HAD_GROUP=1
INSTALLED=0

apt_quiet() {
  # The lock timeout: another apt run on the machine makes this wait instead of fail.
  DEBIAN_FRONTEND=noninteractive timeout 300 apt-get -q -y -o Dpkg::Use-Pty=0 \
    -o DPkg::Lock::Timeout=120 "$@" >>"$TMP/apt.log" 2>&1
}

# Undoes the install: purge, the packages apt pulled in, the account. Prints what it could not.
undo_install() {
  local status
  status="$(dpkg-query -W -f='${db:Status-Abbrev}' authfcgi 2>/dev/null || true)"
  if [[ -n "$status" && "$status" != "un "* ]]; then
    apt_quiet remove --purge authfcgi || dpkg --purge authfcgi >>"$TMP/apt.log" 2>&1 ||
      af_log "could not purge authfcgi (log: $TMP/apt.log)"
  fi
  local added=()
  mapfile -t added < <(dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' |
    awk '$1 == "ii" {print $2}' | sort | comm -13 "$TMP/packages.before" -)
  if ((${#added[@]} > 0)); then
    af_log "removing what the install pulled in: ${added[*]}"
    apt_quiet remove --purge "${added[@]}" || af_log "could not remove ${added[*]}"
  fi
  if ((!HAD_USER)) && getent passwd authfcgi >/dev/null; then
    userdel authfcgi >/dev/null 2>&1 || af_log "could not delete the authfcgi account"
  fi
  if ((!HAD_GROUP)) && getent group authfcgi >/dev/null; then
    groupdel authfcgi >/dev/null 2>&1 || af_log "could not delete the authfcgi group"
  fi
}

SUMMARY_SHOWN=0
summary() {
  SUMMARY_SHOWN=1
  echo
  echo "package: $PASSED passed, $FAILED failed"
}

cleanup() {
  local rc=$?
  trap - EXIT INT TERM
  nginx_stop "$WEB_DIR" 2>/dev/null || true
  workers_stop "$WSOCK" "$WPID" 2>/dev/null || true
  mariadb_stop "$DB_DIR" 2>/dev/null || true
  # Directories moved aside by the default-path checks, should they have been interrupted.
  local dir
  for dir in templates sql; do
    if [[ -d "$SHARE/$dir.test-aside" ]]; then
      rm -rf "${SHARE:?}/$dir"
      mv "$SHARE/$dir.test-aside" "$SHARE/$dir"
    fi
  done
  if ((INSTALLED)); then
    undo_install
  fi
  # Stopped early (a failed requirement, a signal): the count so far, with the stop as a failure.
  if ((!SUMMARY_SHOWN)); then
    ((rc == 0 || FAILED > 0)) || FAILED=$((FAILED + 1))
    summary
  fi
  if ((rc != 0)) && [[ "${PACKAGE_TEST_KEEP:-}" == 1 ]]; then
    af_log "keeping $TMP"
  else
    rm -rf "$TMP"
  fi
  exit "$rc"
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

# ---------------------------------------------------------------------------------------------
echo "== metadata and contents of $(basename "$DEB")"

field() { dpkg-deb -f "$DEB" "$1"; }
VERSION="$(sed -nE 's/^project\(authfcgi VERSION ([0-9.]+).*/\1/p' "$REPO/CMakeLists.txt")"
ARCH="$(dpkg --print-architecture)"
check "Package is authfcgi (got '$(field Package)')" same "$(field Package)" authfcgi
check "Version is the project's $VERSION (got '$(field Version)')" same "$(field Version)" "$VERSION"
check "Architecture is $ARCH (got '$(field Architecture)')" same "$(field Architecture)" "$ARCH"
check "file name is authfcgi_${VERSION}_$ARCH.deb" same "$(basename "$DEB")" "authfcgi_${VERSION}_$ARCH.deb"

DEPENDS="$(field Depends)"
# Package names only: "libc6 (>= 2.34), a | b" -> libc6 a b
mapfile -t DEP_NAMES < <(sed -E 's/[,|]/\n/g' <<<"$DEPENDS" | sed -E 's/\(.*\)//; s/[[:space:]]//g' | grep .)
check "Depends names no -dev package: $DEPENDS" lacks "-dev" <(printf '%s\n' "${DEP_NAMES[@]}")
depends_on() { printf '%s\n' "${DEP_NAMES[@]}" | grep -qxF -- "$1"; }
check "Depends on adduser (postinst creates the authfcgi account)" depends_on adduser

# Every library the binaries link directly must come from a package named in Depends.
dpkg-deb -x "$DEB" "$TMP/x"
owner_package() { # the installed package that owns library path $1 (merged /usr or not)
  local path="$1" p
  for p in "$path" "/usr${path#/usr}" "${path#/usr}"; do
    dpkg -S "$p" 2>/dev/null | head -n1 | cut -d: -f1 && return 0
  done
  return 1
}
for bin in authfcgi authctl; do
  f="$TMP/x/usr/bin/$bin"
  require "the package holds an executable usr/bin/$bin" test -x "$f"
  ldd "$f" >"$TMP/ldd.$bin" 2>&1 || true
  check "every library of $bin resolves: $(grep 'not found' "$TMP/ldd.$bin" | tr -s ' \t\n' ' ')" \
    lacks "not found" "$TMP/ldd.$bin"
  mapfile -t needed < <(readelf -d "$f" | sed -nE 's/.*\(NEEDED\).*\[(.*)\]/\1/p')
  check "$bin links some libraries (readelf)" test "${#needed[@]}" -gt 0
  for soname in "${needed[@]}"; do
    path="$(awk -v s="$soname" '$1 == s && $2 == "=>" {print $3}' "$TMP/ldd.$bin")"
    pkg=""
    if [[ -n "$path" ]]; then
      pkg="$(owner_package "$(realpath -s "$path")" || true)"
    fi
    if [[ -z "$pkg" ]]; then
      bad "$bin needs $soname, which no installed package provides"
    elif depends_on "$pkg"; then
      ok
    else
      bad "$bin needs $soname from $pkg, which Depends does not name ($DEPENDS)"
    fi
  done
done

dpkg-deb --contents "$DEB" >"$TMP/contents"
# "./usr/bin/authfcgi" -> "/usr/bin/authfcgi"; symlinks keep only their own name.
awk '{print substr($6, 2)}' "$TMP/contents" | sed 's|/$||' | sort >"$TMP/paths"
expect_path() { # expect_path PATH [MODE]
  local line
  if ! grep -qxF -- "$1" "$TMP/paths"; then
    bad "the package lacks $1"
    return 0
  fi
  line="$(awk -v p=".$1" '$6 == p' "$TMP/contents")"
  if [[ -n "${2:-}" && "$line" != "$2 root/root "* ]]; then
    bad "$1 should be $2 root/root: $line"
  else
    ok
  fi
}
expect_path "$BIN_DIR/authfcgi" -rwxr-xr-x
expect_path "$BIN_DIR/authctl" -rwxr-xr-x
# Every template, migration and unit of the source tree, so one added later is checked too.
for f in "$REPO"/templates/*; do expect_path "$SHARE/templates/$(basename "$f")" -rw-r--r--; done
for f in "$REPO"/sql/*.sql; do expect_path "$SHARE/sql/$(basename "$f")" -rw-r--r--; done
for u in "${UNITS[@]}"; do
  check "the source tree has conf/systemd/$u" test -f "$REPO/conf/systemd/$u"
  expect_path "$UNIT_DIR/$u" -rw-r--r--
done
for f in authfcgi.conf.example nginx/authfcgi.conf apache/authfcgi.conf spawn-fcgi/authfcgi.spawn-fcgi; do
  expect_path "$EXAMPLES/$f" -rw-r--r--
done
expect_path "$DOC/docs/deployment.md" -rw-r--r--
check "every entry belongs to root/root" \
  test "$(awk '$2 != "root/root"' "$TMP/contents" | wc -l)" -eq 0
# The configuration holds secrets and is the administrator's: the package ships no conffile.
check "the package ships nothing under /etc" test "$(grep -c '^/etc' "$TMP/paths")" -eq 0
check "the local-only *.in templates are not shipped" test "$(grep -c '\.in$' "$TMP/paths")" -eq 0

# ---------------------------------------------------------------------------------------------
echo "== apt-get install ./$(basename "$DEB")"

missing=()
for name in "${DEP_NAMES[@]}"; do
  [[ "$(dpkg-query -W -f='${db:Status-Abbrev}' "$name" 2>/dev/null)" == "ii "* ]] ||
    missing+=("$name")
done
if ((${#missing[@]} > 0)); then
  echo "dependencies not installed yet (${missing[*]}): apt-get update first"
  apt_quiet update || true
fi
INSTALLED=1
cp "$DEB" "$TMP/"
# From a directory apt's sandbox user (_apt) can read, so apt does not warn about it.
chmod 644 "$TMP/$(basename "$DEB")"
# As the docs say: from the package's directory, by its ./ path.
install_deb() { (cd "$TMP" && apt_quiet install "./$(basename "$DEB")"); }
require "apt-get install -y ./$(basename "$DEB") succeeds (log: $TMP/apt.log)" install_deb
check "dpkg reports authfcgi $VERSION installed" \
  same "$(dpkg-query -W -f='${db:Status-Abbrev}${Version}' authfcgi)" "ii $VERSION"
check "authfcgi on PATH is $BIN_DIR/authfcgi" same "$(command -v authfcgi)" "$BIN_DIR/authfcgi"
check "authctl on PATH is $BIN_DIR/authctl" same "$(command -v authctl)" "$BIN_DIR/authctl"
for bin in authfcgi authctl; do
  ldd "$BIN_DIR/$bin" >"$TMP/ldd.installed.$bin" 2>&1 || true
  check "the installed $bin finds every library" lacks "not found" "$TMP/ldd.installed.$bin"
done
check "postinst created the system account authfcgi (nologin)" \
  bash -c 'getent passwd authfcgi | grep -qE ":/usr/sbin/nologin$"'
check "postinst created the group authfcgi" getent group authfcgi >/dev/null
check "dpkg --verify finds the installed files intact" dpkg --verify authfcgi
for f in "$REPO"/templates/* "$REPO"/sql/*.sql; do
  rel="${f#"$REPO"/}"
  check "installed $rel is the source's" cmp -s "$f" "$SHARE/$rel"
done
check "no unit was enabled by the install" \
  test -z "$(find /etc/systemd/system -name 'authfcgi*' 2>/dev/null)"
# `systemctl help UNIT` opens Documentation=: a file:// there must be a file the package installs.
for u in "${UNITS[@]}"; do
  while read -r doc; do
    check "$u: Documentation=file://$doc is installed" test -f "$doc"
  done < <(sed -nE 's|^Documentation=.*file://([^ ]*).*|\1|p' "$UNIT_DIR/$u")
done
if command -v systemd-analyze >/dev/null 2>&1; then
  for u in "${UNITS[@]}"; do
    timeout 60 systemd-analyze verify "$UNIT_DIR/$u" >"$TMP/verify.$u" 2>&1 || true
    # Only what concerns our units: other units on the machine may have warnings of their own.
    check "systemd-analyze verify $u: $(grep -i authfcgi "$TMP/verify.$u" | head -n3)" \
      test -z "$(grep -i authfcgi "$TMP/verify.$u")"
  done
fi

echo "== --help and bad configurations"

# run_cmd NAME COMMAND...: stdout to $TMP/NAME.out, stderr to $TMP/NAME.err, exit code in RC.
run_cmd() {
  local name="$1"
  shift
  RC=0
  (cd / && "$@") >"$TMP/$name.out" 2>"$TMP/$name.err" </dev/null || RC=$?
}
# As a user on a clean shell: no configuration in the environment.
run_cmd help_authfcgi env -i PATH=/usr/bin:/bin authfcgi --help
check "authfcgi --help exits 0 (got $RC)" same "$RC" 0
for want in "usage: authfcgi [--config PATH] [--socket PATH|HOST:PORT] [--threads N]" \
  "--config PATH" "--socket ADDR" "--threads N" "spawn-fcgi" "SIGTERM"; do
  check "authfcgi --help shows '$want'" has "$want" "$TMP/help_authfcgi.out"
done
check "authfcgi --help prints nothing on stderr" test ! -s "$TMP/help_authfcgi.err"

run_cmd help_authctl env -i PATH=/usr/bin:/bin authctl --help
check "authctl --help exits 0 (got $RC)" same "$RC" 0
for want in "usage: authctl [--config PATH] COMMAND" "commands:" "user add --email E --username U" \
  "user passwd" "user list" "user delete" "user logout-everywhere" "db migrate" "exit codes:" \
  "AUTHFCGI_CONFIG"; do
  check "authctl --help shows '$want'" has "$want" "$TMP/help_authctl.out"
done
run_cmd help_authctl2 env -i PATH=/usr/bin:/bin authctl help
check "authctl help prints the same text as --help" cmp -s "$TMP/help_authctl.out" "$TMP/help_authctl2.out"

# The example as shipped has no secret: the worker must refuse it, saying why.
run_cmd bad_example authfcgi --config "$EXAMPLES/authfcgi.conf.example"
check "authfcgi with the shipped example (no secret) exits 2 (got $RC)" same "$RC" 2
check "... and says secret_key is missing: $(cat "$TMP/bad_example.err")" \
  has "authfcgi: secret_key must be at least 32 bytes" "$TMP/bad_example.err"
printf 'secret_key = tooshort\n' >"$TMP/short.conf"
run_cmd bad_short authfcgi --config "$TMP/short.conf"
check "authfcgi with a short secret exits 2 (got $RC)" same "$RC" 2
check "... saying so" has "secret_key must be at least 32 bytes" "$TMP/bad_short.err"
run_cmd bad_path authfcgi --config "$TMP/nonexistent.conf"
check "authfcgi with a missing config file exits 2 (got $RC)" same "$RC" 2
check "... naming the file" has "cannot read the configuration file $TMP/nonexistent.conf" "$TMP/bad_path.err"
printf 'secret_key = %s\nsecret_kee = typo\n' "$(random_hex 32)" >"$TMP/typo.conf"
run_cmd bad_key authfcgi --config "$TMP/typo.conf"
check "authfcgi with an unknown key exits 2 (got $RC)" same "$RC" 2
check "... naming line and key" has "line 2: unknown key 'secret_kee'" "$TMP/bad_key.err"
run_cmd bad_key_ctl authctl --config "$TMP/typo.conf" user list
check "authctl with an unknown key exits 1, its usage error (got $RC)" same "$RC" 1
check "... naming line and key" has "authctl: line 2: unknown key 'secret_kee'" "$TMP/bad_key_ctl.err"

# ---------------------------------------------------------------------------------------------
echo "== the installed package serving logins"

DB_PASSWORD="$(random_password)"
SECRET="$(random_hex 32)"
mariadb_start "$DB_DIR"
chmod 755 "$DB_DIR"
mariadb_create_app_db "$DB_DIR" authfcgi authfcgi "$DB_PASSWORD"
DB_SOCK="$(mariadb_socket "$DB_DIR")"

# The configuration: the installed example with only the secret and the database access set,
# kept as the docs say (root:authfcgi, 640, in a 750 directory).
install -d -m 750 -o root -g authfcgi "$TMP/etc"
CONF="$TMP/etc/authfcgi.conf"
sed -e "s|^# secret_key =\$|secret_key = $SECRET|" \
  -e "s|^# db_socket =\$|db_socket = $DB_SOCK|" \
  -e "s|^# db_user = authfcgi\$|db_user = authfcgi|" \
  -e "s|^# db_password =\$|db_password = $DB_PASSWORD|" \
  "$EXAMPLES/authfcgi.conf.example" >"$CONF"
chown root:authfcgi "$CONF"
chmod 640 "$CONF"
changed="$(diff "$EXAMPLES/authfcgi.conf.example" "$CONF" | grep -c '^>' || true)"
check "the config differs from the example in exactly 4 lines (got $changed)" same "$changed" 4

# The defaults point at the installed files: with them moved aside, both programs say so.
mv "$SHARE/sql" "$SHARE/sql.test-aside"
run_cmd migrate_aside authctl --config "$CONF" db migrate
mv "$SHARE/sql.test-aside" "$SHARE/sql"
check "authctl db migrate uses $SHARE/sql by default (without it: exit $RC,
  $(head -c 200 "$TMP/migrate_aside.err"))" \
  has "$SHARE/sql" "$TMP/migrate_aside.err"
mv "$SHARE/templates" "$SHARE/templates.test-aside"
run_cmd templates_aside timeout 10 authfcgi --config "$CONF" --socket "$TMP/probe.sock"
mv "$SHARE/templates.test-aside" "$SHARE/templates"
check "authfcgi uses $SHARE/templates by default (without it: exit $RC,
  $(head -c 200 "$TMP/templates_aside.err"))" \
  has "cannot read template $SHARE/templates/" "$TMP/templates_aside.err"
check "... and refuses to start: exit 2 (got $RC)" same "$RC" 2
check "dpkg --verify: the installed files are back as shipped" dpkg --verify authfcgi

run_cmd migrate "$BIN_DIR/authctl" --config "$CONF" db migrate
require "authctl db migrate exits 0 (got $RC: $(cat "$TMP/migrate.err"))" same "$RC" 0
migrations="$(find "$SHARE/sql" -name '*.sql' | wc -l)"
applied="$(mariadb_admin_sql "$DB_DIR" -N -e 'SELECT COUNT(*) FROM authfcgi.schema_version')"
check "every installed migration is applied ($applied of $migrations)" same "$applied" "$migrations"
run_cmd migrate_again "$BIN_DIR/authctl" --config "$CONF" db migrate
check "a second db migrate exits 0 (got $RC)" same "$RC" 0

EMAIL="package-test@example.com"
USERNAME="pkgtester"
PASSWORD="$(random_password)"
RC=0
(cd / && printf '%s\n' "$PASSWORD" | "$BIN_DIR/authctl" --config "$CONF" user add \
  --email "$EMAIL" --username "$USERNAME") >"$TMP/useradd.out" 2>&1 || RC=$?
require "authctl user add exits 0 (got $RC: $(cat "$TMP/useradd.out"))" same "$RC" 0
run_cmd userlist "$BIN_DIR/authctl" --config "$CONF" user list
check "authctl user list shows the new user" has "$EMAIL" "$TMP/userlist.out"

# The workers: the installed spawn-fcgi example with its paths moved under $TMP (socket, pid
# file, log, config); binary, account, socket owner, group and mode as shipped.
SPAWN="$TMP/authfcgi.spawn-fcgi"
SPAWN_EXAMPLE="$EXAMPLES/spawn-fcgi/authfcgi.spawn-fcgi"
check "the spawn-fcgi example starts the installed $BIN_DIR/authfcgi" \
  grep -qE "^[[:space:]]*$BIN_DIR/authfcgi /etc/authfcgi/authfcgi.conf" "$SPAWN_EXAMPLE"
sed -e "s|/run/authfcgi|$RUN_DIR|g" -e "s|/var/log/authfcgi|$LOG_DIR|g" \
  -e "s|/etc/authfcgi/authfcgi.conf|$CONF|g" "$SPAWN_EXAMPLE" >"$SPAWN"
RC=0
(cd / && setsid -w sh "$SPAWN") </dev/null >"$TMP/spawn.log" 2>&1 || RC=$?
check "the spawn-fcgi example exits 0 (got $RC: $(tail -n3 "$TMP/spawn.log"))" same "$RC" 0
mapfile -t WORKERS < <(pids_from_file "$WPID")
sleep 0.5
alive=0
for pid in "${WORKERS[@]}"; do
  pid_alive "$pid" authfcgi && alive=$((alive + 1))
done
require "the example's 2 workers are running (alive: $alive; log:
  $(tail -n3 "$LOG_DIR/authfcgi.log" 2>/dev/null))" \
  same "$alive" 2
for pid in "${WORKERS[@]}"; do
  check "worker $pid runs as authfcgi" same "$(ps -o user= -p "$pid" | tr -d ' ')" authfcgi
done
check "the worker socket is authfcgi:www-data, mode 660 (got $(stat -c '%U:%G %a' "$WSOCK"))" \
  same "$(stat -c '%U:%G %a' "$WSOCK")" "authfcgi:www-data 660"

# nginx: the installed site with the socket, log paths and port moved; run as root with the
# user www-data, as Debian's nginx.conf does (the socket's group). The site is meant for http{}
# of that nginx.conf: a minimal main file with its own pid and temp paths stands in for it.
PORT="$(free_port)"
mkdir -p "$WEB_DIR/logs" "$WEB_DIR/tmp"
cp /etc/nginx/fastcgi_params "$WEB_DIR/"
listen6="listen [::1]:$PORT;"
grep -q ' lo$' /proc/net/if_inet6 2>/dev/null || listen6="# no IPv6 loopback here"
sed -e "s|/run/authfcgi/authfcgi.sock|$WSOCK|g" -e "s|/var/log/nginx/|$WEB_DIR/logs/|g" \
  -e "s|^\([[:space:]]*\)listen 80;|\1listen 127.0.0.1:$PORT;|" \
  -e "s|^\([[:space:]]*\)listen \[::\]:80;|\1$listen6|" \
  "$EXAMPLES/nginx/authfcgi.conf" >"$WEB_DIR/site.conf"
changed="$(diff "$EXAMPLES/nginx/authfcgi.conf" "$WEB_DIR/site.conf" | grep -c '^>' || true)"
check "the nginx site differs from the example in 5 lines: socket, 2 logs, 2 listen (got $changed)" \
  same "$changed" 5
cat >"$WEB_DIR/nginx.conf" <<EOF
user www-data www-data;
worker_processes 1;
pid $WEB_DIR/nginx.pid;
error_log $WEB_DIR/logs/error.log;
events { worker_connections 64; }
http {
    access_log $WEB_DIR/logs/access.log;
    client_body_temp_path $WEB_DIR/tmp/body;
    fastcgi_temp_path $WEB_DIR/tmp/fastcgi;
    proxy_temp_path $WEB_DIR/tmp/proxy;
    uwsgi_temp_path $WEB_DIR/tmp/uwsgi;
    scgi_temp_path $WEB_DIR/tmp/scgi;
    include $WEB_DIR/site.conf;
}
EOF
nginx_args=(-p "$WEB_DIR" -c "$WEB_DIR/nginx.conf" -e "$WEB_DIR/logs/error.log")
require "nginx -t accepts the installed site
  ($(nginx -t "${nginx_args[@]}" 2>&1 | grep -v successful | head -n3))" \
  nginx -t -q "${nginx_args[@]}"
nginx "${nginx_args[@]}" </dev/null >>"$WEB_DIR/logs/start.log" 2>&1 || true
for ((i = 0; i < 50; i++)); do
  pidfile_alive nginx "$WEB_DIR/nginx.pid" && port_in_use "$PORT" && break
  sleep 0.1
done
nginx_children "$(pids_from_file "$WEB_DIR/nginx.pid" | head -n1)" >"$WEB_DIR/nginx.workers"
require "nginx from the installed site answers on 127.0.0.1:$PORT" \
  wait_http "http://127.0.0.1:$PORT/auth/login" 10

RC=0
SMOKE_EMAIL="$EMAIL" SMOKE_PASSWORD="$PASSWORD" SMOKE_USERNAME="$USERNAME" \
  "$REPO/scripts/smoke" "http://127.0.0.1:$PORT" >"$TMP/smoke.log" 2>&1 || RC=$?
cat "$TMP/smoke.log"
check "scripts/smoke with the added user passes against the installed package" same "$RC" 0
check "the worker log (the example's log path) records the login" \
  grep -qE "login_ok.*$EMAIL" "$LOG_DIR/authfcgi.log"
curl -sS --max-time 5 "http://127.0.0.1:$PORT/" >"$TMP/index.html" || true
title="$(sed -nE 's|.*<title>(.*)</title>.*|\1|p' "$SHARE/templates/base.mustache")"
check "the page is rendered from the installed base.mustache ($title)" \
  has "<title>${title//\{\{title\}\}/}" "$TMP/index.html"

# The example's way to stop: SIGTERM to the pids in its pid file; the workers drain and exit.
# shellcheck disable=SC2046 # the pid file lists the pids, one a word
kill -TERM $(pids_from_file "$WPID") 2>/dev/null || true
check "the workers exit within 10 s of SIGTERM" pids_wait_gone authfcgi 100 "${WORKERS[@]}"
nginx_stop "$WEB_DIR"
workers_stop "$WSOCK" "$WPID"
mariadb_stop "$DB_DIR"

# ---------------------------------------------------------------------------------------------
echo "== apt-get remove --purge authfcgi"

# An enabled unit leaves links in /etc: the purge must take them away with the units.
if command -v systemctl >/dev/null 2>&1; then
  systemctl --no-reload enable authfcgi.socket authfcgi.service >>"$TMP/apt.log" 2>&1 || true
  check "systemctl enable links the shipped units" \
    test -n "$(find /etc/systemd/system -name 'authfcgi*' -type l 2>/dev/null)"
fi
RC=0
apt_quiet remove --purge authfcgi || RC=$?
check "apt-get remove --purge -y authfcgi exits 0 (got $RC; log: $TMP/apt.log)" same "$RC" 0
status="$(dpkg-query -W -f='${db:Status-Abbrev}' authfcgi 2>/dev/null || true)"
check "dpkg no longer knows authfcgi (status '$status')" test -z "$status" -o "${status:0:2}" = un
for path in "$BIN_DIR/authfcgi" "$BIN_DIR/authctl" "$SHARE" "$DOC" "${UNITS[@]/#/$UNIT_DIR/}"; do
  check "$path is gone" test ! -e "$path"
done
check "authfcgi is no longer on PATH" test -z "$(command -v authfcgi || true)"
check "no link to a shipped unit is left in /etc/systemd/system" \
  test -z "$(find /etc/systemd/system -name 'authfcgi*' 2>/dev/null)"
check "the authfcgi account stays after the purge, as Debian packages do" getent passwd authfcgi >/dev/null

undo_install
INSTALLED=0
dpkg-query -W -f='${db:Status-Abbrev} ${Package}\n' | awk '$1 == "ii" {print $2}' | sort \
  >"$TMP/packages.after"
check "the installed packages are as before the test" cmp -s "$TMP/packages.before" "$TMP/packages.after"
if ((!HAD_USER)); then
  check "the authfcgi account is gone again" bash -c '! getent passwd authfcgi >/dev/null'
fi

summary
((FAILED == 0))
