"""Fixtures of the package test: the .deb (env AUTHFCGI_DEB), installed by apt-get and purged,
and the installed files serving logins from a private MariaDB, the spawn-fcgi example and nginx
with the nginx example.

It installs and removes a system package, so it runs as root only (otherwise test_package.py
is skipped: "not root"), and refuses to run where authfcgi is already installed (as a package or by
hand under /usr). Whatever it does is undone on every exit path (a failure, Ctrl-C, SIGTERM):
the services stopped, the package purged, packages apt pulled in removed, the authfcgi account
deleted when it did not exist before, the temp dir removed (kept after a failure with
PACKAGE_TEST_KEEP=1).

The fixtures follow one machine through its life: `installed`, then `serving` (database,
config, workers, nginx), then `purged`, then `restored`. A fixture whose step failed fails
every test that needs it ("cannot go on"); the test named after the step says what went wrong.
"""

from __future__ import annotations

import grp
import os
import pwd
import re
import secrets
import shutil
import subprocess
import time
from contextlib import contextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable, Iterator

import pytest

from debpkg import (BIN_DIR, EXAMPLES, Apt, clean_env, contents, depends_names, dpkg_status,
                    installed_packages, known_to_dpkg, refusal, run, unit_links)
from stack import (REPO, MariaDB, StackError, free_port, pid_alive, pids_from_file,
                   random_password, shell, tail, wait_http, wait_until)


# --- may it run here? --------------------------------------------------------------------------
@pytest.fixture(scope="session", autouse=True)
def allowed_here() -> None:
    # Not root: test_package.py skips itself as a whole (one line in the summary).
    if not os.environ.get("AUTHFCGI_DEB"):
        pytest.exit("set AUTHFCGI_DEB=PATH/TO/authfcgi_VERSION_ARCH.deb", returncode=4)
    reason = refusal()
    if reason:
        pytest.exit(f"tests/package: {reason}", returncode=1)


@pytest.fixture(scope="session")
def deb() -> Path:
    path = Path(os.environ["AUTHFCGI_DEB"]).resolve()
    if not path.is_file():
        pytest.exit(f"no package at {os.environ['AUTHFCGI_DEB']}", returncode=4)
    return path


@pytest.fixture(scope="session")
def tmp(workdir: Path) -> Path:
    # The workers (account authfcgi) reach the database socket and nginx (www-data) the worker
    # socket through this directory (the work directory is 0755).
    directory = workdir / "package"
    directory.mkdir()
    return directory


# --- the machine: what was there before, and undoing the install ------------------------------
@dataclass
class Machine:
    tmp: Path
    apt: Apt
    packages_before: set[str]
    had_user: bool
    had_group: bool
    installed: bool = False  # apt-get install was started: undo it
    pulled_in: set[str] | None = None  # what that install added besides authfcgi
    services: list[tuple[str, Callable[[], None]]] = field(default_factory=list)
    asides: list[Path] = field(default_factory=list)

    def started(self, name: str, stop: Callable[[], None]) -> None:
        self.services.append((name, stop))

    def stop_services(self) -> list[str]:
        problems = []
        while self.services:
            name, stop = self.services.pop()
            try:
                stop()
            except (StackError, OSError, subprocess.SubprocessError) as e:
                problems.append(f"could not stop {name}: {e}")
        return problems

    @contextmanager
    def moved_aside(self, path: Path) -> Iterator[None]:
        """PATH renamed to PATH.test-aside for the block; put back even when interrupted."""
        aside = path.with_name(path.name + ".test-aside")
        path.rename(aside)
        self.asides.append(path)
        try:
            yield
        finally:
            self.put_back(path)

    def put_back(self, path: Path) -> None:
        aside = path.with_name(path.name + ".test-aside")
        if aside.is_dir():
            shutil.rmtree(path, ignore_errors=True)
            aside.rename(path)
        if path in self.asides:
            self.asides.remove(path)

    def undo_install(self) -> list[str]:
        """Purge, the packages apt pulled in, the account; what could not be undone."""
        problems = []
        if known_to_dpkg(dpkg_status("authfcgi")):
            if self.apt("remove", "--purge", "authfcgi") != 0:
                subprocess.run(["dpkg", "--purge", "authfcgi"], capture_output=True)
            if known_to_dpkg(dpkg_status("authfcgi")):
                problems.append(f"could not purge authfcgi (log: {self.apt.log})")
        added = installed_packages() - self.packages_before
        if self.pulled_in is not None:
            # Only what our install brought: a package someone else installed meanwhile stays.
            added &= self.pulled_in
        if added:
            print(f"removing what the install pulled in: {' '.join(sorted(added))}")
            if self.apt("remove", "--purge", *sorted(added)) != 0:
                problems.append(f"could not remove {' '.join(sorted(added))}")
        if not self.had_user and account_exists("authfcgi"):
            # Exit 8: a process still runs as authfcgi. Another suite on this machine (the
            # systemd test) may borrow the account's uid for a while: wait for it, bounded.
            deleted = wait_until(lambda: subprocess.run(
                ["userdel", "authfcgi"], capture_output=True).returncode != 8, 30, step=1)
            if not deleted or account_exists("authfcgi"):
                problems.append("could not delete the authfcgi account")
        if not self.had_group and group_exists("authfcgi"):
            if subprocess.run(["groupdel", "authfcgi"], capture_output=True).returncode != 0:
                problems.append("could not delete the authfcgi group")
        # Undone: the final teardown has nothing left to do (or tries again).
        self.installed = bool(problems)
        return problems


