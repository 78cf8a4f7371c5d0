"""Login throttling shared by every worker process, with the DEFAULT limits of SPEC "Login
throttling": failures sent to two processes in turn add up, a burst of parallel guesses spread
over both gets no more tries than a sequence, and a device cookie issued by one process is
honoured, and worn out, by the other.

The stack is one database and one secret behind two pools of one worker process each, each on
its own socket behind its own web server (nginx or Apache, as the run's `server`): a test picks
the process that answers. Its database is its own, so failures elsewhere count for nothing
here. Every request comes from 127.0.0.1 unless a test says otherwise: the module stays far
below the default per-address (100) and per-account (50) limits."""

from __future__ import annotations

import re
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass

import pytest
import requests

from browser import Browser, blank_values, is_anonymous
from stack import Site, WebServer, Workers, crash_lines

INVALID = "Invalid email or password."
THROTTLED = "Too many failed login attempts"
BURST = 16


@dataclass
class TwoPools:
    """SITE (database, configuration, authctl, pool 1) plus a second pool on the same
    configuration: bases[0] reaches process 1, bases[1] process 2."""

    site: Site
    workers: Workers
    web: WebServer

    @property
    def bases(self) -> tuple[str, str]:
        return self.site.base, self.web.base

    @property
    def logs(self) -> tuple[str, str]:
        return self.site.log_text(), self.workers.log_text()


@pytest.fixture(scope="module")
def pools(make_site, server) -> TwoPools:  # noqa: ANN001
    site = make_site(server, processes=1)  # the default throttle limits
    return TwoPools(site, *site.add_pool())


def login_via(browser: Browser, base: str, email: str, password: str) -> requests.Response:
    """The login form of BASE, submitted there. One cookie jar serves both pools: cookies
    ignore the port, and both processes share the secret."""
    browser.get(base + "/auth/login")
    return browser.submit(browser.form(), email=email, password=password)


def event_counts(pools: TwoPools) -> tuple[int, int, int]:
    """login_failed lines of process 1 and 2, login_throttled lines of process 2."""
    first, second = pools.logs
    return (first.count("event=login_failed"), second.count("event=login_failed"),
            second.count("event=login_throttled"))


@dataclass
class Sequence:
    failures: list[requests.Response]
    sixth: requests.Response  # the right password (or any, for an unknown email)
    home: requests.Response  # GET / afterwards


def fail_five_then_try(pools: TwoPools, email: str, password: str) -> Sequence:
    """Failures 1, 3, 5 go to process 1; failures 2 and 4 and the 6th try to process 2, which
    saw only 2 of the 5: a 429 there proves the count is shared."""
    browser = Browser(pools.bases[0])
    failures = [login_via(browser, pools.bases[i % 2], email, f"wrong-{i + 1}")
                for i in range(5)]
    sixth = login_via(browser, pools.bases[1], email, password)
    return Sequence(failures, sixth, browser.get(pools.bases[1] + "/"))


@dataclass
class Sequences:
    known: Sequence
    unknown: Sequence
    events: tuple[int, int, int]  # event_counts() meanwhile


@pytest.fixture(scope="module")
def sequences(pools) -> Sequences:
    """A known and an unknown account, five failures each, then the right password; and the
    auth events the two processes logged meanwhile."""
    bob = pools.site.new_user()
    before = event_counts(pools)
    known = fail_five_then_try(pools, bob.email, bob.password)
    unknown = fail_five_then_try(pools, "nobody@example.com", bob.password)
    # The event lines are written before the answers; a short bounded wait for the file.
    deadline = time.monotonic() + 5
    while time.monotonic() < deadline and sum(event_counts(pools)) - sum(before) < 12:
        time.sleep(0.1)
    return Sequences(known, unknown, tuple(a - b for a, b in zip(event_counts(pools), before)))


def assert_throttled_after_five_failures(sequence: Sequence) -> None:
    answered = [f.status_code == 200 and INVALID in f.text for f in sequence.failures]
    assert answered == [True] * 5, f"200 '{INVALID}' for each of the 5 wrong passwords"
    sixth = sequence.sixth
    assert sixth.status_code == 429, "the 6th try, with the right password"
    retry_after = sixth.headers.get("Retry-After", "")
    assert re.fullmatch(r"[1-9][0-9]*", retry_after), "in seconds"
    assert 55 <= int(retry_after) <= 60, "the first wait is a minute"
    # "1 minute"; "59 seconds" when the clock ticked a second since the 5th failure.
    phrase = "1 minute" if retry_after == "60" else f"{retry_after} seconds"
    assert f"{THROTTLED}. Please try again in {phrase}." in sixth.text
    assert INVALID not in sixth.text, "no credential answer while throttled"
    assert is_anonymous(sequence.home), "not logged in after the throttled try"


