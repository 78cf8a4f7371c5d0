"""SIGHUP reloads the configuration file and the templates (SPEC "Operations"): a secret
rotated and a template changed while browsers keep asking, with no failed request and every
session kept; a bad new configuration refused and logged, the running one kept."""

from __future__ import annotations

import os
import shutil
import signal
import threading
import time

import pytest
import requests

from browser import Browser, is_anonymous, is_logged_in_as
from stack import LOOSE_THROTTLE, REPO, wait_until

MARKER = "Reloaded-template-marker"


@pytest.fixture
def reload_site(make_site, server, tmp_path):
    templates = tmp_path / "templates"
    shutil.copytree(REPO / "templates", templates)
    site = make_site(server, config=(*LOOSE_THROTTLE, f"templates_dir = {templates}"))
    site.templates = templates
    return site


def workers_of(site) -> list[tuple[int, object]]:
    pools = [site.workers] + ([site.authorizer] if site.authorizer else [])
    return [(pid, pool) for pool in pools for pid in pool.pids()]


def reload(site, expect: str = "reloaded") -> None:
    """SIGHUP to every worker process (as scripts/run reload and systemctl reload do), then
    waits until each has logged EXPECT."""
    workers = workers_of(site)
    before = {id(pool): pool.log_text().count(f"authfcgi: {expect}") for _, pool in workers}
    for pid, _ in workers:
        os.kill(pid, signal.SIGHUP)

    def logged() -> bool:
        for pool in {id(p): p for _, p in workers}.values():
            count = sum(1 for _, p in workers if p is pool)
            if pool.log_text().count(f"authfcgi: {expect}") - before[id(pool)] < count:
                return False
        return True

    assert wait_until(logged, timeout=15), site.log_text()[-2000:]


def rewrite_config(site, *lines: str) -> None:
    text = site.config.read_text()
    kept = [line for line in text.splitlines()
            if line.split("=", 1)[0].strip() not in {ln.split("=", 1)[0].strip() for ln in lines}]
    site.config.write_text("\n".join([*kept, *lines]) + "\n")


class Load:
    """Browsers asking for pages on threads until stopped; every answer is checked."""

    def __init__(self, site, browser: Browser, username: str, threads: int = 4) -> None:
        self.site, self.cookies, self.username = site, browser.session.cookies, username
        self.failures: list[str] = []
        self.answers = 0
        self.stop = threading.Event()
        self.lock = threading.Lock()
        self.threads = [threading.Thread(target=self.run, args=(i,)) for i in range(threads)]

    def run(self, index: int) -> None:
        session = requests.Session()
        session.cookies.update(self.cookies)
        anonymous = requests.Session()
        while not self.stop.is_set():
            try:
                page = session.get(f"{self.site.base}/", timeout=10)
                login = anonymous.get(f"{self.site.base}/auth/login", timeout=10)
                problem = None
                if not is_logged_in_as(page, self.username):
                    problem = f"/ {page.status_code}: not logged in"
                elif login.status_code != 200 or 'name="csrf_token"' not in login.text:
                    problem = f"/auth/login {login.status_code}"
            except requests.RequestException as error:
                problem = f"thread {index}: {error}"
            with self.lock:
                self.answers += 2
                if problem:
                    self.failures.append(problem)

    def __enter__(self) -> "Load":
        for t in self.threads:
            t.start()
        return self

    def __exit__(self, *exc) -> None:  # noqa: ANN002
        self.stop.set()
        for t in self.threads:
            t.join(timeout=30)


def test_a_secret_rotated_and_a_template_changed_under_load_fail_no_request(reload_site):
    site = reload_site
    user = site.new_user()
    steady = Browser(site.base)  # in the load: its session must survive the rotation
    assert steady.login(user.email, user.password).status_code == 302
    earlier = Browser(site.base)  # logged in with the old secret, asked only at the end
    assert earlier.login(user.email, user.password).status_code == 302
    old_secret = site.secret
    new_secret = os.urandom(32).hex()
    index = site.templates / "index.mustache"

    with Load(site, steady, user.username) as load:
        time.sleep(1.0)
        rewrite_config(site, f"secret_key = {new_secret}", f"previous_secret_keys = {old_secret}")
        index.write_text(index.read_text().replace("</h1>", f"</h1>\n<p>{MARKER}</p>"))
        reload(site)
        time.sleep(1.5)
        during = load.answers
    assert load.failures == [], load.failures[:10]
    assert during > 40, f"only {during} answers under load"

    page = steady.get("/")
    assert is_logged_in_as(page, user.username) and MARKER in page.text
    assert is_logged_in_as(earlier.get("/"), user.username), "the old secret still verifies"

    # A login now is signed with the new secret: it outlives the old secret's removal, and the
    # earlier browser's session (signed with the old one) does not.
    fresh = Browser(site.base)
    assert fresh.login(user.email, user.password).status_code == 302
    rewrite_config(site, f"secret_key = {new_secret}", "previous_secret_keys =")
    reload(site)
    assert is_logged_in_as(fresh.get("/"), user.username)
    assert is_anonymous(earlier.get("/"))


def test_a_bad_configuration_is_refused_logged_and_the_running_one_stays(reload_site):
    site = reload_site
    user = site.new_user()
    b = Browser(site.base)
    assert b.login(user.email, user.password).status_code == 302
    good = site.config.read_text()
    rewrite_config(site, "secret_key = too-short", "threads = many")
    reload(site, expect="reload refused")
    log = site.log_text()
    assert "secret_key must be at least 32 bytes" in log
    assert "too-short" not in log, "a secret's value never reaches the log"
    assert is_logged_in_as(b.get("/"), user.username), "the running secret still signs"

    # A broken template is refused the same way.
    site.config.write_text(good)
    index = site.templates / "index.mustache"
    index.write_text(index.read_text() + "{{#unclosed}}")
    reload(site, expect="reload refused")
    page = b.get("/")
    assert is_logged_in_as(page, user.username) and "unclosed" not in page.text
    assert all(os.path.exists(f"/proc/{pid}") for pid, _ in workers_of(site))
