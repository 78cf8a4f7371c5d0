"""An attacker's findings against sessions, remember tokens, logout and flashes (issue 12,
point 6), as a user or the attacker would see them over HTTP, behind nginx and Apache.

    the thief's logout trick    a selector alone must not delete a remember token
    restores without bound      at most 100 live sessions per user, the oldest ends
    cross-site logout           a cross-site GET asks for a confirming POST instead
    flash pile-up               pending flashes are bounded and never repeated

SPEC: "Pages" and "Sessions and cookies".
"""

from __future__ import annotations

import secrets
from urllib.parse import urljoin, urlsplit

import pytest
import requests

from browser import (TIMEOUT, Browser, Form, forms, is_anonymous, is_logged_in_as, plain_session,
                     set_cookies)

LOGGED_OUT = "You have been logged out."
PLEASE_LOG_IN = "Please log in to access this page."
MAX_SESSIONS = 100


# --- the site's database -----------------------------------------------------------------------


def user_id(site, user) -> int:
    return int(site.sql(f"SELECT id FROM users WHERE email = '{user.email}'")[0][0])


def count(site, table: str, uid: int) -> int:
    return int(site.sql(f"SELECT COUNT(*) FROM {table} WHERE user_id = {uid}")[0][0])


# --- helpers -----------------------------------------------------------------------------------


def logged_in(site, user, remember: bool = False) -> Browser:
    browser = Browser(site.base)
    assert browser.login(user.email, user.password, remember).status_code == 302
    return browser


def cookie_value(response: requests.Response, name: str) -> str | None:
    header = set_cookies(response).get(name)
    return header.split(";", 1)[0].split("=", 1)[1] if header else None


def with_cookie(probe: requests.Session, base: str, path: str, cookie: str) -> requests.Response:
    """GET PATH with only COOKIE (PROBE keeps no jar): a client that holds just that."""
    return probe.get(base + path, headers={"Cookie": cookie}, allow_redirects=False,
                     timeout=TIMEOUT)


def redirects_home(response: requests.Response, base: str) -> bool:
    return response.status_code == 302 and response.headers.get("Location") in ("/", base + "/")


# --- 1. the thief's logout trick ---------------------------------------------------------------


def test_a_selector_alone_cannot_delete_a_stolen_token_so_its_return_revokes_every_login(site):
    user = site.new_user()
    uid = user_id(site, user)
    victim = logged_in(site, user, remember=True)
    stolen = victim.cookie("remember_token")
    assert stolen, "remember me sets a remember_token cookie"
    selector = stolen.split(".", 1)[0]

    thief = Browser(site.base)
    thief.set_cookie("remember_token", stolen)
    assert is_logged_in_as(thief.get("/"), user.username), "the copied token restores"
    assert thief.cookie("remember_token") not in (None, stolen), "the thief got a new token"

    # The selector is not secret enough: with a made-up validator the thief tries to erase
    # the used token, so that the victim's copy no longer reveals the theft.
    made_up = f"{selector}.{secrets.token_urlsafe(32)}"
    trick = with_cookie(plain_session(), site.base, "/auth/logout", f"remember_token={made_up}")
    assert redirects_home(trick, site.base), trick.status_code
    rows = site.sql(f"SELECT COUNT(*) FROM remember_tokens WHERE selector = '{selector}'")
    assert rows == [["1"]], "a logout without the validator deleted the stolen token's row"

    # After the grace minute the victim's browser comes back with the token the thief used.
    site.sql(f"UPDATE remember_tokens SET used_at = used_at - 120 WHERE selector = '{selector}'")
    victim.restart()
    assert victim.cookie("session") is None and victim.cookie("remember_token") == stolen
    assert is_anonymous(victim.get("/")), "a reused token logs nobody in"
    assert is_anonymous(thief.get("/")), "the theft ends the thief's session and token too"
    assert count(site, "remember_tokens", uid) == 0, "every remember token of the user revoked"
    assert count(site, "sessions", uid) == 0, "every session of the user revoked"


# --- 2. restores without bound -----------------------------------------------------------------


@pytest.mark.slow
def test_remember_me_restores_keep_at_most_100_sessions_and_end_the_oldest(site):
    user = site.new_user()
    uid = user_id(site, user)
    first = logged_in(site, user, remember=True)
    first_session = first.cookie("session")
    stolen = token = first.cookie("remember_token")
    assert first_session and token
    # The stolen token had lived a day in the victim's browser before the thief used it.
    site.sql("UPDATE remember_tokens SET issued_at = issued_at - 86400 "
              f"WHERE selector = '{stolen.split('.')[0]}'")
    probe = plain_session()
    last_session = None
    for round_number in range(150):
        # A fresh client each round: only the remember cookie, no session.
        answer = with_cookie(probe, site.base, "/", f"remember_token={token}")
        assert is_logged_in_as(answer, user.username), f"restore {round_number}"
        token = cookie_value(answer, "remember_token")
        last_session = cookie_value(answer, "session")
        assert token and last_session, f"restore {round_number} issues both cookies"

    sessions = count(site, "sessions", uid)
    live = int(site.sql(f"SELECT COUNT(*) FROM remember_tokens WHERE user_id = {uid} "
                         "AND used_at = 0")[0][0])
    used = count(site, "remember_tokens", uid) - live
    assert sessions <= MAX_SESSIONS, f"{sessions} session rows for one user"
    assert live <= MAX_SESSIONS and used <= MAX_SESSIONS, f"{live} live and {used} used tokens"
    assert is_anonymous(with_cookie(probe, site.base, "/", f"session={first_session}")), (
        "the oldest session (the password login) ended")
    assert is_logged_in_as(with_cookie(probe, site.base, "/", f"session={last_session}"),
                           user.username), "the newest session lives"

    # The loop did not push the stolen token out: when the victim's browser brings it back
    # after the grace minute, every login of the user ends, the thief's included.
    site.sql("UPDATE remember_tokens SET used_at = used_at - 120 "
              f"WHERE selector = '{stolen.split('.')[0]}'")
    assert is_anonymous(with_cookie(probe, site.base, "/", f"remember_token={stolen}"))
    assert is_anonymous(with_cookie(probe, site.base, "/", f"session={last_session}")), (
        "the thief's newest session ended")
    assert (count(site, "sessions", uid), count(site, "remember_tokens", uid)) == (0, 0)


