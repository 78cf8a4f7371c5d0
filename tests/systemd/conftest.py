"""Fixtures for the systemd suite: conf/systemd's units, unchanged, under a live systemd.

    systemd    systemd as PID 1 of throw-away namespaces (scripts/lib/systemd-ns.sh boots,
               enters and tears them down), with the units, binaries and configuration
               installed as docs/deployment.md says and a private MariaDB bound to /run/mysqld
    account    `authctl db migrate` and `authctl user add` run inside, with their results
    deployed   the above plus nginx (conf/nginx) inside, proxying to /run/authfcgi/authfcgi.sock
    app_user   the account's user

The whole suite is skipped, with the reason, when a live systemd cannot be booted here (not
root, no cgroup2, ...). On a failure the units' states and journal are printed.
"""

from __future__ import annotations

import subprocess
from dataclasses import dataclass
from pathlib import Path

import pytest

from stack import MariaDB, StackError, User, random_password, stop_all
from systemd_ns import CONF, EMAIL, PORT, SKIP, SOCK, USERNAME, Systemd, ns_shell

DIAGNOSE = pytest.StashKey[bool]()


@pytest.fixture(scope="session")
def systemd(build_dir: Path, workdir: Path) -> Systemd:
    preflight = ns_shell("systemd_ns_preflight")
    if preflight.returncode == SKIP:
        pytest.skip(f"skipped: {preflight.stdout.strip()}")
    if preflight.returncode != 0:
        raise StackError(f"systemd suite: {preflight.stderr.strip()}")
    directory = workdir / "systemd"
    directory.mkdir()
    db = MariaDB(directory / "db")
    booted: Systemd | None = None
    try:
        db.start()
        password = random_password()
        db.create_database("authfcgi", "authfcgi", password)
        boot = ns_shell("systemd_ns_boot", str(directory), str(build_dir), password,
                        timeout=180)
        if boot.returncode == SKIP:
            pytest.skip(f"skipped: {boot.stdout.strip()}\n{boot.stderr.strip()[-2000:]}")
        if boot.returncode != 0:
            raise StackError(f"systemd_ns_boot failed (exit {boot.returncode}):\n"
                             f"{boot.stderr.strip()[-3000:]}")
        booted = Systemd(directory, int(boot.stdout.split()[-1]))
        yield booted
    finally:
        # On every path: the namespaces' threads, the namespaces, MariaDB, the directory.
        errors = []
        if booted is not None:
            booted.netns.close()
        down = ns_shell("systemd_ns_teardown", str(directory), timeout=120)
        if down.returncode != 0:
            errors.append(f"systemd_ns_teardown: {down.stderr.strip()}")
        stop_all([db], errors)


@dataclass
class Account:
    migrate: subprocess.CompletedProcess[str]
    add: subprocess.CompletedProcess[str]
    user: User


@pytest.fixture(scope="session")
def account(systemd: Systemd) -> Account:
    """The installed authctl with the installed configuration, as an operator runs it."""
    user = User(EMAIL, USERNAME, random_password())
    migrate = systemd.run("/usr/bin/authctl", "--config", CONF, "db", "migrate")
    add = systemd.run("/usr/bin/authctl", "--config", CONF, "user", "add", "--email", EMAIL,
                      "--username", USERNAME, stdin=user.password + "\n")
    return Account(migrate, add, user)


@pytest.fixture(scope="session")
def deployed(systemd: Systemd, account: Account) -> Systemd:
    """The namespaces with a migrated database, the user and nginx on 127.0.0.1:8080 inside."""
    if account.migrate.returncode != 0 or account.add.returncode != 0:
        raise StackError(f"authctl failed:\n{account.migrate.stderr}\n{account.add.stderr}")
    started = ns_shell("systemd_ns_nginx_start", str(systemd.directory), str(PORT), SOCK)
    if started.returncode != 0:
        raise StackError(f"nginx in the namespaces failed to start:\n{started.stderr.strip()}")
    return systemd


@pytest.fixture(scope="session")
def app_user(account: Account) -> User:
    return account.user


# --- on a failure: the units' side of the story ------------------------------------------------
@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item: pytest.Item, call: pytest.CallInfo):  # noqa: ANN201
    outcome = yield
    report = outcome.get_result()
    if report.when == "call" and report.failed:
        item.stash[DIAGNOSE] = True


@pytest.fixture(autouse=True)
def diagnose_failures(request: pytest.FixtureRequest) -> None:
    yield
    if request.node.stash.get(DIAGNOSE, False) and "systemd" in request.fixturenames:
        print(request.getfixturevalue("systemd").diagnosis())
