"""SPEC's page table, behind nginx and Apache: what a visitor sees on each page."""

from __future__ import annotations

import re

import pytest
import requests

from browser import Browser, blank_values, csrf_token, is_anonymous, is_logged_in_as

HTML_HEADERS = {
    "X-Frame-Options": r"^DENY$",
    "X-Content-Type-Options": r"^nosniff$",
    "Referrer-Policy": r"^same-origin$",
    "Content-Security-Policy": r"frame-ancestors 'none'",
    "Content-Type": r"^text/html; ?charset=(utf|UTF)-8$",
}


def assert_html_headers(response: requests.Response) -> None:
    for name, pattern in HTML_HEADERS.items():
        assert re.search(pattern, response.headers.get(name, "")), (
            f"{response.url}: {name} is {response.headers.get(name)!r}")


def assert_no_store(response: requests.Response) -> None:
    assert "no-store" in response.headers.get("Cache-Control", ""), response.url


def test_anonymous_index_greets_anonymous_with_a_log_in_link(browser):
    page = browser.get("/")
    assert is_anonymous(page)
    assert "Log In" in page.text
    assert_html_headers(page)
    assert_no_store(page)


def test_head_is_get_without_a_body(site):
    head = requests.head(site.base + "/", timeout=10)
    assert head.status_code == 200
    assert head.headers["Content-Type"].startswith("text/html")
    assert head.headers["X-Frame-Options"] == "DENY"
    assert head.content == b""
    assert requests.head(site.base + "/no-such-page", timeout=10).status_code == 404


def test_login_form_has_the_lessons_fields(browser):
    page = browser.get("/auth/login")
    assert page.status_code == 200
    assert_html_headers(page)
    assert_no_store(page)
    form = browser.form()
    assert re.fullmatch(r"[A-Za-z0-9._~-]+", form.fields["csrf_token"])
    assert form.inputs["csrf_token"]["type"] == "hidden"
    assert form.inputs["email"]["type"] in ("email", "text")
    assert form.inputs["password"]["type"] == "password"
    assert form.inputs["remember_me"]["type"] == "checkbox"
    assert form.inputs["remember_me"]["value"] == "y"
    assert any(i.get("type") == "submit" and i.get("value") == "Log In"
               for i in form.inputs.values())


def test_post_without_csrf_token_is_400_missing(browser, user):
    browser.get("/auth/login")
    page = browser.post("/auth/login", data={"email": user.email, "password": user.password})
    assert page.status_code == 400
    assert "The CSRF token is missing." in page.text
    assert_html_headers(page)
    assert is_anonymous(browser.get("/"))


@pytest.mark.parametrize("token", ["not-a-token", "other-browser"])
def test_post_with_a_made_up_or_foreign_csrf_token_is_400_invalid(site, browser, user, token):
    if token == "other-browser":
        token = csrf_token(Browser(site.base).get("/auth/login").text)
        assert token
    browser.get("/auth/login")
    page = browser.post("/auth/login", data={"csrf_token": token, "email": user.email,
                                             "password": user.password})
    assert page.status_code == 400
    assert "The CSRF token is invalid." in page.text
    assert is_anonymous(browser.get("/"))


def test_post_with_a_token_but_no_session_cookie_is_400(site, user):
    token = csrf_token(Browser(site.base).get("/auth/login").text)
    page = requests.post(site.base + "/auth/login", timeout=10, allow_redirects=False,
                         data={"csrf_token": token, "email": user.email,
                               "password": user.password})
    assert page.status_code == 400


TYPED_SECRET = "Typed-Secret-Pw-123"


@pytest.mark.parametrize("email,password,message", [
    ("", TYPED_SECRET, "This field is required."),
    ("not-an-email", TYPED_SECRET, "Invalid email address."),
    ("a" * 53 + "@example.com", TYPED_SECRET, "Field must be between 1 and 64 characters long."),
    ("alice@example.com", "", "This field is required."),
], ids=["empty-email", "bad-email", "65-char-email", "empty-password"])
def test_validation_message_keeps_the_email_and_never_echoes_the_password(
        browser, email, password, message):
    browser.get("/auth/login")
    page = browser.submit(browser.form(), email=email, password=password)
    assert page.status_code == 200
    assert message in page.text
    assert TYPED_SECRET not in page.text
    assert "Invalid email or password." not in page.text
    if email:
        assert browser.form().inputs["email"]["value"] == email


