#!/usr/bin/python3
"""smtp_sink: the local SMTP server of scripts/run and the tests; every mail goes to a Maildir.

    smtp_sink.py --port PORT --maildir DIR [--pid-file FILE]
                 [--tls-cert FILE --tls-key FILE [--require-tls]]
                 [--auth-user USER (--auth-password PASSWORD | --auth-password-file FILE)]
                 [--max-size BYTES]

Listens on 127.0.0.1:PORT only, accepts mail for any recipient and keeps each message as
received (CRLF line ends, dot-stuffing undone) in DIR/new/, written to DIR/tmp/ first and then
linked into new/ (the standard library's mailbox.Maildir), preceded by the envelope:
`Return-Path: <MAIL FROM>` and one `X-Authfcgi-Envelope-To: <RCPT TO>` per recipient.

With a certificate it offers STARTTLS; --require-tls refuses everything but EHLO, NOOP, QUIT
and STARTTLS (530) until TLS is up. With --auth-user, AUTH PLAIN and LOGIN are offered only
after STARTTLS (so auth needs the TLS options; before it AUTH gets 538), and MAIL is refused
(530) until a client logged in; a wrong user or password gets 535. Lines of 1000 characters
or more (RFC 5321: 998) get 500 and messages over --max-size 552, as real servers answer.

Writes FILE (its pid) once it accepts connections; SIGTERM, SIGINT or SIGHUP stops it. It never
changes its user (unlike `python3 -m aiosmtpd` without -n as root). One line per accepted
message on stderr (envelope, subject, file); passwords never reach the log.
Only the standard library and Debian's python3-aiosmtpd.
"""

from __future__ import annotations

import argparse
import hmac
import logging
import mailbox
import os
import re
import signal
import socket
import ssl
import sys
from email import policy
from email.parser import BytesHeaderParser
from pathlib import Path

try:
    from aiosmtpd.controller import Controller
    from aiosmtpd.smtp import AuthResult, LoginPassword
except ImportError:  # a clear message instead of a traceback: the usual missing package
    sys.exit("smtp_sink: needs Debian's python3-aiosmtpd (apt-get install python3-aiosmtpd)")

MAX_SIZE = 10 * 1024 * 1024
START_TIMEOUT = 10.0  # seconds for the listener to come up
IDLE_TIMEOUT = 60.0  # seconds a client may stay silent before the sink hangs up
ENVELOPE_TO = "X-Authfcgi-Envelope-To"

# Control characters (C0, DEL, C1) and bidirectional overrides: escaped in the log and in the
# envelope lines, so no value from a client can forge a line of either.
_UNSAFE = re.compile("[\x00-\x1f\x7f-\x9f\u202a-\u202e\u2066-\u2069]")


def escape(text: str) -> str:
    return _UNSAFE.sub(lambda m: f"\\u{ord(m.group()):04x}", text)


def log(line: str) -> None:
    sys.stderr.write(f"smtp_sink: {line}\n")
    sys.stderr.flush()


class MaildirHandler:
    """aiosmtpd handler: each accepted message into the Maildir."""

    def __init__(self, maildir: mailbox.Maildir):
        self.maildir = maildir

    async def handle_DATA(self, server, session, envelope) -> str:  # noqa: ANN001 (aiosmtpd's)
        content = envelope.original_content or b""
        mail_from = escape(envelope.mail_from or "")
        rcpts = [escape(r) for r in envelope.rcpt_tos]
        head = f"Return-Path: <{mail_from}>\r\n"
        head += "".join(f"{ENVELOPE_TO}: <{r}>\r\n" for r in rcpts)
        try:
            key = self.maildir.add(head.encode("utf-8") + content)
        except OSError as e:
            log(f"cannot write to the Maildir: {e}")
            return "451 4.3.0 Cannot store the message now"
        try:
            subject = BytesHeaderParser(policy=policy.default).parsebytes(content).get("Subject", "")
            subject = str(subject)
        except Exception:  # a header the parser refuses still must not lose the mail
            subject = "(unreadable subject)"
        log(f"accepted from=<{mail_from}> to={','.join(f'<{r}>' for r in rcpts)} "
            f"subject=\"{escape(subject)}\" size={len(content)} file=new/{key}")
        return "250 2.0.0 Message accepted"


class PasswordAuthenticator:
    """AUTH PLAIN/LOGIN for one account; constant-time comparison of both values."""

    def __init__(self, user: str, password: str):
        self.user = user.encode("utf-8")
        self.password = password.encode("utf-8")

    def __call__(self, server, session, envelope, mechanism, auth_data) -> AuthResult:  # noqa: ANN001
        if not isinstance(auth_data, LoginPassword):
            return AuthResult(success=False, handled=False)
        user_ok = hmac.compare_digest(auth_data.login, self.user)
        password_ok = hmac.compare_digest(auth_data.password, self.password)
        if user_ok and password_ok:
            return AuthResult(success=True)
        login = auth_data.login.decode("utf-8", errors="replace")[:200]
        log(f"AUTH {mechanism} refused for user {escape(login)!r}")
        return AuthResult(success=False, handled=False)


def port_free(port: int) -> str:
    """An empty string when 127.0.0.1:PORT can be bound (as asyncio will: SO_REUSEADDR), else
    why not. The Controller would only report it after its whole start timeout."""
    with socket.socket() as s:
        s.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        try:
            s.bind(("127.0.0.1", port))
        except OSError as e:
            return e.strerror or str(e)
    return ""


