"""CSRF tokens expire (csrf_time_limit): a site of its own with a 2-second limit, behind nginx
and Apache."""

from __future__ import annotations

import time

import pytest

from browser import Browser, is_anonymous, is_logged_in_as

LIMIT = 2  # seconds


@pytest.fixture
def short_csrf_site(make_site, server):
    return make_site(server, processes=1, config=(f"csrf_time_limit = {LIMIT}",))


@pytest.mark.slow  # waits out the limit
def test_a_token_older_than_csrf_time_limit_is_400_expired(short_csrf_site):
    user = short_csrf_site.new_user()
    # A fresh token still works on this site, so the 400 below is about the token's age.
    fresh = Browser(short_csrf_site.base)
    assert fresh.login(user.email, user.password).status_code == 302
    assert is_logged_in_as(fresh.get("/"), user.username)

    browser = Browser(short_csrf_site.base)
    browser.get("/auth/login")
    form = browser.form()
    time.sleep(LIMIT + 1.2)
    answer = browser.submit(form, email=user.email, password=user.password)
    assert answer.status_code == 400
    assert "The CSRF token has expired." in answer.text
    assert is_anonymous(browser.get("/"))
