"""Cookies an attacker changes, forges, replays or plants: each is worth nothing (an anonymous
page or a 400, never a 5xx), while the real cookies keep working."""

from __future__ import annotations

import pytest

from attack_support import (CookieProbe, SessionCookie, anonymous_or_400,
                            changes_not_anonymous, no_server_error)
from browser import Browser, csrf_token, is_anonymous, is_logged_in_as, raw_request
from stack import crash_lines

ALICE_PASSWORD = "alice-Pass-1 & more"


@pytest.fixture(scope="module")
def alice(site):
    return site.new_user(password=ALICE_PASSWORD)


@pytest.fixture(scope="module")
def bob(site):
    return site.new_user()


def logged_in(site, user, remember: bool = False) -> Browser:
    browser = Browser(site.base)
    assert browser.login(user.email, user.password, remember).status_code == 302
    return browser


@pytest.fixture(scope="module")
def alice_session(site, alice) -> SessionCookie:
    return SessionCookie(logged_in(site, alice).cookie("session"))


@pytest.fixture(scope="module")
def bob_session(site, bob) -> SessionCookie:
    return SessionCookie(logged_in(site, bob).cookie("session"))


@pytest.fixture
def probe(site) -> CookieProbe:
    return CookieProbe(site.base)


# --- every byte changed ------------------------------------------------------------------------


@pytest.mark.slow
def test_every_changed_byte_of_a_session_cookie_is_anonymous(probe, alice, alice_session):
    session = alice_session.value
    assert is_logged_in_as(probe.get("/", f"session={session}"), alice.username)
    failed = changes_not_anonymous(probe, "session", session)
    assert failed == [], f"{len(failed)} of {2 * len(session)} changed session cookies"
    assert is_logged_in_as(probe.get("/", f"session={session}"), alice.username), (
        "the untouched session cookie still works afterwards")


@pytest.mark.slow
def test_every_changed_byte_of_a_remember_token_is_anonymous(site, probe, alice):
    remember = logged_in(site, alice, remember=True).cookie("remember_token")
    assert remember, "a remember_token cookie is set"
    failed = changes_not_anonymous(probe, "remember_token", remember)
    assert failed == [], f"{len(failed)} of {2 * len(remember)} changed remember tokens"
    # Only now the real token: it rotates on use.
    assert is_logged_in_as(probe.get("/", f"remember_token={remember}"), alice.username)


# --- forged session cookies --------------------------------------------------------------------
# Built from alice's real cookie (a) and bob's (b). (The old list's "v1.$PAYLOAD" was
# "$SIGNED" again: signed-part-without-mac.)
FORGED_SESSIONS = {
    "signed-part-without-mac": lambda a, b: a.signed,
    "empty-mac": lambda a, b: f"{a.signed}.",
    "mac-1-char-short": lambda a, b: f"{a.signed}.{a.mac[:-1]}",
    "mac-4-chars-short": lambda a, b: f"{a.signed}.{a.mac[:-4]}",
    "mac-first-21-chars": lambda a, b: f"{a.signed}.{a.mac[:21]}",
    "mac-twice": lambda a, b: f"{a.signed}.{a.mac}{a.mac}",
    "mac-plus-A": lambda a, b: f"{a.signed}.{a.mac}A",
    "bobs-payload-alices-mac": lambda a, b: f"{b.signed}.{a.mac}",
    "payload-plus-AAAA": lambda a, b: f"{a.signed}AAAA.{a.mac}",
    "payload-4-chars-short": lambda a, b: f"v1.{a.payload[:-4]}.{a.mac}",
    "empty-payload": lambda a, b: f"v1..{a.mac}",
    "version-only": lambda a, b: "v1.",
    "version-v2": lambda a, b: f"v2.{a.payload}.{a.mac}",
    "version-v0": lambda a, b: f"v0.{a.payload}.{a.mac}",
    "version-V1": lambda a, b: f"V1.{a.payload}.{a.mac}",
    "no-version": lambda a, b: f"{a.payload}.{a.mac}",
    "mac-only": lambda a, b: f".{a.mac}",
    "one-dot": lambda a, b: ".",
    "two-dots": lambda a, b: "..",
    "mac-again-as-4th-part": lambda a, b: f"v1.{a.payload}.{a.mac}.{a.mac}",
    "user-id-1": lambda a, b: "1",
    "user-id-2": lambda a, b: "2",
    "user_id=1": lambda a, b: "user_id=1",
    "json-user-id": lambda a, b: "eyJ1c2VyX2lkIjoxfQ",
    "jwt-shaped": lambda a, b: "eyJ1c2VyX2lkIjoxfQ.YWJj.ZGVm",
    "v1-json": lambda a, b: "v1.eyJ1c2VyX2lkIjoxfQ",
    "v1-json-real-mac": lambda a, b: f"v1.eyJ1c2VyX2lkIjoxfQ.{a.mac}",
    "v1-AAAA-AAAA": lambda a, b: "v1.AAAA.AAAA",
    "quoted-empty": lambda a, b: '""',
    "quoted-v1": lambda a, b: '"v1.x.y"',
    "mac-all-A": lambda a, b: f"v1.{a.payload}.{'A' * 43}",
    "percent-encoded-version": lambda a, b: f"%76%31.{a.payload}.{a.mac}",
    "percent-encoded-dot": lambda a, b: f"v1.{a.payload}%2E{a.mac}",
}


