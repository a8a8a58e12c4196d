"""The agent loop on asyncio: ``claim()`` one piece of work (a context manager), or
``serve()`` for ever; the work itself is ``_async_work.py``'s ``AsyncWork``."""

from __future__ import annotations

import asyncio
import contextlib
import signal
from collections.abc import Awaitable, Callable
from typing import TYPE_CHECKING, Any

from agentq_client._async_work import AsyncWork
from agentq_client._work_common import SHUTTING_DOWN, log
from agentq_client.errors import AtCapacity, RateLimited, TransportFailed, Unavailable

if TYPE_CHECKING:
    from agentq_client._async_client import AsyncClient

__all__ = ["AsyncAgent", "AsyncClaim"]

Json = dict[str, Any]
#: After a failed claim (the API unreachable, the agent at capacity), wait this long, in s.
CLAIM_PAUSE_SECONDS = 1.0


class AsyncClaim:
    """``async with agent.claim(...) as work``: the work (None when there is none), its
    heartbeat running while the block does."""

    def __init__(self, agent: AsyncAgent, wait_seconds: int, lease_seconds: int) -> None:
        self.agent, self.wait_seconds, self.lease_seconds = agent, wait_seconds, lease_seconds
        self.work: AsyncWork | None = None

    async def __aenter__(self) -> AsyncWork | None:
        self.work = await self.agent.claim_next(
            wait_seconds=self.wait_seconds, lease_seconds=self.lease_seconds
        )
        if self.work is not None:
            self.work.start_heartbeat()
        return self.work

    async def __aexit__(self, _type: object, exc: BaseException | None, _tb: object) -> bool:
        return False if self.work is None else await self.work.close(exc)


class AsyncAgent:
    """One agent's loop: ``claim()`` one piece of work, or ``serve()`` for ever."""

    def __init__(
        self,
        client: AsyncClient,
        agent_id: str,
        *,
        revoke: Callable[[], Awaitable[None]] | None = None,
    ) -> None:
        self.client = client
        self.agent_id = agent_id
        self.stopping = asyncio.Event()
        #: Revokes the agent token ``client.agent(aid)`` created for an admin, if it did.
        self._revoke = revoke

    async def aclose(self) -> None:
        """Revoke the agent token created for this loop (an admin's ``client.agent(aid)``)."""
        revoke, self._revoke = self._revoke, None
        if revoke is not None:
            await revoke()

    async def __aenter__(self) -> AsyncAgent:
        return self

    async def __aexit__(self, *exc: object) -> None:
        await self.aclose()

    def claim(self, *, wait_seconds: int = 30, lease_seconds: int = 60) -> AsyncClaim:
        return AsyncClaim(self, wait_seconds, lease_seconds)

    async def claim_next(
        self, *, wait_seconds: int = 0, lease_seconds: int = 60
    ) -> AsyncWork | None:
        """A run on the agent's next issue (heartbeat not started), or None."""
        body = {"waitSeconds": wait_seconds, "leaseSeconds": lease_seconds}
        claimed = await self.client.agents_claim(self.agent_id, body)
        return None if claimed is None else AsyncWork(self.client, claimed, lease_seconds)

    def stop(self) -> None:
        """Stop claiming (``serve`` returns once running work is done)."""
        self.stopping.set()

    async def serve(
        self,
        handler: Callable[[AsyncWork], Awaitable[Json | None]],
        *,
        concurrency: int = 1,
        wait_seconds: int = 10,
        lease_seconds: int = 60,
        handle_signals: bool = True,
    ) -> None:
        """Claim, ``await handler(work)``, complete with what it returns; ``concurrency``
        runs at once (the agent's ``capacity`` should allow them). SIGINT/SIGTERM (or
        ``stop()``) end the claiming: running work finishes; work a pending claim brings
        after that is handed back (failed as retryable)."""
        loop = asyncio.get_running_loop()
        handled: list[signal.Signals] = []
        if handle_signals:
            for sig in (signal.SIGINT, signal.SIGTERM):
                with contextlib.suppress(NotImplementedError, RuntimeError, ValueError):
                    loop.add_signal_handler(sig, self.stopping.set)
                    handled.append(sig)
        try:
            await asyncio.gather(
                *(self._worker(handler, wait_seconds, lease_seconds) for _ in range(concurrency))
            )
        finally:
            for sig in handled:
                loop.remove_signal_handler(sig)

    async def _worker(
        self,
        handler: Callable[[AsyncWork], Awaitable[Json | None]],
        wait_seconds: int,
        lease_seconds: int,
    ) -> None:
        while not self.stopping.is_set():
            try:
                work = await self.claim_next(wait_seconds=wait_seconds, lease_seconds=lease_seconds)
            except (AtCapacity, Unavailable, RateLimited, TransportFailed) as exc:
                log.warning("claim for %s failed: %s", self.agent_id, exc)
                await asyncio.sleep(CLAIM_PAUSE_SECONDS)
                continue
            if work is None:
                continue
            if self.stopping.is_set():
                await work.hand_back(SHUTTING_DOWN)
                return
            try:
                async with work:
                    result = await handler(work)
                    if work.ended is None and work.stopped is None:
                        await work.complete(result)
            except Exception:
                log.exception("handler failed on %s (run failed as retryable)", work.issue.id)