@pytest.mark.slow
def test_five_failures_over_two_processes_make_even_the_right_password_429(sequences):
    assert_throttled_after_five_failures(sequences.known)


@pytest.mark.slow
def test_an_unknown_email_is_throttled_alike(sequences):
    assert_throttled_after_five_failures(sequences.unknown)


@pytest.mark.slow
def test_a_known_and_an_unknown_account_get_the_same_429_page(sequences):
    assert (blank_values(sequences.known.sixth.text)
            == blank_values(sequences.unknown.sixth.text))


@pytest.mark.slow
def test_both_processes_counted_the_failures_they_served(sequences):
    # 3 failures per account on process 1, 2 on process 2, and the 6th try throttled there.
    assert sequences.events == (6, 4, 2), "login_failed 1, login_failed 2, login_throttled 2"


@pytest.mark.slow
def test_a_burst_of_parallel_guesses_gets_no_more_tries_than_a_sequence(pools):
    # 16 wrong passwords for one account at once, half to each process. Each takes a hash
    # (tens of ms), so all 16 reach the throttle before the first is done: only counting each
    # attempt before its password check (and holding the rest until the first 5 are decided)
    # keeps them to the 5 tries a sequence would get.
    carol = pools.site.new_user()
    clients = [Browser(pools.bases[(i + 1) % 2]) for i in range(BURST)]
    forms = []
    for client in clients:
        client.get("/auth/login")
        forms.append(client.form() if client.page.status_code == 200 else None)
    assert all(forms), "every burst client got a login form"
    start = threading.Barrier(BURST, timeout=30)

    def guess(i: int) -> requests.Response:
        start.wait()
        return clients[i].submit(forms[i], email=carol.email, password=f"guess-{i}")

    with ThreadPoolExecutor(max_workers=BURST) as pool:
        answers = list(pool.map(guess, range(BURST)))
    tried = sum(a.status_code == 200 and INVALID in a.text for a in answers)
    throttled = sum(a.status_code == 429 and THROTTLED in a.text for a in answers)
    assert (tried, throttled) == (5, BURST - 5), (
        f"checked, throttled (other: {[a.status_code for a in answers]})")
    after = login_via(Browser(pools.bases[0]), pools.bases[0], carol.email, carol.password)
    assert after.status_code == 429, "after the burst even carol's right password waits"


def logs_in_via(browser: Browser, base: str, email: str, password: str) -> bool:
    """A login through BASE that answers 302; logged out again through BASE."""
    answer = login_via(browser, base, email, password)
    if answer.status_code != 302:
        return False
    assert browser.get(base + "/auth/logout").status_code == 302
    return True


def fails_via(browser: Browser, base: str, email: str, password: str) -> bool:
    answer = login_via(browser, base, email, password)
    return answer.status_code == 200 and INVALID in answer.text


def test_a_device_cookie_from_one_process_is_honoured_and_worn_out_by_the_other(pools):
    dave = pools.site.new_user()
    home = "127.0.0.2"  # dave's browser and a guesser share it
    known = Browser(pools.bases[0], address=home)
    assert logs_in_via(known, pools.bases[0], dave.email, dave.password)
    assert known.cookie("device"), "process 1 issued a device cookie"
    guesser = Browser(pools.bases[0], address=home)
    for n in range(5):
        assert fails_via(guesser, pools.bases[n % 2], dave.email, f"guess {n}"), f"guess {n}"
    answer = login_via(guesser, pools.bases[1], dave.email, dave.password)
    assert answer.status_code == 429, "dave's account from this address waits"
    # The pair's wait (a minute from the last guess) does not hold the known browser back.
    for base in (pools.bases[1], pools.bases[0]):
        assert logs_in_via(known, base, dave.email, dave.password), base
    # Whether those logins reset the pair's count or not, the guesser locks it (again).
    for n in range(6):
        if login_via(guesser, pools.bases[n % 2], dave.email, f"again {n}").status_code == 429:
            break
    assert guesser.page.status_code == 429, "the pair waits again"
    # Its own failures, sent to each process in turn, count against its cookie: 5 kill it, and
    # then it waits like any other browser on this address.
    for n in range(5):
        assert fails_via(known, pools.bases[(n + 1) % 2], dave.email, f"typo {n}"), f"typo {n}"
    answer = login_via(known, pools.bases[0], dave.email, dave.password)
    assert answer.status_code == 429, "an untrusted browser again"


def test_no_worker_of_the_two_pools_crashed(pools):
    for base, log in zip(pools.bases, pools.logs):
        assert Browser(base).get("/").status_code == 200, base
        assert crash_lines(log) == [], base
