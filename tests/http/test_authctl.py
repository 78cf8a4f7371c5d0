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


# --- groups (the auth gateway's `AUTHFCGI_REQUIRE_GROUP`) ----------------------------------

def listed(site, email: str, column: str) -> str:
    """The COLUMN cell of EMAIL's row in `authctl user list`."""
    done = site.ctl("user", "list")
    assert done.returncode == 0, done.stderr
    header, *rows = done.stdout.splitlines()
    assert header.split() == ["ID", "EMAIL", "USERNAME", "CONFIRMED", "GROUPS"]
    for row in rows:
        cells = row.split()
        if cells[1] == email:
            return cells[header.split().index(column)]
    raise AssertionError(f"{email} is not in `authctl user list`")


def listed_groups(site, email: str) -> str:
    return listed(site, email, "GROUPS")


def test_authctl_users_are_confirmed_and_confirm_says_so(site, user):
    assert listed(site, user.email, "CONFIRMED") == "yes"
    done = site.ctl("user", "confirm", "--email", user.email)
    assert done.returncode == 0 and "is confirmed already" in done.stdout


@pytest.mark.parametrize("username, reason", [
    ("\u0458ohn", "Usernames must have only letters, numbers, dots or underscores"),
    ("john\u00a0", "Usernames must have only letters, numbers, dots or underscores"),
    ("jo\u0085hn", "Usernames must have only letters, numbers, dots or underscores"),
    ("\u202enhoj", "Usernames must have only letters, numbers, dots or underscores"),
])
def test_user_add_refuses_names_that_pass_for_others(site, username, reason):
    n = next_number()
    done = site.ctl("user", "add", "--email", f"lookalike{n}@example.com", "--username", username,
                    stdin=OTHER_PASSWORD + "\n")
    assert done.returncode == 1 and reason in done.stderr
    assert f"lookalike{n}" not in site.ctl("user", "list").stdout


@pytest.mark.parametrize("password, reason", [
    ("short", "at least 8 characters"),
    ("password1", "too easy to guess"),
    ("strongbutcarl0s-name", "must not contain your username"),
])
def test_user_add_refuses_weak_passwords_with_the_reason(site, password, reason):
    n = next_number()
    done = site.ctl("user", "add", "--email", f"weak{n}@example.com", "--username",
                    f"carl0s{n}"[:6], stdin=password + "\n")
    assert done.returncode == 1 and reason in done.stderr, done.stderr


def test_user_add_refuses_a_non_ascii_address(site):
    done = site.ctl("user", "add", "--email", "paul@ex\u00e4mple.com", "--username", "paulx",
                    stdin=OTHER_PASSWORD + "\n")
    assert done.returncode == 1 and "Invalid email address." in done.stderr


def test_user_add_with_groups_puts_the_user_in_each(site):
    n = next_number()
    email = f"grouped{n}@example.com"
    done = site.ctl("user", "add", "--email", email, "--username", f"grouped{n}",
                    "--group", "staff", "--group=admins", "--group", "staff",
                    stdin=OTHER_PASSWORD + "\n")
    assert done.returncode == 0, done.stderr
    assert "is in the groups admins, staff" in done.stdout
    assert listed_groups(site, email) == "admins,staff"


@pytest.mark.parametrize("group", ["admins,staff", "two words", "", "g" * 65, "adm\u00efns"])
def test_user_add_with_a_bad_group_exits_1_and_adds_nobody(site, group):
    n = next_number()
    done = site.ctl("user", "add", "--email", f"badgroup{n}@example.com", "--username",
                    f"badgroup{n}", "--group", "admins", "--group", group,
                    stdin=OTHER_PASSWORD + "\n")
    assert done.returncode == 1
    assert "group: " in done.stderr and "1 to 64 of A-Z a-z 0-9 . _ -" in done.stderr
    assert f"badgroup{n}" not in site.ctl("user", "list").stdout


def test_group_add_and_remove_change_the_list_and_keep_the_user_logged_in(site, browser, user):
    assert listed_groups(site, user.email) == "-"
    assert browser.login(user.email, user.password).status_code == 302

    added = site.ctl("group", "add", "--email", user.email.upper(), "admins")
    assert added.returncode == 0, added.stderr
    assert added.stdout == (f"authctl: added {user.email} to the group admins; this takes effect "
                            "on the user's next request\n")
    assert listed_groups(site, user.email) == "admins"

    again = site.ctl("group", "add", "--email", user.email, "admins")
    assert again.returncode == 0
    assert "already in the group admins" in again.stdout
    assert listed_groups(site, user.email) == "admins"

    # Names are exact: "Admins" is a group of its own.
    assert site.ctl("group", "add", "--email", user.email, "Admins").returncode == 0
    assert listed_groups(site, user.email) == "Admins,admins"

    removed = site.ctl("group", "remove", "--email", user.email, "admins")
    assert removed.returncode == 0, removed.stderr
    assert "removed" in removed.stdout and "next request" in removed.stdout
    assert listed_groups(site, user.email) == "Admins"

    not_in = site.ctl("group", "remove", "--email", user.email, "admins")
    assert not_in.returncode == 2
    assert f"{user.email} is not in the group admins" in not_in.stderr
    assert is_logged_in_as(browser.get("/"), user.username), "no group change logs anybody out"


@pytest.mark.parametrize("command", ["add", "remove"])
def test_group_commands_exit_codes(site, user, command):
    unknown = site.ctl("group", command, "--email", "nobody@example.com", "admins")
    assert unknown.returncode == 2 and "no user with the email" in unknown.stderr
    bad_name = site.ctl("group", command, "--email", user.email, "admins,staff")
    assert bad_name.returncode == 1 and "group: " in bad_name.stderr
    assert site.ctl("group", command, "--email", user.email).returncode == 1
    assert site.ctl("group", command, "--email", user.email, "admins", "staff").returncode == 1
    assert site.ctl("group", command, "admins").returncode == 1
    assert listed_groups(site, user.email) == "-", "no failed command wrote anything"


def test_deleting_a_user_deletes_its_groups(site, user):
    assert site.ctl("group", "add", "--email", user.email, "admins").returncode == 0
    [[user_id]] = site.sql(f"SELECT id FROM users WHERE email = '{user.email}'")
    assert site.ctl("user", "delete", "--email", user.email).returncode == 0
    assert site.sql(f"SELECT COUNT(*) FROM user_groups WHERE user_id = {int(user_id)}") == [["0"]]
