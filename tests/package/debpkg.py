"""What the package tests need to know about the machine: the installed layout
(docs/deployment.md, "From the package"), dpkg and apt, and the processes they start.

Nothing here installs or removes anything by itself; conftest.py decides when.
"""

from __future__ import annotations

import difflib
import os
import pwd
import re
import subprocess
from dataclasses import dataclass
from pathlib import Path

from stack import REPO

BIN_DIR = Path("/usr/bin")
SHARE = Path("/usr/share/authfcgi")
DOC = Path("/usr/share/doc/authfcgi")
EXAMPLES = DOC / "examples"
UNIT_DIR = Path("/usr/lib/systemd/system")
UNITS = ("authfcgi.socket", "authfcgi.service", "authfcgi@.service",
         "authfcgi-spawn-fcgi.service", "authfcgi-authorizer.socket",
         "authfcgi-authorizer.service", "authfcgi-prune.service", "authfcgi-prune.timer")
BINARIES = ("authfcgi", "authctl")
MAN_DIR = Path("/usr/share/man/man8")
# Section 8 pages, one per binary, built from docs/man/*.8.scd.
MAN_PAGES = tuple(MAN_DIR / f"{b}.8.gz" for b in BINARIES)
# Everything the package puts on the machine: the purge must take all of it away, and an
# authfcgi installed by hand there would be overwritten, then deleted.
OWNED_PATHS = (BIN_DIR / "authfcgi", BIN_DIR / "authctl", SHARE, DOC,
               *(UNIT_DIR / u for u in UNITS), *MAN_PAGES)
SYSTEMD_ETC = Path("/etc/systemd/system")


def project_version() -> str:
    m = re.search(r"^project\(authfcgi VERSION ([0-9.]+)",
                  (REPO / "CMakeLists.txt").read_text(), re.M)
    assert m, "no version in CMakeLists.txt"
    return m.group(1)


def architecture() -> str:
    return subprocess.run(["dpkg", "--print-architecture"], capture_output=True, text=True,
                          check=True).stdout.strip()


def clean_env(**extra: str) -> dict[str, str]:
    """The caller's environment without AUTHFCGI_* (a secret or config path set there would
    change what the binaries are asked to refuse), plus EXTRA."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AUTHFCGI_")}
    env.update(extra)
    return env


def run(*args: str | Path, stdin: str = "", env: dict[str, str] | None = None,
        timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """ARGS from / (no relative path leaks in), stdin given or empty; never raises on exit."""
    return subprocess.run([str(a) for a in args], input=stdin, capture_output=True, text=True,
                          cwd="/", env=env if env is not None else clean_env(),
                          timeout=timeout)


# --- dpkg and apt ----------------------------------------------------------------------------
def dpkg_status(package: str) -> str:
    """'ii 0.1.0' style status and version; '' when dpkg never heard of PACKAGE."""
    done = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev}${Version}", package],
                          capture_output=True, text=True)
    return done.stdout if done.returncode == 0 else ""


def known_to_dpkg(status: str) -> bool:
    return bool(status) and not status.startswith("un ")


def installed_packages() -> set[str]:
    out = subprocess.run(["dpkg-query", "-W", "-f=${db:Status-Abbrev} ${Package}\n"],
                         capture_output=True, text=True, check=True).stdout
    return {parts[1] for parts in (line.split() for line in out.splitlines())
            if len(parts) >= 2 and parts[0] == "ii"}


def refusal() -> str | None:
    """Why the tests must not run here (an authfcgi they would replace, then purge), or None."""
    status = dpkg_status("authfcgi")
    if known_to_dpkg(status):
        return (f"refusing to run: the authfcgi package is already on this machine (dpkg "
                f"status '{status}'); installing this one would replace it and the test would "
                f"then purge it. Remove it first: apt-get remove --purge authfcgi")
    for path in OWNED_PATHS:
        if path.exists() or path.is_symlink():
            return (f"refusing to run: {path} exists but belongs to no package (authfcgi "
                    f"installed by hand?); dpkg would overwrite it and the purge would delete "
                    f"it. Move it away first.")
    return None


def depends_names(depends: str) -> list[str]:
    """'libc6 (>= 2.34), a | b' -> ['libc6', 'a', 'b']"""
    names = (re.sub(r"\(.*\)", "", part) for part in re.split(r"[,|]", depends))
    return [re.sub(r"\s", "", n) for n in names if n.strip()]


def owner_package(path: str) -> str | None:
    """The installed package that owns library PATH, with or without the /usr prefix
    (merged /usr: ldd may say /lib/... where dpkg knows /usr/lib/..., or the reverse)."""
    bare = path.removeprefix("/usr")
    for candidate in (path, "/usr" + bare, bare):
        done = subprocess.run(["dpkg", "-S", candidate], capture_output=True, text=True)
        if done.returncode == 0 and done.stdout.strip():
            return done.stdout.splitlines()[0].split(":")[0]
    return None


def needed_libraries(binary: Path) -> list[str]:
    out = subprocess.run(["readelf", "-d", str(binary)], capture_output=True, text=True).stdout
    return re.findall(r"\(NEEDED\).*\[(.*)\]", out)


def ldd(binary: Path) -> str:
    done = subprocess.run(["ldd", str(binary)], capture_output=True, text=True)
    return done.stdout + done.stderr


def ldd_paths(ldd_text: str) -> dict[str, str]:
    """soname -> resolved path, from ldd's 'libx.so.1 => /lib/.../libx.so.1 (0x...)' lines."""
    found = {}
    for line in ldd_text.splitlines():
        parts = line.split()
        if len(parts) >= 3 and parts[1] == "=>":
            found[parts[0]] = parts[2]
    return found


