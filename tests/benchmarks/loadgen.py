"""A lean HTTP/1.1 load generator: asyncio streams, keep-alive, one connection per worker.

A general client (httpx) spends more CPU per request than the server under test can spare
on 2 cores; this one writes a request and reads ``Content-Length`` bytes back, nothing else.
"""

from __future__ import annotations

import asyncio
import json
import os
import time
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

__all__ = ["Client", "CpuMeter", "Response", "percentile", "process_cpu_s"]


@dataclass(frozen=True, slots=True)
class Response:
    status: int
    body: bytes

    def json(self) -> Any:
        return json.loads(self.body)


#: How long a 202's command is followed before the load gives up on it, in seconds.
FOLLOW_S = 120.0
#: Between two polls of a 202's command, in seconds.
FOLLOW_POLL_S = 0.05


class Client:
    """One keep-alive connection; ``await request(...)`` one at a time. ``followed``: the
    writes answered 202 that ``outcome`` followed to their command's outcome."""

    def __init__(self, base_url: str, token: str) -> None:
        parts = urlsplit(base_url)
        self.host, self.port = parts.hostname or "127.0.0.1", parts.port or 80
        self.auth = f"Authorization: Bearer {token}\r\n"
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None
        self.followed = 0

    async def _connect(self) -> tuple[asyncio.StreamReader, asyncio.StreamWriter]:
        if self.reader is None or self.writer is None:
            self.reader, self.writer = await asyncio.open_connection(self.host, self.port)
        return self.reader, self.writer

    async def request(self, method: str, path: str, body: Any = None) -> Response:
        reader, writer = await self._connect()
        payload = b"" if body is None else json.dumps(body).encode()
        head = (
            f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n{self.auth}"
            f"Content-Type: application/json\r\nContent-Length: {len(payload)}\r\n\r\n"
        )
        writer.write(head.encode() + payload)
        status_line = await reader.readline()
        status = int(status_line.split(b" ", 2)[1])
        length, chunked = 0, False
        while True:
            line = await reader.readline()
            if line in (b"\r\n", b""):
                break
            name, _, value = line.partition(b":")
            name = name.strip().lower()
            if name == b"content-length":
                length = int(value)
            elif name == b"transfer-encoding" and b"chunked" in value.lower():
                chunked = True
        data = await (self._chunks(reader) if chunked else reader.readexactly(length))
        return Response(status, data)

    async def outcome(self, method: str, path: str, body: Any = None) -> Response:
        """``request``, with a 202 followed to its command's outcome as the SDK does (a write
        that outlived the API's wait is still done: a claim answered 202 holds an issue)."""
        answer = await self.request(method, path, body)
        if answer.status != 202:
            return answer
        self.followed += 1
        company = path.split("/")[3]  # /v1/companies/{cid}/…
        command = f"/v1/companies/{company}/commands/{answer.json()['commandId']}"
        deadline = time.monotonic() + FOLLOW_S
        while time.monotonic() < deadline:
            await asyncio.sleep(FOLLOW_POLL_S)
            polled = (await self.request("GET", command)).json()
            if polled["status"] == "applied":
                result = polled.get("result")
                if result is None:
                    return Response(204, b"")
                return Response(200, json.dumps(result).encode())
            if polled["status"] == "rejected":
                return Response(
                    int(polled["error"]["status"]), json.dumps(polled["error"]).encode()
                )
        raise TimeoutError(f"{method} {path}: not applied {FOLLOW_S} s after its 202")

    @staticmethod
    async def _chunks(reader: asyncio.StreamReader) -> bytes:
        out = b""
        while True:
            size = int((await reader.readline()).strip(), 16)
            chunk = await reader.readexactly(size + 2)
            if size == 0:
                return out
            out += chunk[:-2]

    async def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
            await self.writer.wait_closed()
            self.reader = self.writer = None


@dataclass
class CpuMeter:
    """CPU seconds this process spent between ``start`` and ``stop``, and the wall time."""

    cpu_s: float = 0.0
    wall_s: float = 0.0
    _cpu0: float = field(default=0.0, repr=False)
    _wall0: float = field(default=0.0, repr=False)

    def start(self) -> None:
        times = os.times()
        self._cpu0, self._wall0 = times.user + times.system, time.perf_counter()

    def stop(self) -> None:
        times = os.times()
        self.cpu_s += times.user + times.system - self._cpu0
        self.wall_s += time.perf_counter() - self._wall0

    @property
    def share(self) -> float:
        """Of all the machine's CPU time in the interval (cores x wall), the share used here."""
        cores = os.cpu_count() or 1
        return self.cpu_s / (self.wall_s * cores) if self.wall_s else 0.0


def percentile(values: list[float], pct: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    index = min(len(ordered) - 1, max(0, round(pct / 100 * (len(ordered) - 1))))
    return ordered[index]


def process_cpu_s(pid: int) -> float:
    """CPU seconds (user + system) process ``pid`` has used so far (Linux ``/proc``)."""
    # The fields after the command name's closing parenthesis start at the state (field 3);
    # utime and stime are fields 14 and 15, in clock ticks.
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")