def test_unknown_email_and_wrong_password_answer_alike(browser, user):
    unknown = browser.login("nobody@example.com", user.password)
    assert unknown.status_code == 200
    assert "Invalid email or password." in unknown.text
    assert user.password not in unknown.text
    wrong = browser.login(user.email, "wrong password")
    assert wrong.status_code == 200
    assert blank_values(unknown.text) == blank_values(wrong.text)
    assert is_anonymous(browser.get("/"))


def test_login_starts_a_new_session_with_safe_cookie_attributes(site, browser, user):
    browser.get("/auth/login")
    before = browser.cookie("session")
    answer = browser.submit(browser.form(), email=user.email, password=user.password)
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/", site.base + "/")
    set_cookies = answer.raw.headers.getlist("Set-Cookie")
    cookie = next((c for c in set_cookies if c.startswith("session=")), "")
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert cookie.startswith("session=")
    assert "httponly" in attributes and "samesite=lax" in attributes and "path=/" in attributes
    assert not any(a.startswith(("expires=", "max-age=")) for a in attributes)
    assert "secure" not in attributes, "no Secure over plain HTTP"
    assert not any(c.startswith("remember_token=") for c in set_cookies)
    # The device cookie marks a known browser for the login form only; it logs no one in.
    device = next((c for c in set_cookies if c.startswith("device=")), "")
    device_attributes = [a.strip().lower() for a in device.split(";")]
    assert "path=/auth/" in device_attributes and "httponly" in device_attributes
    assert before and browser.cookie("session") != before, "no fixation: a new cookie"
    home = browser.get("/")
    assert is_logged_in_as(home, user.username)
    assert_no_store(home)
    secret = browser.get("/secret")
    assert secret.status_code == 200
    assert "Only authenticated users are allowed!" in secret.text
    assert_html_headers(secret)
    assert_no_store(secret)
    again = browser.get("/auth/login")
    assert again.status_code == 200 and 'href="/auth/logout"' in again.text
    # The pre-login cookie is worth nothing now.
    stale = requests.get(site.base + "/", headers={"Cookie": f"session={before}"}, timeout=10)
    assert is_anonymous(stale)


def test_remember_me_logs_in_again_after_the_browser_restarts(browser, user):
    answer = browser.login(user.email, user.password, remember=True)
    assert answer.status_code == 302
    cookie = next(h for h in answer.raw.headers.getlist("Set-Cookie")
                  if h.startswith("remember_token="))
    attributes = [a.strip().lower() for a in cookie.split(";")]
    assert "max-age=31536000" in attributes
    assert "httponly" in attributes and "samesite=lax" in attributes
    browser.restart()
    assert browser.cookie("session") is None and browser.cookie("remember_token")
    home = browser.get("/")
    assert is_logged_in_as(home, user.username)
    assert "session=" in home.headers.get("Set-Cookie", ""), "a new session cookie is issued"
    assert browser.get("/secret").status_code == 200


def test_logout_ends_the_session_and_kills_copied_cookies(site, browser, user):
    browser.login(user.email, user.password, remember=True)
    browser.restart()
    browser.get("/")  # restored by the remember token: a fresh session cookie
    copied_session = browser.cookie("session")
    copied_remember = browser.cookie("remember_token")
    answer = browser.get("/auth/logout")
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/", site.base + "/")
    home = browser.get("/")
    assert "You have been logged out." in home.text
    assert is_anonymous(home)
    assert "You have been logged out." not in browser.get("/").text, "a flash shows once"
    assert browser.get("/secret").status_code == 302
    for cookie in (f"session={copied_session}", f"remember_token={copied_remember}"):
        assert is_anonymous(requests.get(site.base + "/", headers={"Cookie": cookie}, timeout=10))
        dead = requests.get(site.base + "/secret", headers={"Cookie": cookie}, timeout=10,
                            allow_redirects=False)
        assert dead.status_code == 302, f"{cookie.split('=')[0]} copied before logout is dead"


