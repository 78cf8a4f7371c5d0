"""What the test_attack_* modules share: how an attacker's answers are judged, a keep-alive
probe for hand-written Cookie headers, and the session cookie's payload codec.

    anonymous_or_400(r)            browser.is_anonymous(r) (requests or raw), or refused: 400
    is_local_location(loc, base)   a path on our origin: one leading '/', no '\\', no control
                                   character or white space
    header_injections(raw)         what is wrong with a raw answer's header lines
    CookieProbe(base).get(path, cookie)   one keep-alive connection, no cookie jar
    login_at(browser, path, email, password)   GET PATH's form, POST it back to PATH itself
"""

from __future__ import annotations

import base64
import re
import struct
from dataclasses import dataclass
from typing import Iterator

import requests

from browser import TIMEOUT, Browser, RawResponse, is_anonymous, plain_session

# --- what a page shows ------------------------------------------------------------------------


def anonymous_or_400(response: requests.Response | RawResponse) -> bool:
    return response.status_code == 400 or is_anonymous(response)


def no_server_error(response: requests.Response | RawResponse) -> bool:
    """An answer (status 0: none came back) that is not a 5xx."""
    return 100 <= response.status_code < 500


def is_local_location(location: str | None, base: str) -> bool:
    """LOCATION is a path on our origin (an absolute URL to BASE counts as its path)."""
    if location is None:
        return False
    if location.startswith(base + "/"):
        location = location[len(base):]
    return (re.match(r"/([^/\\]|$)", location) is not None and "\\" not in location
            and re.search(r"[\x00-\x20\x7f]", location) is None)


def header_injections(raw: RawResponse) -> list[str]:
    """Each header line that carries a CR or LF inside it, or that an attacker injected
    (X-Evil, a cookie named evil). Empty when the head is clean."""
    problems = [f"not one clean header line: {line!r}" for line in raw.header_lines
                if not re.fullmatch(rb"[A-Za-z0-9-]+:[^\r\n]*\r\n", line)]
    if raw.status == 0:
        problems.append("no HTTP status line")
    problems += [f"injected X-Evil: {v!r}" for v in raw.headers("X-Evil")]
    problems += [f"injected Set-Cookie: {v!r}" for v in raw.headers("Set-Cookie")
                 if v.startswith("evil=")]
    return problems


# --- requests ---------------------------------------------------------------------------------


class CookieProbe:
    """GETs with a hand-written Cookie header over one keep-alive connection. It keeps no
    cookies of its own, so only the header under test reaches the site."""

    def __init__(self, base: str) -> None:
        self.base = base
        self.session = plain_session()

    def get(self, path: str, cookie: str) -> requests.Response:
        return self.session.get(self.base + path, headers={"Cookie": cookie},
                                allow_redirects=False, timeout=TIMEOUT)


def login_at(browser: Browser, path: str, email: str, password: str,
             **extra: str) -> requests.Response:
    """GET PATH (e.g. /auth/login?next=...), then POST its form back to PATH itself, not to
    the form's action: the query under test reaches the login handler even when the page
    dropped it from the action."""
    browser.get(path)
    form = browser.form()
    return browser.post(path, data={**form.fields, "email": email, "password": password,
                                    **extra})


# --- byte flips -------------------------------------------------------------------------------


def changed_values(value: str) -> Iterator[tuple[str, int, str]]:
    """(mode, position, VALUE with that position changed): per position another letter, and
    the character with its low bit flipped (which stays in base64url or leaves the cookie
    alphabet; both must be refused)."""
    for mode in ("letter", "bit"):
        for i, c in enumerate(value):
            if mode == "letter":
                new = "B" if c == "A" else "A"
            else:
                new = chr(ord(c) ^ 1)
            yield mode, i, value[:i] + new + value[i + 1:]


def changes_not_anonymous(probe: CookieProbe, name: str, value: str,
                          other: str = "") -> list[str]:
    """Sends every changed_values() of cookie NAME; the changes that were not anonymous,
    as "mode@position:status"."""
    failed = []
    for mode, i, mutated in changed_values(value):
        answer = probe.get("/", f"{other}{name}={mutated}")
        if not is_anonymous(answer):
            failed.append(f"{mode}@{i}:{answer.status_code}")
    return failed


# --- the session cookie: v1.<payload>.<mac>, base64url without padding ---------------------
# payload: 4-byte big-endian session id length, the session id, then 0x01 and the user id as a
# signed 64-bit big-endian integer (when a user is logged in).


@dataclass(frozen=True)
class SessionCookie:
    value: str

    @property
    def signed(self) -> str:
        return self.value.rsplit(".", 1)[0]

    @property
    def mac(self) -> str:
        return self.value.rsplit(".", 1)[1]

    @property
    def payload(self) -> str:
        return self.signed.removeprefix("v1.")

    def _user_offset(self) -> tuple[bytes, int]:
        data = b64url_decode(self.payload)
        (sid_length,) = struct.unpack(">I", data[:4])
        offset = 4 + sid_length
        assert data[offset:offset + 1] == b"\x01", "no user in the session payload"
        return data, offset + 1

    def user_id(self) -> int:
        data, at = self._user_offset()
        return struct.unpack(">q", data[at:at + 8])[0]

    def payload_with_user_id(self, user_id: int) -> str:
        """This payload with another user id, re-encoded (the MAC is not redone: no key)."""
        data, at = self._user_offset()
        return b64url_encode(data[:at] + struct.pack(">q", user_id) + data[at + 8:])


def b64url_decode(text: str) -> bytes:
    return base64.urlsafe_b64decode(text + "=" * (-len(text) % 4))


def b64url_encode(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()
