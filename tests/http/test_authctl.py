"""authctl against a running site: exit codes a script can rely on (0 ok, 1 usage, 2 unknown
user, 3 duplicate), and account changes that a logged-in browser notices at once."""

from __future__ import annotations

import re

import pytest

from browser import Browser, is_anonymous, is_logged_in_as
from stack import next_number

OTHER_PASSWORD = "another correct horse 42"


def add(site, email: str, username: str, password: str = OTHER_PASSWORD) -> int:
    return site.ctl("user", "add", "--email", email, "--username", username,
                    stdin=password + "\n").returncode


@pytest.mark.parametrize("taken", ["email", "email-in-other-case", "username"])
def test_user_add_with_a_taken_email_or_username_exits_3(site, taken):
    existing = site.new_user()
    n = next_number()
    email, username = {
        "email": (existing.email, f"other{n}"),
        "email-in-other-case": (existing.email.upper(), f"other{n}"),
        "username": (f"other{n}@example.com", existing.username),
    }[taken]
    assert add(site, email, username) == 3
    listed = site.ctl("user", "list").stdout
    assert not re.search(rf"\bother{n}\b", listed), "no second account"


def test_user_delete_of_an_unknown_email_exits_2(site):
    assert site.ctl("user", "delete", "--email", "nobody@example.com").returncode == 2


def test_authctl_without_a_command_exits_1(site):
    assert site.ctl().returncode == 1


def test_user_list_shows_users_with_emails_lower_cased(site):
    plain = site.new_user()
    n = next_number()
    mixed = site.new_user(email=f"Mixed{n}@Example.COM", username=f"mixed{n}")
    listed = site.ctl("user", "list")
    assert listed.returncode == 0
    assert plain.email in listed.stdout
    assert f"mixed{n}@example.com" in listed.stdout
    assert mixed.email not in listed.stdout


def test_db_migrate_a_second_time_exits_0(site):
    # The site's start ran the migrations once already.
    assert site.ctl("db", "migrate").returncode == 0


def test_logout_everywhere_makes_a_logged_in_browser_anonymous(site, browser, user):
    assert browser.login(user.email, user.password, remember=True).status_code == 302
    assert is_logged_in_as(browser.get("/"), user.username)
    assert site.ctl("user", "logout-everywhere", "--email", user.email).returncode == 0
    assert is_anonymous(browser.get("/"))
    browser.restart()
    assert is_anonymous(browser.get("/")), "the remember token is dead too"


def test_passwd_ends_sessions_and_only_the_new_password_works(site, browser, user):
    assert browser.login(user.email, user.password).status_code == 302
    new_password = f"new password {next_number()} after passwd"
    assert site.ctl("user", "passwd", "--email", user.email,
                    stdin=new_password + "\n").returncode == 0
    assert is_anonymous(browser.get("/"))
    assert browser.login(user.email, new_password).status_code == 302
    assert is_logged_in_as(browser.get("/"), user.username)
    old = Browser(site.base).login(user.email, user.password)
    assert old.status_code == 200 and "Invalid email or password." in old.text


def test_delete_makes_a_logged_in_user_anonymous_at_once(site, browser, user):
    assert browser.login(user.email, user.password).status_code == 302
    assert site.ctl("user", "delete", "--email", user.email).returncode == 0
    assert is_anonymous(browser.get("/"))
