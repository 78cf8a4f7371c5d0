"""conf/systemd's units, unchanged, under a live systemd: what their comments and
docs/deployment.md promise.

  1. authfcgi.socket creates the socket (authfcgi:www-data 0660); the first connection starts
     authfcgi.service, which serves requests through nginx against a private MariaDB;
  2. `systemctl restart authfcgi.service` under continuous load: no request fails;
  3. `systemctl stop` exits 0 (SIGTERM drain), the hardening is in effect and does not stop
     the worker; Restart=on-failure brings a killed worker back; what the start limit does;
  4. authfcgi@2.service serves the same socket; authfcgi-spawn-fcgi.service replaces the pair
     (Conflicts= plus ordering) and serves on a socket with the same owner and mode.

Each test puts the units into the state it needs (Systemd.use_socket_unit, use_spawn_fcgi),
so any test can run alone; the three scenarios that take time (restarts under load, the start
limit, the switch to spawn-fcgi) run once in a module fixture and several tests read their record.
"""

from __future__ import annotations

import subprocess
import threading
import time
from dataclasses import dataclass, field
from urllib.parse import urlsplit

import pytest
import requests

from browser import is_anonymous, is_logged_in_as
from stack import REPO, User
from systemd_ns import CONF, EXTRA, SECRET_TEXT, SERVICE, SOCK, SPAWN, UNITS, NsBrowser, Systemd

VARIANTS = ("socket-unit", "spawn-fcgi")
WORKER_UNITS = (SERVICE, EXTRA)


def use(systemd: Systemd, variant: str) -> None:
    done = systemd.use_socket_unit() if variant == "socket-unit" else systemd.use_spawn_fcgi()
    assert done.returncode == 0, f"{variant}: {done.stderr}"


# --- the load clients: each sends requests one after another until told to stop -------------
def login_fresh(b: NsBrowser, user: User) -> str:
    """Logs in with an empty cookie jar; '' on success, else what went wrong."""
    b.session.cookies.clear()
    try:
        page = b.get("/auth/login")
        if page.status_code != 200:
            return f"GET /auth/login -> {page.status_code}"
        form = b.form()
        if not form.fields.get("csrf_token"):
            return "no csrf_token in the login form"
        answer = b.submit(form, email=user.email, password=user.password)
        if answer.status_code != 302:
            return f"POST /auth/login -> {answer.status_code}"
    except (requests.RequestException, AssertionError) as e:
        return f"{type(e).__name__}: {e}"
    return ""


def client_loop(b: NsBrowser, mode: str, user: User, results: list[str],
                stop: threading.Event, max_seconds: float) -> None:
    """secret: logs in once, then GET /secret again and again (each looks the session up in
    the database). login: GET and POST /auth/login (argon2id, a slow request) with a fresh jar
    each time. Appends "ok MODE" or "FAIL MODE ..." per request."""
    if mode == "secret" and (why := login_fresh(b, user)):
        results.append(f"FAIL secret initial login: {why}")
        return
    deadline = time.monotonic() + max_seconds
    while not stop.is_set() and time.monotonic() < deadline:
        if mode == "secret":
            try:
                page = b.get("/secret")
                ok = page.status_code == 200 and SECRET_TEXT in page.text
                detail = str(page.status_code)
            except requests.RequestException as e:
                ok, detail = False, type(e).__name__
            results.append("ok secret" if ok else f"FAIL secret GET /secret -> {detail}")
        else:
            why = login_fresh(b, user)
            results.append(f"FAIL login {why}" if why else "ok login")


@dataclass
class Load:
    results: list[str] = field(default_factory=list)
    stop: threading.Event = field(default_factory=threading.Event)
    clients: list = field(default_factory=list)

    def start(self, systemd: Systemd, modes: tuple[str, ...], user: User, max_seconds: float
              ) -> "Load":
        for mode in modes:
            self.clients.append(systemd.netns.submit(
                client_loop, systemd.browser(), mode, user, self.results, self.stop,
                max_seconds))
        return self

    def finish(self) -> None:
        self.stop.set()
        for client in self.clients:
            client.result(timeout=120)

    def count(self, prefix: str) -> int:
        return sum(r.startswith(prefix) for r in self.results)

    def failures(self) -> list[str]:
        return sorted({r for r in self.results if r.startswith("FAIL")})[:10]


