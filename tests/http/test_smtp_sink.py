"""The local SMTP sink (scripts/lib/smtp_sink.py through common.sh's smtp_sink_start), the
Maildir reader of the tests (mailbox.py) and scripts/mail, with Python's smtplib as the client.

No web server and no database: only the sink, on a free loopback port.
"""

from __future__ import annotations

import base64
import os
import smtplib
import socket
import ssl
import subprocess
from email.message import EmailMessage
from pathlib import Path

import pytest

from mailbox import (Mailbox, envelope_from, envelope_to, html_links_of, html_of, links_of,
                     make_test_tls, sent_to, text_of)
from stack import REPO, SmtpSink, StackError, free_port, next_number, pid_alive, wait_until

MAIL = REPO / "scripts" / "mail"
USER, PASSWORD = "mailer", "s3cret-Passw0rd"
CONFIRM = "http://127.0.0.1:8080/auth/confirm/abc.DEF_123-xyz"
RESET = "https://auth.example.test/auth/reset/Zm9vYmFy?x=1&y=2"


@pytest.fixture
def start_sink(workdir: Path):  # noqa: ANN201
    """Starts sinks (extra smtp_sink.py arguments), each in a directory of its own; stops them
    at the end of the test."""
    started: list[SmtpSink] = []

    def start(*args: str) -> SmtpSink:
        sink = SmtpSink(workdir / f"smtp{next_number()}", free_port(), tuple(args))
        started.append(sink)
        sink.start()
        return sink

    yield start
    for sink in started:
        sink.stop()


@pytest.fixture(scope="module")
def tls(workdir: Path):  # noqa: ANN201
    return make_test_tls(workdir / f"smtp-tls{next_number()}")


@pytest.fixture(scope="module")
def auth_sink(workdir: Path, tls) -> SmtpSink:  # noqa: ANN001
    sink = SmtpSink(workdir / f"smtp{next_number()}", free_port(),
                    (*tls.sink_args(), "--auth-user", USER, "--auth-password", PASSWORD))
    sink.start()
    yield sink
    sink.stop()


def trusting(tls) -> ssl.SSLContext:  # noqa: ANN001
    context = ssl.create_default_context(cafile=str(tls.ca_cert))
    assert context.check_hostname and context.verify_mode == ssl.CERT_REQUIRED
    return context


def confirm_mail(to: str = "paul@example.com") -> EmailMessage:
    msg = EmailMessage()
    msg["From"] = "Flasky Admin <flasky@example.com>"
    msg["To"] = to
    msg["Subject"] = "[Flasky] Grüße aus Köln"
    msg.set_content(f"Dear paul,\n\nTo confirm your account please click on the following link:\n\n"
                    f"{CONFIRM}\n\nSincerely,\n\nThe Flasky Team\n")
    return msg


def reset_mail(to: str = "ana@example.com") -> EmailMessage:
    """text + HTML, quoted-printable and base64, as a mail client would get it."""
    msg = EmailMessage()
    msg["From"] = "Flasky Admin <flasky@example.com>"
    msg["To"] = to
    msg["Subject"] = "[Flasky] Reset Your Password – Zoë"
    msg.set_content(f"Dear Zoë,\n\nTo reset your password click on the following link:\n\n{RESET}.\n"
                    "\x1b[31mred\x1b[0m\n", cte="quoted-printable")
    msg.add_alternative(f'<p>Dear Zoë,</p><p><a href="{RESET.replace("&", "&amp;")}">Reset'
                        "</a></p>\n", subtype="html", cte="base64")
    return msg


def send(sink: SmtpSink, msg: EmailMessage, **kwargs: object) -> None:
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as smtp:
        smtp.send_message(msg, **kwargs)