# --- 3. cross-site logout ----------------------------------------------------------------------

CROSS_SITE = {"Sec-Fetch-Site": "cross-site", "Origin": "https://evil.example"}


def logout_form(page: requests.Response) -> Form | None:
    """The form on PAGE that posts to /auth/logout (an empty action posts to the page's own
    URL), or None."""
    for form in forms(page.text):
        target = urlsplit(urljoin(page.url, form.action or page.url))
        if form.method == "post" and target.path == "/auth/logout":
            return form
    return None


def test_a_cross_site_logout_link_asks_for_a_confirming_post(site):
    user = site.new_user()
    browser = logged_in(site, user)
    page = browser.get("/auth/logout", headers=CROSS_SITE)
    assert page.status_code == 200 and "Location" not in page.headers, (
        f"a cross-site GET /auth/logout answers {page.status_code} "
        f"{page.headers.get('Location', '')}".strip())
    form = logout_form(page)
    assert form is not None, "the page has a form that posts to /auth/logout"
    assert form.fields.get("csrf_token"), "the form carries a hidden csrf_token"
    assert is_logged_in_as(browser.get("/"), user.username), "still logged in"

    # The user's own click on that page: a same-origin POST with the token.
    answer = browser.submit(form)
    assert redirects_home(answer, site.base), answer.status_code
    home = browser.follow()
    assert LOGGED_OUT in home.text
    assert is_anonymous(home)


@pytest.mark.parametrize("token", ["none", "made-up", "other-browser"])
def test_a_logout_post_without_the_sessions_csrf_token_is_400(site, token):
    user = site.new_user()
    browser = logged_in(site, user)
    data = {}
    if token == "made-up":
        data["csrf_token"] = secrets.token_urlsafe(32)
    elif token == "other-browser":
        other = logged_in(site, site.new_user())
        other.get("/auth/login")
        data["csrf_token"] = other.form().fields["csrf_token"]
        assert data["csrf_token"]
    answer = browser.post("/auth/logout", data=data)
    assert answer.status_code == 400, f"POST /auth/logout with token {token}"
    assert is_logged_in_as(browser.get("/"), user.username), "still logged in"


def test_a_cross_site_head_does_not_log_out(site):
    user = site.new_user()
    browser = logged_in(site, user)
    answer = browser.request("HEAD", "/auth/logout", headers=CROSS_SITE)
    assert answer.status_code < 500 and answer.content == b""
    assert is_logged_in_as(browser.get("/"), user.username), "a cross-site HEAD logged out"


# Passes before and after the fix: the lesson's GET logout stays for the site's own links and
# for clients that send no Sec-Fetch-Site (curl, older browsers).
@pytest.mark.parametrize("fetch_site", ["same-origin", None], ids=["same-origin", "no-header"])
def test_a_same_origin_or_headerless_logout_link_logs_out(site, fetch_site):
    user = site.new_user()
    browser = logged_in(site, user)
    headers = {"Sec-Fetch-Site": fetch_site} if fetch_site else {}
    answer = browser.get("/auth/logout", headers=headers)
    assert redirects_home(answer, site.base), answer.status_code
    home = browser.follow()
    assert LOGGED_OUT in home.text
    assert is_anonymous(home)


# --- 4. flash pile-up --------------------------------------------------------------------------


def test_72_anonymous_visits_to_secret_leave_one_small_flash(site):
    browser = Browser(site.base)
    statuses = [browser.get("/secret").status_code for _ in range(72)]
    assert set(statuses) == {302}, f"answers: {sorted(set(statuses))}"
    size = len(browser.cookie("session") or "")
    assert size < 1024, f"a {size}-byte session cookie"
    page = browser.get("/auth/login")
    assert page.status_code == 200
    assert page.text.count(PLEASE_LOG_IN) == 1


def test_flashes_piled_across_login_and_logout_show_once_each(site):
    # Over HTTP only these two flashes can wait for a later page: the third text, "Invalid
    # email or password.", is shown by the very answer that flashes it, and each login needs a
    # rendered form (which shows what is pending) for its CSRF token. The bound of 5 distinct
    # flashes is therefore a unit test's matter; here: no duplicates and a small cookie.
    user = site.new_user()
    browser = Browser(site.base)
    for _ in range(3):
        browser.get("/auth/login")
        form = browser.form()
        for _ in range(12):
            assert browser.get("/secret").status_code == 302
        answer = browser.submit(form, email=user.email, password=user.password)
        assert answer.status_code == 302, "a login keeps the pending flashes and succeeds"
        assert redirects_home(browser.get("/auth/logout"), site.base)
        for _ in range(12):
            assert browser.get("/secret").status_code == 302
        size = len(browser.cookie("session") or "")
        assert size < 1024, f"a {size}-byte session cookie"
        page = browser.get("/")
        assert is_anonymous(page)
        assert page.text.count(PLEASE_LOG_IN) == 1, "the login request shows once"
        assert page.text.count(LOGGED_OUT) == 1, "the logout shows once"
