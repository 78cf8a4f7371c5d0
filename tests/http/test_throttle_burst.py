"""Bursts behave like sequences (SPEC "Login throttling"): wrong passwords sent in parallel get
exactly the tries the same number sent one after another would, and correct logins of one
account sent in parallel from one address all succeed.

The site has 10 worker processes of 2 threads each (the stack's configuration sets threads = 2
and a key may not be set twice), so the 20 requests of a burst are served at the same time
rather than queued in front of the workers; each burst comes from an address
of its own (the default limits: 5 failures per account and address).
"""

from __future__ import annotations

import threading
from concurrent.futures import ThreadPoolExecutor

import pytest
import requests

from browser import Browser, is_logged_in_as
from stack import Site, User

INVALID = "Invalid email or password."
THROTTLED = "Too many failed login attempts. Please try again in "
BURST = 20
PAIR_LIMIT = 5  # the default


@pytest.fixture(scope="module")
def busy_site(make_site, server: str) -> Site:  # noqa: ANN001
    return make_site(server, processes=BURST // 2)


def in_parallel(site: Site, address: str, email: str, passwords: list[str]
                ) -> tuple[list[Browser], list[requests.Response]]:
    """One browser per password, each with its own login form (and CSRF token) first; then
    every form is sent at once. The browsers and their answers, in order."""
    browsers = [Browser(site.base, address=address) for _ in passwords]
    forms = []
    for browser in browsers:
        assert browser.get("/auth/login").status_code == 200
        forms.append(browser.form())
    start = threading.Barrier(len(browsers), timeout=60)

    def send(i: int) -> requests.Response:
        start.wait()
        return browsers[i].submit(forms[i], email=email, password=passwords[i])

    with ThreadPoolExecutor(max_workers=len(browsers)) as pool:
        answers = list(pool.map(send, range(len(browsers))))
    return browsers, answers


def in_a_row(site: Site, address: str, email: str, passwords: list[str]
             ) -> list[requests.Response]:
    browser = Browser(site.base, address=address)
    return [browser.login(email, password) for password in passwords]


def outcomes(answers: list[requests.Response]) -> tuple[int, int, list[int]]:
    """(wrong-password answers, 429s that say how long to wait, every status)."""
    invalid = sum(a.status_code == 200 and INVALID in a.text for a in answers)
    waits = sum(a.status_code == 429 and THROTTLED in a.text
                and a.headers.get("Retry-After", "").isdigit() for a in answers)
    return invalid, waits, [a.status_code for a in answers]


@pytest.mark.slow
def test_wrong_passwords_in_parallel_get_the_tries_of_a_sequence(busy_site):
    guesses = [f"guess {n}" for n in range(BURST)]
    target, control = busy_site.new_user(), busy_site.new_user()
    _, parallel = in_parallel(busy_site, "127.0.0.2", target.email, guesses)
    sequence = in_a_row(busy_site, "127.0.0.3", control.email, guesses)
    invalid, waits, statuses = outcomes(parallel)
    assert (invalid, waits) == (PAIR_LIMIT, BURST - PAIR_LIMIT), f"parallel: {statuses}"
    assert outcomes(sequence)[:2] == (invalid, waits), "the same as in a row"
    after = Browser(busy_site.base, address="127.0.0.2").login(target.email, target.password)
    assert after.status_code == 429, "after the burst the right password waits too"


@pytest.mark.slow
def test_correct_logins_in_parallel_from_one_address_all_succeed(busy_site):
    user: User = busy_site.new_user()
    browsers, answers = in_parallel(busy_site, "127.0.0.4", user.email, [user.password] * BURST)
    assert [a.status_code for a in answers] == [302] * BURST
    greeted = sum(is_logged_in_as(b.get("/"), user.username) for b in browsers)
    assert greeted == BURST, "each browser is logged in with its own cookies"
