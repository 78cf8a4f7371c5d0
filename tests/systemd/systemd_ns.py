"""The helpers of the systemd suite (conftest.py has the fixtures): commands inside the
namespaces that scripts/lib/systemd-ns.sh boots, and HTTP in their network.

Everything runs in the namespaces' network, which has its own 127.0.0.1: HTTP goes through
NsBrowser, whose requests run on threads that joined that network namespace (setns(2) moves only
the calling thread; the test process stays on the host's network).
"""

from __future__ import annotations

import ctypes
import json
import os
import re
import subprocess
import threading
import time
from concurrent.futures import Future, ThreadPoolExecutor
from dataclasses import dataclass
from pathlib import Path
from typing import Callable, TypeVar

import requests

from browser import Browser
from stack import REPO, run_shell

NS_SH = REPO / "scripts" / "lib" / "systemd-ns.sh"
SKIP = 77  # systemd_ns_preflight / systemd_ns_boot: a live systemd cannot run here
SOCK = "/run/authfcgi/authfcgi.sock"
CONF = "/etc/authfcgi/authfcgi.conf"
PORT = 8080  # nginx's port, inside the private network namespace
UNITS = ("authfcgi.socket", "authfcgi.service", "authfcgi@.service",
         "authfcgi-spawn-fcgi.service")
SERVICE, EXTRA, SPAWN = "authfcgi.service", "authfcgi@2.service", "authfcgi-spawn-fcgi.service"
EMAIL, USERNAME = "systemd@example.com", "systemduser"
SECRET_TEXT = "Only authenticated users are allowed!"

T = TypeVar("T")


def ns_shell(function: str, *args: str, timeout: float = 90, stdin: str | None = None
             ) -> subprocess.CompletedProcess[str]:
    """FUNCTION of scripts/lib/systemd-ns.sh; its exit code, stdout and stderr."""
    return run_shell(NS_SH, function, *args, timeout=timeout, stdin=stdin)


# --- HTTP inside the namespaces' network ----------------------------------------------------
_libc = ctypes.CDLL(None, use_errno=True)
CLONE_NEWNET = 0x40000000


class NetNamespace:
    """A pool of threads that joined the network namespace of PID: every socket they open
    belongs to it. Calls made from one of these threads run directly (no deadlock)."""

    def __init__(self, pid: int, threads: int = 8) -> None:
        self._fd = os.open(f"/proc/{pid}/ns/net", os.O_RDONLY | os.O_CLOEXEC)
        self._local = threading.local()
        self._pool = ThreadPoolExecutor(threads, "netns", initializer=self._enter)

    def _enter(self) -> None:
        if _libc.setns(self._fd, CLONE_NEWNET) != 0:
            errno = ctypes.get_errno()
            raise OSError(errno, f"setns(network namespace): {os.strerror(errno)}")
        self._local.inside = True

    def submit(self, fn: Callable[..., T], *args, **kwargs) -> Future[T]:  # noqa: ANN002, ANN003
        return self._pool.submit(fn, *args, **kwargs)

    def run(self, fn: Callable[..., T], *args, **kwargs) -> T:  # noqa: ANN002, ANN003
        if getattr(self._local, "inside", False):
            return fn(*args, **kwargs)
        # requests' own timeouts (20 s) bound each call; this is only a backstop.
        return self.submit(fn, *args, **kwargs).result(timeout=300)

    def close(self) -> None:
        self._pool.shutdown(wait=True, cancel_futures=True)
        os.close(self._fd)


class NsBrowser(Browser):
    """browser.Browser whose requests go out in the namespaces' network."""

    def __init__(self, base: str, netns: NetNamespace) -> None:
        super().__init__(base)
        self.netns = netns
        self.session.trust_env = False  # no proxy from the environment for a private 127.0.0.1

    def request(self, method: str, path: str, **kwargs) -> requests.Response:  # noqa: ANN003
        return self.netns.run(super().request, method, path, **kwargs)


# --- the booted systemd ---------------------------------------------------------------------
@dataclass
class Stopped:
    """What `systemctl stop UNIT` did: its exit code and stderr, and the journal's record."""

    returncode: int
    stderr: str
    seconds: float
    main: str  # "Main process exited, code=exited, status=0/SUCCESS" or ""
    result: str  # "Deactivated successfully", "Failed with result ..." or ""