@pytest.mark.parametrize("forge", FORGED_SESSIONS.values(), ids=FORGED_SESSIONS.keys())
def test_a_forged_session_cookie_is_anonymous_and_cannot_open_secret(
        probe, alice_session, bob_session, forge):
    value = forge(alice_session, bob_session)
    assert anonymous_or_400(probe.get("/", f"session={value}"))
    assert probe.get("/secret", f"session={value}").status_code in (302, 400)


def test_a_session_re_encoded_with_another_user_id_is_anonymous(probe, alice_session,
                                                                 bob_session):
    # Every id an attacker might want (bob's, the first ones, the edges), on alice's payload
    # and MAC. Alice's own id would give back her real cookie: no forgery.
    own = alice_session.user_id()
    ids = {1, 2, 3, 4, 0, -1, 2**63 - 1, bob_session.user_id()} - {own}
    failed = []
    for user_id in sorted(ids):
        value = f"v1.{alice_session.payload_with_user_id(user_id)}.{alice_session.mac}"
        home = probe.get("/", f"session={value}")
        secret = probe.get("/secret", f"session={value}")
        if not anonymous_or_400(home) or secret.status_code not in (302, 400):
            failed.append(f"id {user_id}: / {home.status_code}, /secret {secret.status_code}")
    assert failed == []


ODD_SESSION_HEADERS = {
    "empty-value": lambda s: "session=",
    "no-equals-sign": lambda s: "session",
    "10-KB-value": lambda s: "session=" + "A" * 10240,
    "6-KB-payload-real-mac": lambda s: f"session=v1.{'A' * 6000}.{s.mac}",
    "200-cookies-before-a-real-session": lambda s: "".join(
        f"c{i}=x; " for i in range(200)) + f"session={s.value}",
}


@pytest.mark.parametrize("header", ODD_SESSION_HEADERS.values(), ids=ODD_SESSION_HEADERS.keys())
def test_an_odd_session_cookie_header_is_anonymous_or_400(probe, alice_session, header):
    assert anonymous_or_400(probe.get("/", header(alice_session)))


def test_a_repeated_session_cookie_is_no_server_error(probe, alice_session):
    assert no_server_error(probe.get("/", f"session=junk; session={alice_session.value}"))


def test_two_cookie_headers_are_no_server_error(site, alice_session):
    host = site.base.removeprefix("http://")
    answer = raw_request(site.base, (
        f"GET / HTTP/1.1\r\nHost: {host}\r\nCookie: session={alice_session.value}\r\n"
        "Cookie: session=junk\r\nConnection: close\r\n\r\n").encode())
    assert no_server_error(answer), answer.status


