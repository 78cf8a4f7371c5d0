"""Reading the mails the SMTP sink (scripts/lib/smtp_sink.py, stack.SmtpSink) kept in its Maildir.

    box = Mailbox(sink.maildir)
    mark = box.mark()                        # what is there now
    ...                                      # something that sends a mail
    msg = box.wait_for(sent_to("paul@example.com"), after=mark)
    assert msg["Subject"] == "[Flasky] Confirm Your Account"
    url = links_of(msg)[0]

Messages are email.message.EmailMessage (policy.default: headers come decoded, RFC 2047).
The sink puts the envelope first: `Return-Path: <MAIL FROM>` and one `X-Authfcgi-Envelope-To`
per RCPT TO (envelope_to()). Every wait is bounded. Only the standard library.

This module shadows the standard library's `mailbox` in the test process (tests/http is on
sys.path first), so it uses plain file access and nothing in the tests may need the other one.
make_test_tls() makes a throw-away CA and a certificate for 127.0.0.1 with the openssl CLI, for
the sink's STARTTLS.
"""

from __future__ import annotations

import os
import re
import subprocess
import time
from dataclasses import dataclass
from email import policy
from email.message import EmailMessage
from email.parser import BytesParser
from html.parser import HTMLParser
from pathlib import Path
from typing import Callable, Iterable

ENVELOPE_TO = "X-Authfcgi-Envelope-To"
URL = re.compile(r"https?://[^\s<>\"'`]+", re.IGNORECASE)
Predicate = Callable[[EmailMessage], bool]


# The unique names of the standard library's Maildir: SECONDS.MMICROSECONDSPPIDQCOUNTER.HOST
_NAME = re.compile(r"(\d+)\.M(\d+)P\d+Q(\d+)\.")


def delivery_order(name: str, mtime_ns: int) -> tuple[int, int, str]:
    """A sort key: the delivery time in the sink's file name (microseconds, then its counter);
    the file's time for other names (the kernel's file times are only a few ms fine)."""
    m = _NAME.match(name)
    if m:
        return int(m[1]) * 10**9 + int(m[2]) * 1000, int(m[3]), name
    return mtime_ns, 0, name


class Mailbox:
    """The Maildir at MAILDIR (new/ and cur/), oldest message first (by delivery time)."""

    def __init__(self, maildir: Path | str):
        self.maildir = Path(maildir)

    def paths(self, after: Iterable[str] = ()) -> list[Path]:
        """The message files, oldest first; without those named in AFTER (a mark())."""
        skip = set(after)
        found = []
        for sub in ("new", "cur"):
            try:
                entries = list(os.scandir(self.maildir / sub))
            except FileNotFoundError:
                continue
            for entry in entries:
                if entry.name.startswith(".") or entry.name in skip:
                    continue
                try:
                    found.append((delivery_order(entry.name, entry.stat().st_mtime_ns),
                                  Path(entry.path)))
                except FileNotFoundError:  # moved or removed meanwhile
                    continue
        found.sort()
        return [path for _, path in found]

    def raw(self, after: Iterable[str] = ()) -> list[bytes]:
        """The messages as stored (CRLF line ends, envelope lines first), oldest first."""
        return [p.read_bytes() for p in self.paths(after)]

    def messages(self, after: Iterable[str] = ()) -> list[EmailMessage]:
        """The messages parsed, oldest first; without those in AFTER (a mark())."""
        return [parse(data) for data in self.raw(after)]

    def mark(self) -> frozenset[str]:
        """The names of the messages there now: pass it as AFTER to see only later ones."""
        return frozenset(p.name for p in self.paths())

    def clear(self) -> None:
        for path in self.paths():
            path.unlink(missing_ok=True)

    def matching(self, predicate: Predicate | None = None,
                 after: Iterable[str] = ()) -> list[EmailMessage]:
        return [m for m in self.messages(after) if predicate is None or predicate(m)]

    def wait_for_count(self, count: int, predicate: Predicate | None = None,
                       timeout: float = 10.0, after: Iterable[str] = ()) -> list[EmailMessage]:
        """Waits up to TIMEOUT seconds until at least COUNT messages match; all that match,
        oldest first. AssertionError naming what is there when they do not come."""
        after = frozenset(after)
        deadline = time.monotonic() + timeout
        while True:
            found = self.matching(predicate, after)
            if len(found) >= count or time.monotonic() >= deadline:
                break
            time.sleep(0.05)
        if len(found) < count:
            raise AssertionError(f"{len(found)} of {count} expected mail(s) in {self.maildir} "
                                 f"after {timeout} s; there: {self.summary(after)}")
        return found

    def wait_for(self, predicate: Predicate | None = None, timeout: float = 10.0,
                 after: Iterable[str] = ()) -> EmailMessage:
        """The newest message matching PREDICATE, waiting up to TIMEOUT seconds for one."""
        return self.wait_for_count(1, predicate, timeout, after)[-1]

    def expect_none(self, predicate: Predicate | None = None, wait: float = 1.0,
                    after: Iterable[str] = ()) -> None:
        """Asserts that no matching message arrives within WAIT seconds (the mail of a request
        is sent off the request path, so a check right away would prove nothing)."""
        after = frozenset(after)
        deadline = time.monotonic() + wait
        while True:
            found = self.matching(predicate, after)
            if found:
                raise AssertionError(f"unexpected mail in {self.maildir}: {describe(found[-1])}")
            if time.monotonic() >= deadline:
                return
            time.sleep(0.05)

    def summary(self, after: Iterable[str] = ()) -> str:
        found = self.messages(after)
        return "; ".join(describe(m) for m in found[-10:]) if found else "nothing"


