"""The Debian package, tried as a new user would: its metadata and contents, `apt-get install`,
the installed binaries and examples run for real (private MariaDB, the spawn-fcgi example, nginx
from the nginx example, scripts/smoke with a user added by the installed authctl), then
`apt-get remove --purge`. As root only; see conftest.py.

    AUTHFCGI_DEB=/tmp/pkg/authfcgi_0.1.0_amd64.deb /usr/bin/python3 -m pytest tests/package

The tests run in file order: the install, the package serving logins, the purge, the machine as
it was. Each part asks for the fixture of its stage.
"""

from __future__ import annotations

import grp
import gzip
import os
import pwd
import re
import secrets
import shutil
import signal
import stat
import subprocess
from pathlib import Path

import pytest
import requests

from debpkg import (BIN_DIR, BINARIES, DOC, EXAMPLES, MAN_DIR, OWNED_PATHS, SHARE, UNIT_DIR,
                    UNITS, architecture, changed_lines, dpkg_status, installed_packages,
                    known_to_dpkg, ldd, ldd_paths, needed_libraries, owner_package,
                    process_user, project_version, run, unit_links)
from stack import REPO, pid_alive, wait_until

if os.geteuid() != 0:
    pytest.skip("package test skipped: not root (it installs and removes the authfcgi package)",
                allow_module_level=True)

TEMPLATES = sorted(f"templates/{p.relative_to(REPO / 'templates')}"
                   for p in (REPO / "templates").rglob("*") if p.is_file())
MIGRATIONS = sorted(f"sql/{p.name}" for p in (REPO / "sql").glob("*.sql"))
# Every template, migration and unit of the source tree, so one added later is checked too.
SHIPPED = [
    *((str(BIN_DIR / b), "-rwxr-xr-x") for b in BINARIES),
    *((str(SHARE / f), "-rw-r--r--") for f in TEMPLATES + MIGRATIONS),
    *((str(UNIT_DIR / u), "-rw-r--r--") for u in UNITS),
    *((str(EXAMPLES / f), "-rw-r--r--") for f in (
        "authfcgi.conf.example", "nginx/authfcgi.conf", "apache/authfcgi.conf",
        "spawn-fcgi/authfcgi.spawn-fcgi")),
    (str(DOC / "docs" / "deployment.md"), "-rw-r--r--"),
    *((str(MAN_DIR / f"{b}.8.gz"), "-rw-r--r--") for b in BINARIES),
    (str(DOC / "copyright"), "-rw-r--r--"),
    # A native package (the version has no Debian revision): changelog.gz, not
    # changelog.Debian.gz.
    (str(DOC / "changelog.gz"), "-rw-r--r--"),
]
# Installed file -> the source file it must equal.
SAME_AS_SOURCE = {**{str(SHARE / f): REPO / f for f in TEMPLATES + MIGRATIONS},
                  **{str(UNIT_DIR / u): REPO / "conf" / "systemd" / u for u in UNITS},
                  str(DOC / "copyright"): REPO / "cmake" / "debian" / "copyright"}
UNITS_WITH_DOC_FILES = [u for u in UNITS if (REPO / "conf" / "systemd" / u).is_file()
                        and "file://" in (REPO / "conf" / "systemd" / u).read_text()]


def shows(text: str, wanted: str) -> str:
    return f"{wanted!r} not in:\n{text}"


# === metadata and contents of the .deb =========================================================
@pytest.mark.parametrize("name", ["Package", "Version", "Architecture"])
def test_control_fields_name_authfcgi_the_projects_version_and_this_machines_architecture(
        control, name):
    expected = {"Package": "authfcgi", "Version": project_version(), "Architecture": architecture()}
    assert control(name) == expected[name]


def test_the_file_name_is_authfcgi_version_arch_deb(deb):
    assert deb.name == f"authfcgi_{project_version()}_{architecture()}.deb"


def test_depends_names_no_dev_package(control, dep_names):
    assert [n for n in dep_names if "-dev" in n] == [], control("Depends")


