"""What every pytest suite under tests/ shares: the options, the build directory, a work
directory, and a run that SIGTERM ends like Ctrl-C (so finalizers stop what was started)."""

from __future__ import annotations

import os
import shutil
import signal
import tempfile
from pathlib import Path

import pytest

from stack import SERVERS, env_build_dir


def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--server", choices=SERVERS, action="append",
                     help="run the HTTP tests behind this web server only (repeatable)")
    parser.addoption("--keep", action="store_true", help="keep the work directory (logs)")


def _interrupt(signum: int, frame: object) -> None:  # noqa: ARG001
    raise KeyboardInterrupt(f"signal {signum}")


def pytest_configure(config: pytest.Config) -> None:  # noqa: ARG001
    # A timeout or a cancelled CI run sends SIGTERM: by default Python would die at once and
    # leave MariaDB, the workers and the web servers running.
    signal.signal(signal.SIGTERM, _interrupt)


@pytest.fixture(scope="session")
def build_dir() -> Path:
    directory = env_build_dir()
    for binary in ("authfcgi", "authctl"):
        if not (directory / binary).exists():
            pytest.exit(f"no {binary} in {directory}: build first (scripts/test does)", 2)
    return directory


@pytest.fixture(scope="session")
def workdir(request: pytest.FixtureRequest) -> Path:
    # Not pytest's tmp_path: services that drop root (Apache's www-data children, mysql) must
    # traverse it, and unix socket paths must stay short.
    directory = Path(tempfile.mkdtemp(prefix="authfcgi-tests.", dir=os.environ.get("TMPDIR")))
    directory.chmod(0o755)
    yield directory
    if request.config.getoption("--keep"):
        print(f"\nwork directory kept: {directory}")
    else:
        shutil.rmtree(directory, ignore_errors=True)