# =============================================================================================
# The installation


@pytest.mark.parametrize("unit", UNITS)
def test_the_installed_unit_is_the_file_of_conf_systemd_unchanged(systemd, unit):
    done = systemd.run("cmp", f"/etc/systemd/system/{unit}", str(REPO / "conf/systemd" / unit))
    assert done.returncode == 0, done.stdout + done.stderr


def test_systemctl_daemon_reload_accepts_the_units(systemd):
    done = systemd.systemctl("daemon-reload")
    assert done.returncode == 0, done.stderr


@pytest.mark.parametrize("unit", ["authfcgi.socket", SERVICE, EXTRA, SPAWN])
def test_the_unit_loads(systemd, unit):
    assert systemd.prop(unit, "LoadState") == "loaded"


def test_authctl_db_migrate_works_with_the_installed_configuration(account):
    assert account.migrate.returncode == 0, account.migrate.stderr
    assert "applied migrations" in account.migrate.stderr + account.migrate.stdout


def test_authctl_user_add_works_with_the_installed_configuration(account):
    assert account.add.returncode == 0, account.add.stderr
    assert "added user systemd@example.com" in account.add.stderr + account.add.stdout


# =============================================================================================
# 1. Socket activation


def test_authfcgi_socket_starts_and_listens(deployed):
    started = deployed.use_socket_unit(fresh=True)
    assert started.returncode == 0, started.stderr
    assert deployed.state("authfcgi.socket") == "active listening"


@pytest.mark.parametrize("variant", VARIANTS)
def test_the_socket_belongs_to_authfcgi_and_group_www_data_with_mode_0660(deployed, variant):
    use(deployed, variant)
    assert deployed.stat(SOCK) == "authfcgi:www-data 660 socket"


def test_run_authfcgi_is_a_root_owned_directory_with_mode_0755(deployed):
    use(deployed, "socket-unit")
    assert deployed.stat("/run/authfcgi") == "root:root 755 directory"


def test_the_first_connection_starts_authfcgi_service(deployed):
    deployed.use_socket_unit(fresh=True)
    assert deployed.prop(SERVICE, "ActiveState") == "inactive"
    answer = deployed.fcgi_get("www-data")
    assert "Hello, Anonymous!" in answer.stdout, (answer.stdout + answer.stderr)[:300]
    assert deployed.state(SERVICE) == "active running"


@pytest.mark.parametrize("variant", VARIANTS)
def test_www_data_gets_an_answer_on_the_socket(deployed, variant):
    use(deployed, variant)
    answer = deployed.fcgi_get("www-data")
    assert "Hello, Anonymous!" in answer.stdout, (answer.stdout + answer.stderr)[:300]


@pytest.mark.parametrize("variant", VARIANTS)
def test_another_local_user_cannot_connect_to_the_socket(deployed, variant):
    use(deployed, variant)
    refused = deployed.fcgi_get("nobody")
    # cgi-fcgi exits with the errno of its failed connect: 13 is EACCES.
    assert refused.returncode == 13, (refused.returncode, refused.stdout, refused.stderr)
    assert "Could not connect" in refused.stdout + refused.stderr


def test_the_worker_runs_as_authfcgi_with_the_listening_socket_as_fd_0(deployed):
    use(deployed, "socket-unit")
    deployed.start_workers(SERVICE)
    pid = deployed.main_pid(SERVICE)
    assert deployed.out("ps", "-o", "user=", "-p", str(pid)) == "authfcgi"
    assert deployed.out("readlink", f"/proc/{pid}/fd/0").startswith("socket:")


