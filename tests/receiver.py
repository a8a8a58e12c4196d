"""A real HTTP webhook receiver on 127.0.0.1 for tests: records requests, answers as told."""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any


@dataclass
class Received:
    headers: dict[str, str]
    body: str
    at: float

    @property
    def payload(self) -> dict[str, Any]:
        data: dict[str, Any] = json.loads(self.body)
        return data


@dataclass
class Receiver:
    """``answer`` decides each response: (status, delay_s) from the request count so far."""

    port: int = 0
    requests: list[Received] = field(default_factory=list)
    answer: Callable[[int], tuple[int, float]] = lambda _n: (200, 0.0)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}/hook"

    def delivered(self) -> list[Received]:
        """Requests that were answered 2xx, de-duplicated by ``webhook-id``."""
        with self.lock:
            seen: dict[str, Received] = {}
            for r in self.requests:
                if r.headers.get("x-answered", "").startswith("2"):
                    seen.setdefault(r.headers["webhook-id"], r)
            return list(seen.values())

    def wait_for(self, count: int, timeout_s: float = 30) -> list[Received]:
        deadline = time.monotonic() + timeout_s
        while time.monotonic() < deadline:
            got = self.delivered()
            if len(got) >= count:
                return got
            time.sleep(0.05)
        raise AssertionError(f"{len(self.delivered())} of {count} webhooks arrived in {timeout_s}s")


@contextmanager
def receiver(answer: Callable[[int], tuple[int, float]] | None = None) -> Iterator[Receiver]:
    state = Receiver()
    if answer is not None:
        state.answer = answer

    class Handler(BaseHTTPRequestHandler):
        def do_POST(self) -> None:
            length = int(self.headers.get("content-length", "0"))
            body = self.rfile.read(length).decode()
            with state.lock:
                n = len(state.requests)
                headers = {k.lower(): v for k, v in self.headers.items()}
                record = Received(headers, body, time.monotonic())
                state.requests.append(record)
            status, delay = state.answer(n)
            if delay:
                time.sleep(delay)
            record.headers["x-answered"] = str(status)
            try:
                self.send_response(status)
                self.send_header("content-length", "0")
                self.end_headers()
            except OSError:
                pass  # the sender gave up waiting

        def log_message(self, *_args: Any) -> None:
            return None

    server = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
    server.daemon_threads = True
    state.port = server.server_address[1]
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield state
    finally:
        server.shutdown()
        server.server_close()