def test_depends_on_adduser_which_postinst_needs_for_the_account(dep_names):
    assert "adduser" in dep_names


@pytest.mark.parametrize("binary", BINARIES)
def test_the_package_holds_the_executable(unpacked, binary):
    assert os.access(unpacked / "usr" / "bin" / binary, os.X_OK)


@pytest.mark.parametrize("binary", BINARIES)
def test_every_library_of_the_packaged_binary_resolves(unpacked, binary):
    text = ldd(unpacked / "usr" / "bin" / binary)
    assert "not found" not in text, text


@pytest.mark.parametrize("binary", BINARIES)
def test_every_library_the_binary_links_comes_from_a_package_named_in_depends(
        control, dep_names, unpacked, binary):
    path = unpacked / "usr" / "bin" / binary
    needed = needed_libraries(path)
    assert needed, f"{binary} links no library (readelf -d)"
    resolved = ldd_paths(ldd(path))
    problems = []
    for soname in needed:
        package = owner_package(os.path.abspath(resolved[soname])) if soname in resolved else None
        if package is None:
            problems.append(f"{soname}: no installed package provides it")
        elif package not in dep_names:
            problems.append(f"{soname} comes from {package}, which Depends does not name")
    assert problems == [], f"Depends: {control('Depends')}"


@pytest.mark.parametrize("path,mode", SHIPPED, ids=[p for p, _ in SHIPPED])
def test_the_package_ships_the_file_owned_by_root_with_its_mode(deb_contents, path, mode):
    assert path in deb_contents, f"the package lacks {path}"
    assert deb_contents[path] == (mode, "root/root")


@pytest.mark.parametrize("unit", UNITS)
def test_the_source_tree_has_each_unit_the_package_ships(unit):
    assert (REPO / "conf" / "systemd" / unit).is_file()


def test_every_entry_of_the_package_belongs_to_root(deb_contents):
    assert {p: o for p, (_, o) in deb_contents.items() if o != "root/root"} == {}


def test_the_package_ships_nothing_under_etc_the_configuration_is_the_administrators(
        deb_contents):
    # It holds secrets: no conffile.
    assert [p for p in deb_contents if p.startswith("/etc")] == []


def test_the_local_only_in_templates_are_not_shipped(deb_contents):
    assert [p for p in deb_contents if p.endswith(".in")] == []


def test_lintian_reports_no_error_and_no_warning_on_the_package(lintian):
    assert lintian.returncode in (0, 2), f"lintian failed (exit {lintian.returncode}):\n" \
        f"{lintian.output}"
    assert lintian.errors_and_warnings == [], "lintian's report:\n" + "\n".join(lintian.tags)


def test_the_changelog_is_the_source_trees_and_its_latest_entry_is_the_projects_version(
        unpacked):
    text = gzip.decompress((unpacked / DOC.relative_to("/") / "changelog.gz").read_bytes())
    assert text == (REPO / "cmake" / "debian" / "changelog").read_bytes()
    latest = re.match(r"authfcgi \(([^)]+)\) ", text.decode())
    assert latest and latest.group(1) == project_version(), text.decode()[:200]


def test_the_copyright_file_is_machine_readable_and_covers_every_file(unpacked):
    text = (unpacked / DOC.relative_to("/") / "copyright").read_text()
    assert text.startswith(
        "Format: https://www.debian.org/doc/packaging-manuals/copyright-format/1.0/\n"), text
    assert re.search(r"^Files: \*$", text, re.M), text


# === apt-get install ./authfcgi_*.deb ===========================================================
def test_apt_get_install_of_the_package_file_succeeds(install):
    assert install.returncode == 0, install.output


def test_dpkg_reports_the_projects_version_installed(installed):
    assert dpkg_status("authfcgi") == f"ii {project_version()}"


@pytest.mark.parametrize("binary", BINARIES)
def test_the_installed_binary_is_the_one_on_path(installed, binary):
    assert shutil.which(binary) == str(BIN_DIR / binary)


