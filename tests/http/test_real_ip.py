"""The client address behind a proxy, load balancer or CDN (docs/deployment.md, section 6).

Throttling and the log lines name the client by REMOTE_ADDR. With the real-IP setup of the
docs, a request from a listed proxy (here 127.0.0.1) carries the client's address in
X-Forwarded-For and the workers see that address; the same header from anyone else (127.0.0.2)
changes nothing. Without the setup the header is ignored; with a setup that trusts everyone,
any client picks its own address. What the workers saw is read where an operator reads it:
the `event=login_failed client=...` line of a failed login.
"""

from __future__ import annotations

import os
import re

import pytest

from browser import Browser
from stack import Site, next_number, wait_until

PROXY = "127.0.0.1"  # the listed proxy: the address the tests' requests come from by default
STRANGER = "127.0.0.2"  # a client that reaches the web server directly
CLIENT = "203.0.113.9"  # the visitor's address as the proxy forwards it
APACHE_MODULES = os.environ.get("AUTHFCGI_APACHE_MODULES", "/usr/lib/apache2/modules")


def real_ip_setup(server: str, proxies: str | None) -> str:
    """The docs' snippet for SERVER trusting PROXIES (a CIDR); None: the mistake of trusting
    the header from everyone."""
    if server == "nginx":
        return (f"set_real_ip_from {proxies or '0.0.0.0/0'};\n"
                "real_ip_header X-Forwarded-For;\n"
                "real_ip_recursive on;")
    lines = [f"LoadModule remoteip_module {APACHE_MODULES}/mod_remoteip.so",
             "RemoteIPHeader X-Forwarded-For"]
    if proxies:
        lines.append(f"RemoteIPInternalProxy {proxies}")
    return "\n".join(lines)


@pytest.fixture(scope="module")
def proxied(make_site, server: str) -> Site:  # noqa: ANN001
    return make_site(server, web_config=real_ip_setup(server, PROXY))


@pytest.fixture(scope="module")
def trusting_everyone(make_site, server: str) -> Site:  # noqa: ANN001
    return make_site(server, web_config=real_ip_setup(server, None))


def client_of_failed_login(site: Site, forwarded: str | None, source: str = PROXY) -> str:
    """Fails a login from SOURCE with X-Forwarded-For: FORWARDED; the client address of its
    login_failed line in the worker log."""
    browser = Browser(site.base, address=source)
    if forwarded is not None:
        browser.session.headers["X-Forwarded-For"] = forwarded
    email = f"nobody{next_number()}@example.com"
    answer = browser.login(email, "not the password")
    assert answer.status_code == 200 and "Invalid email or password." in answer.text
    line = re.compile(rf"event=login_failed client=(\S+) account={re.escape(email)}$", re.M)
    assert wait_until(lambda: line.search(site.log_text()), 10), f"no login_failed for {email}"
    return line.search(site.log_text()).group(1)


def test_without_the_setup_the_forwarded_header_is_ignored(site):
    assert client_of_failed_login(site, CLIENT) == PROXY


def test_from_the_listed_proxy_the_workers_see_the_forwarded_client(proxied):
    assert client_of_failed_login(proxied, CLIENT) == CLIENT


def test_from_any_other_address_the_forwarded_header_is_ignored(proxied):
    assert client_of_failed_login(proxied, CLIENT, source=STRANGER) == STRANGER
    assert client_of_failed_login(proxied, None, source=STRANGER) == STRANGER


def test_a_chain_of_listed_proxies_still_names_the_client(proxied):
    # Two proxies: the outer one added the client, the inner one (listed as well) added the
    # outer one's address.
    assert client_of_failed_login(proxied, f"{CLIENT}, {PROXY}") == CLIENT


def test_a_forwarded_header_the_client_made_up_does_not_pass_through_the_proxy(proxied):
    # The client sent "X-Forwarded-For: 198.51.100.1" to the proxy, which appended the address
    # it saw: the site takes the proxy's entry, not the client's invention.
    assert client_of_failed_login(proxied, f"198.51.100.1, {CLIENT}") == CLIENT


def test_trusting_the_header_from_everyone_lets_any_client_pick_its_address(trusting_everyone):
    # The mistake the docs warn about: every attempt can come from a fresh address, so the
    # per-address throttling rules never add up.
    picked = [client_of_failed_login(trusting_everyone, f"198.51.100.{n}", source=STRANGER)
              for n in (21, 22, 23)]
    assert picked == ["198.51.100.21", "198.51.100.22", "198.51.100.23"]
