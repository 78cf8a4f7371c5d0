"""log_format = json: the auth event lines as one JSON object each, behind a real worker."""

from __future__ import annotations

import json

import pytest

from browser import Browser
from stack import LOOSE_THROTTLE


@pytest.fixture(scope="module")
def json_site(make_site, server):
    return make_site(server, config=(*LOOSE_THROTTLE, "log_format = json"))


@pytest.mark.servers("nginx")
def test_each_auth_event_is_one_json_object_without_the_password(json_site):
    user = json_site.new_user()
    crafted = "o'brien+x@example.com"  # the form refuses a quote or a backslash
    assert Browser(json_site.base).login(crafted, "guess-1").status_code == 200
    assert Browser(json_site.base).login(user.email, "guess-2").status_code == 200
    assert Browser(json_site.base).login(user.email, user.password).status_code == 302
    events = [json.loads(line) for line in json_site.log_text().splitlines()
              if line.startswith("{")]
    assert [(e["event"], e["account"]) for e in events][-3:] == [
        ("login_failed", crafted), ("login_failed", user.email),
        ("login_ok", user.email)]
    assert all(set(e) == {"time", "event", "client", "account"} for e in events)
    assert events[-1]["client"] == "127.0.0.1"
    assert user.password not in json_site.log_text() and "guess-2" not in json_site.log_text()