def account_exists(name: str) -> bool:
    try:
        pwd.getpwnam(name)
        return True
    except KeyError:
        return False


def group_exists(name: str) -> bool:
    try:
        grp.getgrnam(name)
        return True
    except KeyError:
        return False


@pytest.fixture(scope="session")
def machine(tmp: Path) -> Iterator[Machine]:
    m = Machine(tmp, Apt(tmp / "apt.log"), installed_packages(), account_exists("authfcgi"),
                group_exists("authfcgi"))
    # (tests/conftest.py makes SIGTERM end the run like Ctrl-C, so this teardown runs then too.)
    try:
        yield m
    finally:
        problems = m.stop_services()
        for path in list(m.asides):
            m.put_back(path)
        if m.installed:
            problems += m.undo_install()
        if problems:
            pytest.fail("clean-up: " + "; ".join(problems))


# --- the .deb, unpacked ----------------------------------------------------------------------
@pytest.fixture(scope="session")
def control(deb: Path) -> Callable[[str], str]:
    def field_of(name: str) -> str:
        return subprocess.run(["dpkg-deb", "-f", str(deb), name], capture_output=True,
                              text=True).stdout.strip()
    return field_of


@pytest.fixture(scope="session")
def dep_names(control: Callable[[str], str]) -> list[str]:
    return depends_names(control("Depends"))


@pytest.fixture(scope="session")
def deb_contents(deb: Path) -> dict[str, tuple[str, str]]:
    return contents(deb)


@pytest.fixture(scope="session")
def unpacked(deb: Path, tmp: Path) -> Path:
    target = tmp / "x"
    subprocess.run(["dpkg-deb", "-x", str(deb), str(target)], check=True)
    return target


@dataclass
class Lintian:
    """What lintian said of the .deb: its exit code, every tag line, and the error and warning
    tags among them (E:, W:)."""

    returncode: int
    output: str

    @property
    def tags(self) -> list[str]:
        return [line for line in self.output.splitlines() if re.match(r"^[EWIPXCO]: ", line)]

    @property
    def errors_and_warnings(self) -> list[str]:
        return [line for line in self.tags if line[:2] in ("E:", "W:")]


