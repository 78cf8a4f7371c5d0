"""nginx keeping connections to the workers (fastcgi_keep_conn on, upstream keepalive): each
kept connection holds the worker thread that waits for its next request, so nginx's idle ones
(worker_processes x keepalive) must stay fewer than the pool's threads. Here 2 nginx processes
x keepalive 1 < 2 x 2 worker threads: 64 clients at once are all answered, the connections
are reused, and one left idle is closed by the worker after its idle limit (2 s)."""

from __future__ import annotations

import subprocess
import threading
import time

import pytest
import requests

from browser import Browser, is_logged_in_as
from stack import (LOOSE_THROTTLE, WebServer, Workers, free_port, socket_group_for, socket_path,
                   wait_until)

CLIENTS = 64
ROUNDS = 10


@pytest.fixture(scope="module")
def kept(make_site):
    site = make_site("nginx", processes=1, config=LOOSE_THROTTLE, mail=False)
    workers = Workers(site.authfcgi, site.config, socket_path(site.directory, "kept.sock"),
                      site.directory, 2, socket_group_for("nginx"))
    site.add(workers)
    web = WebServer("nginx", site.directory / "nginx-kept", free_port(), workers.socket,
                    keepalive=1)
    site.add(web)
    return site, workers, web


def connections_to(socket: str) -> int:
    """Connected unix-socket ends on the workers' side of SOCKET (ss -x)."""
    out = subprocess.run(["ss", "-xH", "state", "connected", "src", socket],
                         capture_output=True, text=True, check=True).stdout
    return sum(1 for line in out.splitlines() if line.strip())


@pytest.mark.servers("nginx")
def test_the_workers_answer_kept_connections_again_and_again(kept):
    site, workers, web = kept
    session = requests.Session()
    for _ in range(20):
        assert session.get(f"{web.base}/", timeout=10).status_code == 200
    # nginx kept its connection(s) after the answers: the worker side is still connected.
    assert connections_to(workers.socket) >= 1
    assert "error" not in web.error_log.read_text(errors="replace").lower()


@pytest.mark.servers("nginx")
def test_64_clients_at_once_are_all_answered_with_a_pool_of_4_threads(kept):
    site, workers, web = kept
    user = site.new_user()
    b = Browser(web.base)
    assert b.login(user.email, user.password).status_code == 302
    cookies = b.session.cookies
    failures: list[str] = []
    lock = threading.Lock()

    def client(index: int) -> None:
        session = requests.Session()
        if index % 2:
            session.cookies.update(cookies)
        for _ in range(ROUNDS):
            try:
                page = session.get(f"{web.base}/", timeout=30)
                ok = (is_logged_in_as(page, user.username) if index % 2
                      else page.status_code == 200 and "Hello, Anonymous!" in page.text)
                problem = None if ok else f"client {index}: {page.status_code}"
            except requests.RequestException as error:
                problem = f"client {index}: {error}"
            if problem:
                with lock:
                    failures.append(problem)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(CLIENTS)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a client still waits: the pool stalled"
    assert failures == [], failures[:10]
    # Afterwards a new client is answered at once: no thread is left pinned.
    assert requests.get(f"{web.base}/auth/login", timeout=5).status_code == 200
    assert "upstream" not in web.error_log.read_text(errors="replace")


@pytest.mark.servers("nginx")
def test_an_idle_kept_connection_is_closed_by_the_worker(kept):
    site, workers, web = kept
    assert requests.get(f"{web.base}/", timeout=10).status_code == 200
    assert connections_to(workers.socket) >= 1
    time.sleep(2.0)  # the workers' idle limit for a kept connection
    assert wait_until(lambda: connections_to(workers.socket) == 0, timeout=5)
    # nginx saw the close and drops the connection: the next request opens a new one.
    assert requests.get(f"{web.base}/", timeout=10).status_code == 200
    assert "prematurely closed" not in web.error_log.read_text(errors="replace")
