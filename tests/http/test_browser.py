"""A real browser (headless Chromium through playwright-core) through the login form.

tests/browser/run.sh keeps its own tooling (it installs Debian's chromium and the pinned node
modules when missing, and can be run by hand against any site). It runs once, behind nginx:
Chromium is slow to start and the pages are the same behind both servers.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from stack import REPO

BROWSER_RUN = REPO / "tests" / "browser" / "run.sh"


@pytest.mark.slow
def test_a_real_browser_logs_in_is_remembered_and_logs_out(nginx_site, build_dir):
    if os.environ.get("AUTHFCGI_BROWSER", "1") == "0":
        pytest.skip("AUTHFCGI_BROWSER=0")
    user = nginx_site.new_user(password="walk-in-chromium-123", username="browser")
    shots = build_dir / "browser-screenshots"
    done = subprocess.run(
        ["bash", str(BROWSER_RUN), nginx_site.base, user.email, user.password, user.username],
        env={**os.environ, "BROWSER_SCREENSHOTS": str(shots)}, capture_output=True, text=True,
        timeout=300, stdin=subprocess.DEVNULL)
    if done.returncode == 0 and done.stdout.startswith("SKIP"):
        pytest.skip(done.stdout.strip())
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    # The steps it took, for the log (-rA or a failure shows them).
    print(done.stdout)