def test_a_user_logs_in_sees_the_secret_and_logs_out_through_nginx(deployed, app_user):
    use(deployed, "socket-unit")
    b = deployed.browser()
    assert is_anonymous(b.get("/"))
    login = b.login(app_user.email, app_user.password)
    assert login.status_code == 302, login.text[:300]
    assert urlsplit(login.headers["Location"]).path == "/"
    assert is_logged_in_as(b.get("/"), app_user.username)
    secret = b.get("/secret")
    assert secret.status_code == 200 and SECRET_TEXT in secret.text
    logout = b.get("/auth/logout")
    assert logout.status_code == 302
    assert urlsplit(logout.headers["Location"]).path == "/"
    after = b.follow()
    assert "You have been logged out." in after.text
    assert is_anonymous(after)


def test_the_login_is_logged_in_the_journal(deployed, app_user):
    use(deployed, "socket-unit")
    cursor = deployed.journal_cursor()
    assert deployed.browser().login(app_user.email, app_user.password).status_code == 302
    assert "login_ok" in deployed.journal_waits_for(SERVICE, cursor, "login_ok")


def test_systemctl_reload_rereads_the_configuration_in_the_running_worker(deployed):
    use(deployed, "socket-unit")
    deployed.start_workers(SERVICE)
    pid = deployed.main_pid(SERVICE)
    assert deployed.http_status("/auth/status") == 404, "off by default"
    original = deployed.out("cat", CONF)
    try:
        deployed.run("sh", "-c", f"echo 'status_enabled = true' >> {CONF}")
        cursor = deployed.journal_cursor()
        assert deployed.systemctl("reload", SERVICE).returncode == 0
        assert "reloaded" in deployed.journal_waits_for(SERVICE, cursor, "reloaded")
        assert deployed.main_pid(SERVICE) == pid, "a reload, not a restart"
        # The pool's counters live in /dev/shm, which the unit's hardening leaves writable.
        status = deployed.browser().get("/auth/status?json")
        assert status.status_code == 200, status.text[:300]
        assert status.json()["processes"] >= 1
        assert "no pool status" not in deployed.journal(SERVICE, cursor)
    finally:
        deployed.run("sh", "-c", f"cat > {CONF}", stdin=original + "\n")
        deployed.systemctl("reload", SERVICE)


# =============================================================================================
# 2. Restart under load

RESTARTS = 3


@dataclass
class RestartRecord:
    restarted: int
    inode_before: str
    inode_kept: bool
    requests_before_first_restart: int
    load: Load
    nginx_errors: list[str]


@pytest.fixture(scope="module")
def restarts_under_load(deployed, app_user) -> RestartRecord:
    """Three clients reading /secret and one logging in, while authfcgi.service restarts three
    times, 1.5 s apart."""
    deployed.use_socket_unit()
    error_log = deployed.directory / "nginx" / "logs" / "error.log"
    offset = error_log.stat().st_size if error_log.exists() else 0
    load = Load().start(deployed, ("secret", "secret", "secret", "login"), app_user, 60)
    try:
        time.sleep(1.5)
        inode_before = deployed.listen_inode()
        before = len(load.results)
        restarted, kept = 0, bool(inode_before)
        for _ in range(RESTARTS):
            old = deployed.main_pid(SERVICE)
            if deployed.systemctl("restart", SERVICE).returncode == 0:
                new = deployed.main_pid(SERVICE)
                restarted += new not in (0, old)
            kept = kept and deployed.listen_inode() == inode_before
            time.sleep(1.5)
    finally:
        load.finish()
    with error_log.open(errors="replace") as f:
        f.seek(offset)
        errors = [ln for ln in f.read().splitlines()
                  if "upstream prematurely closed" in ln or ("connect()" in ln and "failed" in ln)]
    return RestartRecord(restarted, inode_before, kept, before, load, errors)


@pytest.mark.slow
def test_each_restart_under_load_starts_a_new_worker_process(restarts_under_load):
    assert restarts_under_load.restarted == RESTARTS


