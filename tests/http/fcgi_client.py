"""A minimal FastCGI client (the protocol's records, standard library only), to talk to a worker
listener directly as any local user could: one request, any role, the raw answer back."""

from __future__ import annotations

import socket
import struct

VERSION = 1
BEGIN_REQUEST, END_REQUEST, PARAMS, STDIN, STDOUT = 1, 3, 4, 5, 6
ROLES = {"RESPONDER": 1, "AUTHORIZER": 2, "FILTER": 3}


def _record(kind: int, content: bytes, request_id: int = 1) -> bytes:
    return struct.pack(">BBHHBx", VERSION, kind, request_id, len(content), 0) + content


def _length(n: int) -> bytes:
    return bytes([n]) if n < 128 else struct.pack(">I", n | 0x80000000)


def _params(params: dict[str, str]) -> bytes:
    out = b""
    for name, value in params.items():
        n, v = name.encode(), value.encode()
        out += _length(len(n)) + _length(len(v)) + n + v
    return out


def request(address: tuple[str, int] | str, role: str, params: dict[str, str],
            body: bytes = b"", timeout: float = 10) -> tuple[int, dict[str, str], bytes]:
    """Sends one request in ROLE; returns (status, headers, body) of the answer."""
    family = socket.AF_UNIX if isinstance(address, str) else socket.AF_INET
    with socket.socket(family, socket.SOCK_STREAM) as s:
        s.settimeout(timeout)
        s.connect(address)
        s.sendall(_record(BEGIN_REQUEST, struct.pack(">HB5x", ROLES[role], 0)))
        encoded = _params(params)
        if encoded:
            s.sendall(_record(PARAMS, encoded))
        s.sendall(_record(PARAMS, b""))
        if role != "AUTHORIZER":
            if body:
                s.sendall(_record(STDIN, body))
            s.sendall(_record(STDIN, b""))
        stdout = b""
        buffer = b""
        for _ in range(100_000):  # bounded: records until END_REQUEST
            while len(buffer) < 8:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("the worker closed the connection early")
                buffer += chunk
            _, kind, _, length, padding = struct.unpack(">BBHHBx", buffer[:8])
            while len(buffer) < 8 + length + padding:
                chunk = s.recv(65536)
                if not chunk:
                    raise ConnectionError("the worker closed the connection mid-record")
                buffer += chunk
            content = buffer[8:8 + length]
            buffer = buffer[8 + length + padding:]
            if kind == STDOUT:
                stdout += content
            elif kind == END_REQUEST:
                break
    head, _, payload = stdout.partition(b"\r\n\r\n")
    headers: dict[str, str] = {}
    status = 200
    for line in head.decode("latin-1").split("\r\n"):
        name, _, value = line.partition(": ")
        if name.lower() == "status":
            status = int(value.split()[0])
        elif name:
            headers.setdefault(name, value)
    return status, headers, payload
