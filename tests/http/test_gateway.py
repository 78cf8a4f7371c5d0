"""The auth gateway: other places on the same server guarded by authfcgi's login, as the local
site serves them (SPEC "Guarding other sites"), behind nginx (auth_request and the snippets
conf/nginx/authfcgi-gateway.conf, authfcgi-protect.conf) and behind Apache (mod_authnz_fcgi
calling workers in the FastCGI AUTHORIZER role over TCP, conf/apache/authfcgi-gateway.conf,
authfcgi-protect.conf):

    /private/   static pages, any logged-in user
    /whoami     a proxied app (scripts/lib/whoami.py) that tells which Remote-* headers and how
                many body bytes it received
    /admin/     static pages, group admins only
"""

from __future__ import annotations

import time
import urllib.parse

import pytest
import requests

import fcgi_client
from browser import Browser, login_path, plain_session, raw_get, set_cookies
from stack import LOOSE_THROTTLE

PRIVATE_TEXT = "This page is protected by authfcgi"
ADMIN_TEXT = "requires the group <code>admins</code>"
HARDENING = {
    "X-Frame-Options": "DENY",
    "Content-Security-Policy": "frame-ancestors 'none'",
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "same-origin",
}


def remote_lines(answer: requests.Response) -> list[str]:
    """What /whoami says it received: its `Remote-*` lines (any spelling), in order."""
    assert answer.status_code == 200, f"/whoami answered {answer.status_code}"
    assert answer.headers["Content-Type"].startswith("text/plain")
    return [line for line in answer.text.splitlines()
            if line.lower().replace("_", "-").startswith("remote-")]


def body_length(answer: requests.Response) -> int:
    lines = [line for line in answer.text.splitlines() if line.startswith("Body-Length: ")]
    assert len(lines) == 1, answer.text
    return int(lines[0].split(": ", 1)[1])


def logged_in(site, user, remember: bool = False) -> Browser:
    b = Browser(site.base)
    assert b.login(user.email, user.password, remember=remember).status_code == 302
    return b


def goes_to_login(answer: requests.Response, next_value: str) -> bool:
    return (answer.status_code == 302
            and answer.headers.get("Location") == login_path(next_value))


# --- the way in ------------------------------------------------------------------------------
@pytest.mark.parametrize("place", ["/private/index.html?from=mail&x=1", "/private/"])
def test_anonymous_goes_to_login_and_comes_back_after_it(site, browser, user, place):
    answer = browser.get(place)
    assert goes_to_login(answer, place), (answer.status_code, answer.headers.get("Location"))
    assert PRIVATE_TEXT not in answer.text
    assert browser.follow().status_code == 200 and browser.form().inputs.get("password")
    back = browser.submit(browser.form(), email=user.email, password=user.password)
    assert back.status_code == 302 and back.headers["Location"] == place
    page = browser.follow()
    assert page.status_code == 200 and PRIVATE_TEXT in page.text


def test_protected_pages_carry_the_hardening_headers(site, user):
    b = logged_in(site, user)
    page = b.get("/private/index.html")
    assert page.status_code == 200
    for name, value in HARDENING.items():
        assert page.raw.headers.getlist(name) == [value], name
    assert not set_cookies(page), "a logged-in browser's cookies stay as they are"
    redirect = Browser(site.base).get("/private/index.html")
    assert redirect.status_code == 302
    for name, value in HARDENING.items():
        assert redirect.raw.headers.getlist(name) == [value], name


def test_a_missing_file_under_a_protected_place_is_404_only_once_logged_in(site, user):
    anonymous = Browser(site.base).get("/private/no-such-page")
    assert goes_to_login(anonymous, "/private/no-such-page"), "no probing without a login"
    assert logged_in(site, user).get("/private/no-such-page").status_code == 404


def test_the_verify_location_is_not_reachable_from_outside(site, user):
    b = logged_in(site, user)
    for method in ("GET", "POST"):
        answer = b.request(method, "/auth/verify")
        assert answer.status_code == 404, method
        assert "Remote-User" not in answer.headers