def write_pid_file(path: str) -> None:
    tmp = f"{path}.tmp{os.getpid()}"
    with open(tmp, "w", encoding="ascii") as f:
        f.write(f"{os.getpid()}\n")
    os.replace(tmp, path)


def parse_args(argv: list[str] | None) -> argparse.Namespace:
    parser = argparse.ArgumentParser(
        prog="smtp_sink.py", description=__doc__.splitlines()[0],
        formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--maildir", required=True, help="created when missing")
    parser.add_argument("--pid-file", help="written once the port accepts connections")
    parser.add_argument("--tls-cert", help="PEM certificate (chain) for STARTTLS")
    parser.add_argument("--tls-key", help="PEM private key for STARTTLS")
    parser.add_argument("--require-tls", action="store_true",
                        help="refuse MAIL (and everything but EHLO/NOOP/QUIT) before STARTTLS")
    parser.add_argument("--auth-user", help="require AUTH PLAIN/LOGIN as this user (needs TLS)")
    parser.add_argument("--auth-password", help="its password (visible in ps: prefer the file)")
    parser.add_argument("--auth-password-file", help="a file holding the password (one line)")
    parser.add_argument("--max-size", type=int, default=MAX_SIZE,
                        help=f"largest message in bytes (default {MAX_SIZE})")
    args = parser.parse_args(argv)
    if not 0 < args.port < 65536:
        parser.error("--port must be 1..65535")
    if bool(args.tls_cert) != bool(args.tls_key):
        parser.error("--tls-cert and --tls-key go together")
    if args.require_tls and not args.tls_cert:
        parser.error("--require-tls needs --tls-cert and --tls-key")
    if args.auth_password_file:
        if args.auth_password is not None:
            parser.error("--auth-password and --auth-password-file exclude each other")
        try:
            text = Path(args.auth_password_file).read_text(encoding="utf-8")
        except OSError as e:
            parser.error(f"cannot read --auth-password-file: {e.strerror}")
        args.auth_password = text.rstrip("\r\n")
    if bool(args.auth_user) != (args.auth_password is not None):
        parser.error("--auth-user needs --auth-password or --auth-password-file, and back")
    if args.auth_user and not args.tls_cert:
        # aiosmtpd offers AUTH only over TLS (auth_require_tls): without it no client could
        # ever log in, and every MAIL would be refused.
        parser.error("--auth-user needs --tls-cert and --tls-key (AUTH is offered after STARTTLS only)")
    if not 0 < args.max_size <= 1024 * 1024 * 1024:
        parser.error("--max-size must be 1..1073741824")
    return args


def main(argv: list[str] | None = None) -> int:
    args = parse_args(argv)
    # aiosmtpd logs every command line at INFO and AUTH exchanges at DEBUG: warnings only.
    logging.basicConfig(stream=sys.stderr, format="smtp_sink: aiosmtpd: %(message)s",
                        level=logging.WARNING)
    aiosmtpd_log = logging.getLogger("mail.log")
    aiosmtpd_log.setLevel(logging.WARNING)
    # aiosmtpd 1.4 warns about its own use of a deprecated attribute at every successful AUTH.
    aiosmtpd_log.addFilter(lambda record: "login_data is deprecated" not in str(record.msg))

    try:
        box = mailbox.Maildir(args.maildir, factory=None, create=True)
    except OSError as e:
        log(f"cannot create the Maildir {args.maildir}: {e}")
        return 1

    params: dict[str, object] = {
        "data_size_limit": args.max_size,
        "timeout": IDLE_TIMEOUT,
        "ident": "authfcgi SMTP sink",
    }
    if args.tls_cert:
        context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
        try:
            context.load_cert_chain(args.tls_cert, args.tls_key)
        except (OSError, ssl.SSLError) as e:
            log(f"cannot load the certificate or key: {e}")
            return 1
        params["tls_context"] = context
        params["require_starttls"] = args.require_tls
    if args.auth_user:
        params["authenticator"] = PasswordAuthenticator(args.auth_user, args.auth_password)
        params["auth_required"] = True
        params["auth_require_tls"] = True

    why = port_free(args.port)
    if why:
        log(f"cannot listen on 127.0.0.1:{args.port}: {why}")
        return 1

    # Signals are taken by sigwait in this thread: blocked before the server thread starts, so
    # that thread inherits the mask and never gets them.
    stop_signals = {signal.SIGTERM, signal.SIGINT, signal.SIGHUP}
    signal.pthread_sigmask(signal.SIG_BLOCK, stop_signals)

    # server_hostname: the greeting's name without a DNS lookup (socket.getfqdn may hang).
    controller = Controller(MaildirHandler(box), hostname="127.0.0.1", port=args.port,
                            ready_timeout=START_TIMEOUT, server_hostname="localhost", **params)
    try:
        controller.start()
    except Exception as e:  # noqa: BLE001 (aiosmtpd raises what the loop raised)
        log(f"cannot start on 127.0.0.1:{args.port}: {e}")
        return 1
    if args.pid_file:
        write_pid_file(args.pid_file)
    log(f"listening on 127.0.0.1:{args.port}, Maildir {args.maildir}, "
        f"STARTTLS {'required' if args.require_tls else 'offered' if args.tls_cert else 'off'}, "
        f"AUTH {'required' if args.auth_user else 'off'}")
    try:
        got = signal.sigwait(stop_signals)
        log(f"signal {signal.Signals(got).name}: stopping")
    finally:
        controller.stop()
    return 0


if __name__ == "__main__":
    sys.exit(main())
