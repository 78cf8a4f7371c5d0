"""Bad input over HTTP, behind nginx and Apache: each answer is a clear 4xx (or the normal page
where the input is harmless), never a 5xx, never a crash, never a lost row.

Forms go out as raw bytes with a valid CSRF token first, so a 400 comes from the bad part and
not from a missing token. Targets a browser would re-quote (%zz, %00) go through raw_get.
"""

from __future__ import annotations

import time
from urllib.parse import quote

import pytest
import requests

from browser import Browser, csrf_token, is_anonymous, is_logged_in_as, raw_get, raw_request
from stack import crash_lines

FORM = {"Content-Type": "application/x-www-form-urlencoded"}
FAST = 2.0  # seconds; generous: the machine is shared


def is_client_error(status: int) -> bool:
    return 400 <= status < 500


def is_no_server_error(status: int) -> bool:
    """An answer, and not a 5xx (0 means the connection dropped)."""
    return 200 <= status < 500


def post_form(browser: Browser, body: bytes, chunked: bool = False) -> requests.Response:
    """POST /auth/login with BODY after a fresh, valid csrf_token, as curl --data-binary."""
    token = csrf_token(browser.get("/auth/login").text)
    assert token, "the login form carries a csrf_token"
    data = b"csrf_token=" + quote(token, safe="").encode() + b"&" + body
    # A generator makes requests send Transfer-Encoding: chunked.
    return browser.post("/auth/login", data=iter([data]) if chunked else data,
                        headers=FORM)


# --- oversized header and cookies ------------------------------------------------------------
def test_a_20_kb_header_is_a_client_error(browser):
    assert is_client_error(browser.get("/", headers={"X-Padding": "a" * 20000}).status_code)


BIG_COOKIES = ["session=" + "a" * 20000, "".join(f"c{i}=v; " for i in range(1, 81))]


@pytest.mark.parametrize("cookie", BIG_COOKIES, ids=["20-kb-cookie", "80-cookies"])
def test_a_huge_cookie_or_80_cookies_is_no_server_error(site, cookie):
    answer = raw_get(site.base, "/", headers={"Cookie": cookie})
    assert is_no_server_error(answer.status), answer.status


# --- malformed forms and queries -------------------------------------------------------------
MALFORMED_FORMS = [
    b"".join(b"f%d=v&" % i for i in range(1, 201)) + b"email=a@b.co",
    b"email=%ff%fe%41&password=x",
    b"email=a%00b@example.com&password=x",
    b"email=%zz&password=%4",
]


@pytest.mark.parametrize("body", MALFORMED_FORMS,
                         ids=["200-fields", "invalid-utf8", "nul-byte", "broken-percent-encoding"])
def test_a_malformed_form_is_400(browser, body):
    answer = post_form(browser, body)
    assert answer.status_code == 400
    assert "CSRF" not in answer.text, "the token was valid: the 400 is about the form"


MALFORMED_QUERIES = ["/auth/login?next=%zz", "/?a=%00"]


@pytest.mark.parametrize("target", MALFORMED_QUERIES, ids=["broken-percent-encoding", "nul-byte"])
def test_a_malformed_query_is_400(site, target):
    assert raw_get(site.base, target).status == 400


BROKEN_MULTIPART = [
    ("multipart/form-data", b"--x\r\nbroken"),
    ("multipart/form-data; boundary=zzz",
     b'--x\r\nContent-Disposition: form-data; name="a"\r\n\r\n1\r\n'),
]


@pytest.mark.parametrize("content_type,body", BROKEN_MULTIPART, ids=["no-boundary", "never-closes"])
def test_broken_multipart_is_400(browser, content_type, body):
    browser.get("/auth/login")
    answer = browser.post("/auth/login", data=body, headers={"Content-Type": content_type})
    assert answer.status_code == 400