def test_a_client_sent_original_uri_does_not_choose_the_next_page(site):
    answer = raw_get(site.base, "/private/index.html",
                     {"X-Original-URI": "/auth/logout", "X_Original_URI": "/auth/logout"})
    assert answer.status == 302
    assert answer.header("Location") == login_path("/private/index.html")


# --- the proxied app: bodies and identities ----------------------------------------------------
def test_whoami_tells_the_app_who_is_asking(site):
    user = site.new_user()
    b = logged_in(site, user)
    assert remote_lines(b.get("/whoami")) == [f"Remote-User: {user.username}",
                                              f"Remote-Email: {user.email}"]
    assert site.ctl("group", "add", "--email", user.email, "staff").returncode == 0
    assert site.ctl("group", "add", "--email", user.email, "admins").returncode == 0
    lines = remote_lines(b.get("/whoami"))
    assert lines[:2] == [f"Remote-User: {user.username}", f"Remote-Email: {user.email}"]
    assert len(lines) == 3 and lines[2].startswith("Remote-Groups: ")
    assert sorted(lines[2].split(": ", 1)[1].split(",")) == ["admins", "staff"]


@pytest.mark.parametrize("size", [0, 1, 70_000, 300_000])
def test_a_post_body_reaches_the_protected_app_intact_and_at_once(site, user, size):
    b = logged_in(site, user)
    body = bytes(i % 251 for i in range(size))
    started = time.monotonic()
    answer = b.post("/whoami", data=body, timeout=10,
                    headers={"Content-Type": "application/octet-stream"})
    assert time.monotonic() - started < 5, "the auth subrequest waited for the body"
    assert body_length(answer) == size
    assert f"Remote-User: {user.username}" in remote_lines(answer)


@pytest.mark.parametrize("size", [5_000, 300_000])
def test_an_anonymous_post_with_a_body_goes_to_login_at_once(site, size):
    started = time.monotonic()
    answer = Browser(site.base).post("/whoami", data={"comment": "x" * size}, timeout=10)
    assert time.monotonic() - started < 5
    assert goes_to_login(answer, "/whoami")


def test_a_post_refused_by_a_group_gets_the_403_page(site, user):
    answer = logged_in(site, user).post("/admin/", data={"comment": "x" * 5_000}, timeout=10)
    assert answer.status_code == 403 and "403 Forbidden" in answer.text


@pytest.mark.parametrize("spelling", ["Remote-User", "remote-user", "REMOTE-USER",
                                      "Remote_User", "remote_user"])
def test_a_client_sent_remote_user_never_reaches_the_app(site, user, spelling):
    forged = {spelling: "admin", spelling.replace("User", "Groups").replace("user", "groups")
              .replace("USER", "GROUPS"): "admins"}
    anonymous = plain_session().get(site.base + "/whoami", headers=forged,
                                    allow_redirects=False, timeout=10)
    assert goes_to_login(anonymous, "/whoami"), "a forged header is no login"
    b = logged_in(site, user)
    lines = remote_lines(b.get("/whoami", headers=forged))
    assert lines == [f"Remote-User: {user.username}", f"Remote-Email: {user.email}"]


@pytest.fixture(scope="module")
def underscores_site(make_site, server):
    # A server that lets `_` headers through (some sites need them for their own apps), plus a
    # location that hands the worker two REQUEST_URIs, to see which one it takes.
    return make_site(server, config=LOOSE_THROTTLE, web_config="""
        underscores_in_headers on;
        location = /first-param-check {
            fastcgi_param REQUEST_URI /auth/login;
            include /etc/nginx/fastcgi_params;
            fastcgi_pass authfcgi;
        }""")


@pytest.mark.servers("nginx")
def test_with_underscores_in_headers_on_remote_user_spellings_still_never_reach_the_app(
        underscores_site):
    user = underscores_site.new_user()
    b = logged_in(underscores_site, user)
    for spelling in ("Remote_User", "remote_user", "Remote_Email", "Remote_Groups"):
        lines = remote_lines(b.get("/whoami", headers={spelling: "admin"}))
        assert lines == [f"Remote-User: {user.username}", f"Remote-Email: {user.email}"], spelling
    answer = raw_get(underscores_site.base, "/private/index.html",
                     {"X_Original_URI": "/auth/logout"})
    assert answer.header("Location") == login_path("/private/index.html")


