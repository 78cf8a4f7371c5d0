"""Every step of the throttle answers the same for a known and an unknown email (SPEC "Login
throttling"): a wrong password, the 429 of the account-and-address limit and the 429 of the
per-address limit give the same status, the same page once the typed email and the CSRF token
are set aside, the same cookies and the same wait. Otherwise an attacker would learn which
accounts exist from the throttle.

A known and an unknown email go through the same steps side by side, each from an address of
its own. The per-address limit is 10 (default 100), so a few failures reach it.
"""

from __future__ import annotations

import re
from dataclasses import dataclass

import pytest
import requests

from browser import Browser, set_cookies
from stack import Site, next_number

INVALID = "Invalid email or password."
THROTTLED = "Too many failed login attempts. Please try again in "
STUFFING = 10
PAIR_LIMIT = 5  # the default


@pytest.fixture(scope="module")
def enum_site(make_site, server: str) -> Site:  # noqa: ANN001
    return make_site(server, config=(f"throttle_stuffing_max_failures = {STUFFING}",))


def page_shape(page: str) -> str:
    """PAGE with the values of the email field and the CSRF token emptied, and the wait left
    out (the two answers may fall on either side of a second: "1 minute", "59 seconds"; their
    Retry-After is compared instead)."""
    def blank(field: re.Match[str]) -> str:
        return re.sub(r'value="[^"]*"', 'value=""', field.group(0))
    page = re.sub(r'<input[^>]*\bname="(?:email|csrf_token)"[^>]*>', blank, page)
    return re.sub(r"Please try again in [^<]*\.", "Please try again in (wait).", page)


@dataclass
class Pair:
    known: requests.Response
    unknown: requests.Response


def assert_alike(answers: Pair, status: int) -> None:
    known, unknown = answers.known, answers.unknown
    assert (known.status_code, unknown.status_code) == (status, status)
    assert page_shape(known.text) == page_shape(unknown.text)
    assert sorted(set_cookies(known)) == sorted(set_cookies(unknown)), "the same cookies set"
    if status == 429:
        waits = [int(a.headers["Retry-After"]) for a in (known, unknown)]
        assert abs(waits[0] - waits[1]) <= 1, f"Retry-After {waits}"
        assert THROTTLED in known.text


def side_by_side(site: Site, known: tuple[str, str], unknown: tuple[str, str],
                 password: str) -> Pair:
    """A fresh browser from each (address, email) of KNOWN and UNKNOWN logs in with PASSWORD."""
    answers = [Browser(site.base, address=address).login(mail, password)
               for address, mail in (known, unknown)]
    for answer, (_, mail) in zip(answers, (known, unknown)):
        assert f'value="{mail}"' in answer.text, "the typed email is shown again"
    return Pair(*answers)


def test_a_known_and_an_unknown_email_answer_alike_at_every_step(enum_site):
    user = enum_site.new_user()
    unknown = f"nobody{next_number()}@example.com"

    def both(password: str, known_from: str = "127.0.0.2", unknown_from: str = "127.0.0.3",
             unknown_email: str = unknown) -> Pair:
        return side_by_side(enum_site, (known_from, user.email), (unknown_from, unknown_email),
                            password)

    first = both("not the password")
    assert_alike(first, 200)
    assert INVALID in first.known.text
    for n in range(PAIR_LIMIT - 1):
        assert_alike(both(f"guess {n}"), 200)
    assert_alike(both(user.password), 429)  # the account-and-address limit

    # Failures for other emails from one address, up to the per-address limit.
    stuffer = Browser(enum_site.base, address="127.0.0.4")
    for n in range(STUFFING):
        answer = stuffer.login(f"victim{next_number()}@example.com", "a password")
        assert answer.status_code == 200 and INVALID in answer.text, f"failure {n}"
    # The known email has no failure from 127.0.0.4; a fresh unknown email has none at all.
    assert_alike(both(user.password, "127.0.0.4", "127.0.0.4",
                      f"nobody{next_number()}@example.com"), 429)
