"""HTTP/1.1 over a raw socket, for requests no client library would send: each answer read
whole (status line, headers, then exactly Content-Length bytes), however TCP splits it."""

from __future__ import annotations

import contextlib
import json
import socket
import time
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from tests.procs import Stack


@dataclass
class Answer:
    status: int
    headers: dict[str, str]
    body: bytes

    def problem(self, status: int, code: str) -> dict[str, Any]:
        """The body, checked to be a problem+json of ``status`` and ``code`` that closes."""
        assert self.status == status, (self.status, self.body)
        assert self.headers["content-type"] == "application/problem+json", self.headers
        assert self.headers.get("connection") == "close", self.headers
        problem: dict[str, Any] = json.loads(self.body)
        assert problem["status"] == status
        assert problem["code"] == code, problem
        return problem


def parse_answer(data: bytes) -> tuple[Answer, bytes] | None:
    """The first whole answer in ``data`` and what follows it, or None if it is not all in."""
    if b"\r\n\r\n" not in data:
        return None
    head, _, rest = data.partition(b"\r\n\r\n")
    status_line, *lines = head.decode("latin-1").split("\r\n")
    headers = {}
    for line in lines:
        name, _, value = line.partition(":")
        headers[name.strip().lower()] = value.strip()
    assert "content-length" in headers, f"no Content-Length to read the body by: {head!r}"
    length = int(headers["content-length"])
    if len(rest) < length:
        return None
    return Answer(int(status_line.split()[1]), headers, rest[:length]), rest[length:]


def read_answer(sock: socket.socket, timeout_s: float = 10.0) -> Answer:
    """One whole answer, within ``timeout_s``."""
    deadline = time.monotonic() + timeout_s
    data = b""
    while (parsed := parse_answer(data)) is None:
        sock.settimeout(max(0.01, deadline - time.monotonic()))
        chunk = sock.recv(65536)
        assert chunk, f"the connection closed before a whole answer: {data[:300]!r}"
        data += chunk
    answer, extra = parsed
    assert not extra, f"more than one answer: {extra[:300]!r}"
    return answer


def closed_by_server(sock: socket.socket, timeout_s: float = 5.0) -> bool:
    """Whether the server closes the connection within ``timeout_s`` (sending nothing)."""
    sock.settimeout(timeout_s)
    try:
        return sock.recv(1) == b""
    except ConnectionResetError:
        return True
    except TimeoutError:
        return False


def connect(stack: Stack) -> socket.socket:
    url = urlsplit(stack.base_url)
    assert url.hostname is not None and url.port is not None
    return socket.create_connection((url.hostname, url.port), timeout=10)


def send(sock: socket.socket, data: bytes) -> None:
    """Send what the server takes: it may refuse (and close) before the end."""
    with contextlib.suppress(BrokenPipeError, ConnectionResetError):
        sock.sendall(data)


def ask(stack: Stack, request: bytes) -> Answer:
    with connect(stack) as sock:
        send(sock, request)
        return read_answer(sock)
