"""The rules of SPEC "Login throttling" as a victim, an attacker and a household see them:
guessing from one address locks that address out of that account only; failures for one
account from many addresses lock it for every browser without a device cookie for it;
failures over many accounts from one address lock that address, again except for a browser
with a device cookie for the account it logs into.

Every client has an address of its own (127.0.0.2, .3, ...: the client binds it, and nginx and
Apache pass it on as REMOTE_ADDR). Each rule gets a site of its own, with the other rules out
of the way and, where the default would take many requests, a small limit of its own.
"""

from __future__ import annotations

import re

import pytest
import requests

from browser import Browser, is_anonymous, is_logged_in_as, set_cookies
from stack import Site, User, next_number

INVALID = "Invalid email or password."
THROTTLED = "Too many failed login attempts. Please try again in "
VICTIM = "127.0.0.2"
ATTACKER = "127.0.0.3"


# --- helpers --------------------------------------------------------------------------------


def moved(browser: Browser, address: str) -> Browser:
    """The same browser (the same cookie jar) on another network: requests from ADDRESS."""
    other = Browser(browser.base, address=address)
    other.session.cookies = browser.session.cookies
    return other


def logs_in(browser: Browser, user: User) -> bool:
    """The login form with USER's password: 302, then greeted by name. Logs out again, so the
    browser can try once more."""
    answer = browser.login(user.email, user.password)
    if answer.status_code != 302:
        return False
    greeted = is_logged_in_as(browser.follow(), user.username)
    assert browser.get("/auth/logout").status_code == 302
    return greeted


def fails(browser: Browser, email: str, password: str = "not the password") -> bool:
    answer = browser.login(email, password)
    return answer.status_code == 200 and INVALID in answer.text


def throttled(answer: requests.Response) -> int:
    """Asserts a 429 that says how long to wait; its Retry-After in seconds."""
    assert answer.status_code == 429, f"429 expected, got {answer.status_code}"
    retry_after = answer.headers.get("Retry-After", "")
    assert re.fullmatch(r"[1-9][0-9]*", retry_after), f"Retry-After in seconds: {retry_after!r}"
    assert THROTTLED in answer.text
    assert INVALID not in answer.text, "no credential answer while throttled"
    return int(retry_after)