@pytest.fixture(scope="session")
def lintian(deb: Path, tmp: Path) -> Lintian:
    if not shutil.which("lintian"):
        pytest.fail("lintian is not installed (scripts/lib/common.sh installs it: apt-get "
                    "install lintian)")
    # Every tag, info and pedantic ones too, so a failure shows the whole report. 2: tags at
    # the levels of --fail-on; anything else but 0 is lintian itself failing.
    done = subprocess.run(["lintian", "--fail-on", "error,warning", "--display-info",
                           "--pedantic", "--tag-display-limit", "0", str(deb)],
                          capture_output=True, text=True, cwd=tmp, timeout=600,
                          stdin=subprocess.DEVNULL)
    return Lintian(done.returncode, done.stdout + done.stderr)


# --- apt-get install ---------------------------------------------------------------------------
@dataclass
class Step:
    """A step a test names and later fixtures need: its exit code and what it said."""

    returncode: int
    output: str = ""


@pytest.fixture(scope="session")
def install(machine: Machine, deb: Path, dep_names: list[str]) -> Step:
    missing = [n for n in dep_names if not dpkg_status(n).startswith("ii ")]
    if missing:
        print(f"dependencies not installed yet ({' '.join(missing)}): apt-get update first")
        machine.apt("update")
    machine.installed = True
    # From a directory apt's sandbox user (_apt) can read, so apt does not warn about it; and
    # as the docs say: from the package's directory, by its ./ path.
    shutil.copy(deb, machine.tmp / deb.name)
    (machine.tmp / deb.name).chmod(0o644)
    rc = machine.apt("install", f"./{deb.name}", cwd=machine.tmp)
    machine.pulled_in = installed_packages() - machine.packages_before - {"authfcgi"}
    return Step(rc, machine.apt.tail())


@pytest.fixture(scope="session")
def installed(install: Step) -> Step:
    if install.returncode != 0:
        pytest.fail(f"cannot go on: apt-get install failed (exit {install.returncode}):\n"
                    f"{install.output}")
    return install


# --- the installed package serving logins ----------------------------------------------------
@dataclass
class Serving:
    tmp: Path
    db: MariaDB
    db_password: str
    conf: Path
    email: str = "package-test@example.com"
    username: str = "pkgtester"
    password: str = field(default_factory=random_password)

    @property
    def run_dir(self) -> Path:
        return self.tmp / "run"

    @property
    def log_dir(self) -> Path:
        return self.tmp / "log"

    @property
    def web_dir(self) -> Path:
        return self.tmp / "nginx"

    @property
    def worker_pidfile(self) -> Path:
        return self.run_dir / "authfcgi.pid"

    @property
    def worker_socket(self) -> Path:
        return self.run_dir / "authfcgi.sock"

    @property
    def worker_log(self) -> Path:
        return self.log_dir / "authfcgi.log"

    def ctl(self, *args: str, stdin: str = "") -> subprocess.CompletedProcess[str]:
        return run(BIN_DIR / "authctl", "--config", self.conf, *args, stdin=stdin)


def config_from_example(example: str, secret: str, db_socket: str, db_password: str) -> str:
    """The installed example with only the secret and the database access set."""
    wanted = {"# secret_key =": f"secret_key = {secret}",
              "# db_socket =": f"db_socket = {db_socket}",
              "# db_user = authfcgi": "db_user = authfcgi",
              "# db_password =": f"db_password = {db_password}"}
    return "".join(wanted.get(line.rstrip("\n"), line.rstrip("\n")) + "\n"
                   for line in example.splitlines())


@pytest.fixture(scope="session")
def serving(machine: Machine, installed: Step) -> Serving:
    """A private MariaDB with the database authfcgi, and the configuration kept as the docs
    say (root:authfcgi, 640, in a 750 directory)."""
    db = MariaDB(machine.tmp / "db")
    machine.started("MariaDB", db.stop)
    db.start()
    (machine.tmp / "db").chmod(0o755)
    db_password = random_password()
    db.create_database("authfcgi", "authfcgi", db_password)
    etc = machine.tmp / "etc"
    etc.mkdir(mode=0o750)
    os.chown(etc, 0, grp.getgrnam("authfcgi").gr_gid)
    conf = etc / "authfcgi.conf"
    conf.write_text(config_from_example(
        (EXAMPLES / "authfcgi.conf.example").read_text(), secrets.token_hex(32), db.socket,
        db_password))
    os.chown(conf, 0, grp.getgrnam("authfcgi").gr_gid)
    conf.chmod(0o640)
    return Serving(machine.tmp, db, db_password, conf)


