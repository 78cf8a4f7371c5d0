"""Fixtures for the Galera suite: a real two-node MariaDB Galera cluster on loopback.

    galera       the cluster (node 1 bootstraps it, node 2 joins by rsync state transfer),
                 started once per run and stopped (joiner first) on every path
    app_db       a database and account created on node 1, plus authfcgi_test for the DB tests
    migrator     authctl db migrate against node 1 (socket) and node 2 (TCP), run together

Starting and stopping the nodes is bash (scripts/lib/galera.sh); the rest is Python.
--keep keeps the work directory (logs); AUTHFCGI_GALERA_PROVIDER overrides the provider
library (default: Debian's galera-4).
"""

from __future__ import annotations

import os
import pwd
import shutil
import subprocess
import time
from dataclasses import dataclass, field
from functools import cached_property
from pathlib import Path

import pytest

from stack import REPO, StackError, free_port, random_password, shell, stop_all, tail

GALERA_SH = REPO / "scripts" / "lib" / "galera.sh"
PROVIDER = os.environ.get("AUTHFCGI_GALERA_PROVIDER", "/usr/lib/galera/libgalera_smm.so")
APP_DB = "authfcgi_galera"
TEST_DB = "authfcgi_test"  # the DB test binary insists on "test" in the name
DB_USER = "authfcgi"
LOG_TAILS = pytest.StashKey[str]()


def galera_shell(function: str, *args: str, service: str, logs: tuple[Path, ...] = (),
                 timeout: float = 60) -> str:
    """FUNCTION of scripts/lib/galera.sh (stack.shell: a StackError names SERVICE)."""
    return shell(function, *args, service=service, logs=logs, timeout=timeout,
                 script=GALERA_SH, log_lines=30)


def admin_account() -> str:
    return "root" if os.geteuid() == 0 else pwd.getpwuid(os.geteuid()).pw_name


@dataclass
class Node:
    number: int
    directory: Path

    @property
    def name(self) -> str:
        return f"node{self.number}"

    @property
    def log(self) -> Path:
        return self.directory / "mariadb.log"

    @cached_property
    def socket(self) -> str:
        return galera_shell("galera_socket", str(self.directory), service=self.name).strip()

    @property
    def port(self) -> int:
        return int((self.directory / "port").read_text())

    def start(self, *options: str) -> None:
        # galera_start bounds its own wait (90 s); this timeout is only a backstop.
        galera_shell("galera_start", str(self.directory), self.name, *options,
                     service=f"Galera {self.name}", logs=(self.log,), timeout=180)

    def stop(self) -> None:
        galera_shell("galera_stop", str(self.directory), service=f"Galera {self.name}",
                     timeout=90)

    def client_command(self, statement: str) -> list[str]:
        """The administrative account runs STATEMENT; wsrep_sync_wait makes a read see every
        write committed anywhere in the cluster before it."""
        return ["mariadb", "--no-defaults", f"--socket={self.socket}", "-u", admin_account(),
                "--connect-timeout=5", "--init-command=SET SESSION wsrep_sync_wait = 1",
                "-N", "-B", "-e", statement]

    def client(self, statement: str) -> subprocess.CompletedProcess[str]:
        """STATEMENT's exit code, rows and error text."""
        return subprocess.run(self.client_command(statement), capture_output=True, text=True,
                              timeout=60, stdin=subprocess.DEVNULL)

    def client_in_background(self, statement: str) -> subprocess.Popen:
        """STATEMENT in a session that lives until the statement ends (or the process does)."""
        return subprocess.Popen(self.client_command(statement), stdin=subprocess.DEVNULL,
                                stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)

    def sql(self, statement: str) -> str:
        """STATEMENT's rows, tab-separated, without headers; a StackError if it fails."""
        done = self.client(statement)
        if done.returncode != 0:
            raise StackError(f"{self.name}: {statement!r} failed: {done.stderr.strip()}")
        return done.stdout.strip()


@dataclass
class Cluster:
    directory: Path
    nodes: list[Node] = field(default_factory=list)

    def start(self) -> None:
        gcomm = [free_port(), free_port()]
        address = "gcomm://" + ",".join(f"127.0.0.1:{port}" for port in gcomm)
        self.nodes = [Node(n, self.directory / f"node{n}") for n in (1, 2)]
        for node, port in zip(self.nodes, gcomm):
            galera_shell("galera_write_config", str(node.directory), node.name, address,
                         str(port), PROVIDER, service=f"Galera {node.name}")
        first, second = self.nodes
        galera_shell("galera_install", str(first.directory), service=f"Galera {first.name}",
                     timeout=120)
        first.start("--wsrep-new-cluster")
        second.start()

    def stop(self) -> None:
        # The joiner first, so the bootstrap node is the last one of the cluster to go.
        stop_all(reversed(self.nodes))

    def log_tails(self) -> str:
        return "\n".join(f"--- {node.log}, last lines ---\n{tail(node.log, 15)}"
                         for node in self.nodes)


@pytest.fixture(scope="session")
def galera(request: pytest.FixtureRequest, workdir: Path) -> Cluster:
    galera_shell("galera_check_tools", PROVIDER, service="Galera")
    cluster = Cluster(workdir)
    try:
        cluster.start()
        yield cluster
    finally:
        if request.session.testsfailed:
            request.config.stash[LOG_TAILS] = cluster.log_tails()
        cluster.stop()


