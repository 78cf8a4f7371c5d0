"""Fixtures that start the real stack once per test session.

    mariadb      one private MariaDB for the whole run (each site has a database of its own)
    site         authfcgi behind nginx, then behind Apache: every test that uses it runs twice
                 (a module or test marked `pytest.mark.servers("nginx")` runs behind nginx
                 only); a site also serves the gateway's /private/, /whoami and /admin/ (behind
                 Apache through authorizer workers on a loopback port)
    nginx_site   the same, behind nginx only (for tests about nginx or the workers alone)
    make_site    a factory for sites with other settings (default throttle limits, short CSRF
                 lifetime, one worker process...), stopped at the end of the test's module
    user         a fresh account on `site` (unique email and username) for one test
    browser      a fresh Browser on `site`

The shared sites raise the throttle limits: every request comes from 127.0.0.1 and many tests
fail logins on purpose. Tests of throttling start a site of their own with make_site.
"""

from __future__ import annotations

from dataclasses import dataclass
from pathlib import Path
from typing import Iterator

import pytest

from browser import Browser
from stack import LOOSE_THROTTLE, SERVERS, MariaDB, Site, StackError, User, crash_lines, next_number


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "servers(*names): run behind these web servers only")


def pytest_generate_tests(metafunc: pytest.Metafunc) -> None:
    if "server" in metafunc.fixturenames:
        chosen = metafunc.config.getoption("--server") or list(SERVERS)
        only = metafunc.definition.get_closest_marker("servers")
        if only:  # an empty choice is reported as skipped
            chosen = [s for s in chosen if s in only.args]
        metafunc.parametrize("server", chosen, scope="session")


@pytest.hookimpl(hookwrapper=True)
def pytest_collection_modifyitems(items: list[pytest.Item]) -> Iterator[None]:
    # pytest regroups items by parameter and scatters a module's tests across the run, so
    # module fixtures (a throttle stack, an outage) would be built again and again. Keep file
    # order within each server: every nginx test, then every Apache test.
    collected = {item.nodeid: i for i, item in enumerate(items)}
    yield

    def key(item: pytest.Item) -> tuple[int, int]:
        callspec = getattr(item, "callspec", None)
        server = callspec.params.get("server") if callspec else None
        return (SERVERS.index(server) if server in SERVERS else -1, collected[item.nodeid])

    items.sort(key=key)


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
                 mariadb: MariaDB | None = None, web_config: str = "",
                 smtp_args: tuple[str, ...] = (), mail: bool = True) -> Site:
        name = f"site{next_number()}"
        site = Site(mariadb or self.mariadb, server, self.workdir / name, self.build,
                    db_name=f"authfcgi_{name}", processes=processes, config_lines=config,
                    web_config=web_config, smtp_args=smtp_args, mail=mail)
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
    crashes = []
    for s in reversed(started):
        s.stop()
        crashes += crash_lines(s.log_text()) if s.workers else []
    assert not crashes, f"worker crash: {crashes}"


@pytest.fixture
def user(site: Site) -> User:
    return site.new_user()


@pytest.fixture
def browser(site: Site) -> Browser:
    return Browser(site.base)
