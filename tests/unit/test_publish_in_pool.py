"""``Services.publish_in_pool``: the API's wait for a publish is a backstop just above the
publisher's own limit, and a publish it gave up on before a thread took it never runs."""

from __future__ import annotations

import asyncio
import threading
import time
from concurrent.futures import ThreadPoolExecutor
from typing import Any, cast

import pytest

from api.services import PUBLISH_GRACE_S, Services
from domain import commands as c
from service.envelope import Envelope
from service.settings import Settings


class _Bus:
    """Publishes by recording; the first publish holds its thread until ``release``."""

    def __init__(self) -> None:
        self.published: list[str] = []
        self.release = threading.Event()
        self.hold_first = False

    def publish(self, env: Envelope) -> None:
        if self.hold_first and not self.published:
            self.published.append(env.command_id)
            self.release.wait(10)
            return
        self.published.append(env.command_id)


def _services(bus: _Bus, pool: ThreadPoolExecutor, limit_s: float) -> Services:
    # Only what ``publish_in_pool`` touches; the rest is never used here.
    none = cast(Any, None)
    return Services(
        settings=Settings(publish_timeout_s=limit_s),
        engine=none,
        bus=cast(Any, bus),
        results=none,
        publish_pool=pool,
        admin_token="x",
        cursor_key=b"x",
        tokens=none,
        limiter=None,
    )


def _env(command_id: str) -> Envelope:
    return Envelope(command_id, "cmp_1", "user:test", c.CancelIssue("iss_1"), 200)


def test_a_publish_that_completes_is_awaited() -> None:
    bus = _Bus()
    with ThreadPoolExecutor(1) as pool:
        asyncio.run(_services(bus, pool, 1.0).publish_in_pool(_env("cmd_1")))
    assert bus.published == ["cmd_1"]


def test_a_publish_queued_behind_a_busy_thread_is_given_up_and_never_runs() -> None:
    bus = _Bus()
    bus.hold_first = True
    limit_s = 0.1
    pool = ThreadPoolExecutor(1)
    svc = _services(bus, pool, limit_s)

    async def both() -> float:
        busy = asyncio.ensure_future(svc.publish_in_pool(_env("cmd_busy")))
        await asyncio.sleep(0.05)  # the only thread has taken it
        started = time.monotonic()
        with pytest.raises(TimeoutError):
            await svc.publish_in_pool(_env("cmd_queued"))
        waited = time.monotonic() - started
        bus.release.set()
        with pytest.raises(TimeoutError):
            await busy  # held past the limit: the caller answers 503 all the same
        return waited

    try:
        waited = asyncio.run(both())
    finally:
        bus.release.set()
        pool.shutdown(wait=True)
    assert limit_s + PUBLISH_GRACE_S - 0.05 <= waited <= limit_s + PUBLISH_GRACE_S + 0.5
    assert bus.published == ["cmd_busy"]  # the queued one was cancelled before it ran
