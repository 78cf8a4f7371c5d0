"""Self-service accounts over HTTP with the real SMTP sink (SPEC "Self-service accounts and
mail"): registration, the confirmation mail and its link, the unconfirmed gate (pages and the
auth gateway), another confirmation mail at most once a minute, no word about taken addresses.
"""

from __future__ import annotations

import time

import pytest

from browser import Browser
from mailbox import Mailbox, links_of, make_test_tls, sent_to, text_of
from stack import next_number

PASSWORD = "Tulip-harbor-2026"
REGISTERED = "A confirmation email has been sent to you by email."


def register(site, email: str, username: str, password: str = PASSWORD,
             password2: str | None = None) -> tuple[Browser, object]:
    b = Browser(site.base)
    page = b.get("/auth/register")
    assert page.status_code == 200, page.status_code
    answer = b.submit(b.form(), email=email, username=username, password=password,
                      password2=password if password2 is None else password2)
    return b, answer


def fresh(prefix: str = "reg") -> tuple[str, str]:
    n = next_number()
    return f"{prefix}{n}@example.com", f"{prefix}{n}"


def confirmation_link(site, email: str, after=()) -> str:
    mail = Mailbox(site.smtp.maildir).wait_for(sent_to(email), after=after)
    assert mail["Subject"] == "[Flasky] Confirm Your Account"
    links = [link for link in links_of(mail) if "/auth/confirm/" in link]
    assert len(links) == 1, text_of(mail)
    return links[0]


def test_the_login_page_offers_registration_and_the_reset(site):
    login = Browser(site.base).get("/auth/login").text
    assert 'href="/auth/register">Click here to register' in login
    assert 'href="/auth/reset">Click here to reset it' in login


def test_the_register_form_has_its_fields_for_password_managers(site):
    b = Browser(site.base)
    page = b.get("/auth/register")
    for needle in ('name="email"', 'autocomplete="email"', 'name="username"',
                   'autocomplete="username"', 'name="password2"', 'autocomplete="new-password"',
                   'name="csrf_token"', "autofocus"):
        assert needle in page.text, needle


def test_register_then_confirm_by_the_mailed_link(site):
    email, username = fresh()
    b, answer = register(site, email.upper(), username)
    assert answer.status_code == 302 and answer.headers["Location"] == "/auth/login"
    assert REGISTERED in b.follow().text
    assert "device" not in b.session.cookies.keys(), "not logged in by registering"
    link = confirmation_link(site, email)
    assert link.startswith(site.base + "/auth/confirm/"), "links from public_url"
    # The link needs a login: an anonymous browser logs in, then lands on it.
    anonymous = b.get(link)
    assert anonymous.status_code == 302
    assert b.login(email, PASSWORD, next=link.removeprefix(site.base)).status_code == 302
    confirmed = b.follow()
    assert confirmed.status_code == 302 and confirmed.headers["Location"] == "/"
    assert "You have confirmed your account. Thanks!" in b.follow().text
    assert b.get("/secret").status_code == 200
    assert b.get(link).status_code == 302, "a confirmed account's link just goes home"


def test_an_unconfirmed_user_sees_only_home_and_the_auth_pages(site):
    email, username = fresh()
    register(site, email, username)
    b = Browser(site.base)
    assert b.login(email, PASSWORD).status_code == 302
    assert f"Hello, {username}!" in b.get("/").text
    secret = b.get("/secret")
    assert secret.status_code == 302 and secret.headers["Location"] == "/auth/unconfirmed"
    page = b.get("/auth/unconfirmed")
    assert "You have not confirmed your account yet." in page.text
    # The gateway refuses the places it guards until the address is confirmed.
    assert b.get("/private/index.html").status_code == 403
    b.get(confirmation_link(site, email))
    assert b.get("/private/index.html").status_code == 200
    assert b.get("/secret").status_code == 200


def test_another_confirmation_mail_at_most_once_a_minute(site):
    email, username = fresh()
    register(site, email, username)
    box = Mailbox(site.smtp.maildir)
    box.wait_for(sent_to(email))
    mark = box.mark()
    b = Browser(site.base)
    assert b.login(email, PASSWORD).status_code == 302
    b.get("/auth/unconfirmed")
    again = b.submit(b.form())
    assert again.status_code == 302
    assert "a moment ago" in b.follow().text
    box.expect_none(sent_to(email), wait=1.5, after=mark)