def mail(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run([str(MAIL), *args], capture_output=True, text=True, timeout=20,
                          stdin=subprocess.DEVNULL, env={**os.environ, **(env or {})})


# ---------------------------------------------------------------------------------------------
# Delivery into the Maildir


def test_a_plain_message_lands_in_new_as_sent(start_sink) -> None:  # noqa: ANN001
    sink = start_sink()
    box = Mailbox(sink.maildir)
    assert box.messages() == []
    send(sink, confirm_mail())

    got = box.wait_for(timeout=5)
    files = list((sink.maildir / "new").iterdir())
    assert len(files) == 1 and not list((sink.maildir / "tmp").iterdir())
    assert got["Subject"] == "[Flasky] Grüße aus Köln"  # RFC 2047 decoded
    assert got["To"] == "paul@example.com"
    assert envelope_to(got) == ["paul@example.com"]
    assert envelope_from(got) == "flasky@example.com"
    assert "please click on the following link:\n\n" + CONFIRM + "\n" in text_of(got)
    assert html_of(got) is None
    assert links_of(got) == [CONFIRM]
    # Kept as received: CRLF line ends, the envelope first.
    raw = files[0].read_bytes()
    assert raw.startswith(b"Return-Path: <flasky@example.com>\r\n"
                          b"X-Authfcgi-Envelope-To: <paul@example.com>\r\n")
    assert f"\r\n{CONFIRM}\r\n".encode() in raw
    log = sink.log.read_text()
    assert "accepted from=<flasky@example.com> to=<paul@example.com> " \
           'subject="[Flasky] Grüße aus Köln"' in log


def test_multipart_text_and_html_are_decoded(start_sink) -> None:  # noqa: ANN001
    sink = start_sink()
    send(sink, reset_mail())
    got = Mailbox(sink.maildir).wait_for(sent_to("ana@example.com"), timeout=5)
    raw = Mailbox(sink.maildir).raw()[0]
    assert b"multipart/alternative" in raw
    assert b"Content-Transfer-Encoding: quoted-printable" in raw
    assert b"Content-Transfer-Encoding: base64" in raw
    assert got["Subject"] == "[Flasky] Reset Your Password – Zoë"
    assert text_of(got).startswith("Dear Zoë,\n\nTo reset your password")
    assert f"{RESET}.\n" in text_of(got)
    assert '<a href="https://auth.example.test/auth/reset/Zm9vYmFy?x=1&amp;y=2">' in html_of(got)
    assert links_of(got) == [RESET]  # the sentence's full stop is not part of the link
    assert html_links_of(got) == [RESET]  # &amp; decoded


def test_the_envelope_is_told_apart_from_the_headers(start_sink) -> None:  # noqa: ANN001
    sink = start_sink()
    msg = confirm_mail("paul@example.com")
    # A header that looks like the sink's own, inside the message: it must not count.
    msg["X-Authfcgi-Envelope-To"] = "<mallory@example.com>"
    send(sink, msg, from_addr="bounce@example.com", to_addrs=["stored@example.com"])
    got = Mailbox(sink.maildir).wait_for(timeout=5)
    assert envelope_to(got) == ["stored@example.com"]
    assert envelope_from(got) == "bounce@example.com"
    assert got["To"] == "paul@example.com"
    assert not sent_to("mallory@example.com")(got) and not sent_to("paul@example.com")(got)


def test_mails_stay_across_a_restart_and_sigterm_stops_it(start_sink) -> None:  # noqa: ANN001
    sink = start_sink()
    box = Mailbox(sink.maildir)
    send(sink, confirm_mail("one@example.com"))
    box.wait_for(sent_to("one@example.com"), timeout=5)
    [pid] = sink.pids()
    sink.stop()
    assert not pid_alive(pid) and not (sink.directory / "smtp.pid").exists()
    with pytest.raises(OSError):
        socket.create_connection(("127.0.0.1", sink.port), timeout=2).close()
    assert "signal SIGTERM: stopping" in sink.log.read_text()

    sink.start()
    mark = box.mark()
    send(sink, confirm_mail("two@example.com"))
    box.wait_for(sent_to("two@example.com"), timeout=5, after=mark)
    assert [envelope_to(m) for m in box.messages()] == [["one@example.com"], ["two@example.com"]]
    box.expect_none(sent_to("three@example.com"), wait=0.2)


def test_start_fails_clearly(start_sink, workdir: Path) -> None:  # noqa: ANN001
    sink = start_sink()
    taken = SmtpSink(workdir / f"smtp{next_number()}", sink.port)
    with pytest.raises(StackError, match=f"port {sink.port} on 127.0.0.1 is already in use"):
        taken.start()
    # AUTH is offered only after STARTTLS: without TLS options no client could ever log in.
    no_tls = SmtpSink(workdir / f"smtp{next_number()}", free_port(),
                      ("--auth-user", USER, "--auth-password", PASSWORD))
    with pytest.raises(StackError, match="--auth-user needs --tls-cert and --tls-key"):
        no_tls.start()
    assert no_tls.pids() == []


# ---------------------------------------------------------------------------------------------
# STARTTLS and AUTH


def test_auth_is_not_offered_nor_accepted_before_starttls(auth_sink: SmtpSink) -> None:
    with smtplib.SMTP("127.0.0.1", auth_sink.port, timeout=5) as smtp:
        smtp.ehlo()
        assert smtp.has_extn("starttls") and not smtp.has_extn("auth")
        plain = base64.b64encode(f"\0{USER}\0{PASSWORD}".encode()).decode()
        code, text = smtp.docmd("AUTH", f"PLAIN {plain}")
        assert code == 538, text  # encryption required
        code, text = smtp.docmd("MAIL", "FROM:<flasky@example.com>")
        assert code == 530, text  # authentication required
    assert PASSWORD not in auth_sink.log.read_text()


@pytest.mark.parametrize("mechanism", ["PLAIN", "LOGIN"])
def test_starttls_then_auth_with_the_right_password_delivers(auth_sink: SmtpSink, tls,  # noqa: ANN001
                                                             mechanism: str) -> None:
    box = Mailbox(auth_sink.maildir)
    to = f"{mechanism.lower()}@example.com"
    with smtplib.SMTP("127.0.0.1", auth_sink.port, timeout=5) as smtp:
        smtp.starttls(context=trusting(tls))
        smtp.ehlo()
        assert set(smtp.esmtp_features["auth"].split()) == {"PLAIN", "LOGIN"}
        smtp.user, smtp.password = USER, PASSWORD
        code, _ = smtp.auth(mechanism, getattr(smtp, f"auth_{mechanism.lower()}"))
        assert code == 235
        smtp.send_message(confirm_mail(to))
    assert envelope_to(box.wait_for(sent_to(to), timeout=5)) == [to]
    log = auth_sink.log.read_text()
    assert PASSWORD not in log and "deprecated" not in log  # one line per mail, nothing else


def test_a_wrong_password_is_refused(auth_sink: SmtpSink, tls) -> None:  # noqa: ANN001
    with smtplib.SMTP("127.0.0.1", auth_sink.port, timeout=5) as smtp:
        smtp.starttls(context=trusting(tls))
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login(USER, "not-" + PASSWORD)
        assert refused.value.smtp_code == 535
        with pytest.raises(smtplib.SMTPAuthenticationError) as refused:
            smtp.login("someone-else", PASSWORD)
        assert refused.value.smtp_code == 535
        with pytest.raises(smtplib.SMTPSenderRefused) as refused:
            smtp.send_message(confirm_mail("nobody@example.com"))
        assert refused.value.smtp_code == 530
    log = auth_sink.log.read_text()
    assert "refused for user 'mailer'" in log and PASSWORD not in log
    Mailbox(auth_sink.maildir).expect_none(sent_to("nobody@example.com"), wait=0.2)


def test_the_certificate_is_the_test_cas_for_127_0_0_1(auth_sink: SmtpSink, tls) -> None:  # noqa: ANN001
    # Without the CA, or under another name, a verifying client refuses the server.
    with smtplib.SMTP("127.0.0.1", auth_sink.port, timeout=5) as smtp:
        with pytest.raises(ssl.SSLCertVerificationError, match="self-signed|unable to get local"):
            smtp.starttls(context=ssl.create_default_context())
    with smtplib.SMTP("localhost", auth_sink.port, timeout=5) as smtp:  # verified: localhost
        with pytest.raises(ssl.SSLCertVerificationError, match="mismatch"):
            smtp.starttls(context=trusting(tls))


def test_require_tls_refuses_mail_before_starttls(start_sink, tls) -> None:  # noqa: ANN001
    sink = start_sink(*tls.sink_args(), "--require-tls")
    with smtplib.SMTP("127.0.0.1", sink.port, timeout=5) as smtp:
        smtp.ehlo()
        code, text = smtp.docmd("MAIL", "FROM:<flasky@example.com>")
        assert code == 530 and b"STARTTLS" in text
        smtp.starttls(context=trusting(tls))
        smtp.send_message(confirm_mail("tls@example.com"))  # no AUTH configured: none needed
    Mailbox(sink.maildir).wait_for(sent_to("tls@example.com"), timeout=5)


# ---------------------------------------------------------------------------------------------
# scripts/mail


def test_scripts_mail_lists_shows_and_prints_links(start_sink) -> None:  # noqa: ANN001
    sink = start_sink()
    box = Mailbox(sink.maildir)
    send(sink, confirm_mail("paul@example.com"))
    box.wait_for_count(1, timeout=5)
    send(sink, reset_mail("ana@example.com"))
    box.wait_for_count(2, timeout=5)
    md = ("--maildir", str(sink.maildir))

    listed = mail(*md)
    assert listed.returncode == 0, listed.stderr
    lines = listed.stdout.splitlines()
    assert "2 of 2 mail(s)" in lines[0] and "newest last" in lines[0]
    # Number 1 is the latest, listed last.
    assert lines[1].split()[0] == "2" and "paul@example.com" in lines[1] \
        and "[Flasky] Grüße aus Köln" in lines[1]
    assert lines[2].split()[0] == "1" and "ana@example.com" in lines[2] \
        and "[Flasky] Reset Your Password – Zoë" in lines[2]
    assert mail("list", *md).stdout == listed.stdout
    assert mail("list", "-n", "1", *md).stdout.splitlines()[1:] == lines[2:]
    # $AUTHFCGI_VAR_DIR/mail when no --maildir
    assert mail(env={"AUTHFCGI_VAR_DIR": str(sink.directory)}).stdout == listed.stdout

    shown = mail("show", *md)
    assert shown.returncode == 0, shown.stderr
    out = shown.stdout
    for line in ("From: Flasky Admin <flasky@example.com>", "To: ana@example.com",
                 "Subject: [Flasky] Reset Your Password – Zoë"):
        assert line + "\n" in out
    assert "\nDate: " in out
    assert "Dear Zoë,\n\nTo reset your password click on the following link:\n" in out  # QP decoded
    assert out.endswith(f"\nLinks:\n{RESET}\n")
    # A control sequence in a mail never reaches the terminal.
    assert "\x1b" not in out and "\\u001b[31mred" in out
    assert mail("show", "1", *md).stdout == out

    older = mail("show", "2", *md)
    assert older.returncode == 0 and "To: paul@example.com\n" in older.stdout
    assert older.stdout.endswith(f"\nLinks:\n{CONFIRM}\n")

    assert mail("links", *md).stdout == f"{RESET}\n"
    assert mail("links", "2", *md).stdout == f"{CONFIRM}\n"
    raw = mail("raw", "2", *md)
    assert raw.stdout.startswith("Return-Path: <flasky@example.com>\n")

    for number in ("3", "0"):
        missing = mail("show", number, *md)
        assert missing.returncode == 1 and missing.stdout == ""
        assert f"no mail {number}: there are 2 (1 is the latest)" in missing.stderr


def test_scripts_mail_without_mail_exits_1(start_sink, workdir: Path) -> None:  # noqa: ANN001
    nowhere = workdir / f"no-maildir{next_number()}"
    for args in ((), ("show",), ("links",)):
        done = mail(*args, "--maildir", str(nowhere))
        assert done.returncode == 1 and done.stdout == ""
        assert f"no Maildir at {nowhere}" in done.stderr

    sink = start_sink()  # it creates an empty Maildir
    for args in ((), ("show",), ("links", "1")):
        done = mail(*args, "--maildir", str(sink.maildir))
        assert done.returncode == 1 and done.stdout == ""
        assert f"no mail in {sink.maildir}" in done.stderr

    msg = EmailMessage()
    msg["Subject"] = "No link"
    msg.set_content("No link in here.\n")
    send(sink, msg, from_addr="flasky@example.com", to_addrs=["paul@example.com"])
    Mailbox(sink.maildir).wait_for(timeout=5)
    done = mail("links", "--maildir", str(sink.maildir))
    assert done.returncode == 1 and "has no link" in done.stderr
    shown = mail("show", "--maildir", str(sink.maildir))
    assert shown.returncode == 0 and shown.stdout.endswith("\nLinks:\n(none)\n")


def test_waiting_for_a_mail_is_bounded(start_sink) -> None:  # noqa: ANN001
    sink = start_sink()
    box = Mailbox(sink.maildir)
    with pytest.raises(AssertionError, match="0 of 1 expected mail"):
        box.wait_for(sent_to("never@example.com"), timeout=0.3)
    send(sink, confirm_mail("soon@example.com"))
    with pytest.raises(AssertionError, match="unexpected mail"):
        box.expect_none(sent_to("soon@example.com"), wait=5)
    assert wait_until(lambda: len(box.messages()) == 1, 1)
