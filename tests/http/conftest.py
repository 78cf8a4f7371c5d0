"""Fixtures that start the real stack once per test session.

    mariadb      one private MariaDB for the whole run (each site has a database of its own)
    site         authfcgi behind nginx, then behind Apache: every test that uses it runs twice
    nginx_site   the same, behind nginx only (for tests about nginx or the workers alone)
    make_site    a factory for sites with other settings (default throttle limits, short CSRF
                 lifetime, one worker process...), stopped at the end of the test's module
    user         a fresh account on `site` (unique email and username) for one test
    browser      a fresh Browser on `site`

The shared sites raise both throttle limits: every request comes from 127.0.0.1 and many tests
fail logins on purpose. Tests of throttling start a site of their own with make_site.
"""

from __future__ import annotations

import os
import shutil
import tempfile
from dataclasses import dataclass
from pathlib import Path

import pytest

from browser import Browser
from stack import (SERVERS, MariaDB, Site, StackError, User, crash_lines, env_build_dir,
                   next_number)

LOOSE_THROTTLE = ("throttle_account_max_failures = 1000", "throttle_address_max_failures = 1000")



def pytest_addoption(parser: pytest.Parser) -> None:
    parser.addoption("--server", choices=SERVERS, action="append",
                     help="run the tests behind this web server only (repeatable)")
    parser.addoption("--keep", action="store_true", help="keep the work directory (logs)")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "server" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--server") or list(SERVERS)
        metafunc.parametrize("server", chosen, scope="session")


@pytest.fixture(scope="session")
def build_dir() -> Path:
    directory = env_build_dir()
    for binary in ("authfcgi", "authctl"):
        if not (directory / binary).exists():
            pytest.exit(f"no {binary} in {directory}: build first (scripts/test does)", 2)
    return directory


@pytest.fixture(scope="session")
def workdir(request: pytest.FixtureRequest) -> Path:
    # Not pytest's tmp_path: Apache's children (www-data) must traverse it to the socket,
    # and unix socket paths must stay short.
    directory = Path(tempfile.mkdtemp(prefix="authfcgi-http.", dir=os.environ.get("TMPDIR")))
    directory.chmod(0o755)
    yield directory
    if request.config.getoption("--keep"):
        print(f"\nwork directory kept: {directory}")
    else:
        shutil.rmtree(directory, ignore_errors=True)


@pytest.fixture(scope="session")
def mariadb(workdir: Path) -> MariaDB:
    db = MariaDB(workdir / "mariadb")
    db.start()
    yield db
    db.stop()


@dataclass
class SiteFactory:
    mariadb: MariaDB
    workdir: Path
    build: Path

    def __call__(self, server: str = "nginx", processes: int = 2, config: tuple[str, ...] = (),
                 mariadb: MariaDB | None = None) -> Site:
        name = f"site{next_number()}"
        site = Site(mariadb or self.mariadb, server, self.workdir / name, self.build,
                    db_name=f"authfcgi_{name}", processes=processes, config_lines=config)
        try:
            return site.start()
        except StackError:
            site.stop()
            raise


@pytest.fixture(scope="session")
def site_factory(mariadb: MariaDB, workdir: Path, build_dir: Path) -> SiteFactory:
    return SiteFactory(mariadb, workdir, build_dir)


@pytest.fixture(scope="session")
def site(site_factory: SiteFactory, server: str) -> Site:
    s = site_factory(server, config=LOOSE_THROTTLE)
    yield s
    s.stop()
    assert not crash_lines(s.log_text()), f"worker crash behind {server}: {crash_lines(s.log_text())}"


@pytest.fixture(scope="session")
def nginx_site(site_factory: SiteFactory) -> Site:
    s = site_factory("nginx", config=LOOSE_THROTTLE)
    yield s
    s.stop()


@pytest.fixture(scope="module")
def make_site(site_factory: SiteFactory):  # noqa: ANN201
    started: list[Site] = []

    def make(server: str = "nginx", **kwargs) -> Site:  # noqa: ANN003
        s = site_factory(server, **kwargs)
        started.append(s)
        return s

    yield make
    for s in reversed(started):
        s.stop()


@pytest.fixture
def user(site: Site) -> User:
    return site.new_user()


@pytest.fixture
def browser(site: Site) -> Browser:
    return Browser(site.base)
