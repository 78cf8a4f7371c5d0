"""An unknown email and a wrong password are indistinguishable: same status, same page, same
cookies, same time (so nobody learns which emails have an account)."""

from __future__ import annotations

import statistics
import time
from dataclasses import dataclass, field

import pytest

from browser import Browser, blank_values
from stack import crash_lines

PAIRS = 20
ALICE_PASSWORD = "alice-Pass-1 & more"


@dataclass
class Answer:
    status: int
    page: str  # attribute values blanked, the typed email replaced
    cookies: list[str]  # Set-Cookie names, sorted


@dataclass
class Runs:
    unknown: list[Answer] = field(default_factory=list)
    wrong: list[Answer] = field(default_factory=list)
    unknown_seconds: list[float] = field(default_factory=list)
    wrong_seconds: list[float] = field(default_factory=list)


def timed_login(browser: Browser, email: str, password: str) -> tuple[Answer, float]:
    browser.get("/auth/login")
    form = browser.form()
    start = time.perf_counter()
    answer = browser.submit(form, email=email, password=password)
    seconds = time.perf_counter() - start
    names = sorted(h.split("=", 1)[0].strip() for h in answer.raw.headers.getlist("Set-Cookie"))
    return Answer(answer.status_code, blank_values(answer.text).replace(email, "EMAIL"),
                  names), seconds


@pytest.fixture(scope="module")
def runs(site) -> Runs:
    """PAIRS logins of each kind, interleaved so load on the machine hits both alike."""
    alice = site.new_user(password=ALICE_PASSWORD)
    unknown_browser, wrong_browser = Browser(site.base), Browser(site.base)
    runs = Runs()
    for i in range(PAIRS):
        answer, seconds = timed_login(unknown_browser, f"nobody{i}@example.com", alice.password)
        runs.unknown.append(answer)
        runs.unknown_seconds.append(seconds)
        answer, seconds = timed_login(wrong_browser, alice.email, f"wrong-password-{i}")
        runs.wrong.append(answer)
        runs.wrong_seconds.append(seconds)
    return runs


@pytest.mark.slow
def test_unknown_email_and_wrong_password_give_identical_answers(runs):
    differing = [i for i, (u, w) in enumerate(zip(runs.unknown, runs.wrong))
                 if not (u.status == w.status == 200 and u == w)]
    assert differing == [], (
        f"pairs {differing} differ (status, page or Set-Cookie names); last: "
        f"{runs.unknown[-1].status} {runs.unknown[-1].cookies} vs "
        f"{runs.wrong[-1].status} {runs.wrong[-1].cookies}")


@pytest.mark.slow
def test_unknown_email_and_wrong_password_take_the_same_median_time(runs):
    unknown = statistics.median(runs.unknown_seconds)
    wrong = statistics.median(runs.wrong_seconds)
    ratio = max(unknown, wrong) / min(unknown, wrong)
    assert ratio <= 1.5, (
        f"median POST time: unknown email {unknown:.4f} s, wrong password {wrong:.4f} s")


def test_no_worker_crashed_under_the_timed_logins(site):
    assert Browser(site.base).get("/").status_code == 200
    assert crash_lines(site.log_text()) == []
