"""The edge of the site, behind nginx and Apache: the pages the web server writes itself carry
the same hardening headers as authfcgi's, each exactly once, and HEAD answers agree with each
other about Content-Length whichever part of the stack answered.

Raw sockets throughout: requests joins repeated headers with ", ", which would hide a header
sent twice, and most of these requests are ones no browser sends.
"""

from __future__ import annotations

import pytest

from browser import RawResponse, raw_get, raw_request

HARDENING = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def hardening_problems(answer: RawResponse) -> list[str]:
    """Each hardening header that is missing, repeated, or not the expected value."""
    problems = []
    for name, expected in HARDENING.items():
        found = answer.headers(name)
        if found != [expected]:
            problems.append(f"{name}: {found!r} (want exactly [{expected!r}])")
    return problems


def request_head(site, lines: list[str]) -> bytes:
    host = site.base.split("//", 1)[1]
    return ("\r\n".join([lines[0], f"Host: {host}", "Connection: close", *lines[1:]])
            + "\r\n\r\n").encode("latin-1")


# --- pages the web server writes itself ------------------------------------------------------
# Each is refused by nginx or Apache before any worker sees it.
SERVER_ERRORS = {
    "bad-request-line": (lambda site: raw_request(site.base, b"GARBAGE\r\n\r\n"), {400}),
    "oversized-header": (lambda site: raw_get(site.base, "/", headers={"X-Pad": "a" * 20000}),
                         {400}),
    "trace": (lambda site: raw_get(site.base, "/", method="TRACE"), {405}),
    "body-over-64-kib": (lambda site: raw_request(site.base, request_head(site, [
        "POST /auth/login HTTP/1.1", "Content-Type: application/x-www-form-urlencoded",
        "Content-Length: 100000"])), {413}),
    "uri-over-16-kib": (lambda site: raw_get(site.base, "/" + "a" * 20000), {414}),
}


@pytest.mark.parametrize("case", list(SERVER_ERRORS))
def test_the_web_servers_own_error_pages_carry_each_hardening_header_once(site, case):
    send, statuses = SERVER_ERRORS[case]
    answer = send(site)
    assert answer.status in statuses, f"{case}: {answer.status}"
    assert hardening_problems(answer) == [], case


def test_with_no_worker_the_web_servers_error_page_carries_each_hardening_header_once(
        make_site, server):
    # A site whose workers are gone: nginx answers 502, Apache 503, from their own pages.
    lonely = make_site(server, processes=1)
    lonely.workers.stop()
    answer = raw_get(lonely.base, "/")
    assert answer.status in (502, 503), answer.status
    assert hardening_problems(answer) == []


# --- authfcgi's pages: the web server adds nothing ----------------------------------------------
APP_PAGES = {
    "GET /": ("GET", "/", 200),
    "GET /auth/login": ("GET", "/auth/login", 200),
    "GET /secret (redirect)": ("GET", "/secret", 302),
    "GET /nope (404 page)": ("GET", "/nope", 404),
    "PUT / (405 page)": ("PUT", "/", 405),
    "GET /?q=%zz (400 from the worker)": ("GET", "/?q=%zz", 400),
}


@pytest.mark.parametrize("case", list(APP_PAGES))
def test_app_pages_carry_each_hardening_header_once(site, case):
    method, target, status = APP_PAGES[case]
    answer = raw_get(site.base, target, method=method,
                     body=b"x" if method == "PUT" else b"")
    assert answer.status == status, f"{case}: {answer.status}"
    assert hardening_problems(answer) == [], case


# --- HEAD ------------------------------------------------------------------------------------
# A HEAD answer is the GET's head, Content-Length included (RFC 9110 9.3.2), whichever way it
# was made: a page, or a request the worker refused before the app (its error page). nginx
# passes the worker's length on, as it sends one on its own error pages; Apache drops the
# length of every HEAD answer, its own included, so behind it no HEAD carries one.
HEAD_TARGETS = {
    "HEAD /": ("/", 200),
    "HEAD /auth/login": ("/auth/login", 200),
    "HEAD /?q=%zz (refused by the worker)": ("/?q=%zz", 400),
}
# Headers that differ between two answers without saying anything about HEAD: the date, a new
# session cookie each time, and how the GET's body is framed.
FRAMING = {"date", "set-cookie", "content-length", "transfer-encoding"}


def header_names(answer: RawResponse) -> list[str]:
    names = [line.decode("latin-1").partition(":")[0].strip().lower()
             for line in answer.header_lines]
    return sorted(n for n in names if n and n not in FRAMING)


@pytest.mark.parametrize("case", list(HEAD_TARGETS))
def test_head_answers_carry_the_gets_headers_and_length_without_the_body(site, case):
    target, status = HEAD_TARGETS[case]
    head = raw_get(site.base, target, method="HEAD")
    get = raw_get(site.base, target)
    assert (head.status, get.status) == (status, status), case
    assert get.body, f"{case}: the GET has a page"
    length = [str(len(get.body))] if site.server == "nginx" else []
    assert head.headers("Content-Length") == length, case
    assert head.headers("Transfer-Encoding") == [], case
    assert head.body == b"", case
    assert header_names(head) == header_names(get), case
    assert head.header("Content-Type") == get.header("Content-Type") == "text/html; charset=utf-8"