def pytest_terminal_summary(terminalreporter, exitstatus, config) -> None:  # noqa: ANN001
    """The nodes' logs, when a test failed: the cluster's side of the story."""
    tails = config.stash.get(LOG_TAILS, "")
    if tails:
        terminalreporter.section("Galera node logs")
        terminalreporter.write_line(tails)


@dataclass(frozen=True)
class AppDb:
    name: str
    user: str
    password: str
    test_name: str = TEST_DB  # for the DB test binary, same account


@pytest.fixture(scope="session")
def app_db(galera: Cluster) -> AppDb:
    """DDL and account changes on node 1, replicated to node 2 (total order isolation). The
    account exists for the socket (localhost) and for TCP from 127.0.0.1 (names are not
    resolved)."""
    db = AppDb(APP_DB, DB_USER, random_password())
    accounts = f"'{db.user}'@'localhost', '{db.user}'@'127.0.0.1'"
    galera.nodes[0].sql(f"""
        CREATE DATABASE {db.name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
        CREATE DATABASE {db.test_name} CHARACTER SET utf8mb4 COLLATE utf8mb4_unicode_ci;
        CREATE USER '{db.user}'@'localhost' IDENTIFIED BY '{db.password}';
        CREATE USER '{db.user}'@'127.0.0.1' IDENTIFIED BY '{db.password}';
        GRANT ALL PRIVILEGES ON `{db.name}`.* TO {accounts};
        GRANT ALL PRIVILEGES ON `{db.test_name}`.* TO {accounts};""")
    return db


@dataclass
class MigrationRun:
    """Two `authctl db migrate` started together, one per node."""

    codes: dict[int, int | None]  # None: still running after the timeout (then killed)
    outputs: dict[int, str]
    seconds: float

    def applied(self) -> list[int]:
        """The versions both runs report as applied, sorted (a duplicate shows twice)."""
        versions = []
        for text in self.outputs.values():
            for line in text.splitlines():
                if line.startswith("authctl: applied migrations "):
                    versions += [int(v) for v in line.split(" ", 3)[3].split(",") if v.strip()]
        return sorted(versions)

    def describe(self) -> str:
        return " | ".join(f"node {n} (exit {self.codes[n]}): {' '.join(out.split())}"
                          for n, out in self.outputs.items())


@dataclass
class Migrator:
    build: Path
    directory: Path
    sql_dir: Path
    configs: dict[int, Path]

    def versions_on_disk(self) -> list[int]:
        return sorted(int(p.name.split("_")[0]) for p in self.sql_dir.glob("[0-9]*_*.sql"))

    def run_both(self, name: str, timeout: float = 90) -> MigrationRun:
        """authctl db migrate against node 1 and node 2 at the same time; output kept in
        NAME.node{1,2}.log."""
        started = time.monotonic()
        processes = {}
        try:
            for node, config in self.configs.items():
                with open(self.directory / f"{name}.node{node}.log", "w") as out:
                    processes[node] = subprocess.Popen(
                        [str(self.build / "authctl"), "--config", str(config), "db", "migrate"],
                        stdin=subprocess.DEVNULL, stdout=out, stderr=subprocess.STDOUT)
            codes = {}
            for node, process in processes.items():
                left = max(0.1, started + timeout - time.monotonic())
                try:
                    codes[node] = process.wait(timeout=left)
                except subprocess.TimeoutExpired:
                    codes[node] = None
        finally:
            for process in processes.values():
                if process.poll() is None:
                    process.kill()
                    process.wait(timeout=10)
        outputs = {node: (self.directory / f"{name}.node{node}.log").read_text(errors="replace")
                   for node in processes}
        return MigrationRun(codes, outputs, time.monotonic() - started)

    def run_one(self, node: int, timeout: float = 60) -> subprocess.CompletedProcess[str]:
        return subprocess.run(
            [str(self.build / "authctl"), "--config", str(self.configs[node]), "db", "migrate"],
            stdin=subprocess.DEVNULL, stdout=subprocess.PIPE, stderr=subprocess.STDOUT,
            text=True, timeout=timeout)


@pytest.fixture(scope="session")
def migrator(galera: Cluster, app_db: AppDb, workdir: Path, build_dir: Path) -> Migrator:
    """Node 1 through its socket, node 2 over TCP, as two hosts pointing at two nodes would;
    the migrations are a copy of sql/, so a test may add one."""
    sql_dir = workdir / "sql"
    sql_dir.mkdir()
    for migration in (REPO / "sql").glob("[0-9]*.sql"):
        shutil.copy(migration, sql_dir)
    configs = {}
    for node in galera.nodes:
        where = ([f"db_socket = {node.socket}"] if node.number == 1
                 else ["db_host = 127.0.0.1", f"db_port = {node.port}"])
        config = workdir / f"node{node.number}.conf"
        config.write_text("\n".join([
            *where,
            f"db_user = {app_db.user}",
            f"db_password = {app_db.password}",
            f"db_name = {app_db.name}",
            f"templates_dir = {REPO / 'templates'}",
            f"sql_dir = {sql_dir}",
            "threads = 1",
        ]) + "\n")
        config.chmod(0o600)
        configs[node.number] = config
    return Migrator(build_dir, workdir, sql_dir, configs)
