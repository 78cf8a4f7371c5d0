#!/usr/bin/env python3
"""whoami: the small app scripts/run proxies to at /whoami, behind authfcgi's gateway.

It answers any method with a text/plain body: one `Header-Name: value` line for each `Remote-*`
header it received (names as sent, in the order sent; `Remote_User`-style spellings too, so a
forged header that slipped through would show), then `Body-Length: N` for the request body.
It shows what the protected app sees, nothing else, and keeps nothing.

    whoami.py --port PORT [--pid-file FILE]

Listens on 127.0.0.1 only. Writes FILE (its pid) once it accepts connections; SIGTERM stops it.
Only the standard library.
"""

from __future__ import annotations

import argparse
import os
import signal
import sys
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

MAX_BODY = 16 * 1024 * 1024  # the body is counted in chunks, never kept


class WhoamiHandler(BaseHTTPRequestHandler):
    server_version = "whoami"
    sys_version = ""
    protocol_version = "HTTP/1.1"

    def __getattr__(self, name: str):  # noqa: ANN204 (any do_METHOD)
        if name.startswith("do_"):
            return self._answer
        raise AttributeError(name)

    def _body_length(self) -> int:
        """Reads the request body (Content-Length or chunked) and returns its size."""
        if "chunked" in self.headers.get("Transfer-Encoding", "").lower():
            total = 0
            while True:
                size = int(self.rfile.readline().split(b";")[0].strip() or b"0", 16)
                if size == 0:
                    while self.rfile.readline() not in (b"\r\n", b"\n", b""):
                        pass  # trailers
                    return total
                total += len(self.rfile.read(size))
                self.rfile.readline()
        length = int(self.headers.get("Content-Length") or 0)
        if length < 0 or length > MAX_BODY:
            raise ValueError("body length out of range")
        total = 0
        while total < length:
            chunk = self.rfile.read(min(65536, length - total))
            if not chunk:
                break
            total += len(chunk)
        return total

    def _answer(self) -> None:
        try:
            body_length = self._body_length()
        except ValueError:
            self.send_error(400)
            return
        lines = [f"{name}: {value}" for name, value in self.headers.items()
                 if name.lower().replace("_", "-").startswith("remote-")]
        lines.append(f"Body-Length: {body_length}")
        payload = ("\n".join(lines) + "\n").encode("utf-8", errors="replace")
        self.send_response(200)
        self.send_header("Content-Type", "text/plain; charset=utf-8")
        self.send_header("Content-Length", str(len(payload)))
        self.send_header("Cache-Control", "no-store")
        self.end_headers()
        if self.command != "HEAD":
            self.wfile.write(payload)

    def log_message(self, format: str, *args: object) -> None:  # noqa: A002 (the base's name)
        sys.stderr.write("whoami: %s %s\n" % (self.address_string(), format % args))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--port", type=int, required=True)
    parser.add_argument("--pid-file")
    args = parser.parse_args()

    server = ThreadingHTTPServer(("127.0.0.1", args.port), WhoamiHandler)
    server.daemon_threads = True

    def stop(signum: int, frame: object) -> None:  # noqa: ARG001
        raise KeyboardInterrupt

    signal.signal(signal.SIGTERM, stop)
    if args.pid_file:
        with open(args.pid_file, "w", encoding="ascii") as f:
            f.write(f"{os.getpid()}\n")
    try:
        server.serve_forever()
    except KeyboardInterrupt:
        pass
    finally:
        server.server_close()
    return 0


if __name__ == "__main__":
    sys.exit(main())
