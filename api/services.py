"""What the handlers need at run time, built once by the composition root."""

from __future__ import annotations

import asyncio
import functools
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, TypeVar

import anyio.to_thread
from litestar.connection import ASGIConnection
from sqlalchemy.engine import Engine

from service.commands.envelope import Envelope
from service.commands.replies import ResultWaiter
from service.settings import Settings
from workers.async_publisher import MessagePublisher
from workers.commands import CommandBus

if TYPE_CHECKING:
    from api.auth import TokenCache
    from service.ratelimit import RateLimiter

__all__ = ["Services", "services"]

T = TypeVar("T")


@dataclass
class Services:
    settings: Settings
    engine: Engine
    bus: CommandBus
    results: ResultWaiter
    #: Publishes commands from the event loop (``workers.async_publisher``).
    publisher: MessagePublisher
    admin_token: str
    #: The key list cursors are signed with (``service.reads.pagination.cursor_key``).
    cursor_key: bytes
    #: Tokens this process looked up lately (most requests then skip the database).
    tokens: TokenCache
    #: Per-token request limits (None: unlimited).
    limiter: RateLimiter | None
    #: Companies known to exist (they are never deleted), so the operator's calls skip a read.
    known_companies: set[str] = field(default_factory=set)

    @functools.cached_property
    def _reads(self) -> Engine:
        # Reads run without a transaction on PostgreSQL: under READ COMMITTED each statement
        # has a snapshot of its own anyway, so nothing changes but the round trips: no BEGIN,
        # and no ROLLBACK when the connection goes back to the pool (which would also throw
        # away the statements psycopg prepared on it, so reads would never be prepared).
        if self.engine.dialect.name == "postgresql":
            return self.engine.execution_options(isolation_level="AUTOCOMMIT")
        return self.engine

    async def read(self, fn: Callable[..., T], *args: Any) -> T:
        """Run ``fn(conn, *args)`` on a pooled connection, in a worker thread; ``fn`` only
        reads (on PostgreSQL it runs outside a transaction)."""

        def run() -> T:
            with self._reads.connect() as conn:
                return fn(conn, *args)

        return await anyio.to_thread.run_sync(run)

    async def publish(self, env: Envelope, answer_202: bool = False) -> None:
        """Publish ``env`` with confirms, on the event loop (marked "accepted" first if the
        caller gets 202). Raises if the broker refused it, lost it, or had not confirmed it
        ``publish_timeout_s`` after the call (the Redis mark included): then it may or may
        not be queued."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + self.settings.publish_timeout_s
        if answer_202:
            async with asyncio.timeout_at(deadline):
                await self.mark_accepted(env)
        await self.publisher.publish(self.bus.message(env), deadline=deadline)

    async def aclose(self) -> None:
        """Release what the services hold (the database engine is the caller's)."""
        if self.limiter is not None:
            await self.limiter.close()
        await self.publisher.close()

    async def mark_accepted(self, env: Envelope) -> None:
        """``GET /commands/{id}`` answers "accepted" until the outcome is stored. Only
        commands answered 202 need it: a synchronous answer carries the outcome."""
        if env.company_id is not None:
            await self.results.mark_accepted(env.command_id, env.company_id)


def services(request: ASGIConnection[Any, Any, Any, Any]) -> Services:
    svc: Services = request.app.state.services
    return svc