@pytest.mark.parametrize("binary", BINARIES)
def test_the_installed_binary_finds_every_library(installed, binary):
    text = ldd(BIN_DIR / binary)
    assert "not found" not in text, text


def test_postinst_creates_the_system_account_authfcgi_without_a_login_shell(installed):
    assert pwd.getpwnam("authfcgi").pw_shell == "/usr/sbin/nologin"


def test_postinst_creates_the_group_authfcgi(installed):
    assert grp.getgrnam("authfcgi")


def test_dpkg_verify_finds_the_installed_files_intact(installed):
    done = run("dpkg", "--verify", "authfcgi")
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


@pytest.mark.parametrize("installed_path", sorted(SAME_AS_SOURCE))
def test_the_installed_file_is_the_source_trees(installed, installed_path):
    assert Path(installed_path).read_bytes() == SAME_AS_SOURCE[installed_path].read_bytes()


def test_the_install_enables_no_unit(installed):
    assert unit_links() == []


@pytest.mark.parametrize("unit", UNITS_WITH_DOC_FILES)
def test_the_units_documentation_file_is_installed(installed, unit):
    # `systemctl help UNIT` opens Documentation=: a file:// there must be a file we install.
    docs = re.findall(r"^Documentation=.*?file://(\S+)", (UNIT_DIR / unit).read_text(), re.M)
    assert docs, f"{unit} names no file:// documentation"
    assert [d for d in docs if not Path(d).is_file()] == []


@pytest.mark.parametrize("unit", UNITS)
def test_systemd_analyze_verify_has_nothing_to_say_about_the_unit(installed, unit):
    if not shutil.which("systemd-analyze"):
        pytest.skip("no systemd-analyze here")
    done = run("systemd-analyze", "verify", UNIT_DIR / unit, timeout=90)
    # Only what concerns our units: other units on the machine may have warnings of their own.
    ours = [line for line in (done.stdout + done.stderr).splitlines() if "authfcgi" in line.lower()]
    assert ours == []


# === the manual pages ===========================================================================
def man(*args: str | Path, width: int = 80) -> subprocess.CompletedProcess[str]:
    # A fixed width and locale, so what man says does not depend on the terminal running us.
    return run("man", *args, env={"PATH": "/usr/bin:/bin", "LC_ALL": "C.UTF-8",
                                  "MANWIDTH": str(width)})


def page_text(binary: str) -> str:
    """The installed page as man shows it, on lines long enough that no word is hyphenated."""
    return man("-l", MAN_DIR / f"{binary}.8.gz", width=1000).stdout


@pytest.mark.parametrize("binary", BINARIES)
def test_man_finds_the_installed_page_in_section_8(installed, binary):
    done = man("-w", "8", binary)
    assert done.stdout.strip() == str(MAN_DIR / f"{binary}.8.gz"), done.stdout + done.stderr


@pytest.mark.parametrize("binary", BINARIES)
def test_man_renders_the_page_without_a_warning(installed, binary):
    done = man("--warnings", "-l", MAN_DIR / f"{binary}.8.gz")
    assert done.returncode == 0 and done.stderr == "", done.stderr
    assert re.search(rf"^NAME\n\s+{binary} - \S", done.stdout, re.M), done.stdout[:500]


MAN_SECTIONS = {"authfcgi": ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "SIGNALS",
                             "ENVIRONMENT", "FILES", "EXIT STATUS", "SEE ALSO"],
                "authctl": ["NAME", "SYNOPSIS", "DESCRIPTION", "OPTIONS", "COMMANDS",
                            "ENVIRONMENT", "FILES", "EXIT STATUS", "SEE ALSO"]}


@pytest.mark.parametrize("binary", BINARIES)
def test_the_page_has_the_usual_sections(installed, binary):
    headings = re.findall(r"^([A-Z][A-Z ]+)$", page_text(binary), re.M)
    assert [h for h in MAN_SECTIONS[binary] if h not in headings] == [], headings


