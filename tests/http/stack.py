"""The real services of a test stack: a private MariaDB, spawn-fcgi workers, nginx or Apache.

Starting and stopping stays in bash (scripts/lib/common.sh), which scripts/run uses too; this
module calls those functions and turns a failed start into a StackError that names the service
and shows its log tail. Every wait is bounded there; nothing here sleeps without a limit.
"""

from __future__ import annotations

import itertools
import os
import secrets
import signal
import socket
import subprocess
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Callable

import requests

REPO = Path(__file__).resolve().parents[2]
COMMON = REPO / "scripts" / "lib" / "common.sh"
SERVERS = ("nginx", "apache")
# For sites whose tests fail logins from 127.0.0.1 on purpose: throttling has suites of its own.
LOOSE_THROTTLE = ("throttle_pair_max_failures = 1000", "throttle_stuffing_max_failures = 1000",
                  "throttle_distributed_max_failures = 1000")


_numbers = itertools.count(1)


def next_number() -> int:
    """A number no other site or user of this run has (names stay unique and short)."""
    return next(_numbers)


@dataclass(frozen=True)
class User:
    email: str
    username: str
    password: str


class StackError(RuntimeError):
    """A service of the test stack could not be started (or stopped)."""


def stop_all(parts, errors: list[str] | None = None) -> None:
    """Stops every part in the order given, all of them even when one fails; then raises one
    StackError with every failure (ERRORS: failures met before, to report with them)."""
    errors = list(errors or [])
    for part in parts:
        try:
            part.stop()
        except StackError as e:
            errors.append(str(e))
    if errors:
        raise StackError("\n".join(errors))


def tail(path: Path, lines: int = 25) -> str:
    try:
        text = Path(path).read_text(errors="replace")
    except OSError:
        return f"({path}: no log)"
    return "\n".join(text.splitlines()[-lines:])


def run_shell(script: Path, function: str, *args: str, timeout: float = 120,
              stdin: str | None = None, env: dict[str, str] | None = None
              ) -> subprocess.CompletedProcess[str]:
    """Runs FUNCTION of the bash library SCRIPT (scripts/lib/*.sh), with ENV added to the
    environment; never raises on its exit."""
    return subprocess.run(["bash", "-c", 'source "$0" && "$@"', str(script), function, *args],
                          input=stdin if stdin is not None else "", capture_output=True,
                          text=True, timeout=timeout, env={**os.environ, **(env or {})})


def shell(function: str, *args: str, service: str, logs: tuple[Path, ...] = (),
          timeout: float = 120, script: Path = COMMON, log_lines: int = 25,
          env: dict[str, str] | None = None) -> str:
    """Runs FUNCTION of SCRIPT (scripts/lib/common.sh by default); its stdout, or a StackError
    naming SERVICE with the function's stderr and the tails of LOGS."""
    try:
        done = run_shell(script, function, *args, timeout=timeout, env=env)
    except subprocess.TimeoutExpired as e:
        raise StackError(f"{service}: {function} did not finish within {timeout} s") from e
    if done.returncode != 0:
        parts = [f"{service}: {function} failed (exit {done.returncode})",
                 done.stderr.strip()[-3000:]]
        parts += [f"--- {log}, last lines ---\n{tail(log, log_lines)}" for log in logs]
        raise StackError("\n".join(p for p in parts if p))
    return done.stdout


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def socket_path(directory: Path, name: str) -> str:
    """A unix socket path that fits sun_path (common.sh shortens long ones)."""
    return shell("socket_path", str(directory), name, service="socket path").strip()


def wait_http(url: str, timeout: float = 30) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        try:
            if requests.get(url, timeout=2, allow_redirects=False).status_code < 400:
                return True
        except requests.RequestException:
            pass
        time.sleep(0.2)
    return False


def wait_until(condition: Callable[[], object], timeout: float, step: float = 0.1) -> bool:
    """Polls CONDITION until it holds or TIMEOUT seconds pass; its last answer."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if condition():
            return True
        time.sleep(step)
    return bool(condition())


def pid_alive(pid: int, name: str = "") -> bool:
    """PID exists, is not a zombie, and its command starts with NAME (a recycled pid is not
    ours): common.sh's pid_alive."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return False
    comm = stat[stat.index("(") + 1:stat.rindex(")")]
    state = stat[stat.rindex(")") + 2:][:1]
    return state not in ("Z", "X") and comm.startswith(name)