@pytest.mark.slow
def test_the_listening_socket_stays_the_same_across_the_restarts(restarts_under_load):
    assert restarts_under_load.inode_before, "no listening socket before the restarts"
    assert restarts_under_load.inode_kept


@pytest.mark.slow
def test_no_request_fails_during_the_restarts(restarts_under_load):
    load = restarts_under_load.load
    summary = (f"{len(load.results)} requests ({restarts_under_load.requests_before_first_restart}"
               f" before the first restart): {load.count('ok secret')} GET /secret, "
               f"{load.count('ok login')} logins, {load.count('FAIL')} failed "
               f"{load.failures()}")
    assert load.count("FAIL") == 0, summary
    # Enough traffic that the restarts happened under load, logins (slow requests) included.
    assert len(load.results) >= 40 and load.count("ok login") >= 3, summary


@pytest.mark.slow
def test_nginx_logs_no_upstream_error_during_the_restarts(restarts_under_load):
    assert restarts_under_load.nginx_errors == []


# =============================================================================================
# 3. Hardening, stop (SIGTERM), crash restart, start limit


def running_worker(systemd: Systemd, unit: str) -> int:
    use(systemd, "socket-unit")
    systemd.start_workers(unit)
    pid = systemd.main_pid(unit)
    assert pid > 1, f"{unit} has no main process"
    return pid


@pytest.mark.parametrize("unit", WORKER_UNITS)
def test_the_worker_has_no_new_privileges_a_seccomp_filter_and_no_capabilities(deployed, unit):
    pid = running_worker(deployed, unit)
    status = dict(line.split(":", 1) for line in
                  deployed.out("cat", f"/proc/{pid}/status").splitlines() if ":" in line)
    assert status["NoNewPrivs"].strip() == "1"
    assert status["Seccomp"].strip() == "2", "no seccomp filter (SystemCallFilter=)"
    assert int(status["CapEff"], 16) == 0, f"capabilities: {status['CapEff'].strip()}"


@pytest.mark.parametrize("unit", WORKER_UNITS)
def test_the_worker_sees_a_read_only_system_and_a_private_tmp(deployed, unit):
    pid = running_worker(deployed, unit)
    in_worker = ("nsenter", "-t", str(pid), "-m", "--")  # the worker's own mount namespace
    assert deployed.run(*in_worker, "touch", "/etc/authfcgi/probe").returncode != 0
    assert deployed.run(*in_worker, "touch", "/usr/probe").returncode != 0
    # The work directory lives in the host's /tmp, which PrivateTmp= hides.
    assert deployed.run(*in_worker, "test", "-e", str(deployed.directory)).returncode != 0


@pytest.mark.parametrize("unit", WORKER_UNITS)
def test_the_worker_still_sees_the_database_socket(deployed, unit):
    # ProtectSystem=strict keeps /run read-only; connecting needs no write access.
    pid = running_worker(deployed, unit)
    db_socket = deployed.out("sed", "-n", "s/^db_socket = //p", "/etc/authfcgi/authfcgi.conf")
    assert db_socket.startswith("/run/mysqld/")
    assert deployed.run("nsenter", "-t", str(pid), "-m", "--", "test", "-S", db_socket
                        ).returncode == 0


@pytest.mark.parametrize("unit", [SERVICE, EXTRA, SPAWN])
def test_systemctl_stop_ends_the_worker_with_exit_status_0(deployed, unit):
    if unit == SPAWN:
        use(deployed, "spawn-fcgi")
    else:
        running_worker(deployed, unit)
    # (stderr may warn that authfcgi.socket can start the service again: expected here)
    stopped = deployed.stop(unit)
    assert stopped.returncode == 0, stopped.stderr
    assert stopped.main.startswith("Main process exited, code=exited, status=0/SUCCESS"), stopped
    assert stopped.result == "Deactivated successfully", stopped


