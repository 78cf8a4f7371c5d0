"""Database connections that the server closed while the workers were idle: a MariaDB restart,
KILL CONNECTION (what a failover or an operator does) and wait_timeout after a quiet night.
The server is back, so nobody may see a 503: each worker thread must notice its dead
connection and use a fresh one before it runs the request's statement.

These tests restart and reconfigure the database on purpose, so the module has a MariaDB of
its own. A burst sends 200 logged-in requests from twice as many concurrent clients as the
site has worker threads; bursts follow (a few at most) until the server's process list shows
that every thread has a connection opened after the event, i.e. every thread served some.
"""

from __future__ import annotations

import re
import threading
from collections import Counter
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from pathlib import Path

import pytest

from browser import Browser, is_logged_in_as, plain_session
from stack import LOOSE_THROTTLE, MariaDB, Site, User, private_mariadb, wait_until

REQUESTS = 200  # per burst
MAX_BURSTS = 5  # until every worker thread has served one: the accept race is not round-robin
WAIT_TIMEOUT = 2  # seconds, for SET GLOBAL wait_timeout


@dataclass
class Burst:
    requests: int = 0
    statuses: Counter = field(default_factory=Counter)
    logged_in: int = 0
    errors: list[str] = field(default_factory=list)
    connections: set[int] = field(default_factory=set)  # the site's, after the last burst

    def add(self, other: "Burst") -> None:
        self.requests += other.requests
        self.statuses.update(other.statuses)
        self.logged_in += other.logged_in
        self.errors += other.errors

    def summary(self) -> str:
        return (f"{self.requests} requests: statuses {dict(self.statuses)}, {self.logged_in} "
                f"pages show the user logged in, errors {self.errors[:3]}")


@dataclass
class IdleSite:
    site: Site
    db: MariaDB
    alice: User
    session_cookie: str

    @property
    def threads(self) -> int:
        """Worker threads of the site: processes x the configuration's last `threads` line."""
        counts = re.findall(r"^threads = (\d+)$", self.site.config.read_text(), re.MULTILINE)
        return self.site.processes * int(counts[-1])

    def connections(self) -> set[int]:
        """Ids of the site's database connections (its workers'; authctl is not running)."""
        rows = self.db.sql("SELECT ID FROM information_schema.PROCESSLIST "
                           f"WHERE USER = '{self.site.db_name}'")
        return {int(r) for r in rows.split()}

    def burst(self) -> Burst:
        """REQUESTS logged-in GET / with alice's session cookie, from 2 x threads clients that
        start together (each on its own keep-alive connection to the web server)."""
        clients = 2 * self.threads
        start = threading.Barrier(clients, timeout=30)
        result = Burst(requests=REQUESTS)
        lock = threading.Lock()

        def client(count: int) -> None:
            http = plain_session()
            start.wait()
            for _ in range(count):
                try:
                    page = http.get(self.site.base + "/", timeout=20, allow_redirects=False,
                                    headers={"Cookie": f"session={self.session_cookie}"})
                except Exception as e:  # noqa: BLE001 (counted as no answer)
                    with lock:
                        result.statuses[0] += 1
                        result.errors.append(repr(e))
                    continue
                with lock:
                    result.statuses[page.status_code] += 1
                    result.logged_in += is_logged_in_as(page, self.alice.username)

        shares = [REQUESTS // clients + (i < REQUESTS % clients) for i in range(clients)]
        with ThreadPoolExecutor(clients) as pool:
            for done in [pool.submit(client, n) for n in shares]:
                done.result(timeout=120)
        return result

    def bursts_over_every_thread(self, old: set[int]) -> Burst:
        """Bursts until every worker thread has a connection not in OLD (each has served a
        request since the connections in OLD were made), at most MAX_BURSTS of them."""
        total = Burst()
        for _ in range(MAX_BURSTS):
            total.add(self.burst())
            total.connections = self.connections()
            if len(total.connections) == self.threads and not total.connections & old:
                break
        return total


@pytest.fixture(scope="module")
def idle_mariadb(workdir: Path) -> MariaDB:
    """This module's own MariaDB: the tests restart it and change its globals."""
    yield from private_mariadb(workdir, "idle")


@pytest.fixture(scope="module")
def idle(idle_mariadb: MariaDB, make_site, server: str) -> IdleSite:  # noqa: ANN001
    # No mail: each worker process's delivery thread would hold a connection of its own.
    site = make_site(server, config=LOOSE_THROTTLE, mariadb=idle_mariadb, mail=False)
    alice = site.new_user()
    b = Browser(site.base)
    assert b.login(alice.email, alice.password).status_code == 302, "alice logs in"
    assert is_logged_in_as(b.get("/"), alice.username)
    return IdleSite(site, idle_mariadb, alice, b.cookie("session"))


def warm_up(idle: IdleSite) -> set[int]:
    """Gives every worker thread an open connection; their ids."""
    warm = idle.bursts_over_every_thread(set())
    assert warm.statuses == {200: warm.requests}, f"before the event: {warm.summary()}"
    assert len(warm.connections) == idle.threads, (
        f"one connection per worker thread before the event: {sorted(warm.connections)}")
    return warm.connections


def assert_no_error_on_any_thread(idle: IdleSite, after: Burst, old: set[int]) -> None:
    assert after.statuses == {200: after.requests}, after.summary()
    assert after.logged_in == after.requests, after.summary()
    assert len(after.connections) == idle.threads and not after.connections & old, (
        f"every worker thread served on a fresh connection: {sorted(after.connections)} "
        f"(before: {sorted(old)})")


@pytest.mark.fault
@pytest.mark.slow
def test_no_503_after_a_database_restart(idle):
    warm_up(idle)
    idle.db.stop()
    idle.db.start()  # returns once the server answers
    # Connection ids start from 1 again after a restart, and no connection survived it: every
    # connection the site has now is fresh.
    assert_no_error_on_any_thread(idle, idle.bursts_over_every_thread(set()), set())


@pytest.mark.fault
@pytest.mark.slow
def test_no_503_after_every_worker_connection_is_killed(idle):
    old = warm_up(idle)
    for connection in old:
        idle.db.sql(f"KILL CONNECTION {connection}")
    assert wait_until(lambda: not idle.connections() & old, 10), "the connections are gone"
    assert_no_error_on_any_thread(idle, idle.bursts_over_every_thread(old), old)


@pytest.mark.fault
@pytest.mark.slow
def test_no_503_after_connections_outlive_wait_timeout(idle):
    default = idle.db.sql("SELECT @@GLOBAL.wait_timeout").strip()
    idle.db.sql(f"SET GLOBAL wait_timeout = {WAIT_TIMEOUT}")
    try:
        # wait_timeout applies to connections opened after the change: new worker processes
        # open theirs on their first request.
        idle.site.workers.stop()
        idle.site.workers.start()
        old = warm_up(idle)
        assert wait_until(lambda: not idle.connections() & old, WAIT_TIMEOUT + 10), (
            f"the server closes the idle connections after wait_timeout = {WAIT_TIMEOUT} s")
        after = idle.bursts_over_every_thread(old)
    finally:
        idle.db.sql(f"SET GLOBAL wait_timeout = {default}")
    assert_no_error_on_any_thread(idle, after, old)