def test_the_authctl_page_describes_every_command_of_authctl_help(installed):
    help_text = as_a_user_on_a_clean_shell("authctl", "--help").stdout
    block = help_text.split("commands:\n", 1)[1].split("\n\n", 1)[0]
    commands = re.findall(r"^  ([a-z-]+ [a-z-]+)", block, re.M)
    assert len(commands) >= 10, block
    text = page_text("authctl")
    assert [c for c in commands if not re.search(rf"^\s+{c}\b", text, re.M)] == []


def test_the_authfcgi_page_describes_every_option_of_authfcgi_help(installed):
    options = set(re.findall(r"(--[a-z-]+)", as_a_user_on_a_clean_shell("authfcgi",
                                                                        "--help").stdout))
    assert "--config" in options
    text = page_text("authfcgi")
    assert sorted(o for o in options if not re.search(rf"^\s+{o}\b", text, re.M)) == []


def test_the_authctl_page_gives_every_exit_code_of_authctl_help(installed):
    help_text = as_a_user_on_a_clean_shell("authctl", "--help").stdout
    codes = re.findall(r"^  ([0-9]+)  ", help_text.split("exit codes:", 1)[1], re.M)
    assert codes, help_text
    status = page_text("authctl").split("EXIT STATUS", 1)[1]
    assert [c for c in codes if not re.search(rf"^\s+{c}$", status, re.M)] == []


# Every variable the configuration loader reads, from the source: a new one needs a line in
# ENVIRONMENT of both pages.
ENV_VARIABLES = ["AUTHFCGI_CONFIG", *re.findall(
    r'\{"(AUTHFCGI_[A-Z_]+)", "[a-z_]+"\}',
    (REPO / "app" / "config" / "config_loader.cpp").read_text())]


@pytest.mark.parametrize("binary", BINARIES)
def test_the_page_names_every_environment_variable_the_configuration_reads(installed, binary):
    assert len(ENV_VARIABLES) > 5
    environment = page_text(binary).split("\nENVIRONMENT\n", 1)[1].split("\nFILES\n", 1)[0]
    assert [v for v in ENV_VARIABLES if not re.search(rf"\b{v}\b", environment)] == []


# === --help and bad configurations ==============================================================
def as_a_user_on_a_clean_shell(*args: str) -> subprocess.CompletedProcess[str]:
    return run(*args, env={"PATH": "/usr/bin:/bin"})


AUTHFCGI_HELP = ["usage: authfcgi [--config PATH] [--socket PATH|HOST:PORT] [--threads N]",
                 "--config PATH", "--socket ADDR", "--threads N", "spawn-fcgi", "SIGTERM"]
AUTHCTL_HELP = ["usage: authctl [--config PATH] COMMAND", "commands:",
                "user add --email E --username U", "user passwd", "user list", "user delete",
                "user logout-everywhere", "db migrate", "exit codes:", "AUTHFCGI_CONFIG"]


def test_authfcgi_help_exits_0_with_nothing_on_stderr(installed):
    done = as_a_user_on_a_clean_shell("authfcgi", "--help")
    assert done.returncode == 0
    assert done.stderr == ""


@pytest.mark.parametrize("wanted", AUTHFCGI_HELP)
def test_authfcgi_help_shows(installed, wanted):
    out = as_a_user_on_a_clean_shell("authfcgi", "--help").stdout
    assert wanted in out, shows(out, wanted)


def test_authctl_help_exits_0(installed):
    assert as_a_user_on_a_clean_shell("authctl", "--help").returncode == 0


@pytest.mark.parametrize("wanted", AUTHCTL_HELP)
def test_authctl_help_shows(installed, wanted):
    out = as_a_user_on_a_clean_shell("authctl", "--help").stdout
    assert wanted in out, shows(out, wanted)


def test_authctl_help_command_prints_the_same_text_as_dash_dash_help(installed):
    assert (as_a_user_on_a_clean_shell("authctl", "help").stdout
            == as_a_user_on_a_clean_shell("authctl", "--help").stdout)


