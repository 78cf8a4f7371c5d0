"""The pool's status page and ping (SPEC "Operations"), behind nginx and Apache with two worker
processes: the counters are the whole pool's and move with the requests made, the OpenMetrics
text parses as Prometheus parses it, the shipped locations answer loopback only, and with
status_enabled off both pages are 404."""

from __future__ import annotations

import json

import pytest
import requests
from prometheus_client.openmetrics.parser import text_string_to_metric_families

from browser import Browser, is_logged_in_as
from mailbox import Mailbox, sent_to
from stack import LOOSE_THROTTLE, wait_until

PROCESSES = 2
THREADS = 2  # Site's threads = 2 per process


@pytest.fixture(scope="module")
def status_site(make_site, server):
    return make_site(server, processes=PROCESSES,
                     config=(*LOOSE_THROTTLE, "status_enabled = true"))


def status(site) -> dict:
    answer = requests.get(f"{site.base}/auth/status?json", timeout=10)
    assert answer.status_code == 200, answer.text
    assert answer.headers["Content-Type"] == "application/json"
    return json.loads(answer.text)


def test_ping_answers_pong(status_site):
    answer = requests.get(f"{status_site.base}/auth/ping", timeout=10)
    assert answer.status_code == 200
    assert answer.text.strip() == "pong"
    assert "Set-Cookie" not in answer.headers


def test_status_shows_every_worker_process_of_the_pool(status_site):
    # Whichever process answers, it reports the pool: the same processes and threads each time.
    for _ in range(10):
        figures = status(status_site)
        assert figures["processes"] == PROCESSES
        assert figures["threads"] == PROCESSES * THREADS
        assert figures["pool"] == status_site.workers.socket
        assert 1 <= figures["active_threads"] <= PROCESSES * THREADS  # this request, at least
        assert figures["idle_threads"] == figures["threads"] - figures["active_threads"]


def test_the_counters_move_with_the_requests_made_whichever_process_served_them(status_site):
    before = status(status_site)
    for _ in range(20):
        assert requests.get(f"{status_site.base}/", timeout=10).status_code == 200
    for _ in range(3):
        assert requests.get(f"{status_site.base}/no-such-page", timeout=10).status_code == 404
    after = status(status_site)
    # Each scrape counts itself as accepted: 23 pages and this scrape. Answered: the pages and
    # the first scrape (whose answer may be counted a moment after its bytes left).
    assert after["accepted_requests"] - before["accepted_requests"] == 24
    assert 20 <= after["responses"]["2xx"] - before["responses"]["2xx"] <= 21
    assert after["responses"]["4xx"] - before["responses"]["4xx"] == 3
    assert after["responses"]["5xx"] == before["responses"]["5xx"]
    assert after["start_time"] == before["start_time"]
    assert after["max_active_threads"] >= 1


def test_logins_and_the_gateways_answers_are_counted(status_site):
    user = status_site.new_user()
    before = status(status_site)
    assert Browser(status_site.base).login(user.email, "wrong-password").status_code == 200
    b = Browser(status_site.base)
    assert b.login(user.email, user.password).status_code == 302
    assert requests.get(f"{status_site.base}/private/", allow_redirects=False,
                        timeout=10).status_code == 302
    assert b.get("/private/").status_code == 200
    assert b.get("/admin/").status_code == 403
    after = status(status_site)
    delta = {k: after[k] - before[k] for k in (
        "logins_ok", "logins_failed", "logins_throttled", "verify_allowed", "verify_login",
        "verify_forbidden", "database_errors")}
    # Behind Apache the gateway's checks go to the authorizer's own pool (another socket, whose
    # listener answers AUTHORIZER requests only): they are its counts, not the site's.
    gateway = 1 if status_site.server == "nginx" else 0
    assert delta == {"logins_ok": 1, "logins_failed": 1, "logins_throttled": 0,
                     "verify_allowed": gateway, "verify_login": gateway,
                     "verify_forbidden": gateway, "database_errors": 0}


