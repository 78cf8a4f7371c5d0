"""A real browser (headless Chromium through playwright-core) through the login form, and
through registration, the mailed confirmation link and logging in.

tests/browser/run.sh keeps its own tooling (it installs Debian's chromium and the pinned node
modules when missing, and can be run by hand against any site). It runs once, behind nginx:
Chromium is slow to start and the pages are the same behind both servers.
"""

from __future__ import annotations

import os
import subprocess

import pytest

from stack import REPO, next_number

BROWSER_RUN = REPO / "tests" / "browser" / "run.sh"


def run_browser(args: list[str], **env: str) -> str:
    """tests/browser/run.sh with ARGS and ENV: its steps (skips when chromium cannot be had)."""
    if os.environ.get("AUTHFCGI_BROWSER", "1") == "0":
        pytest.skip("AUTHFCGI_BROWSER=0")
    done = subprocess.run(["bash", str(BROWSER_RUN), *args], env={**os.environ, **env},
                          capture_output=True, text=True, timeout=300, stdin=subprocess.DEVNULL)
    if done.returncode == 0 and done.stdout.startswith("SKIP"):
        pytest.skip(done.stdout.strip())
    assert done.returncode == 0, f"{done.stdout[-3000:]}\n{done.stderr[-2000:]}"
    return done.stdout


@pytest.mark.slow
def test_a_real_browser_logs_in_is_remembered_and_logs_out(nginx_site, build_dir):
    user = nginx_site.new_user(password="walk-in-chromium-123", username="browser")
    shots = build_dir / "browser-screenshots"
    steps = run_browser([nginx_site.base, user.email, user.password, user.username],
                        BROWSER_SCREENSHOTS=str(shots), SPEC="login.spec.mjs")
    # The steps it took, for the log (-rA or a failure shows them).
    print(steps)


@pytest.mark.slow
def test_a_real_browser_registers_confirms_and_logs_in(nginx_site, build_dir):
    n = next_number()
    email, username = f"walker{n}@example.com", f"walker{n}"
    shots = build_dir / "browser-screenshots" / "register"
    steps = run_browser([nginx_site.base, email, "Tulip-harbor-2026", username],
                        BROWSER_SCREENSHOTS=str(shots), SPEC="register.spec.mjs",
                        MAILDIR=str(nginx_site.smtp.maildir))
    print(steps)
    assert list(shots.glob("*-register-phone.png")) and list(shots.glob("*-confirmed.png"))
