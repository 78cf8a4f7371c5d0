"""Open redirects: a `next` an attacker crafts never sends a freshly logged-in user off the site,
never reaches a header raw, and never shows up unescaped in the login page."""

from __future__ import annotations

import re
from urllib.parse import quote, unquote_to_bytes

import pytest

from attack_support import header_injections, is_local_location
from browser import Browser, csrf_token, raw_get
from stack import crash_lines

# Values as the app sees them (sent percent-encoded).
DECODED_NEXT = [
    "//evil.example", "///evil.example", "/\\evil.example", "\\/evil.example", "\\\\evil.example",
    "/\\/evil.example", "https://evil.example", "http://evil.example/", "https:evil.example",
    "http:/evil.example", "https:/\\evil.example", "javascript:alert(1)",
    "JavaScript:alert(document.cookie)", "java\tscript:alert(1)",
    "data:text/html,<script>alert(1)</script>", "https://127.0.0.1@evil.example/",
    "//user:pass@evil.example", "@evil.example", "evil.example", "/%2F/evil.example",
    "/%2Fevil.example", "/%5Cevil.example", "/%09/evil.example", "/\t/evil.example",
    "/\n/evil.example", "/\r\nLocation: https://evil.example", "/\r\nX-Evil: 1",
    "/\r\nSet-Cookie: evil=1", "/ /evil.example", " //evil.example", "\t//evil.example",
    "/%252F%252Fevil.example", "//evil.example/%2F..", "/.//evil.example", "／／evil.example",
    "/／evil.example", "/∕∕evil.example", "/%E2%80%AE/evil.example", "/%00evil.example",
    "http%3A%2F%2Fevil.example", "\v//evil.example", "/%2e%2e//evil.example",
    "/secret?x=//evil.example", '/"><script>alert(1)</script>', "/'onmouseover='alert(1)",
    "/" + "a" * 3000, "/" + "b" * 2000,
]

# Query fragments sent exactly as written. may_400: the whole request may be refused with 400
# (invalid UTF-8 or a NUL byte in the query). The old list's %2F%2Fevil.example,
# %5C%5Cevil.example, %2F%5Cevil.example, https%3A%2F%2Fevil.example,
# %EF%BC%8F%EF%BC%8Fevil.example and javascript%3Aalert%281%29 are left out: they are, byte for
# byte, the encodings of entries of DECODED_NEXT.
RAW_NEXT = [
    ("//evil.example", False), ("/\\evil.example", False), ("%2f%2fevil.example", False),
    ("/%2Fevil.example", False), ("/%5Cevil.example", False), ("/%09/evil.example", False),
    ("%09//evil.example", False), ("/%0d%0aLocation:%20https://evil.example", False),
    ("/%0D%0ASet-Cookie:%20evil=1", False), ("/%0d%0aX-Evil:%201", False),
    ("https:%2F%2Fevil.example", False), ("//127.0.0.1@evil.example", False),
    ("/%2F127.0.0.1%40evil.example", False), ("%252F%252Fevil.example", False),
    ("/%252F%252Fevil.example", False), ("/%25%32%46%25%32%46evil.example", False),
    ("%E2%88%95%E2%88%95evil.example", False), ("/%EF%BC%8Fevil.example", False),
    ("%C0%AF%C0%AFevil.example", True), ("/%00/evil.example", True),
    ("javascript:alert(1)", False), ("%20//evil.example", False), ("/%20/evil.example", False),
    ("//evil.example%2F%2E%2E", False), ("/%2e%2e%2f%2fevil.example", False), ("%FF", True),
    ("/%E2%80%AE/evil.example", False), ("/%22%3E%3Cscript%3Ealert(1)%3C/script%3E", False),
    ("/%2509/evil.example", False), ("/%5C%5Cevil.example", False),
]


def label(value: str) -> str:
    shown = value if len(value) <= 40 else f"{value[:8]}...{len(value)}-chars"
    return shown.encode("unicode_escape").decode()


@pytest.fixture(scope="module")
def bob(site):
    return site.new_user()


def form_action(page: str) -> str | None:
    """The first form's action attribute as written in the page (entities not decoded)."""
    form = re.search(r"<form[^>]*>", page.replace("\n", " "))
    action = re.search(r'\saction="([^"]*)"', form.group(0)) if form else None
    return action.group(1) if action else None


def assert_next_stays_on_site(base: str, value: str, user, may_400: bool) -> None:
    """GET the login form with ?next=VALUE (bytes as given), log in by POSTing to that same
    URL, and expect a 302 to a path on our origin."""
    target = "/auth/login?next=" + value
    page = raw_get(base, target)
    if may_400 and page.status == 400:
        return  # refused as a whole: nothing was redirected
    assert page.status == 200, f"GET {target}"
    action = form_action(page.text)
    assert re.fullmatch(r"/auth/login(\?next=[A-Za-z0-9%._~-]*)?", action or ""), (
        f"the form action is our path with next percent-encoded (got {action!r})")
    plain = unquote_to_bytes(value)
    if any(c in plain for c in b"<\"'"):
        assert plain not in page.body, "next is not rendered raw"
    session = next((v.split(";")[0] for v in page.headers("Set-Cookie")
                    if v.startswith("session=")), None)
    token = csrf_token(page.text)
    assert session and token, "the login form comes with a session cookie and a csrf_token"
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in
                    (("csrf_token", token), ("email", user.email), ("password", user.password)))
    answer = raw_get(base, target, method="POST", body=body.encode(), headers={
        "Cookie": session, "Content-Type": "application/x-www-form-urlencoded"})
    if may_400 and answer.status == 400:
        return
    assert answer.status == 302, f"POST {target}"
    location = answer.header("Location")
    assert is_local_location(location, base), f"Location {location!r} leaves the site"
    assert header_injections(answer) == []
    if location in ("/", base + "/"):
        assert action == "/auth/login", "an ignored next is dropped from the form action too"


@pytest.mark.parametrize("value", DECODED_NEXT, ids=[label(v) for v in DECODED_NEXT])
def test_an_unsafe_next_redirects_to_a_local_path_after_login(site, bob, value):
    assert_next_stays_on_site(site.base, quote(value, safe=""), bob, may_400=False)


@pytest.mark.parametrize("value,may_400", RAW_NEXT, ids=[label(v) for v, _ in RAW_NEXT])
def test_an_unsafe_raw_query_next_redirects_to_a_local_path_after_login(site, bob, value,
                                                                        may_400):
    assert_next_stays_on_site(site.base, value, bob, may_400)


def test_a_safe_next_is_followed_so_the_refusals_above_are_real(site, bob):
    answer = Browser(site.base).login(bob.email, bob.password, next="/secret?a=1")
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/secret?a=1", site.base + "/secret?a=1")


def test_no_worker_crashed_under_the_redirect_attacks(site):
    assert Browser(site.base).get("/").status_code == 200
    assert crash_lines(site.log_text()) == []