BAD_CONFIGS = {
    # The example as shipped has no secret: the worker must refuse it, saying why.
    "the-shipped-example": (None, "authfcgi: secret_key must be at least 32 bytes"),
    "a-short-secret": ("secret_key = tooshort\n", "secret_key must be at least 32 bytes"),
    "a-missing-file": ("", "cannot read the configuration file {path}"),
    "an-unknown-key": ("secret_key = {secret}\nsecret_kee = typo\n",
                       "line 2: unknown key 'secret_kee'"),
}


def bad_config(tmp: Path, case: str) -> Path:
    text, _ = BAD_CONFIGS[case]
    if text is None:
        return EXAMPLES / "authfcgi.conf.example"
    path = tmp / f"{case}.conf"
    if text:
        path.write_text(text.format(secret=secrets.token_hex(32)))
    return path


@pytest.mark.parametrize("case", BAD_CONFIGS)
def test_authfcgi_refuses_a_bad_configuration_with_exit_2_saying_why(installed, tmp, case):
    path = bad_config(tmp, case)
    done = run("authfcgi", "--config", path)
    assert done.returncode == 2, done.stderr
    wanted = BAD_CONFIGS[case][1].format(path=path)
    assert wanted in done.stderr, shows(done.stderr, wanted)


def test_authctl_refuses_an_unknown_key_with_its_usage_error_exit_1(installed, tmp):
    done = run("authctl", "--config", bad_config(tmp, "an-unknown-key"), "user", "list")
    assert done.returncode == 1, done.stderr
    assert "authctl: line 2: unknown key 'secret_kee'" in done.stderr, done.stderr


# === the installed package serving logins =======================================================
def test_the_config_differs_from_the_example_only_in_secret_and_database_access(serving):
    example = (EXAMPLES / "authfcgi.conf.example").read_text()
    assert changed_lines(example, serving.conf.read_text()) == 4


# The defaults point at the installed files: with them moved aside, both programs say so.
def test_authctl_db_migrate_reads_the_installed_migrations_by_default(machine, serving):
    with machine.moved_aside(SHARE / "sql"):
        done = serving.ctl("db", "migrate")
    assert f"{SHARE}/sql" in done.stderr, f"exit {done.returncode}: {done.stderr[:200]}"


def test_authfcgi_reads_the_installed_templates_by_default_and_wont_start_without_them(
        machine, serving):
    with machine.moved_aside(SHARE / "templates"):
        done = run("timeout", "10", "authfcgi", "--config", serving.conf,
                   "--socket", serving.tmp / "probe.sock")
    assert f"cannot read template {SHARE}/templates/" in done.stderr, done.stderr[:200]
    assert done.returncode == 2


def test_the_files_moved_aside_are_back_as_shipped(machine, installed):
    assert not machine.asides
    done = run("dpkg", "--verify", "authfcgi")
    assert done.returncode == 0 and done.stdout == "", done.stdout + done.stderr


def test_authctl_db_migrate_applies_every_installed_migration(serving, migrate):
    assert migrate.returncode == 0, migrate.output
    applied = serving.db.sql("SELECT COUNT(*) FROM authfcgi.schema_version").strip()
    assert int(applied) == len(list((SHARE / "sql").glob("*.sql")))


def test_a_second_db_migrate_exits_0(serving, migrated):
    done = serving.ctl("db", "migrate")
    assert done.returncode == 0, done.stderr


def test_authctl_user_add_creates_an_account_user_list_shows(serving, user_add):
    assert user_add.returncode == 0, user_add.output
    listed = serving.ctl("user", "list")
    assert serving.email in listed.stdout, listed.stdout + listed.stderr


def test_the_spawn_fcgi_example_starts_the_installed_binary(installed):
    example = (EXAMPLES / "spawn-fcgi" / "authfcgi.spawn-fcgi").read_text()
    assert re.search(rf"^\s*{BIN_DIR}/authfcgi /etc/authfcgi/authfcgi.conf", example, re.M)


