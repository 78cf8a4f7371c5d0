"""Scale-out: two worker pools, as two hosts would run them (their own spawn-fcgi, socket and
configuration file; the same secret_key and database), behind one nginx whose upstream lists
both, and each behind an nginx of its own so a test can pick the pool.

nginx fronts the pools whichever server the run is for: the subject is the workers.
"""

from __future__ import annotations

import shutil
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from browser import Browser, is_anonymous, is_logged_in_as
from stack import Site, WebServer, Workers, crash_lines, free_port

THROTTLE = 3  # the pair limit: the shared count shows after a few failures
CONFIG = (f"throttle_pair_max_failures = {THROTTLE}", "throttle_stuffing_max_failures = 1000")


@dataclass
class Pools:
    site: Site  # pool A (its workers, its nginx, the database)
    pool_b: Workers
    a: str  # base URLs: nginx in front of pool A, of pool B, of both
    b: str
    shared: str
    shared_access_log: Path


@pytest.fixture(scope="module")
def pools(make_site) -> Pools:  # noqa: ANN001
    assert shutil.which("nginx"), "nginx is installed (it fronts both pools)"
    site = make_site("nginx", processes=1, config=CONFIG)
    # "Host" B: its own configuration file with the same secret, database and limits.
    config_b = site.write_config(site.directory / "authfcgi-b.conf", *CONFIG)
    text_b = config_b.read_text()
    assert f"secret_key = {site.secret}\n" in text_b
    assert f"throttle_pair_max_failures = {THROTTLE}\n" in text_b
    pool_b, web_b = site.add_pool(config=config_b, name="b")
    shared = site.add(WebServer("nginx", site.directory / "web-shared", free_port(),
                                site.workers.socket, extra_sockets=(pool_b.socket,)))
    return Pools(site, pool_b, site.base, web_b.base, shared.base, shared.access_log)


def login(base: str, email: str, password: str) -> tuple[Browser, requests.Response]:
    b = Browser(base)
    return b, b.login(email, password)


def test_a_login_through_one_nginx_is_recognised_whichever_pool_serves(pools):
    user = pools.site.new_user()
    b, answer = login(pools.shared, user.email, user.password)
    assert answer.status_code == 302
    greeted = sum(is_logged_in_as(b.get("/"), user.username) for _ in range(10))
    assert greeted == 10
    log = pools.shared_access_log.read_text()
    # The access log's last field is the socket that answered ($upstream_addr).
    served = {name: sum(line.endswith(f" unix:{sock}") for line in log.splitlines())
              for name, sock in (("A", pools.site.workers.socket), ("B", pools.pool_b.socket))}
    assert served["A"] > 0 and served["B"] > 0, f"requests served by each pool: {served}"


def test_a_session_from_pool_a_is_recognised_by_pool_b_and_back(pools):
    user = pools.site.new_user()
    a, answer = login(pools.a, user.email, user.password)
    assert answer.status_code == 302
    session = a.cookie("session")
    assert session
    through_b = Browser(pools.b)
    through_b.set_cookie("session", session)
    assert is_logged_in_as(through_b.get("/"), user.username)
    assert through_b.get("/secret").status_code == 200
    b, answer = login(pools.b, user.email, user.password)
    assert answer.status_code == 302
    through_a = Browser(pools.a)
    through_a.set_cookie("session", b.cookie("session"))
    assert is_logged_in_as(through_a.get("/"), user.username)


def test_a_logout_through_pool_b_is_anonymous_through_pool_a(pools):
    user = pools.site.new_user()
    a, answer = login(pools.a, user.email, user.password)
    assert answer.status_code == 302
    through_b = Browser(pools.b)
    through_b.set_cookie("session", a.cookie("session"))
    assert through_b.get("/auth/logout").status_code == 302
    assert is_anonymous(a.get("/")), "the copied cookie is anonymous through pool A"
    assert a.get("/secret").status_code == 302


def test_failures_through_pool_a_throttle_the_account_through_pool_b(pools):
    user = pools.site.new_user()
    for n in range(1, THROTTLE + 1):
        _, answer = login(pools.a, user.email, f"wrong password {n}")
        assert answer.status_code == 200, f"failure {n} through pool A"
        assert "Invalid email or password." in answer.text
    _, answer = login(pools.b, user.email, user.password)
    assert answer.status_code == 429, "the right password through pool B waits too"
    assert answer.headers.get("Retry-After", "").isdigit()
    assert "Too many failed login attempts." in answer.text
    _, answer = login(pools.shared, user.email, user.password)
    assert answer.status_code == 429, "and through the shared nginx"
    assert "event=login_throttled" in pools.pool_b.log_text()
    assert "event=login_failed" in pools.site.log_text()


def test_neither_pool_logs_a_crash(pools):
    assert pools.site.log_text() and pools.pool_b.log_text()
    assert not crash_lines(pools.site.log_text()) and not crash_lines(pools.pool_b.log_text())