@pytest.mark.servers("nginx")
def test_the_worker_takes_the_first_of_two_params_of_one_name(underscores_site):
    # The verify location relies on it: its REQUEST_URI and REQUEST_METHOD come before
    # fastcgi_params' copies of the protected request's.
    b = Browser(underscores_site.base)
    assert b.get("/first-param-check").status_code == 200
    assert "password" in b.form().inputs, "the login page"


# --- groups ----------------------------------------------------------------------------------
def test_admin_needs_the_group_and_a_group_change_counts_on_the_next_request(site):
    user = site.new_user()
    b = logged_in(site, user)
    refused = b.get("/admin/")
    assert refused.status_code == 403
    assert "403 Forbidden" in refused.text and ADMIN_TEXT not in refused.text
    assert 'href="/auth/logout"' in refused.text, "authfcgi's page, with the user's navbar"
    for name, value in HARDENING.items():
        assert refused.raw.headers.getlist(name) == [value], name
    assert b.get("/private/index.html").status_code == 200, "any logged-in user may"

    assert site.ctl("group", "add", "--email", user.email, "admins").returncode == 0
    allowed = b.get("/admin/")
    assert allowed.status_code == 200 and ADMIN_TEXT in allowed.text

    assert site.ctl("group", "remove", "--email", user.email, "admins").returncode == 0
    assert b.get("/admin/").status_code == 403


def test_a_user_added_with_the_group_gets_in(site):
    user = site.new_user()
    email, password = f"adm-{user.username}@example.com", user.password
    done = site.ctl("user", "add", "--email", email, "--username", f"adm_{user.username}",
                    "--group", "admins", stdin=password + "\n")
    assert done.returncode == 0, done.stderr
    b = Browser(site.base)
    assert b.login(email, password).status_code == 302
    assert b.get("/admin/").status_code == 200


def test_anonymous_admin_goes_to_login_not_to_403(site):
    assert goes_to_login(Browser(site.base).get("/admin/"), "/admin/")


# --- leaving ---------------------------------------------------------------------------------
def test_logout_sends_the_next_protected_request_to_login(site, user):
    b = logged_in(site, user)
    assert b.get("/private/index.html").status_code == 200
    assert b.get("/auth/logout").status_code == 302
    assert goes_to_login(b.get("/private/index.html"), "/private/index.html")
    assert goes_to_login(b.get("/whoami"), "/whoami")


def test_logout_everywhere_sends_every_browser_to_login_at_once(site):
    user = site.new_user()
    browsers = [logged_in(site, user), logged_in(site, user, remember=True)]
    for b in browsers:
        assert b.get("/whoami").status_code == 200
    assert site.ctl("user", "logout-everywhere", "--email", user.email).returncode == 0
    for b in browsers:
        assert goes_to_login(b.get("/whoami"), "/whoami")
    browsers[1].restart()
    assert goes_to_login(browsers[1].get("/whoami"), "/whoami"), "the remember token is dead too"


# --- remember me -----------------------------------------------------------------------------
def test_a_remembered_browser_gets_through_and_receives_both_new_cookies(site, user):
    b = logged_in(site, user, remember=True)
    old_remember = b.cookie("remember_token")
    b.restart()  # the session cookie is gone
    assert b.cookie("session") is None and old_remember
    page = b.get("/private/index.html")
    assert page.status_code == 200 and PRIVATE_TEXT in page.text
    cookies = set_cookies(page)
    assert set(cookies) == {"session", "remember_token"}, page.raw.headers.getlist("Set-Cookie")
    assert "HttpOnly" in cookies["session"] and "HttpOnly" in cookies["remember_token"]
    assert b.cookie("remember_token") != old_remember, "the token rotated"
    # The new cookies work, and the browser keeps them: no further exchange.
    again = b.get("/whoami")
    assert f"Remote-User: {user.username}" in remote_lines(again)
    assert not set_cookies(again)
    b.restart()
    assert b.get("/private/index.html").status_code == 200, "the rotated token restores too"


