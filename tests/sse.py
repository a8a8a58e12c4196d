"""A server-sent events reader for the tests: a stream read on a thread of its own."""

from __future__ import annotations

import json
import queue
import threading
import time
from dataclasses import dataclass, field
from typing import Any

import httpx


@dataclass
class Event:
    """One dispatched event (``comment``: a comment line, with no event)."""

    id: str | None = None
    event: str | None = None
    data: str = ""
    comment: str | None = None

    @property
    def entry(self) -> dict[str, Any]:
        return json.loads(self.data)  # type: ignore[no-any-return]


@dataclass
class EventReader:
    """``GET url`` as an event stream; ``status``/``body`` once answered, then each event
    (and comment) in ``events`` as it comes. ``close()`` ends it from the client's side."""

    url: str
    token: str
    headers: dict[str, str] = field(default_factory=dict)
    params: dict[str, str] = field(default_factory=dict)
    status: int | None = None
    content_type: str = ""
    body: bytes = b""
    events: queue.Queue[Event] = field(default_factory=queue.Queue)
    _answered: threading.Event = field(default_factory=threading.Event)
    _closed: bool = False
    _response: httpx.Response | None = None

    def open(self, timeout_s: float = 10) -> EventReader:
        threading.Thread(target=self._read, daemon=True).start()
        assert self._answered.wait(timeout_s), f"no answer from {self.url}"
        return self

    def _read(self) -> None:
        headers = {"Authorization": f"Bearer {self.token}", **self.headers}
        timeout = httpx.Timeout(10, read=None)
        try:
            with httpx.stream(
                "GET", self.url, headers=headers, params=self.params, timeout=timeout
            ) as response:
                self.status, self._response = response.status_code, response
                self.content_type = response.headers.get("content-type", "")
                if response.status_code != 200:
                    self.body = response.read()
                    return
                self._answered.set()
                self._parse(response)
        except Exception:  # closed from the client's side: whatever the socket raised
            if not self._closed:
                raise
        finally:
            self._answered.set()

    def _parse(self, response: httpx.Response) -> None:
        current = Event()
        for line in response.iter_lines():
            if line == "":
                if current.id is not None or current.data:
                    self.events.put(current)
                current = Event()
            elif line.startswith(":"):
                self.events.put(Event(comment=line[1:].strip()))
            else:
                name, _, value = line.partition(":")
                value = value.removeprefix(" ")
                if name == "data":
                    current.data = f"{current.data}\n{value}" if current.data else value
                elif name in ("id", "event"):
                    setattr(current, name, value)

    def take(self, count: int, timeout_s: float = 15, comments: bool = False) -> list[Event]:
        """The next ``count`` events (comments skipped unless ``comments``)."""
        got: list[Event] = []
        deadline = time.monotonic() + timeout_s
        while len(got) < count:
            left = deadline - time.monotonic()
            try:
                event = self.events.get(timeout=max(left, 0.001))
            except queue.Empty:
                raise AssertionError(f"{len(got)} of {count} events in {timeout_s} s") from None
            if comments or event.comment is None:
                got.append(event)
        return got

    def quiet(self, seconds: float) -> list[Event]:
        """What comes in ``seconds`` but comments (expected: nothing)."""
        time.sleep(seconds)
        got = []
        while not self.events.empty():
            event = self.events.get()
            if event.comment is None:
                got.append(event)
        return got

    def close(self) -> None:
        self._closed = True
        if self._response is not None:
            self._response.close()


def stream(base_url: str, path: str, token: str, **kw: Any) -> EventReader:
    return EventReader(base_url + path, token, **kw).open()