def test_systemctl_show_records_the_clean_exit_after_a_stop(deployed):
    # authfcgi.socket keeps the service loaded, so its record can be read back.
    running_worker(deployed, SERVICE)
    assert deployed.stop(SERVICE).returncode == 0
    record = [deployed.prop(SERVICE, p) for p in ("Result", "ExecMainCode", "ExecMainStatus")]
    assert record == ["success", "1", "0"]  # ExecMainCode 1: CLD_EXITED


def test_after_a_stop_the_socket_listens_and_the_next_request_starts_the_worker(deployed):
    running_worker(deployed, SERVICE)
    assert deployed.stop(SERVICE).returncode == 0
    assert deployed.state("authfcgi.socket") == "active listening"
    assert deployed.http_status("/") == 200
    assert deployed.prop(SERVICE, "ActiveState") == "active"


@pytest.mark.fault
def test_a_killed_worker_is_replaced_restart_on_failure(deployed):
    old = running_worker(deployed, SERVICE)
    deployed.signal("KILL", old)
    new, deadline = 0, time.monotonic() + 15  # RestartSec=2
    while time.monotonic() < deadline:
        new = deployed.main_pid(SERVICE)
        if new not in (0, old) and deployed.prop(SERVICE, "ActiveState") == "active":
            break
        time.sleep(0.1)
    assert new not in (0, old), f"state {deployed.state(SERVICE)}"
    assert int(deployed.prop(SERVICE, "NRestarts")) >= 1
    assert deployed.http_status("/") == 200


@dataclass
class StartLimitRecord:
    refused_at: int  # the restart that failed (7: none did)
    states: str
    status_while_failed: int
    start_after_reset: int
    status_after_reset: int


@pytest.fixture(scope="module")
def start_limit(deployed) -> StartLimitRecord:
    """docs/operations.md: a sixth start within 10 s is refused, authfcgi.socket fails with it
    and its socket is gone (502) until reset-failed."""
    running_worker(deployed, SERVICE)
    deployed.systemctl("reset-failed", SERVICE)  # the counter starts here
    refused_at = 7
    for attempt in range(1, 7):
        if deployed.systemctl("restart", SERVICE).returncode != 0:
            refused_at = attempt
            break
    states = " ".join(f"{deployed.prop(u, 'ActiveState')}/{deployed.prop(u, 'Result')}"
                      for u in ("authfcgi.socket", SERVICE))
    status = deployed.http_status("/")
    deployed.systemctl("reset-failed", "authfcgi.socket", SERVICE)
    restart = deployed.systemctl("start", "authfcgi.socket").returncode
    return StartLimitRecord(refused_at, states, status, restart, deployed.http_status("/"))


@pytest.mark.fault
def test_a_sixth_start_within_10_s_is_refused(start_limit):
    assert start_limit.refused_at == 6


@pytest.mark.fault
def test_the_start_limit_fails_the_socket_and_the_service(start_limit):
    assert start_limit.states == "failed/service-start-limit-hit failed/start-limit-hit"


@pytest.mark.fault
def test_while_the_start_limit_holds_nginx_answers_502(start_limit):
    assert start_limit.status_while_failed == 502


@pytest.mark.fault
def test_after_reset_failed_the_socket_starts_and_requests_are_served(start_limit):
    assert start_limit.start_after_reset == 0
    assert start_limit.status_after_reset == 200


# =============================================================================================
# 4. authfcgi@2.service and the spawn-fcgi variant


def test_authfcgi_at_2_starts_next_to_authfcgi_service(deployed):
    use(deployed, "socket-unit")
    done = deployed.systemctl("start", SERVICE, EXTRA)
    assert done.returncode == 0, done.stderr
    assert deployed.state(EXTRA) == "active running"


def test_both_workers_accept_on_the_same_listening_socket(deployed):
    use(deployed, "socket-unit")
    deployed.start_workers(SERVICE, EXTRA)
    inode = deployed.listen_inode()
    fd0 = [deployed.out("readlink", f"/proc/{deployed.main_pid(u)}/fd/0") for u in (SERVICE, EXTRA)]
    assert inode and fd0 == [f"socket:[{inode}]"] * 2