def contents(deb: Path) -> dict[str, tuple[str, str]]:
    """Each entry of DEB: '/usr/bin/authfcgi' -> ('-rwxr-xr-x', 'root/root')."""
    out = subprocess.run(["dpkg-deb", "--contents", str(deb)], capture_output=True, text=True,
                         check=True).stdout
    entries = {}
    for line in out.splitlines():
        f = line.split()
        # "./usr/bin/authfcgi" -> "/usr/bin/authfcgi"; "./usr/" -> "/usr"; a symlink's target
        # (after "->") is not an entry.
        entries[f[5][1:].rstrip("/") or "/"] = (f[0], f[1])
    return entries


@dataclass
class Apt:
    """apt-get as the test runs it: quiet, all output appended to LOG."""

    log: Path

    def __call__(self, *args: str, cwd: Path | str = "/") -> int:
        # The lock timeout: another apt run on the machine makes this wait instead of fail.
        command = ["timeout", "300", "apt-get", "-q", "-y", "-o", "Dpkg::Use-Pty=0",
                   "-o", "DPkg::Lock::Timeout=120", *args]
        with self.log.open("a") as log:
            log.write(f"$ {' '.join(command)}\n")
            log.flush()
            process = subprocess.Popen(command, stdout=log, stderr=subprocess.STDOUT,
                                       stdin=subprocess.DEVNULL, cwd=cwd,
                                       env={**os.environ, "DEBIAN_FRONTEND": "noninteractive"})
            try:
                return process.wait(timeout=330)
            except KeyboardInterrupt:
                # Ctrl-C or SIGTERM: let apt finish (timeout bounds it); a dpkg run killed
                # half-way is worse than a late stop. The teardown then undoes what it did.
                process.wait(timeout=330)
                raise

    def tail(self, lines: int = 15) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def unit_links() -> list[Path]:
    """Anything called authfcgi* under /etc/systemd/system (enable links, copies)."""
    return sorted(SYSTEMD_ETC.rglob("authfcgi*")) if SYSTEMD_ETC.is_dir() else []


# --- processes -------------------------------------------------------------------------------
def process_user(pid: int) -> str:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("Uid:"):
            return pwd.getpwuid(int(line.split()[1])).pw_name
    return ""


def changed_lines(before: str, after: str) -> int:
    """How many lines AFTER has that BEFORE has not, as `diff | grep -c '^>'` counts them."""
    return sum(1 for line in difflib.ndiff(before.splitlines(), after.splitlines())
               if line.startswith("+ "))