def test_an_address_that_has_an_account_gets_the_same_answer_and_its_owner_a_mail(site):
    owner = site.new_user()
    box = Mailbox(site.smtp.maildir)
    mark = box.mark()
    started = time.monotonic()
    b1, taken = register(site, owner.email, f"other{next_number()}")
    taken_seconds = time.monotonic() - started
    email, username = fresh()
    started = time.monotonic()
    b2, new = register(site, email, username)
    new_seconds = time.monotonic() - started
    assert (taken.status_code, taken.headers.get("Location")) == \
        (new.status_code, new.headers.get("Location"))
    assert sorted(c.name for c in b1.session.cookies) == sorted(c.name for c in b2.session.cookies)
    assert REGISTERED in b1.follow().text
    # Both hash the password and queue one mail: neither is much quicker (a loose bound; the
    # timing test of the login is the strict one).
    assert abs(taken_seconds - new_seconds) < 0.5
    warning = box.wait_for(sent_to(owner.email), after=mark)
    assert "tried to register" in warning["Subject"]
    assert Browser(site.base).login(owner.email, owner.password).status_code == 302, "unchanged"


def test_the_forms_rules_and_messages(site):
    email, username = fresh()
    cases = [
        ({"email": "paul@ex\u00e4mple.com"}, "Invalid email address."),
        ({"username": "2" + username}, "Usernames must have only letters, numbers, dots or"),
        ({"password2": PASSWORD + "x"}, "Passwords must match."),
        ({"password": "password1", "password2": "password1"}, "too easy to guess"),
        ({"password": username + "-rocks-42", "password2": username + "-rocks-42"},
         "must not contain your username"),
    ]
    for changes, message in cases:
        b = Browser(site.base)
        b.get("/auth/register")
        fields = {"email": email, "username": username, "password": PASSWORD,
                  "password2": PASSWORD, **changes}
        answer = b.submit(b.form(), **fields)
        assert answer.status_code == 200, changes
        assert message in answer.text, changes
        assert 'value="' + PASSWORD not in answer.text, "passwords are never echoed"
    Mailbox(site.smtp.maildir).expect_none(sent_to(email), wait=1.0)


def test_a_header_in_any_field_never_reaches_a_mail(site):
    box = Mailbox(site.smtp.maildir)
    mark = box.mark()
    n = next_number()
    for email, username in [(f"h{n}@example.com\r\nBcc: evil@example.com", f"h{n}"),
                            (f"h{n}@example.com", f"h{n}\r\nBcc: evil@example.com")]:
        b = Browser(site.base)
        b.get("/auth/register")
        answer = b.submit(b.form(), email=email, username=username, password=PASSWORD,
                          password2=PASSWORD)
        assert answer.status_code in (200, 400)
    box.expect_none(lambda m: "evil@example.com" in m.as_string(), wait=1.5, after=mark)


def test_a_used_or_unknown_link_is_invalid(site):
    email, username = fresh()
    b, _ = register(site, email, username)
    link = confirmation_link(site, email)
    assert b.login(email, PASSWORD).status_code == 302
    wrong = b.get(link[:-3] + "AAA")
    assert wrong.status_code == 302
    assert "The confirmation link is invalid or has expired." in b.follow().text
    assert b.get("/secret").headers.get("Location") == "/auth/unconfirmed"


@pytest.fixture(scope="module")
def closed_site(make_site, server):
    return make_site(server, config=("registration = closed",))


def test_with_registration_closed_the_page_is_not_found(closed_site):
    b = Browser(closed_site.base)
    assert b.get("/auth/register").status_code == 404
    assert b.post("/auth/register", data={"email": "x@example.com"}).status_code == 404
    login = b.get("/auth/login").text
    assert "/auth/register" not in login and 'href="/auth/reset"' in login


# --- password reset ---------------------------------------------------------------------------
RESET_SENT = "An email with instructions to reset your password has been sent to you."
RESET_DEAD = "The reset link is invalid or has expired."


def ask_reset(site, email: str):
    b = Browser(site.base)
    b.get("/auth/reset")
    return b, b.submit(b.form(), email=email)


def reset_link(site, email: str, after=()) -> str:
    mail = Mailbox(site.smtp.maildir).wait_for(
        lambda m: email in m["To"] and "Reset Your Password" in m["Subject"], after=after)
    links = [link for link in links_of(mail) if "/auth/reset/" in link]
    assert len(links) == 1, text_of(mail)
    return links[0]


def test_a_reset_for_an_unknown_address_answers_the_same_and_sends_nothing(site):
    user = site.new_user()
    box = Mailbox(site.smtp.maildir)
    mark = box.mark()
    known_browser, known = ask_reset(site, user.email)
    unknown_browser, unknown = ask_reset(site, f"nobody{next_number()}@example.com")
    for answer in (known, unknown):
        assert answer.status_code == 302 and answer.headers["Location"] == "/auth/login"
    assert RESET_SENT in known_browser.follow().text and RESET_SENT in unknown_browser.follow().text
    box.wait_for(sent_to(user.email), after=mark)
    box.expect_none(lambda m: "nobody" in m["To"], wait=1.0, after=mark)