@pytest.mark.fault
def test_authfcgi_at_2_serves_alone_while_authfcgi_service_is_frozen(deployed):
    use(deployed, "socket-unit")
    deployed.start_workers(SERVICE, EXTRA)
    frozen = deployed.main_pid(SERVICE)
    deployed.signal("STOP", frozen)
    try:
        answered = deployed.served(10)
    finally:
        deployed.signal("CONT", frozen)
    assert answered == 10


@dataclass
class SwitchRecord:
    start: subprocess.CompletedProcess[str]  # systemctl start authfcgi-spawn-fcgi.service
    pair_states: str
    jobs: str
    spawn_state: str
    logins: str


@pytest.fixture(scope="module")
def switch_to_spawn_fcgi(deployed, app_user) -> SwitchRecord:
    """authfcgi-spawn-fcgi.service started while the socket pair serves logins: authfcgi.service
    takes a moment to drain when the conflict stops it."""
    use(deployed, "socket-unit")
    deployed.start_workers(SERVICE)
    load = Load().start(deployed, ("login",) * 4, app_user, 5)
    try:
        time.sleep(1)
        start = deployed.systemctl("start", SPAWN)
    finally:
        load.finish()
    return SwitchRecord(
        start, f"{deployed.prop('authfcgi.socket', 'ActiveState')} "
               f"{deployed.prop(SERVICE, 'ActiveState')}",
        deployed.out("systemctl", "--no-pager", "list-jobs", "--no-legend"),
        deployed.state(SPAWN),
        # Not asserted: the switch itself is a restart that the web server sees (unit comment).
        f"logins around the switch: {load.count('ok')} answered, {load.count('FAIL')} failed")


def test_authfcgi_spawn_fcgi_starts_while_the_socket_pair_serves(switch_to_spawn_fcgi):
    assert switch_to_spawn_fcgi.start.returncode == 0, switch_to_spawn_fcgi.start.stderr


def test_conflicts_stops_the_socket_pair_before_spawn_fcgi_starts(switch_to_spawn_fcgi):
    # Conflicts= alone does not order the stop jobs before the start: without an ordering the
    # socket unit may still be listening (or remove the new socket, RemoveOnStop=) meanwhile.
    assert switch_to_spawn_fcgi.pair_states == "inactive inactive", switch_to_spawn_fcgi.logins


def test_no_job_is_left_running_after_the_switch(switch_to_spawn_fcgi):
    assert switch_to_spawn_fcgi.jobs == ""


def test_authfcgi_spawn_fcgi_is_active_running_after_the_switch(switch_to_spawn_fcgi):
    assert switch_to_spawn_fcgi.spawn_state == "active running"


def test_spawn_fcgi_becomes_the_worker_running_as_authfcgi(deployed):
    use(deployed, "spawn-fcgi")
    pid = deployed.main_pid(SPAWN)
    assert deployed.out("ps", "-o", "comm=,user=", "-p", str(pid)).split() == ["authfcgi",
                                                                              "authfcgi"]


def test_the_spawn_fcgi_unit_runs_one_process(deployed):
    use(deployed, "spawn-fcgi")
    procs = deployed.out("cat", f"/sys/fs/cgroup/system.slice/{SPAWN}/cgroup.procs")
    assert len(procs.split()) == 1, procs


@pytest.mark.parametrize("variant", VARIANTS)
def test_requests_through_nginx_are_answered(deployed, variant):
    use(deployed, variant)
    assert deployed.served(10) == 10


def test_stopping_spawn_fcgi_removes_run_authfcgi(deployed):
    use(deployed, "spawn-fcgi")
    assert deployed.stop(SPAWN).returncode == 0
    assert deployed.run("test", "-e", "/run/authfcgi").returncode != 0