@pytest.fixture(scope="session")
def migrate(serving: Serving) -> Step:
    done = serving.ctl("db", "migrate")
    return Step(done.returncode, done.stderr)


@pytest.fixture(scope="session")
def migrated(migrate: Step) -> Step:
    if migrate.returncode != 0:
        pytest.fail(f"cannot go on: authctl db migrate failed (exit {migrate.returncode}): "
                    f"{migrate.output}")
    return migrate


@pytest.fixture(scope="session")
def user_add(serving: Serving, migrated: Step) -> Step:
    done = serving.ctl("user", "add", "--email", serving.email, "--username",
                       serving.username, stdin=serving.password + "\n")
    return Step(done.returncode, done.stdout + done.stderr)


@pytest.fixture(scope="session")
def account(serving: Serving, user_add: Step) -> Serving:
    if user_add.returncode != 0:
        pytest.fail(f"cannot go on: authctl user add failed (exit {user_add.returncode}): "
                    f"{user_add.output}")
    return serving


@dataclass
class Spawned:
    returncode: int
    output: str
    pids: list[int]
    alive: list[int]


@pytest.fixture(scope="session")
def spawn(machine: Machine, serving: Serving, migrated: Step) -> Spawned:
    """The installed spawn-fcgi example with its paths moved under the temp dir (socket, pid
    file, log, config); binary, account, socket owner, group and mode as shipped."""
    example = (EXAMPLES / "spawn-fcgi" / "authfcgi.spawn-fcgi").read_text()
    script = serving.tmp / "authfcgi.spawn-fcgi"
    script.write_text(example.replace("/run/authfcgi", str(serving.run_dir))
                      .replace("/var/log/authfcgi", str(serving.log_dir))
                      .replace("/etc/authfcgi/authfcgi.conf", str(serving.conf)))
    machine.started("the workers", lambda: shell(
        "workers_stop", str(serving.worker_socket), str(serving.worker_pidfile),
        service="authfcgi workers"))
    done = subprocess.run(["setsid", "-w", "sh", str(script)], capture_output=True, text=True,
                          stdin=subprocess.DEVNULL, cwd="/", env=clean_env(), timeout=60)
    pids = pids_from_file(serving.worker_pidfile)
    # A worker that refuses its configuration exits at once: give it a moment.
    time.sleep(0.5)
    return Spawned(done.returncode, (done.stdout + done.stderr)[-2000:], pids,
                   [p for p in pids if pid_alive(p, "authfcgi")])


@pytest.fixture(scope="session")
def workers(spawn: Spawned, serving: Serving) -> list[int]:
    if spawn.returncode != 0 or len(spawn.alive) != 2:
        pytest.fail(f"cannot go on: the spawn-fcgi example (exit {spawn.returncode}) left "
                    f"{len(spawn.alive)} of 2 workers running; log:\n{tail(serving.worker_log, 5)}")
    return spawn.pids


@dataclass
class NginxSite:
    directory: Path
    port: int
    site: Path
    main: Path

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def args(self) -> list[str]:
        return ["-p", str(self.directory), "-c", str(self.main),
                "-e", str(self.directory / "logs" / "error.log")]