def test_reset_moves_the_token_out_of_the_url_and_ends_every_old_login(site):
    user = site.new_user()
    logged_in = Browser(site.base)
    assert logged_in.login(user.email, user.password, remember=True).status_code == 302
    box = Mailbox(site.smtp.maildir)
    mark = box.mark()
    b, _ = ask_reset(site, user.email)
    link = reset_link(site, user.email, after=mark)
    token = link.rsplit("/", 1)[1]
    moved = b.get(link)
    assert moved.status_code == 302 and moved.headers["Location"] == "/auth/reset/password"
    cookie = next(h for h in moved.raw.headers.getlist("Set-Cookie") if h.startswith("reset="))
    assert "Path=/auth/reset/password" in cookie and "HttpOnly" in cookie
    form = b.follow()
    assert form.status_code == 200 and token not in form.url and token not in form.text
    assert form.headers["Referrer-Policy"] == "no-referrer"
    assert 'autocomplete="new-password"' in form.text
    done = b.submit(b.form(), password="Walnut-cabin-7788", password2="Walnut-cabin-7788")
    assert done.status_code == 302 and done.headers["Location"] == "/auth/login"
    assert "Your password has been updated." in b.follow().text
    # The old browser is logged out, its remember-me token too; the new password works.
    assert "Hello, Anonymous!" in logged_in.get("/").text
    logged_in.restart()
    assert logged_in.get("/secret").status_code == 302
    assert Browser(site.base).login(user.email, user.password).status_code == 200
    assert Browser(site.base).login(user.email, "Walnut-cabin-7788").status_code == 302
    # The link again: used.
    replay = Browser(site.base)
    replay.get(link)
    assert replay.follow().status_code == 302
    assert RESET_DEAD in replay.follow().text


def test_a_reset_link_dies_when_the_password_changes_another_way(site):
    user = site.new_user()
    mark = Mailbox(site.smtp.maildir).mark()
    ask_reset(site, user.email)
    link = reset_link(site, user.email, after=mark)
    assert site.ctl("user", "passwd", "--email", user.email,
                    stdin="Changed-by-admin-4242\n").returncode == 0
    b = Browser(site.base)
    b.get(link)
    assert b.follow().status_code == 302
    assert RESET_DEAD in b.follow().text


# --- logged in: a new password, a new address ----------------------------------------------------
def test_a_new_password_logs_out_every_other_browser_and_keeps_this_one(site):
    user = site.new_user()
    other = Browser(site.base)
    assert other.login(user.email, user.password, remember=True).status_code == 302
    b = Browser(site.base)
    assert b.login(user.email, user.password).status_code == 302
    mark = Mailbox(site.smtp.maildir).mark()
    page = b.get("/auth/change-password")
    assert 'autocomplete="current-password"' in page.text
    wrong = b.submit(b.form(), old_password="not-it", password="Walnut-cabin-7788",
                     password2="Walnut-cabin-7788")
    assert "Invalid password." in wrong.text
    done = b.submit(b.form(), old_password=user.password, password="Walnut-cabin-7788",
                    password2="Walnut-cabin-7788")
    assert done.status_code == 302
    assert "Your password has been updated." in b.follow().text
    assert b.get("/secret").status_code == 200, "this browser stays"
    assert other.get("/secret").status_code == 302, "the other one is logged out"
    other.restart()
    assert other.get("/secret").status_code == 302, "its remember-me token too"
    notice = Mailbox(site.smtp.maildir).wait_for(sent_to(user.email), after=mark)
    assert "password has been changed" in notice["Subject"]


def test_a_new_address_is_confirmed_by_its_link_and_the_old_one_is_told(site):
    user = site.new_user()
    new_email = f"moved{next_number()}@example.com"
    b = Browser(site.base)
    assert b.login(user.email, user.password).status_code == 302
    box = Mailbox(site.smtp.maildir)
    mark = box.mark()
    b.get("/auth/change_email")
    asked = b.submit(b.form(), email=new_email, password=user.password)
    assert asked.status_code == 302
    assert "instructions to confirm your new email address" in b.follow().text
    mail = box.wait_for(sent_to(new_email), after=mark)
    assert mail["Subject"] == "[Flasky] Confirm your email address"
    link = next(link for link in links_of(mail) if "/auth/change_email/" in link)
    assert b.get(link).status_code == 302
    assert "Your email address has been updated." in b.follow().text
    told = box.wait_for(sent_to(user.email), after=mark)
    assert new_email in text_of(told)
    assert Browser(site.base).login(new_email, user.password).status_code == 302
    assert Browser(site.base).login(user.email, user.password).status_code == 200