def test_a_remembered_browser_refused_by_a_group_still_keeps_its_new_cookies(site, user):
    b = logged_in(site, user, remember=True)
    b.restart()
    refused = b.get("/admin/")
    assert refused.status_code == 403
    assert set(set_cookies(refused)) == {"session", "remember_token"}
    assert b.get("/private/index.html").status_code == 200, "not sent to log in again"
    b.restart()
    assert b.get("/private/index.html").status_code == 200, "nor taken for a thief"


def test_a_remembered_browser_gets_through_a_directory_index(site, user):
    # nginx's index module would redirect /private/ to /private/index.html internally, and the
    # auth subrequest would run again with the cookies the first run exchanged: anonymous, the
    # new cookies lost. The local nginx site serves directories with try_files instead; Apache
    # asks the authorizer once for the directory and its index.
    b = logged_in(site, user, remember=True)
    b.restart()
    page = b.get("/private/")
    assert page.status_code == 200 and PRIVATE_TEXT in page.text
    assert {"session", "remember_token"} <= set(set_cookies(page))
    assert b.get("/whoami").status_code == 200
    b.restart()
    assert b.get("/private/index.html").status_code == 200, "the token the browser kept works"


# --- Apache's authorizer listener ------------------------------------------------------------
def authorizer_address(site) -> tuple[str, int]:
    assert site.authorizer is not None, "an Apache site has authorizer workers"
    host, port = site.authorizer.socket.rsplit(":", 1)
    return host, int(port)


@pytest.mark.servers("apache")
def test_nobody_logs_in_through_the_authorizer_port(site, user):
    # Any local user can connect to a TCP port. A login sent there in the RESPONDER role, with a
    # REMOTE_ADDR of the sender's choosing, is refused before anything reads it.
    form = urllib.parse.urlencode({"email": user.email, "password": user.password}).encode()
    status, headers, body = fcgi_client.request(authorizer_address(site), "RESPONDER", {
        "REQUEST_METHOD": "POST", "REQUEST_URI": "/auth/login", "REMOTE_ADDR": "203.0.113.9",
        "CONTENT_TYPE": "application/x-www-form-urlencoded", "CONTENT_LENGTH": str(len(form)),
    }, form)
    assert status == 403 and b"AUTHORIZER requests only" in body
    assert "Set-Cookie" not in headers
    assert "203.0.113.9" not in site.authorizer.log_text(), "no login attempt was made"
    # A GET of any page there is refused the same way.
    status, _, _ = fcgi_client.request(authorizer_address(site), "RESPONDER", {
        "REQUEST_METHOD": "GET", "REQUEST_URI": "/", "REMOTE_ADDR": "127.0.0.1"})
    assert status == 403


@pytest.mark.servers("apache")
def test_the_authorizer_answers_with_variables_only(site, user):
    b = logged_in(site, user)
    cookie = f"session={b.cookie('session')}"
    status, headers, body = fcgi_client.request(authorizer_address(site), "AUTHORIZER", {
        "REQUEST_METHOD": "GET", "REQUEST_URI": "/private/", "REMOTE_ADDR": "127.0.0.1",
        "HTTP_COOKIE": cookie})
    assert status == 200 and body == b""
    # Apache moves Variable-* into the environment and sends every other header to the browser.
    assert {name for name in headers if name != "Content-Length"} == {
        "Variable-REMOTE_USER", "Variable-REMOTE_EMAIL", "Variable-REMOTE_GROUPS"}
    assert headers["Variable-REMOTE_USER"] == user.username
    # The site's own socket does not answer authorizer requests.
    status, _, _ = fcgi_client.request(site.workers.socket, "AUTHORIZER", {
        "REQUEST_METHOD": "GET", "REQUEST_URI": "/private/", "HTTP_COOKIE": cookie})
    assert status == 403


@pytest.mark.servers("apache")
def test_the_authorizer_listens_on_loopback_only(site):
    host, port = authorizer_address(site)
    assert host.startswith("127.")
    listening = [line.split() for line in open("/proc/net/tcp").read().splitlines()[1:]]
    local = {line[1] for line in listening if line[3] == "0A"}  # state LISTEN
    assert f"0100007F:{port:04X}" in local, "bound to 127.0.0.1"
    assert f"00000000:{port:04X}" not in local, "not to every address"