def test_the_spawn_fcgi_example_exits_0_leaving_its_2_workers_running(spawn, serving):
    assert spawn.returncode == 0, spawn.output
    assert len(spawn.alive) == 2, (f"pids {spawn.pids}, alive {spawn.alive}; log:\n"
                                   f"{serving.worker_log.read_text(errors='replace')[-1500:]}")


@pytest.mark.parametrize("index", [0, 1])
def test_each_worker_runs_as_the_account_authfcgi(workers, index):
    assert process_user(workers[index]) == "authfcgi"


def test_the_worker_socket_is_authfcgi_www_data_mode_660(serving, workers):
    st = serving.worker_socket.stat()
    got = (pwd.getpwuid(st.st_uid).pw_name, grp.getgrgid(st.st_gid).gr_name,
           stat.S_IMODE(st.st_mode))
    assert got == ("authfcgi", "www-data", 0o660)


def test_the_nginx_site_differs_from_the_example_in_socket_logs_and_listen_lines(nginx_site):
    example = (EXAMPLES / "nginx" / "authfcgi.conf").read_text()
    # The socket, the two logs, the two listen lines.
    assert changed_lines(example, nginx_site.site.read_text()) == 5


def test_nginx_accepts_the_installed_site(nginx_site):
    done = run("nginx", "-t", "-q", *nginx_site.args)
    assert done.returncode == 0, done.stderr


def test_nginx_with_the_installed_site_serves_the_login_page(web):
    assert requests.get(web.base + "/auth/login", timeout=10).status_code == 200


def test_scripts_smoke_logs_in_as_the_user_authctl_added(smoke):
    assert smoke.returncode == 0, smoke.output


def test_the_worker_log_at_the_examples_path_records_the_login(smoke, serving):
    log = serving.worker_log.read_text(errors="replace")
    assert re.search(rf"login_ok.*{re.escape(serving.email)}", log), log[-1500:]


def test_pages_are_rendered_from_the_installed_base_template(web):
    title = re.search(r"<title>(.*)</title>", (SHARE / "templates" / "base.mustache").read_text())
    assert title
    page = requests.get(web.base + "/", timeout=10).text
    assert "<title>" + title.group(1).replace("{{title}}", "") in page


def test_the_workers_exit_within_10_s_of_sigterm(workers):
    # The example's way to stop: SIGTERM to the pids of its pid file; the workers drain.
    for pid in workers:
        if pid_alive(pid, "authfcgi"):
            os.kill(pid, signal.SIGTERM)
    assert wait_until(lambda: not any(pid_alive(p, "authfcgi") for p in workers), 10)


# === apt-get remove --purge authfcgi ============================================================
def test_systemctl_enable_links_the_shipped_units(purged):
    if purged.enable_links is None:
        pytest.skip("no systemctl here")
    assert purged.enable_links


def test_apt_get_remove_purge_succeeds(purged):
    assert purged.returncode == 0, purged.log


def test_dpkg_no_longer_knows_authfcgi_after_the_purge(purged):
    assert not known_to_dpkg(dpkg_status("authfcgi"))


@pytest.mark.parametrize("path", [str(p) for p in OWNED_PATHS])
def test_the_purge_removes(purged, path):
    assert not os.path.lexists(path)


def test_authfcgi_is_no_longer_on_path_after_the_purge(purged):
    assert shutil.which("authfcgi") is None


def test_the_purge_leaves_no_link_to_a_shipped_unit_in_etc(purged):
    assert unit_links() == []


def test_the_account_stays_after_the_purge_as_debian_packages_do(purged):
    assert pwd.getpwnam("authfcgi")


def test_the_installed_packages_are_as_before_the_test(restored):
    before, after = restored.machine.packages_before, installed_packages()
    assert (sorted(after - before), sorted(before - after)) == ([], []), restored.problems


def test_the_authfcgi_account_is_gone_again(restored):
    if restored.machine.had_user:
        pytest.skip("the account existed before the test: it stays")
    with pytest.raises(KeyError):
        pwd.getpwnam("authfcgi")
    assert restored.problems == []
