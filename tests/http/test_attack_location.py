"""Location headers: never built from a Host an attacker sends, never split by CR/LF."""

from __future__ import annotations

from urllib.parse import quote

import pytest

from attack_support import header_injections, is_local_location, no_server_error
from browser import Browser, csrf_token, raw_get
from stack import crash_lines

SPOOFED_HOSTS = ["evil.example", "evil.example:80", "127.0.0.1@evil.example",
                 "evil.example:8080/x"]


@pytest.mark.parametrize("path", ["/secret", "/auth/logout"])
@pytest.mark.parametrize("host", SPOOFED_HOSTS)
def test_a_redirect_is_never_built_from_a_spoofed_host(site, host, path):
    answer = raw_get(site.base, path, headers={"Host": host, "X-Forwarded-Host": "evil.example"})
    if answer.status == 400 and ("@" in host or "/" in host):
        return  # the web server itself may refuse a Host it finds malformed
    assert answer.status == 302
    location = answer.header("Location")
    assert is_local_location(location, site.base), location
    assert "evil" not in location


def test_a_login_with_a_spoofed_host_redirects_to_the_path(site):
    user = site.new_user()
    browser = Browser(site.base)
    page = browser.get("/auth/login")
    body = "&".join(f"{k}={quote(v, safe='')}" for k, v in (
        ("csrf_token", csrf_token(page.text)), ("email", user.email), ("password", user.password)))
    # The cookie by hand: a browser would not send it to another host.
    answer = raw_get(site.base, "/auth/login", method="POST", body=body.encode(), headers={
        "Host": "evil.example", "X-Forwarded-Host": "evil.example", "X-Forwarded-Proto": "https",
        "Cookie": f"session={browser.cookie('session')}",
        "Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status == 302
    assert answer.header("Location") in ("/", site.base + "/")
    assert header_injections(answer) == []


def test_an_encoded_crlf_in_the_path_injects_no_header(site):
    answer = raw_get(site.base, "/secret%0d%0aX-Evil:%201")
    assert header_injections(answer) == []


def test_a_double_slash_path_does_not_redirect_off_site(site):
    answer = raw_get(site.base, "//evil.example/")
    assert no_server_error(answer), answer.status
    assert "evil" not in (answer.header("Location") or "")


def test_no_worker_crashed_under_the_host_attacks(site):
    assert Browser(site.base).get("/").status_code == 200
    assert crash_lines(site.log_text()) == []
