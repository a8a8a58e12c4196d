"""What the handlers need at run time, built once by the composition root."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from litestar.connection import ASGIConnection
from sqlalchemy.engine import Engine

from service.envelope import Envelope
from service.replies import ResultWaiter
from service.settings import Settings
from workers.commands import CommandBus

if TYPE_CHECKING:
    from api.auth import TokenCache
    from service.ratelimit import RateLimiter

__all__ = ["PUBLISH_GRACE_S", "Services", "services"]

T = TypeVar("T")

#: How much longer than ``publish_timeout_s`` a caller waits for a publish. The publisher
#: itself gives up at ``publish_timeout_s`` (``workers.broker``); this wait only bounds a
#: publish still queued for a free publishing thread (all of them busy).
PUBLISH_GRACE_S = 1.0


@dataclass
class Services:
    settings: Settings
    engine: Engine
    bus: CommandBus
    results: ResultWaiter
    #: Threads that publish to the broker (pika blocks; the event loop must not).
    publish_pool: ThreadPoolExecutor
    admin_token: str
    #: The key list cursors are signed with (``service.pagination.cursor_key``).
    cursor_key: bytes
    #: Tokens this process looked up lately (most requests then skip the database).
    tokens: TokenCache
    #: Per-token request limits (None: unlimited).
    limiter: RateLimiter | None
    #: Companies known to exist (they are never deleted), so the operator's calls skip a read.
    known_companies: set[str] = field(default_factory=set)

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on a pooled connection, in a worker thread."""

        def run() -> T:
            with self.engine.connect() as conn:
                return fn(conn, *args)

        return await anyio.to_thread.run_sync(run)

    def publish(self, env: Envelope, answer_202: bool = False) -> None:
        """Blocking: publish with confirms (marked "accepted" first if the caller gets 202).
        Raises once ``publish_timeout_s`` has passed (the broker's publisher enforces it)."""
        if answer_202:
            self.mark_accepted(env)
        self.bus.publish(env)

    async def publish_in_pool(self, env: Envelope, answer_202: bool = False) -> None:
        """``publish`` on a publishing thread; raises if it failed or did not complete in
        time. The publisher gives up by ``publish_timeout_s`` in its own thread; this wait
        lasts ``PUBLISH_GRACE_S`` longer, so it ends first only for a publish still queued
        for a thread (then cancelled: it never runs) or one held up in Redis by
        ``mark_accepted`` (a 202 answer only; Redis's own 5 s socket timeout bounds it)."""
        loop = asyncio.get_running_loop()
        await asyncio.wait_for(
            loop.run_in_executor(self.publish_pool, self.publish, env, answer_202),
            self.settings.publish_timeout_s + PUBLISH_GRACE_S,
        )

    async def aclose(self) -> None:
        """Release what the services hold (the database engine is the caller's)."""
        if self.limiter is not None:
            await self.limiter.close()
        self.publish_pool.shutdown(wait=False)

    def mark_accepted(self, env: Envelope) -> None:
        """Blocking: ``GET /commands/{id}`` answers "accepted" until the outcome is stored.
        Only commands answered 202 need it: a synchronous answer carries the outcome."""
        if env.company_id is not None:
            self.results.mark_accepted(env.command_id, env.company_id)


def services(request: ASGIConnection[Any, Any, Any, Any]) -> Services:
    svc: Services = request.app.state.services
    return svc