class Systemd:
    """systemd booted from DIRECTORY; runs commands inside its namespaces."""

    def __init__(self, directory: Path, pid: int) -> None:
        self.directory = directory
        self.pid = pid
        self.netns = NetNamespace(pid)
        self.base = f"http://127.0.0.1:{PORT}"

    # --- commands inside ---------------------------------------------------------------------
    def run(self, *argv: str, timeout: float = 60, stdin: str | None = None
            ) -> subprocess.CompletedProcess[str]:
        """ARGV in the namespaces (mount, PID, UTS, network), killed after TIMEOUT seconds."""
        return ns_shell("systemd_ns_exec", str(self.directory), str(int(timeout)), *argv,
                        timeout=timeout + 15, stdin=stdin)

    def out(self, *argv: str) -> str:
        return self.run(*argv).stdout.strip()

    def systemctl(self, *args: str) -> subprocess.CompletedProcess[str]:
        return self.run("systemctl", "--no-pager", *args)

    def prop(self, unit: str, name: str) -> str:
        return self.out("systemctl", "--no-pager", "show", "-p", name, "--value", unit)

    def state(self, unit: str) -> str:
        """"ActiveState SubState", e.g. "active running"."""
        return f"{self.prop(unit, 'ActiveState')} {self.prop(unit, 'SubState')}"

    def main_pid(self, unit: str) -> int:
        value = self.prop(unit, "MainPID")
        return int(value) if value.isdigit() else 0

    def stat(self, path: str) -> str:
        """"owner:group mode type" as seen inside."""
        done = self.run("stat", "-c", "%U:%G %a %F", path)
        return (done.stdout or done.stderr).strip()

    def signal(self, name: str, pid: int) -> None:
        # pids 0 and 1 would reach a whole process group or systemd itself.
        assert pid > 1, f"no worker process to signal (pid {pid})"
        done = self.run("kill", f"-{name}", str(pid))
        assert done.returncode == 0, f"kill -{name} {pid}: {done.stderr}"

    def fcgi_get(self, user: str, path: str = "/") -> subprocess.CompletedProcess[str]:
        """A FastCGI GET straight to the socket, as USER (cgi-fcgi exits with the errno of a
        failed connect)."""
        return self.run("runuser", "-u", user, "--", "env", "-i", "GATEWAY_INTERFACE=CGI/1.1",
                        "SERVER_PROTOCOL=HTTP/1.1", "REQUEST_METHOD=GET", f"REQUEST_URI={path}",
                        f"SCRIPT_NAME={path}", "QUERY_STRING=", "SERVER_NAME=localhost",
                        "SERVER_PORT=80", "REMOTE_ADDR=127.0.0.1", "HTTP_HOST=localhost",
                        "cgi-fcgi", "-bind", "-connect", SOCK, timeout=15)

    def listen_inode(self) -> str:
        """The inode of the listening socket bound to SOCK ('' when none). /proc/net/unix:
        Num RefCount Protocol Flags Type St Inode Path; flag 00010000 means listening."""
        for line in self.out("cat", "/proc/net/unix").splitlines():
            fields = line.split()
            if len(fields) >= 8 and fields[-1] == SOCK and fields[3] == "00010000":
                return fields[6]
        return ""

    def journal_cursor(self) -> str:
        text = self.out("journalctl", "-q", "-n", "0", "--show-cursor")
        m = re.search(r"^-- cursor: (.+)$", text, re.M)
        return m.group(1) if m else ""

    def journal(self, unit: str, cursor: str = "") -> str:
        """UNIT's messages (its own and systemd's about it) after CURSOR, one a line. Filtered
        here: journalctl -u with --after-cursor misses entries when the cursor's entry is not
        one of the unit's (seen with systemd 252)."""
        after = ("--after-cursor", cursor) if cursor else ()
        done = self.run("journalctl", "--no-pager", *after, "-o", "json",
                        "--output-fields=MESSAGE,_SYSTEMD_UNIT,UNIT")
        if done.returncode != 0:
            return f"(journalctl failed, exit {done.returncode}: {done.stderr.strip()})"
        lines = []
        for line in done.stdout.splitlines():
            entry = json.loads(line)
            if unit in (entry.get("_SYSTEMD_UNIT"), entry.get("UNIT")):
                message = entry.get("MESSAGE") or ""
                if isinstance(message, list):  # not valid UTF-8: journalctl gives the bytes
                    message = bytes(message).decode(errors="replace")
                lines.append(message)
        return "\n".join(lines)

    def journal_waits_for(self, unit: str, cursor: str, pattern: str, seconds: float = 5
                          ) -> str:
        """The journal of UNIT after CURSOR once PATTERN shows (journald reads the streams
        asynchronously), or what it holds after SECONDS."""
        deadline = time.monotonic() + seconds
        while True:
            lines = self.journal(unit, cursor)
            if re.search(pattern, lines) or time.monotonic() > deadline:
                return lines
            time.sleep(0.1)

    def stop(self, unit: str) -> Stopped:
        """`systemctl stop UNIT` and the journal's record of how the main process ended."""
        cursor = self.journal_cursor()
        started = time.monotonic()
        done = self.systemctl("stop", unit)
        seconds = time.monotonic() - started
        lines = self.journal_waits_for(unit, cursor,
                                       r"Deactivated successfully|Failed with result", 3)
        mains = re.findall(r"Main process exited, .*", lines)
        results = re.findall(r"Deactivated successfully|Failed with result.*", lines)
        return Stopped(done.returncode, done.stderr.strip(), seconds,
                       mains[-1] if mains else "", results[-1] if results else "")

    # --- unit states the tests start from ------------------------------------------------------
    def use_socket_unit(self, fresh: bool = False) -> subprocess.CompletedProcess[str]:
        """authfcgi.socket listening, no other worker unit running; FRESH stops the socket too,
        so authfcgi.service is inactive until the first connection. reset-failed clears the
        start limit counters that earlier tests filled. Returns `systemctl start`'s result."""
        stop = [SPAWN, EXTRA] + ([SERVICE, "authfcgi.socket"] if fresh else [])
        self.systemctl("stop", *stop)
        self.systemctl("reset-failed", "authfcgi.socket", SERVICE, EXTRA, SPAWN)
        return self.systemctl("start", "authfcgi.socket")

    def use_spawn_fcgi(self) -> subprocess.CompletedProcess[str]:
        """authfcgi-spawn-fcgi.service running (Conflicts= stops the socket pair) with its
        socket in place: spawn-fcgi creates it just after the start job finishes."""
        self.systemctl("reset-failed", SPAWN)
        done = self.systemctl("start", SPAWN)
        self.wait_for_socket()
        self.wait_for_exec(SPAWN)
        return done

    def start_workers(self, *units: str) -> None:
        done = self.systemctl("start", *units)
        assert done.returncode == 0, f"systemctl start {' '.join(units)}: {done.stderr}"
        for unit in units:
            self.wait_for_exec(unit)

    def wait_for_exec(self, unit: str, seconds: float = 10) -> None:
        """Until UNIT's main process is authfcgi itself: Type=simple's start returns once
        systemd has forked, before the child drops its privileges and execs (or, under
        spawn-fcgi, before spawn-fcgi execs the worker)."""
        deadline = time.monotonic() + seconds
        while time.monotonic() < deadline:
            pid = self.main_pid(unit)
            if pid > 1 and self.out("ps", "-o", "comm=", "-p", str(pid)) == "authfcgi":
                return
            time.sleep(0.1)

    def wait_for_socket(self, seconds: float = 5) -> bool:
        deadline = time.monotonic() + seconds
        while self.run("test", "-S", SOCK).returncode != 0:
            if time.monotonic() > deadline:
                return False
            time.sleep(0.1)
        return True

    # --- HTTP through nginx ----------------------------------------------------------------------
    def browser(self) -> NsBrowser:
        return NsBrowser(self.base, self.netns)

    def http_status(self, path: str = "/") -> int:
        """Status of one request through nginx (0: no answer)."""
        try:
            return self.browser().get(path).status_code
        except requests.RequestException:
            return 0

    def served(self, n: int) -> int:
        """How many of N requests to / through nginx were answered 200."""
        return sum(self.http_status("/") == 200 for _ in range(n))

    def diagnosis(self) -> str:
        status = self.run("systemctl", "--no-pager", "status", "-n", "0", "authfcgi.socket",
                          SERVICE, "authfcgi@*", SPAWN).stdout
        summary = [ln for ln in status.splitlines() if re.match(r"^\S|\s*(Active|Main PID):", ln)]
        # Without -u: journalctl's unit matches have missed entries here (see journal()).
        journal = self.out("journalctl", "--no-pager", "-p", "info", "-n", "40")
        return "\n".join(["--- unit states:", *summary, "--- journal, last lines:", journal])