def test_a_taken_address_gets_the_same_answer_and_no_mail(site):
    user, taken = site.new_user(), site.new_user()
    b = Browser(site.base)
    assert b.login(user.email, user.password).status_code == 302
    mark = Mailbox(site.smtp.maildir).mark()
    b.get("/auth/change_email")
    answer = b.submit(b.form(), email=taken.email, password=user.password)
    assert answer.status_code == 302
    assert "instructions to confirm your new email address" in b.follow().text
    Mailbox(site.smtp.maildir).expect_none(wait=1.5, after=mark)


# --- the mail server is down ---------------------------------------------------------------------
@pytest.fixture()
def outage_site(make_site, server):
    return make_site(server)


def test_a_mail_server_outage_loses_no_mail_and_slows_no_request(outage_site):
    site = outage_site
    site.smtp.stop()
    emails = []
    for _ in range(4):
        email, username = fresh("outage")
        started = time.monotonic()
        _, answer = register(site, email, username)
        assert answer.status_code == 302
        assert time.monotonic() - started < 2, "the request does not wait for the mail server"
        emails.append(email)
    time.sleep(2)  # the workers try, fail, and wait to try again
    site.smtp.start()
    box = Mailbox(site.smtp.maildir)
    box.wait_for_count(4, lambda m: m["To"] in emails, timeout=30)
    time.sleep(3)  # a second delivery of any of them would land by now
    delivered = [m["To"] for m in box.matching(lambda m: m["To"] in emails)]
    assert sorted(delivered) == sorted(emails), "each mail once"


# --- STARTTLS and AUTH ---------------------------------------------------------------------------
@pytest.mark.servers("nginx")
def test_mail_goes_over_starttls_with_auth_and_waits_while_the_login_is_refused(
        make_site, server, tmp_path):
    tls = make_test_tls(tmp_path / "tls")
    secret = tmp_path / "smtp-password"
    secret.write_text("mail-secret-42\n")
    site = make_site(server, smtp_args=(*tls.sink_args(), "--require-tls", "--auth-user", "mailer",
                                        "--auth-password-file", str(secret)),
                     config=("smtp_require_tls = true", f"smtp_ca_file = {tls.ca_cert}",
                             "smtp_user = mailer", "smtp_password = mail-secret-42"))
    email, username = fresh("tls")
    register(site, email, username)
    try:
        mail = Mailbox(site.smtp.maildir).wait_for(sent_to(email))
    except AssertionError as error:
        raise AssertionError(f"{error}\n--- workers ---\n{site.log_text()[-2000:]}\n--- sink ---\n"
                             f"{site.smtp.log.read_text()[-2000:]}") from None
    assert "/auth/confirm/" in text_of(mail)
    assert "mail-secret-42" not in site.log_text() and "mail-secret-42" not in \
        site.smtp.log.read_text(), "the password never reaches a log"


@pytest.mark.servers("nginx")
def test_a_wrong_smtp_password_keeps_the_mail_queued(make_site, server, tmp_path):
    tls = make_test_tls(tmp_path / "tls")
    secret = tmp_path / "smtp-password"
    secret.write_text("the-right-one\n")
    site = make_site(server, smtp_args=(*tls.sink_args(), "--auth-user", "mailer",
                                        "--auth-password-file", str(secret)),
                     config=(f"smtp_ca_file = {tls.ca_cert}", "smtp_user = mailer",
                             "smtp_password = a-wrong-one"))
    email, username = fresh("authfail")
    register(site, email, username)
    Mailbox(site.smtp.maildir).expect_none(sent_to(email), wait=2.5)
    rows = site.sql(f"SELECT sent_at IS NULL, attempts > 0 FROM mail_outbox "
                    f"WHERE recipient = '{email}'")
    assert rows == [["1", "1"]], "kept, tried, not sent"
    assert "a-wrong-one" not in site.log_text()


def test_at_most_three_reset_mails_an_hour_to_one_account_and_the_answer_never_changes(site):
    user = site.new_user()
    box = Mailbox(site.smtp.maildir)
    mark = box.mark()
    for _ in range(5):
        b, answer = ask_reset(site, user.email)
        assert answer.status_code == 302 and RESET_SENT in b.follow().text
    box.wait_for_count(3, sent_to(user.email), after=mark)
    time.sleep(1.5)
    assert len(box.matching(sent_to(user.email), after=mark)) == 3


def test_an_expired_reset_link_is_invalid(site):
    user = site.new_user()
    mark = Mailbox(site.smtp.maildir).mark()
    ask_reset(site, user.email)
    link = reset_link(site, user.email, after=mark)
    # An hour later, as the token row says.
    site.sql(f"UPDATE account_tokens SET expires_at = UNIX_TIMESTAMP() - 1 WHERE user_id = "
             f"(SELECT id FROM users WHERE email = X'{user.email.encode().hex()}')")
    b = Browser(site.base)
    b.get(link)
    assert b.follow().status_code == 302
    assert RESET_DEAD in b.follow().text
    assert Browser(site.base).login(user.email, user.password).status_code == 302, "unchanged"