def test_anonymous_logout_redirects_home(site, browser):
    answer = browser.get("/auth/logout")
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/", site.base + "/")


def test_secret_sends_anonymous_to_login_with_next_and_back(site, browser, user):
    answer = browser.get("/secret")
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/auth/login?next=%2Fsecret",
                                          site.base + "/auth/login?next=%2Fsecret")
    page = browser.follow()
    assert page.status_code == 200
    assert "Please log in to access this page." in page.text
    assert "Please log in to access this page." not in browser.get(
        "/auth/login?next=%2Fsecret").text, "the flash shows once"
    answer = browser.login(user.email, user.password, next="/secret")
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/secret", site.base + "/secret")


@pytest.mark.parametrize("next_value", [
    "//evil.example", "/\\evil.example", "/%2F%2Fevil.example", "/%5Cevil", "/%2f%5cevil",
    "/\t/evil.example", "/%09/evil.example", "/\r\nX-Evil: 1", "javascript:alert(1)",
    "https://evil.example", "http:/evil.example", "evil.example",
])
def test_unsafe_next_redirects_home(site, browser, user, next_value):
    answer = browser.login(user.email, user.password, next=next_value)
    assert answer.status_code == 302
    assert answer.headers["Location"] in ("/", site.base + "/")
    assert "X-Evil" not in answer.headers


def test_a_logged_in_user_may_log_in_as_another(site, browser, user):
    other = site.new_user()
    browser.login(user.email, user.password)
    assert browser.login(other.email, other.password).status_code == 302
    assert is_logged_in_as(browser.get("/"), other.username)


def test_email_is_case_insensitive(site, browser):
    mixed = site.new_user(email="Mixed.Case@Example.COM", username="mixedcase")
    assert browser.login(mixed.email.upper(), mixed.password).status_code == 302
    assert is_logged_in_as(browser.get("/"), mixed.username)
    lower = Browser(site.base)
    assert lower.login(mixed.email.lower(), mixed.password).status_code == 302
    assert is_logged_in_as(lower.get("/"), mixed.username)


def test_unknown_path_is_a_404_page_in_the_layout(browser):
    page = browser.get("/no-such-page")
    assert page.status_code == 404
    assert "<html" in page.text and 'href="/auth/login"' in page.text
    assert_html_headers(page)
    assert browser.get("/auth/login/extra").status_code == 404


@pytest.mark.parametrize("method,path,allowed", [
    ("POST", "/", {"GET"}), ("PUT", "/auth/login", {"GET", "POST"}), ("DELETE", "/secret", {"GET"}),
])
def test_wrong_method_is_405_with_allow(browser, method, path, allowed):
    answer = browser.request(method, path, data="x=1" if method != "DELETE" else None)
    assert answer.status_code == 405
    assert allowed <= {m.strip() for m in answer.headers["Allow"].split(",")}


def test_a_body_over_64_kib_is_413(site):
    answer = requests.post(site.base + "/auth/login", data=b"a" * 70000, timeout=20,
                           headers={"Content-Type": "application/x-www-form-urlencoded"})
    assert answer.status_code == 413


def test_a_chunked_body_over_64_kib_is_refused_and_the_site_goes_on(site, browser):
    # nginx answers 413; the Apache site refuses chunked bodies with 411 (it cannot limit them
    # for mod_proxy_fcgi). Either way the form never reaches the app.
    answer = requests.post(site.base + "/auth/login", data=iter([b"a" * 35000, b"a" * 35000]),
                           headers={"Content-Type": "application/x-www-form-urlencoded"},
                           timeout=20)
    assert answer.status_code in (411, 413)
    assert browser.get("/").status_code == 200