def wait_phrase(seconds: int) -> str:
    """How the 429 page words a Retry-After of SECONDS: rounded up, never shorter."""
    def plural(count: int, unit: str) -> str:
        return f"{count} {unit}" + ("" if count == 1 else "s")
    if seconds < 60:
        return plural(seconds, "second")
    if seconds <= 3600:
        return plural(-(-seconds // 60), "minute")
    return plural(-(-seconds // 3600), "hour")


def refused(browser: Browser, user: User) -> tuple[int, str]:
    """USER's right password from BROWSER gets a 429 and does not log in; its Retry-After and
    page."""
    answer = browser.login(user.email, user.password)
    wait = throttled(answer)
    assert is_anonymous(browser.get("/")), "not logged in after the 429"
    return wait, answer.text


def cookie_attributes(header: str) -> dict[str, str]:
    """The attributes of one Set-Cookie header, names in lower case ('' for flags)."""
    parts = [p.strip() for p in header.split(";")[1:]]
    return {name.lower(): value for name, _, value in (p.partition("=") for p in parts)}


# --- one account from one address ---------------------------------------------------------


@pytest.fixture(scope="module")
def pair_site(make_site, server: str) -> Site:  # noqa: ANN001
    return make_site(server)  # the default limits: 5 failures per account and address


def test_an_attacker_guessing_from_one_address_does_not_lock_out_the_victim(pair_site):
    victim = pair_site.new_user()
    attacker = Browser(pair_site.base, address=ATTACKER)

    def victim_logs_in() -> bool:
        # A new browser each time: no device cookie, so it is the address that lets it in.
        return logs_in(Browser(pair_site.base, address=VICTIM), victim)

    for n in range(1, 6):
        assert fails(attacker, victim.email, f"guess {n}"), f"guess {n}: 200 '{INVALID}'"
        assert victim_logs_in(), f"the victim logs in after guess {n}"
    wait = throttled(attacker.login(victim.email, victim.password))
    assert 55 <= wait <= 60, f"the first wait is a minute: Retry-After {wait}"
    # "1 minute"; "59 seconds" when the clock ticked a second since the 5th guess.
    assert f"Please try again in {wait_phrase(wait)}." in attacker.page.text
    assert is_anonymous(attacker.get("/")), "the right password did not log the attacker in"
    assert victim_logs_in(), "the victim still logs in from their own address"
    throttled(attacker.login(victim.email, "guess 7"))


def test_after_the_wait_the_attacker_gets_one_try_and_then_twice_the_wait(pair_site):
    victim = pair_site.new_user()
    attacker = Browser(pair_site.base, address=ATTACKER)
    assert all(fails(attacker, victim.email, f"guess {n}") for n in range(1, 6))
    throttled(attacker.login(victim.email, "guess 6"))
    # The minute's wait passes: the failures' times move 61 s into the past (only this
    # account's rows, so the other test's rows keep their times).
    pair_site.sql("UPDATE login_failures SET failed_at = failed_at - 61, "
                  f"expires_at = expires_at - 61 WHERE email = '{victim.email}'")
    assert fails(attacker, victim.email, "guess 6"), "one more try once the wait is over"
    wait = throttled(attacker.login(victim.email, victim.password))
    assert 115 <= wait <= 120, f"the next wait doubles: Retry-After {wait}"
    assert "Please try again in 2 minutes." in attacker.page.text
    assert logs_in(Browser(pair_site.base, address=VICTIM), victim)


# --- one account from many addresses, and the device cookie -------------------------------
DISTRIBUTED = 6  # small, so a few addresses lock the account


@pytest.fixture(scope="module")
def distributed_site(make_site, server: str) -> Site:  # noqa: ANN001
    # A high pair limit, so it is the per-account rule that trips.
    return make_site(server, config=(f"throttle_distributed_max_failures = {DISTRIBUTED}",
                                     "throttle_pair_max_failures = 1000"))


def test_a_browser_with_a_device_cookie_logs_in_while_the_account_is_locked(distributed_site):
    user = distributed_site.new_user()
    known = Browser(distributed_site.base, address=VICTIM)
    answer = known.login(user.email, user.password)
    assert answer.status_code == 302
    device = set_cookies(answer).get("device")
    assert device, f"a device cookie with the login: {list(set_cookies(answer))}"
    attributes = cookie_attributes(device)
    assert attributes.get("path") == "/auth/", device
    assert "httponly" in attributes, device
    assert attributes.get("samesite", "").lower() == "lax", device
    assert attributes.get("max-age") == "31536000", device
    assert known.get("/auth/logout").status_code == 302
    assert known.cookie("device"), "the device cookie outlives the logout"

    # Failures for the account from many addresses, one each, up to the per-account limit.
    for n in range(DISTRIBUTED):
        attacker = Browser(distributed_site.base, address=f"127.0.0.{3 + n}")
        assert fails(attacker, user.email, f"guess {n}"), f"guess {n} from 127.0.0.{3 + n}"
    wait, _ = refused(Browser(distributed_site.base, address=f"127.0.0.{3 + DISTRIBUTED}"), user)
    assert 3500 < wait <= 3600, f"until the oldest failure leaves the hour: {wait}"

    # A browser without the device cookie waits, even on the known browser's own address.
    refused(Browser(distributed_site.base, address=VICTIM), user)
    assert logs_in(known, user), "the browser with the device cookie logs in"
    assert logs_in(moved(known, "127.0.0.40"), user), "from any address"

    # Failures sent with the device cookie count against it alone: 5 of them kill it.
    for n in range(5):
        assert fails(known, user.email, f"typo {n}"), f"typo {n} from the known browser"
    refused(known, user)
    refused(moved(known, "127.0.0.41"), user)


# --- many accounts from one address -------------------------------------------------------
STUFFING = 10  # small, so a few failures lock the address
STUFFER = "127.0.0.4"
NEIGHBOUR = "127.0.0.5"


@pytest.fixture(scope="module")
def stuffing_site(make_site, server: str) -> Site:  # noqa: ANN001
    return make_site(server, config=(f"throttle_stuffing_max_failures = {STUFFING}",))


def test_a_stuffing_address_is_locked_while_others_are_not(stuffing_site):
    household, known, other = (stuffing_site.new_user() for _ in range(3))
    # A browser on the address logs in before the attack, so it holds a device cookie.
    home = Browser(stuffing_site.base, address=STUFFER)
    assert logs_in(home, household)

    # One failure per email, known and unknown, from one address: no pair comes near its limit.
    emails = [known.email, other.email, household.email]
    emails += [f"nobody{next_number()}@example.com" for _ in range(STUFFING - len(emails))]
    stuffer = Browser(stuffing_site.base, address=STUFFER)
    for email in emails:
        assert fails(stuffer, email), email

    for user in (known, other, household):
        wait, page = refused(Browser(stuffing_site.base, address=STUFFER), user)
        assert 86000 < wait <= 86400, f"until the oldest failure leaves the day: {wait}"
        assert "Please try again in 24 hours." in page
    throttled(Browser(stuffing_site.base, address=STUFFER).login(
        f"nobody{next_number()}@example.com", "a password"))

    neighbour = Browser(stuffing_site.base, address=NEIGHBOUR)
    assert logs_in(neighbour, known), "another address logs in as usual"
    assert logs_in(neighbour, other)
    assert logs_in(home, household), "the device cookie for the account lets it in"
    refused(home, known)  # a device cookie helps only the account it was issued for


# --- the old configuration keys -----------------------------------------------------------


@pytest.fixture(scope="module")
def old_keys_site(make_site, server: str) -> Site:  # noqa: ANN001
    return make_site(server, processes=1, config=("throttle_account_max_failures = 2",
                                                  "throttle_address_max_failures = 1000"))


def test_the_old_keys_still_set_the_pair_limit_with_a_warning(old_keys_site):
    user = old_keys_site.new_user()
    attacker = Browser(old_keys_site.base, address=ATTACKER)
    assert fails(attacker, user.email) and fails(attacker, user.email)
    refused(attacker, user)
    assert logs_in(Browser(old_keys_site.base, address=VICTIM), user)
    warnings = [line for line in old_keys_site.log_text().splitlines()
                if "warning" in line and "throttle_account_max_failures" in line]
    assert len(warnings) == 1, f"one warning line at start: {warnings}"
