"""A browser as the tests need one: a cookie jar, the last page, its forms.

    b = Browser(site.base)
    b.get("/auth/login")                      # the page is kept in b.page
    b.submit(b.form(), email=e, password=p)   # every hidden input (the CSRF token) goes back
    b.login(e, p, remember=True)              # the two steps above, with remember_me=y
    b.restart()                               # closing the browser drops its session cookies

Redirects are never followed: a test sees the 302 and its Location. For requests a browser
would never send (a raw path, a forged Host, CR/LF), use raw_request().
"""

from __future__ import annotations

import html
import re
import socket
from dataclasses import dataclass, field
from html.parser import HTMLParser
from urllib.parse import quote, urljoin, urlsplit

import requests
from requests.adapters import HTTPAdapter

TIMEOUT = 20


@dataclass
class Form:
    action: str
    method: str
    fields: dict[str, str] = field(default_factory=dict)  # hidden inputs, with their values
    inputs: dict[str, dict[str, str]] = field(default_factory=dict)  # every input's attributes


class _FormParser(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.forms: list[Form] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        a = {k: (v or "") for k, v in attrs}
        if tag == "form":
            self.forms.append(Form(a.get("action", ""), a.get("method", "get").lower()))
        elif tag in ("input", "button", "textarea", "select") and self.forms and "name" in a:
            form = self.forms[-1]
            form.inputs[a["name"]] = {"tag": tag, **a}
            if a.get("type") == "hidden":
                form.fields[a["name"]] = a.get("value", "")


def forms(page: str) -> list[Form]:
    parser = _FormParser()
    parser.feed(page)
    return parser.forms


def csrf_token(page: str) -> str:
    """The hidden csrf_token of the first form on PAGE ('' when there is none)."""
    found = forms(page)
    return found[0].fields.get("csrf_token", "") if found else ""


def set_cookies(response: requests.Response) -> dict[str, str]:
    """Each Set-Cookie header of RESPONSE by cookie name: the whole header value."""
    headers = response.raw.headers.getlist("Set-Cookie") if response.raw else []
    return {h.split("=", 1)[0].strip(): h for h in headers}


def login_path(next_value: str | None = None) -> str:
    if next_value is None:
        return "/auth/login"
    return "/auth/login?next=" + quote(next_value, safe="")


class _NoCookies(requests.cookies.RequestsCookieJar):
    """A jar that keeps nothing."""

    def set_cookie(self, cookie, *args, **kwargs):  # noqa: ANN001, ANN002, ANN003, ARG002
        return None

    def extract_cookies(self, response, request):  # noqa: ANN001, ARG002
        return None


def plain_session() -> requests.Session:
    """A keep-alive client that keeps no cookies (curl without -c): each request carries only
    the Cookie header it is given, so a probe stays anonymous or stays one fixed session."""
    session = requests.Session()
    session.cookies = _NoCookies()
    return session


class _SourceAddress(HTTPAdapter):
    """Connects from ADDRESS (e.g. 127.0.0.2) so the site sees another client address."""

    def __init__(self, address: str) -> None:
        self._address = address
        super().__init__()

    def init_poolmanager(self, *args, **kwargs):  # noqa: ANN002, ANN003 (requests' signature)
        kwargs["source_address"] = (self._address, 0)
        return super().init_poolmanager(*args, **kwargs)


class Browser:
    def __init__(self, base: str, address: str | None = None) -> None:
        self.base = base.rstrip("/")
        self.session = requests.Session()
        if address:
            self.session.mount("http://", _SourceAddress(address))
        self.page: requests.Response | None = None

    # --- requests --------------------------------------------------------------------------
    def request(self, method: str, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        kwargs.setdefault("allow_redirects", False)
        kwargs.setdefault("timeout", TIMEOUT)
        url = path if path.startswith("http") else self.base + path
        self.page = self.session.request(method, url, **kwargs)
        return self.page

    def get(self, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        return self.request("GET", path, **kwargs)

    def post(self, path: str, data=None, **kwargs) -> requests.Response:  # noqa: ANN001, ANN003
        return self.request("POST", path, data=data, **kwargs)

    def follow(self) -> requests.Response:
        """GET the Location of the last answer."""
        assert self.page is not None and "Location" in self.page.headers, "no redirect to follow"
        return self.get(urljoin(self.page.url, self.page.headers["Location"]))

    # --- forms -----------------------------------------------------------------------------
    def form(self, index: int = 0) -> Form:
        assert self.page is not None, "no page loaded"
        found = forms(self.page.text)
        assert len(found) > index, f"no form #{index} on {self.page.url}"
        return found[index]

    def submit(self, form: Form, **fields: str) -> requests.Response:
        """Sends FORM as a browser would: its hidden inputs, then FIELDS (they win)."""
        assert self.page is not None
        data = {**form.fields, **fields}
        url = urljoin(self.page.url, form.action or self.page.url)
        if form.method == "post":
            return self.post(url, data=data)
        return self.get(url, params=data)

    def login(self, email: str, password: str, remember: bool = False,
              next: str | None = None) -> requests.Response:  # noqa: A002 (the form's name)
        self.get(login_path(next))
        extra = {"remember_me": "y"} if remember else {}
        return self.submit(self.form(), email=email, password=password, **extra)

    # --- cookies ---------------------------------------------------------------------------
    def cookie(self, name: str) -> str | None:
        for c in self.session.cookies:
            if c.name == name:
                return c.value
        return None

    def drop_cookie(self, name: str) -> None:
        for c in list(self.session.cookies):
            if c.name == name:
                self.session.cookies.clear(c.domain, c.path, c.name)

    def set_cookie(self, name: str, value: str) -> None:
        host = urlsplit(self.base).hostname or ""
        self.session.cookies.set(name, value, domain=host, path="/")

    def restart(self) -> None:
        """Closing the browser: cookies without Expires/Max-Age are gone."""
        for c in list(self.session.cookies):
            if c.expires is None:
                self.session.cookies.clear(c.domain, c.path, c.name)


# --- what a page shows -----------------------------------------------------------------------
def greeting(page: str) -> str | None:
    """The name in "Hello, NAME!" (unescaped), or None."""
    m = re.search(r"Hello, (.*?)!", page)
    return html.unescape(m.group(1)) if m else None


def is_anonymous(response: requests.Response | RawResponse) -> bool:
    """200 with the anonymous greeting and navbar, as SPEC's page table says."""
    text = response.text
    return (response.status_code == 200 and "Hello, Anonymous!" in text
            and 'href="/auth/login"' in text and 'href="/auth/logout"' not in text)


def blank_values(page: str) -> str:
    """PAGE with every attribute value emptied (CSRF tokens, the typed email), to compare two
    answers that must not differ otherwise."""
    return re.sub(r'value="[^"]*"', 'value=""', page)


def is_logged_in_as(response: requests.Response, username: str) -> bool:
    text = response.text
    return (response.status_code == 200 and f"Hello, {html.escape(username)}!" in text
            and 'href="/auth/logout"' in text and 'href="/auth/login"' not in text)


# --- requests no browser sends ---------------------------------------------------------------
@dataclass
class RawResponse:
    status: int
    header_lines: list[bytes]  # each as received, CRLF included
    body: bytes

    @property
    def status_code(self) -> int:  # as requests names it
        return self.status

    def headers(self, name: str) -> list[str]:
        out = []
        for line in self.header_lines:
            key, sep, value = line.decode("latin-1").partition(":")
            if sep and key.strip().lower() == name.lower():
                out.append(value.strip())
        return out

    def header(self, name: str) -> str | None:
        found = self.headers(name)
        return found[-1] if found else None

    @property
    def text(self) -> str:
        return self.body.decode("utf-8", errors="replace")


def raw_request(base: str, request: bytes, timeout: float = TIMEOUT) -> RawResponse:
    """Sends REQUEST bytes exactly as given (one request, Connection: close expected or the
    server closing) and parses the answer; status 0 when nothing came back."""
    parts = urlsplit(base)
    data = b""
    try:
        with socket.create_connection((parts.hostname, parts.port), timeout=timeout) as s:
            s.sendall(request)
            while chunk := s.recv(65536):
                data += chunk
    except OSError:
        pass
    head, _, body = data.partition(b"\r\n\r\n")
    lines = head.split(b"\r\n")
    m = re.match(rb"HTTP/\d\.\d (\d{3})", lines[0]) if lines else None
    if not m:
        return RawResponse(0, [], b"")
    header_lines = [ln + b"\r\n" for ln in lines[1:]]
    if b"transfer-encoding: chunked" in head.lower():
        body = _dechunk(body)
    return RawResponse(int(m.group(1)), header_lines, body)


def raw_get(base: str, target: str, headers: dict[str, str] | None = None,
            method: str = "GET", body: bytes = b"", version: str = "HTTP/1.1") -> RawResponse:
    """METHOD TARGET with TARGET sent byte for byte (no re-quoting, unlike requests)."""
    host = urlsplit(base).netloc
    lines = [f"{method} {target} {version}"]
    hdrs = {"Host": host, "Connection": "close", **(headers or {})}
    lines += [f"{k}: {v}" for k, v in hdrs.items() if v is not None]
    if body or method == "POST":
        lines.append(f"Content-Length: {len(body)}")
    return raw_request(base, ("\r\n".join(lines) + "\r\n\r\n").encode("latin-1") + body)


def _dechunk(body: bytes) -> bytes:
    out = b""
    while body:
        size_line, _, rest = body.partition(b"\r\n")
        try:
            size = int(size_line.split(b";")[0], 16)
        except ValueError:
            break
        if size == 0:
            break
        out += rest[:size]
        body = rest[size + 2:]
    return out