def test_a_remember_me_restore_is_counted(status_site):
    user = status_site.new_user()
    b = Browser(status_site.base)
    assert b.login(user.email, user.password, remember=True).status_code == 302
    b.restart()  # the session cookie is gone, the remember cookie stays
    before = status(status_site)
    assert is_logged_in_as(b.get("/"), user.username)
    assert status(status_site)["remember_restores"] - before["remember_restores"] == 1


def test_the_openmetrics_text_parses_and_agrees_with_the_json(status_site):
    answer = requests.get(f"{status_site.base}/auth/status?openmetrics", timeout=10)
    assert answer.status_code == 200
    assert answer.headers["Content-Type"] == (
        "application/openmetrics-text; version=1.0.0; charset=utf-8")
    assert answer.text.endswith("# EOF\n")
    families = {f.name: f for f in text_string_to_metric_families(answer.text)}
    assert all(name.startswith("authfcgi_") for name in families)
    assert families["authfcgi_accepted_requests"].type == "counter"
    assert families["authfcgi_processes"].samples[0].value == PROCESSES
    threads = {s.labels["state"]: s.value for s in families["authfcgi_threads"].samples}
    assert threads["active"] + threads["idle"] == PROCESSES * THREADS
    responses = {s.labels["class"]: s.value for s in families["authfcgi_responses"].samples
                 if s.name == "authfcgi_responses_total"}
    assert set(responses) == {"1xx", "2xx", "3xx", "4xx", "5xx"}
    logins = {s.labels["outcome"] for s in families["authfcgi_logins"].samples
              if s.name == "authfcgi_logins_total"}
    assert logins == {"ok", "failed", "throttled"}
    figures = status(status_site)
    accepted = families["authfcgi_accepted_requests"].samples[0].value
    assert figures["accepted_requests"] == accepted + 1  # the JSON scrape came next
    assert families["authfcgi_start_time_seconds"].samples[0].value == figures["start_time"]
    assert families["authfcgi_mail_queued"].samples[0].value == figures["mail_queued"]


def test_the_plain_text_page_has_a_line_per_field(status_site):
    answer = requests.get(f"{status_site.base}/auth/status", timeout=10)
    assert answer.headers["Content-Type"] == "text/plain; charset=utf-8"
    lines = dict(line.split(":", 1) for line in answer.text.splitlines())
    for field in ("pool", "start time", "processes", "accepted requests", "active threads",
                  "idle threads", "max active threads", "responses 2xx", "logins ok",
                  "remember-me restores", "verify allowed", "database errors", "mail queued",
                  "mail oldest age"):
        assert field in lines, field
    assert lines["processes"].strip() == str(PROCESSES)


def test_the_mail_waiting_in_the_outbox_is_shown_until_it_leaves(status_site):
    user = status_site.new_user()
    status_site.smtp.stop()
    try:
        b = Browser(status_site.base)
        b.get("/auth/reset")
        assert b.submit(b.form(), email=user.email).status_code == 302
        # The delivery thread turns the request into the reset mail, which cannot leave yet.
        assert wait_until(lambda: status(status_site)["mail_queued"] >= 1, timeout=10)
        # It waits, and ages (seconds since it was queued).
        assert wait_until(lambda: status(status_site)["mail_oldest_age"] >= 2, timeout=10)
        assert status(status_site)["mail_queued"] >= 1
    finally:
        status_site.smtp.start()
    Mailbox(status_site.smtp.maildir).wait_for(sent_to(user.email), timeout=30)
    assert wait_until(lambda: status(status_site)["mail_queued"] == 0, timeout=10)


def test_the_shipped_locations_answer_loopback_only(status_site):
    # 127.0.0.2 is loopback to the kernel, but not the address the snippets allow.
    other = Browser(status_site.base, address="127.0.0.2")
    assert other.get("/auth/status").status_code == 403
    assert other.get("/auth/ping").status_code == 403
    assert other.get("/").status_code == 200  # the site itself is everyone's


def test_without_status_enabled_both_pages_are_404(site):
    for path in ("/auth/status", "/auth/status?json", "/auth/ping"):
        assert requests.get(f"{site.base}{path}", timeout=10).status_code == 404, path