def parse(data: bytes) -> EmailMessage:
    return BytesParser(policy=policy.default).parsebytes(data)


def describe(msg: EmailMessage) -> str:
    return f"to {envelope_to(msg) or msg.get('To')} {msg.get('Subject')!r}"


def _envelope(msg: EmailMessage) -> tuple[str, list[str]]:
    """MAIL FROM and RCPT TO from the lines the sink put first. Only that leading run counts:
    the same header names further down came with the message (a forgery, or an injection)."""
    items = msg.items()
    if not items or items[0][0].lower() != "return-path":
        return "", []
    rcpts = []
    for name, value in items[1:]:
        if name.lower() != ENVELOPE_TO.lower():
            break
        rcpts.append(str(value).strip().strip("<>"))
    return str(items[0][1]).strip().strip("<>"), rcpts


def envelope_to(msg: EmailMessage) -> list[str]:
    """The RCPT TO addresses the sink got for MSG (without angle brackets)."""
    return _envelope(msg)[1]


def envelope_from(msg: EmailMessage) -> str:
    """The MAIL FROM address (the sink's Return-Path, without angle brackets)."""
    return _envelope(msg)[0]


def sent_to(address: str) -> Predicate:
    """A predicate: the envelope has ADDRESS as a recipient (exactly, as the sink got it)."""
    return lambda msg: address in envelope_to(msg)


def subject_is(subject: str) -> Predicate:
    return lambda msg: str(msg.get("Subject", "")) == subject


def _part(msg: EmailMessage, subtype: str) -> str | None:
    for part in msg.walk():
        if part.is_multipart() or part.get_content_maintype() != "text":
            continue
        if part.get_content_subtype() != subtype or part.get_content_disposition() == "attachment":
            continue
        content = part.get_content()
        return content.replace("\r\n", "\n")
    return None


def text_of(msg: EmailMessage) -> str | None:
    """The text/plain part decoded (quoted-printable, base64, charset), or None."""
    return _part(msg, "plain")


def html_of(msg: EmailMessage) -> str | None:
    """The text/html part decoded, or None."""
    return _part(msg, "html")


def urls_in(text: str) -> list[str]:
    """The http(s) URLs in TEXT, in order, each once; a sentence's final punctuation dropped."""
    found = []
    for url in URL.findall(text):
        url = url.rstrip(".,;:!?")
        while url.endswith(")") and url.count("(") < url.count(")"):
            url = url[:-1]
        found.append(url)
    return list(dict.fromkeys(found))


class _Hrefs(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.hrefs: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag == "a":
            self.hrefs += [v for k, v in attrs if k == "href" and v is not None]


def html_links_of(msg: EmailMessage) -> list[str]:
    """The href of every <a> in the HTML part (entities decoded), in order."""
    html = html_of(msg)
    if html is None:
        return []
    parser = _Hrefs()
    parser.feed(html)
    parser.close()
    return parser.hrefs


def links_of(msg: EmailMessage) -> list[str]:
    """The http(s) links of the text part (as scripts/mail shows them); of the HTML part's
    <a href> when there is no text part."""
    text = text_of(msg)
    if text is not None:
        return urls_in(text)
    return list(dict.fromkeys(h for h in html_links_of(msg) if URL.fullmatch(h)))


@dataclass(frozen=True)
class SinkTls:
    """A throw-away CA (ca_cert) and a certificate for 127.0.0.1 (IP SAN) signed by it."""

    ca_cert: Path
    cert: Path
    key: Path

    def sink_args(self) -> tuple[str, ...]:
        return ("--tls-cert", str(self.cert), "--tls-key", str(self.key))


def make_test_tls(directory: Path) -> SinkTls:
    """Makes the CA and the server certificate in DIRECTORY with the openssl CLI (P-256 keys,
    one day)."""
    directory.mkdir(parents=True, exist_ok=True)
    ca_key, ca_cert = directory / "ca.key", directory / "ca.crt"
    key, csr, cert = directory / "server.key", directory / "server.csr", directory / "server.crt"
    ext = directory / "server.ext"
    ext.write_text("basicConstraints = critical, CA:FALSE\n"
                   "keyUsage = critical, digitalSignature, keyEncipherment\n"
                   "extendedKeyUsage = serverAuth\n"
                   "subjectAltName = IP:127.0.0.1\n"
                   "subjectKeyIdentifier = hash\n"
                   "authorityKeyIdentifier = keyid\n")
    ec = ["-newkey", "ec", "-pkeyopt", "ec_paramgen_curve:prime256v1", "-nodes"]
    steps = [
        ["openssl", "req", "-x509", *ec, "-keyout", ca_key, "-out", ca_cert, "-days", "1",
         "-subj", "/CN=authfcgi test CA",
         "-addext", "basicConstraints = critical, CA:TRUE",
         "-addext", "keyUsage = critical, keyCertSign, cRLSign"],
        ["openssl", "req", "-new", *ec, "-keyout", key, "-out", csr, "-subj", "/CN=127.0.0.1"],
        ["openssl", "x509", "-req", "-in", csr, "-CA", ca_cert, "-CAkey", ca_key,
         "-set_serial", "2", "-days", "1", "-extfile", ext, "-out", cert],
    ]
    for step in steps:
        done = subprocess.run([str(a) for a in step], capture_output=True, text=True,
                              timeout=30, stdin=subprocess.DEVNULL)
        if done.returncode != 0:
            raise RuntimeError(f"{' '.join(map(str, step[:3]))} failed: {done.stderr.strip()}")
    return SinkTls(ca_cert, cert, key)