# --- forged remember tokens --------------------------------------------------------------------
# Built from a live token of alice: selector "s" and validator "v".
FORGED_REMEMBER = {
    "selector-only": lambda s, v: s,
    "empty-validator": lambda s, v: f"{s}.",
    "validator-only": lambda s, v: f".{v}",
    "validator-1-char-short": lambda s, v: f"{s}.{v[:-1]}",
    "validator-plus-A": lambda s, v: f"{s}.{v}A",
    "validator-all-A": lambda s, v: f"{s}.{'A' * 43}",
    "validator-twice": lambda s, v: f"{s}.{v}.{v}",
    "two-dots": lambda s, v: f"{s}..{v}",
    "made-up-selector": lambda s, v: f"AAAAAAAAAAAAAAAAAAAAAA.{v}",
    "one-dot": lambda s, v: ".",
    "empty": lambda s, v: "",
    "1": lambda s, v: "1",
    "1.1": lambda s, v: "1.1",
    "10-KB-selector": lambda s, v: f"{'A' * 10240}.{v}",
    "percent-encoded-validator-byte": lambda s, v: f"{s}.%41{v}",
}


@pytest.fixture(scope="module")
def alice_remember(site, alice) -> tuple[str, str]:
    token = logged_in(site, alice, remember=True).cookie("remember_token")
    selector, _, validator = token.partition(".")
    return selector, validator


@pytest.mark.parametrize("forge", FORGED_REMEMBER.values(), ids=FORGED_REMEMBER.keys())
def test_a_forged_remember_token_is_anonymous(probe, alice_remember, forge):
    assert anonymous_or_400(probe.get("/", f"remember_token={forge(*alice_remember)}"))


# --- replay and fixation -----------------------------------------------------------------------


def test_cookies_copied_before_logout_are_worth_nothing_after_it(site, probe, bob):
    browser = logged_in(site, bob, remember=True)
    session = f"session={browser.cookie('session')}"
    remember = f"remember_token={browser.cookie('remember_token')}"
    assert is_logged_in_as(probe.get("/", session), bob.username), "works before logout"
    assert browser.get("/auth/logout").status_code == 302
    assert is_anonymous(probe.get("/", session))
    assert probe.get("/secret", session).status_code == 302
    assert is_anonymous(probe.get("/", remember))
    assert is_anonymous(probe.get("/", f"{session}; {remember}"))


def test_a_planted_session_cookie_is_replaced_at_login_and_dies(site, probe, alice, bob):
    attacker = Browser(site.base)
    attacker.get("/auth/login")
    planted = attacker.cookie("session")
    assert planted, "the attacker gets a pre-login session cookie"
    victim = Browser(site.base)
    victim.set_cookie("session", planted)
    answer = victim.login(alice.email, alice.password)
    assert answer.status_code == 302
    issued = answer.headers.get("Set-Cookie", "")
    new = next((c.split(";")[0].split("=", 1)[1] for c in answer.raw.headers.getlist("Set-Cookie")
                if c.startswith("session=")), None)
    assert new and new != planted, f"login issues a new session cookie ({issued[:60]!r})"
    assert is_logged_in_as(victim.get("/"), alice.username)
    assert is_anonymous(probe.get("/", f"session={planted}"))
    assert probe.get("/secret", f"session={planted}").status_code == 302
    # A CSRF token of the planted session is no good against the victim's new session.
    old_token = csrf_token(attacker.get("/auth/login").text)
    refused = victim.post("/auth/login", data={"csrf_token": old_token, "email": bob.email,
                                               "password": bob.password})
    assert refused.status_code == 400


def test_no_worker_crashed_under_the_cookie_attacks(site):
    assert Browser(site.base).get("/").status_code == 200
    assert crash_lines(site.log_text()) == []