def pids_from_file(path: Path) -> list[int]:
    try:
        return [int(p) for p in Path(path).read_text().split() if p.isdigit()]
    except OSError:
        return []


def child_pids(pid: int) -> list[int]:
    """PID's current children (nginx's workers, Apache's children): common.sh's child_pids."""
    found: list[int] = []
    for children in Path(f"/proc/{pid}/task").glob("*/children"):
        try:
            found += [int(c) for c in children.read_text().split()]
        except OSError:
            pass
    return found


def random_password() -> str:
    return secrets.token_hex(16)


@dataclass
class MariaDB:
    """A private mariadbd with its data under DIRECTORY; unix socket only, no TCP."""

    directory: Path

    @property
    def socket(self) -> str:
        return socket_path(self.directory, "mysql.sock")

    @property
    def log(self) -> Path:
        return self.directory / "mariadb.log"

    def start(self) -> None:
        shell("mariadb_start", str(self.directory), service="MariaDB", logs=(self.log,),
              timeout=180)

    def stop(self) -> None:
        shell("mariadb_stop", str(self.directory), service="MariaDB", timeout=90)

    def create_database(self, name: str, user: str, password: str) -> None:
        shell("mariadb_create_app_db", str(self.directory), name, user, password,
              service="MariaDB", logs=(self.log,))

    def sql(self, statement: str) -> str:
        """Runs STATEMENT as the administrative account; tab-separated rows without headers."""
        done = subprocess.run(
            ["bash", "-c", 'source "$0" && mariadb_admin_sql "$1" -N -B -e "$2"', str(COMMON),
             str(self.directory), statement],
            capture_output=True, text=True, timeout=60, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise StackError(f"MariaDB: {statement!r} failed: {done.stderr.strip()}")
        return done.stdout


@dataclass
class Workers:
    """PROCESSES authfcgi processes started by spawn-fcgi on one unix socket (or on
    127.0.0.1:PORT, for Apache's authorizer), answering FastCGI requests in ROLE."""

    binary: Path
    config: Path
    socket: str
    directory: Path
    processes: int = 2
    socket_group: str = ""
    role: str = "responder"

    @property
    def pidfile(self) -> Path:
        return self.directory / f"{Path(self.socket).name}.pid"

    @property
    def log(self) -> Path:
        return self.directory / f"{Path(self.socket).name}.log"

    def start(self) -> None:
        shell("workers_start", self.socket, str(self.pidfile), str(self.log),
              str(self.processes), str(self.binary), str(self.config), self.socket_group,
              self.role, service="authfcgi workers (spawn-fcgi)", logs=(self.log,))

    def stop(self) -> None:
        shell("workers_stop", self.socket, str(self.pidfile), service="authfcgi workers")

    def pids(self) -> list[int]:
        return pids_from_file(self.pidfile)

    def log_text(self) -> str:
        return self.log.read_text(errors="replace") if self.log.exists() else ""


@dataclass
class Whoami:
    """scripts/lib/whoami.py on 127.0.0.1:PORT: the app behind the site's /whoami."""

    directory: Path
    port: int

    def start(self) -> None:
        shell("whoami_start", str(self.directory), str(self.port), service="whoami",
              logs=(self.directory / "whoami.log",))

    def stop(self) -> None:
        shell("whoami_stop", str(self.directory), service="whoami")


@dataclass
class SmtpSink:
    """scripts/lib/smtp_sink.py on 127.0.0.1:PORT: the SMTP server that keeps every mail in a
    Maildir (DIRECTORY/mail, or EXTRA_ARGS' --maildir; read it with mailbox.Mailbox). EXTRA_ARGS
    go to smtp_sink.py: --tls-cert F --tls-key F, --require-tls, --auth-user U
    --auth-password P, ... Stopping keeps the mails; start() again serves the same Maildir."""

    directory: Path
    port: int
    extra_args: tuple[str, ...] = ()

    @property
    def maildir(self) -> Path:
        args, found = list(self.extra_args), self.directory / "mail"
        for i, arg in enumerate(args):  # the last one wins, as in argparse
            if arg.startswith("--maildir="):
                found = Path(arg.split("=", 1)[1])
            elif arg == "--maildir" and i + 1 < len(args):
                found = Path(args[i + 1])
        return found

    @property
    def log(self) -> Path:
        return self.directory / "smtp.log"

    @property
    def url(self) -> str:
        return f"smtp://127.0.0.1:{self.port}"

    def start(self) -> None:
        shell("smtp_sink_start", str(self.directory), str(self.port), *self.extra_args,
              service="SMTP sink", logs=(self.log,))

    def stop(self) -> None:
        shell("smtp_sink_stop", str(self.directory), service="SMTP sink")

    def pids(self) -> list[int]:
        return pids_from_file(self.directory / "smtp.pid")


@dataclass
class WebServer:
    """A private nginx or Apache (conf/*/authfcgi-local.conf.in) in front of a worker socket;
    nginx may also have an upstream of several (EXTRA_SOCKETS: pools on several hosts)."""

    kind: str
    directory: Path
    port: int
    upstream_socket: str
    extra_sockets: tuple[str, ...] = ()
    extra_config: str = ""  # directives for the site: nginx's server block, Apache's server level
    whoami_port: int = 0  # the whoami app behind /whoami (0: /whoami answers 404)
    authorizer: str = ""  # Apache: the authorizer workers' 127.0.0.1:PORT for the gateway
    keepalive: int = 0  # nginx: idle connections kept to the workers per nginx process

    @property
    def base(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def error_log(self) -> Path:
        return self.directory / "logs" / "error.log"

    @property
    def access_log(self) -> Path:
        return self.directory / "logs" / "access.log"

    def start(self) -> None:
        if self.kind not in SERVERS:
            raise StackError(f"unknown web server {self.kind!r} (nginx or apache)")
        name = "nginx" if self.kind == "nginx" else "Apache"
        if self.extra_sockets and self.kind != "nginx":
            raise StackError("only the nginx site takes an upstream of several sockets")
        after = (self.authorizer,) if self.kind == "apache" and self.authorizer else ()
        shell(f"{self.kind}_start", str(self.directory), str(self.port), self.upstream_socket,
              *self.extra_sockets, *after, service=name, logs=(self.error_log, self.directory / "logs" / "start.log"),
              env={"AUTHFCGI_WHOAMI_PORT": str(self.whoami_port) if self.whoami_port else "",
                   "AUTHFCGI_NGINX_KEEPALIVE": str(self.keepalive) if self.keepalive else ""})
        if not wait_http(self.base + "/", 30):
            raise StackError(f"{name} on {self.base} does not answer\n"
                             f"--- {self.error_log} ---\n{tail(self.error_log)}")
        if self.extra_config:  # once the first children answer: they are the ones to replace
            self.reload_with(self.extra_config)

    def stop(self) -> None:
        shell(f"{self.kind}_stop", str(self.directory), service=self.kind)

    def reload_with(self, directives: str) -> None:
        """Adds DIRECTIVES to the rendered configuration and waits until every child of the
        server runs with it. The start functions render the template and start at once, so the
        running server re-reads its file: SIGHUP is a reload for nginx and a restart for Apache,
        and once none of the children from before is left, no request meets the old file."""
        nginx = self.kind == "nginx"
        conf = self.directory / ("nginx.conf" if nginx else "apache.conf")
        text = conf.read_text()
        if nginx:
            anchor = "        location / {"
            if anchor not in text:
                raise StackError(f"nginx: no `location /` in {conf} to put directives before")
            text = text.replace(anchor, f"{directives}\n{anchor}", 1)
        else:
            text += f"\n{directives}\n"
        conf.write_text(text)
        parents = pids_from_file(self.directory / ("nginx.pid" if nginx else "apache.pid"))
        if not parents:
            raise StackError(f"{self.kind}: no pid file in {self.directory}")
        before = set(child_pids(parents[0]))
        os.kill(parents[0], signal.SIGHUP)

        def renewed() -> bool:
            now = set(child_pids(parents[0]))
            return bool(now) and not now & before

        if not wait_until(renewed, 30):
            raise StackError(f"{self.kind} did not take up {conf} (an invalid directive?)\n"
                             f"--- {self.error_log} ---\n{tail(self.error_log)}")
        # What the stop functions kill besides the parent's children: the current ones.
        children = self.directory / ("nginx.workers" if nginx else "apache.children")
        children.write_text("".join(f"{pid}\n" for pid in child_pids(parents[0])))


def socket_group_for(server: str) -> str:
    """The group the worker socket needs so SERVER's processes may connect (Apache as root)."""
    return shell("web_server_group", server, service="web server group").strip()


@dataclass
class Site:
    """One authfcgi deployment: a database on MARIADB, a configuration, workers and a web
    server, with authctl at hand. Each site has a database of its own, so throttle counters
    and users of one never leak into another."""

    mariadb: MariaDB
    server: str
    directory: Path
    build: Path
    db_name: str
    processes: int = 2
    config_lines: tuple[str, ...] = ()
    web_config: str = ""  # directives added to the web server's site (WebServer.extra_config)
    smtp_args: tuple[str, ...] = ()  # for the SMTP sink (TLS, AUTH: SmtpSink.extra_args)
    mail: bool = True  # False: no SMTP sink, no smtp_url (no delivery thread), registration closed
    secret: str = field(default_factory=lambda: secrets.token_hex(32))
    db_password: str = field(default_factory=random_password)
    workers: Workers | None = None
    web: WebServer | None = None
    whoami: Whoami | None = None  # the app behind the protected /whoami
    authorizer: Workers | None = None  # Apache sites: the gateway's authorizer workers
    smtp: SmtpSink | None = None  # the mail server the workers deliver to (its Maildir)
    parts: list = field(default_factory=list)  # what start() and add_*() started, in order

    @property
    def authfcgi(self) -> Path:
        return self.build / "authfcgi"

    @property
    def authctl(self) -> Path:
        return self.build / "authctl"

    @property
    def config(self) -> Path:
        return self.directory / "authfcgi.conf"

    @property
    def base(self) -> str:
        assert self.web is not None, "the site is not started"
        return self.web.base

    @property
    def log(self) -> Path:
        assert self.workers is not None
        return self.workers.log

    def write_config(self, path: Path, *extra: str) -> Path:
        lines = [
            f"secret_key = {self.secret}",
            f"db_socket = {self.mariadb.socket}",
            f"db_user = {self.db_name}",
            f"db_password = {self.db_password}",
            f"db_name = {self.db_name}",
            f"templates_dir = {REPO / 'templates'}",
            f"sql_dir = {REPO / 'sql'}",
            "threads = 2",
        ]
        # A key of EXTRA replaces the default line (the configuration refuses a key twice).
        own = {line.split("=", 1)[0].strip() for line in extra}
        lines = [line for line in lines if line.split("=", 1)[0].strip() not in own]
        lines += extra
        path.write_text("\n".join(lines) + "\n")
        path.chmod(0o600)
        return path

    def start(self) -> "Site":
        self.directory.mkdir(parents=True, exist_ok=True)
        # Apache's children (www-data) must traverse the directories to reach the socket.
        self.directory.chmod(0o755)
        self.mariadb.create_database(self.db_name, self.db_name, self.db_password)
        # Mail: a sink of the site's own; links point at the site's web server (its port is
        # chosen now); registration is open; failed mails are tried again within seconds. A
        # key the site's own lines set is theirs (the configuration refuses a key twice).
        web_port = free_port()
        if self.mail:
            self.smtp = SmtpSink(self.directory / "smtp", free_port(), self.smtp_args)
            self.add(self.smtp)
        own_keys = {line.split("=", 1)[0].strip() for line in self.config_lines}
        mail_lines = [line for line in (
            f"smtp_url = {self.smtp.url}", f"public_url = http://127.0.0.1:{web_port}",
            "registration = open", "mail_retry_min = 1", "mail_retry_max = 2")
            if line.split("=", 1)[0].strip() not in own_keys] if self.smtp else []
        self.write_config(self.config, *mail_lines, *self.config_lines)
        migrated = self.ctl("db", "migrate")
        if migrated.returncode != 0:
            raise StackError(f"authctl db migrate failed:\n{migrated.stderr}")
        # The gateway's places (/private/, /whoami, /admin/): the app behind /whoami, and behind
        # Apache one worker process in the FastCGI authorizer role on a loopback port.
        self.whoami = Whoami(self.directory / "whoami", free_port())
        self.add(self.whoami)
        if self.server == "apache":
            self.authorizer = Workers(self.authfcgi, self.config, f"127.0.0.1:{free_port()}",
                                      self.directory, 1, role="authorizer")
            self.add(self.authorizer)
        self.workers, self.web = self.add_pool(processes=self.processes, name="w", port=web_port)
        return self

    def add(self, part: Workers | WebServer | Whoami) -> Workers | WebServer | Whoami:
        """Starts PART (workers or a web server of this site); Site.stop() stops it."""
        self.parts.append(part)  # before start: a half-started part is stopped too
        part.start()
        return part

    def add_pool(self, config: Path | None = None, server: str | None = None,
                 processes: int = 1, name: str = "", port: int = 0) -> tuple[Workers, WebServer]:
        """Another pool of workers on this site's database (CONFIG: this site's by default)
        behind a web server of its own, as a second host would run it."""
        name = name or f"pool{len(self.parts) // 2 + 1}"
        server = server or self.server
        workers = Workers(self.authfcgi, config or self.config,
                          socket_path(self.directory, f"{name}.sock"), self.directory,
                          processes, socket_group_for(server))
        self.add(workers)
        web = WebServer(server, self.directory / f"{server}-{name}", port or free_port(),
                        workers.socket, extra_config=self.web_config,
                        whoami_port=self.whoami.port if self.whoami else 0,
                        authorizer=self.authorizer.socket if self.authorizer else "")
        self.add(web)
        return workers, web

    def stop(self) -> None:
        """Stops every part, the last started first, all of them even when one fails."""
        parts, self.parts = self.parts, []
        stop_all(reversed(parts))

    def sql(self, statement: str) -> list[list[str]]:
        """STATEMENT on this site's own database; its rows as lists of strings."""
        out = self.mariadb.sql(f"USE `{self.db_name}`; {statement}")
        return [line.split("\t") for line in out.splitlines() if line]

    def ctl(self, *args: str, stdin: str | None = None, config: Path | None = None
            ) -> subprocess.CompletedProcess[str]:
        """authctl --config CONFIG ARGS...; its exit code, stdout and stderr."""
        return subprocess.run([str(self.authctl), "--config", str(config or self.config), *args],
                              input=stdin if stdin is not None else "", capture_output=True,
                              text=True, timeout=60)

    def add_user(self, email: str, username: str, password: str) -> None:
        done = self.ctl("user", "add", "--email", email, "--username", username,
                        stdin=password + "\n")
        if done.returncode != 0:
            raise StackError(f"authctl user add {email} failed (exit {done.returncode}): "
                             f"{done.stderr.strip()}")

    def new_user(self, password: str | None = None, email: str | None = None,
                 username: str | None = None) -> User:
        """A fresh account (authctl user add); unique email and username unless given."""
        n = next_number()
        user = User(email or f"user{n}@example.com", username or f"user{n}",
                    password or f"pass-{n} correct horse")
        self.add_user(user.email, user.username, user.password)
        return user

    def legacy_user(self, username: str) -> User:
        """An account whose username predates the username rule (authctl refuses such names
        now): made with a plain name, then renamed in the database."""
        user = self.new_user()
        self.sql(f"UPDATE users SET username = X'{username.encode().hex()}' "
                 f"WHERE email = X'{user.email.encode().hex()}'")
        return User(user.email, username, user.password)

    def log_text(self) -> str:
        assert self.workers is not None
        return self.workers.log_text()


CRASH_MARKERS = ("sanitizer", "segmentation", "core dumped", "terminate called")


def crash_lines(log: str) -> list[str]:
    """Lines of a worker log that tell of a crash (sanitizer reports, signals, std::terminate)."""
    return [line for line in log.splitlines() if any(m in line.lower() for m in CRASH_MARKERS)]


def env_build_dir() -> Path:
    directory = Path(os.environ.get("AUTHFCGI_BUILD_DIR", "build"))
    return directory if directory.is_absolute() else REPO / directory


def private_mariadb(workdir: Path, label: str):
    """A MariaDB of a test module's own, for tests that stop it or change its globals: other
    sites must not notice. A generator for a module fixture to yield from."""
    db = MariaDB(workdir / f"mariadb-{label}{next_number()}")
    db.start()
    try:
        yield db
    finally:
        db.stop()