@pytest.fixture(scope="session")
def nginx_site(serving: Serving) -> NginxSite:
    """The installed nginx site with the socket, log paths and port moved; run as root with
    the user www-data, as Debian's nginx.conf does (the socket's group). The site is meant for
    http{} of that nginx.conf: a minimal main file with its own pid and temp paths stands in."""
    d = serving.web_dir
    (d / "logs").mkdir(parents=True)
    (d / "tmp").mkdir()
    shutil.copy("/etc/nginx/fastcgi_params", d)
    port = free_port()
    has_ipv6_loopback = any(line.split()[-1] == "lo"
                            for line in Path("/proc/net/if_inet6").read_text().splitlines()
                            if line.strip()) if Path("/proc/net/if_inet6").exists() else False
    listen6 = f"listen [::1]:{port};" if has_ipv6_loopback else "# no IPv6 loopback here"
    site = (EXAMPLES / "nginx" / "authfcgi.conf").read_text()
    site = site.replace("/run/authfcgi/authfcgi.sock", str(serving.worker_socket))
    site = site.replace("/var/log/nginx/", f"{d}/logs/")
    site = re.sub(r"^(\s*)listen 80;", rf"\g<1>listen 127.0.0.1:{port};", site, flags=re.M)
    site = re.sub(r"^(\s*)listen \[::\]:80;", rf"\g<1>{listen6}", site, flags=re.M)
    (d / "site.conf").write_text(site)
    (d / "nginx.conf").write_text(f"""\
user www-data www-data;
worker_processes 1;
pid {d}/nginx.pid;
error_log {d}/logs/error.log;
events {{ worker_connections 64; }}
http {{
    access_log {d}/logs/access.log;
    client_body_temp_path {d}/tmp/body;
    fastcgi_temp_path {d}/tmp/fastcgi;
    proxy_temp_path {d}/tmp/proxy;
    uwsgi_temp_path {d}/tmp/uwsgi;
    scgi_temp_path {d}/tmp/scgi;
    include {d}/site.conf;
}}
""")
    return NginxSite(d, port, d / "site.conf", d / "nginx.conf")


@pytest.fixture(scope="session")
def web(machine: Machine, nginx_site: NginxSite, workers: list[int]) -> NginxSite:
    d = nginx_site.directory
    checked = subprocess.run(["nginx", "-t", "-q", *nginx_site.args], capture_output=True,
                             text=True)
    if checked.returncode != 0:
        pytest.fail(f"cannot go on: nginx -t rejects the installed site: {checked.stderr}")
    machine.started("nginx", lambda: shell("nginx_stop", str(d), service="nginx"))
    shell("nginx_start_conf", str(d), str(nginx_site.port), str(nginx_site.main),
          service="nginx (the installed site)", logs=(d / "logs" / "error.log",))
    if not wait_http(nginx_site.base + "/auth/login", 10):
        pytest.fail(f"cannot go on: nginx from the installed site does not answer on "
                    f"{nginx_site.base}:\n{tail(d / 'logs' / 'error.log', 10)}")
    return nginx_site


@pytest.fixture(scope="session")
def smoke(web: NginxSite, account: Serving) -> Step:
    done = subprocess.run(
        [str(REPO / "scripts" / "smoke"), web.base], capture_output=True, text=True,
        timeout=120, stdin=subprocess.DEVNULL,
        env=clean_env(SMOKE_EMAIL=account.email, SMOKE_PASSWORD=account.password,
                      SMOKE_USERNAME=account.username))
    return Step(done.returncode, done.stdout + done.stderr)


# --- apt-get remove --purge, and the machine as it was -----------------------------------------
@dataclass
class Purge:
    enable_links: list[Path] | None  # None: no systemctl here
    returncode: int
    log: str


@pytest.fixture(scope="session")
def purged(machine: Machine, installed: Step) -> Purge:
    problems = machine.stop_services()
    if problems:
        pytest.fail("; ".join(problems))
    # An enabled unit leaves links in /etc: the purge must take them away with the units.
    links = None
    if shutil.which("systemctl"):
        with machine.apt.log.open("a") as log:
            subprocess.run(["systemctl", "--no-reload", "enable", "authfcgi.socket",
                            "authfcgi.service"], stdout=log, stderr=subprocess.STDOUT)
        links = [p for p in unit_links() if p.is_symlink()]
    rc = machine.apt("remove", "--purge", "authfcgi")
    return Purge(links, rc, machine.apt.tail())


@dataclass
class Restored:
    machine: Machine
    problems: list[str]


@pytest.fixture(scope="session")
def restored(machine: Machine, purged: Purge) -> Restored:
    """The install undone as the teardown would: what it could not undo, the tests show."""
    return Restored(machine, machine.undo_install())
