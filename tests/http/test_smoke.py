"""scripts/smoke (the curl check we ship to users) passes against a real site, login included."""

from __future__ import annotations

import os
import subprocess

from stack import REPO


def test_scripts_smoke_passes_with_a_login(site, user):
    env = {**os.environ, "SMOKE_EMAIL": user.email, "SMOKE_PASSWORD": user.password,
           "SMOKE_USERNAME": user.username}
    done = subprocess.run([str(REPO / "scripts" / "smoke"), site.base], env=env, text=True,
                          capture_output=True, timeout=120, stdin=subprocess.DEVNULL)
    assert done.returncode == 0, done.stdout[-1500:] + done.stderr[-1500:]
    # Without the login part smoke says "anonymous pages only": it must have logged in.
    assert f"checks passed against {site.base}" in done.stdout
    assert "anonymous pages only" not in done.stdout