# --- odd content types and framing -----------------------------------------------------------
def post_without_body(site, browser: Browser) -> int:
    """POST /auth/login as curl -X POST sends it: no Content-Length, no Content-Type."""
    browser.get("/auth/login")
    host = site.base.split("//", 1)[1]
    return raw_request(site.base, (
        f"POST /auth/login HTTP/1.1\r\nHost: {host}\r\n"
        f"Cookie: session={browser.cookie('session')}\r\nConnection: close\r\n\r\n"
    ).encode()).status


def test_a_post_without_body_or_content_type_is_400(site, browser):
    assert post_without_body(site, browser) == 400, "no CSRF token"


def test_a_text_plain_post_is_400(browser):
    browser.get("/auth/login")
    answer = browser.post("/auth/login", data=b"email=a@b.co",
                          headers={"Content-Type": "text/plain"})
    assert answer.status_code == 400


def test_a_chunked_form_is_read_or_refused_clearly(browser):
    # nginx reads a chunked body and passes it on; the Apache site refuses one (411) because
    # mod_proxy_fcgi would pass it without a length. Either is a clear answer.
    answer = post_form(browser, b"email=nobody@example.com&password=x", chunked=True)
    if answer.status_code == 200:
        assert "Invalid email or password." in answer.text
    else:
        assert is_client_error(answer.status_code), answer.status_code


def test_http_1_0_without_host_gets_the_home_page(site):
    answer = raw_request(site.base, b"GET / HTTP/1.0\r\n\r\n")
    assert answer.status == 200
    assert "Hello, Anonymous!" in answer.text


# --- huge email and password: refused by length, before any hashing --------------------------
HUGE_FIELDS = [
    (b"email=" + b"a" * 10000 + b"@example.com&password=x",
     "Field must be between 1 and 64 characters long."),
    (b"email=alice%40example.com&password=" + b"p" * 60000,
     "Field cannot be longer than 1024 characters."),
]


@pytest.mark.parametrize("body,message", HUGE_FIELDS,
                         ids=["10000-char-email", "60000-char-password"])
def test_a_huge_email_or_password_is_refused_fast_with_its_length_message(browser, body, message):
    started = time.monotonic()
    answer = post_form(browser, body)
    elapsed = time.monotonic() - started
    assert answer.status_code == 200, "the form is rendered again"
    assert message in answer.text
    assert elapsed < FAST, f"answered in {elapsed:.2f} s"


# --- nothing lost ----------------------------------------------------------------------------
def send_every_bad_request(site, browser: Browser) -> list[int]:
    """Every request above once; their statuses."""
    statuses = [browser.get("/", headers={"X-Padding": "a" * 20000}).status_code]
    statuses += [raw_get(site.base, "/", headers={"Cookie": c}).status for c in BIG_COOKIES]
    statuses += [raw_get(site.base, target).status for target in MALFORMED_QUERIES]
    statuses += [post_form(browser, body).status_code
                 for body in MALFORMED_FORMS + [body for body, _ in HUGE_FIELDS]]
    statuses += [browser.post("/auth/login", data=body, headers={"Content-Type": kind}).status_code
                 for kind, body in BROKEN_MULTIPART + [("text/plain", b"email=a@b.co")]]
    statuses.append(post_without_body(site, browser))
    statuses.append(post_form(browser, b"email=a@b.co&password=x", chunked=True).status_code)
    statuses.append(raw_request(site.base, b"GET / HTTP/1.0\r\n\r\n").status)
    return statuses


def test_bad_input_loses_no_row_and_the_site_goes_on(site, browser):
    user = site.new_user()
    before = site.ctl("user", "list").stdout
    statuses = send_every_bad_request(site, browser)
    assert all(is_no_server_error(s) for s in statuses), statuses
    assert site.ctl("user", "list").stdout == before, "the users table is unchanged"
    assert is_anonymous(Browser(site.base).get("/")), "the site still answers"
    fresh = Browser(site.base)
    assert fresh.login(user.email, user.password).status_code == 302, "no row was corrupted"
    assert is_logged_in_as(fresh.get("/"), user.username)
    assert not crash_lines(site.log_text())
