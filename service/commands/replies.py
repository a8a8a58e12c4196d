"""Where command outcomes travel from the worker that applied them to the API that waits.

Distributed: Redis pub/sub, one channel per API process (``reply_to``), plus an
"accepted" marker per command so ``GET /commands/{id}`` knows a command it has not
applied yet. Embedded: the same, in memory.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import logging
import threading
from collections.abc import Sequence
from typing import Protocol

import redis
import redis.asyncio as aredis

from service.commands.envelope import Outcome
from service.ids import new_id

__all__ = ["MemoryResults", "RedisResultPublisher", "RedisResults", "ResultWaiter"]

log = logging.getLogger("agentq.results")

#: How long the "accepted" marker of a command lives, in seconds.
ACCEPTED_TTL_S = 24 * 3600
_CHANNEL = "agentq:results:"
_ACCEPTED = "agentq:accepted:"
#: Company ids in which work became claimable: wakes long-polling claims in every API.
_WORK = "agentq:work"


class ResultWaiter(Protocol):
    """The API side: wait for outcomes on this process's ``reply_to`` channel."""

    reply_to: str

    async def start(self) -> None: ...
    async def stop(self) -> None: ...
    def expect(self, command_id: str) -> asyncio.Future[Outcome]: ...
    def work_appeared(self, company_id: str) -> asyncio.Future[None]: ...
    def forget(self, command_id: str) -> None: ...
    async def mark_accepted(self, command_id: str, company_id: str) -> None: ...
    def accepted_company(self, command_id: str) -> str | None: ...
    def ping(self) -> bool: ...


class _Futures:
    """Futures of the commands this process waits for, resolved from any thread; and
    long-polling claims waiting for work to appear in a company."""

    def __init__(self) -> None:
        self.loop: asyncio.AbstractEventLoop | None = None
        self.waiting: dict[str, asyncio.Future[Outcome]] = {}
        self.claims: dict[str, set[asyncio.Future[None]]] = {}

    def work_appeared(self, company_id: str) -> asyncio.Future[None]:
        """A future resolved the next time work becomes claimable in ``company_id``."""
        self.loop = asyncio.get_running_loop()
        future: asyncio.Future[None] = self.loop.create_future()
        self.claims.setdefault(company_id, set()).add(future)
        future.add_done_callback(lambda f: self._drop_claim(company_id, f))
        return future

    def _drop_claim(self, company_id: str, future: asyncio.Future[None]) -> None:
        waiters = self.claims.get(company_id)
        if waiters is not None:
            waiters.discard(future)
            if not waiters:
                self.claims.pop(company_id, None)

    def wake(self, company_id: str) -> None:
        for future in list(self.claims.get(company_id, ())):
            if not future.done():
                future.set_result(None)

    def wake_threadsafe(self, company_id: str) -> None:
        if self.loop is not None and company_id in self.claims:
            self.loop.call_soon_threadsafe(self.wake, company_id)

    def expect(self, command_id: str) -> asyncio.Future[Outcome]:
        self.loop = asyncio.get_running_loop()
        future: asyncio.Future[Outcome] = self.loop.create_future()
        self.waiting[command_id] = future
        return future

    def forget(self, command_id: str) -> None:
        self.waiting.pop(command_id, None)

    def resolve(self, outcome: Outcome) -> None:
        future = self.waiting.pop(outcome.command_id, None)
        if future is not None and not future.done():
            future.set_result(outcome)

    def resolve_threadsafe(self, outcome: Outcome) -> None:
        if self.loop is not None and outcome.command_id in self.waiting:
            self.loop.call_soon_threadsafe(self.resolve, outcome)


class MemoryResults(_Futures):
    """Embedded mode: the worker threads and the API share this object."""

    def __init__(self) -> None:
        super().__init__()
        self.reply_to = "local"
        self._accepted: dict[str, str] = {}
        self._lock = threading.Lock()

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()

    async def stop(self) -> None:
        return None

    def publish(self, reply_to: str | None, outcome: Outcome) -> None:
        with self._lock:
            self._accepted.pop(outcome.command_id, None)
        self.resolve_threadsafe(outcome)
        if outcome.work_company:
            self.wake_threadsafe(outcome.work_company)

    async def mark_accepted(self, command_id: str, company_id: str) -> None:
        with self._lock:
            self._accepted[command_id] = company_id

    def accepted_company(self, command_id: str) -> str | None:
        with self._lock:
            return self._accepted.get(command_id)

    def ping(self) -> bool:
        return True


class RedisResults(_Futures):
    """Distributed mode, API side: one subscription per process, futures per command."""

    def __init__(self, url: str) -> None:
        super().__init__()
        self.reply_to = new_id("api")
        self._async = aredis.Redis.from_url(url)
        #: Commands on the loop (the subscription has ``_async``), bounded as ``_sync`` is.
        self._commands = aredis.Redis.from_url(url, socket_timeout=5, socket_connect_timeout=5)
        self._sync = redis.Redis.from_url(url, socket_timeout=5)
        self._task: asyncio.Task[None] | None = None
        self._ready = asyncio.Event()

    async def start(self) -> None:
        self.loop = asyncio.get_running_loop()
        self._task = asyncio.create_task(self._listen())
        await asyncio.wait_for(self._ready.wait(), timeout=10)

    async def _listen(self) -> None:
        while True:
            try:
                pubsub = self._async.pubsub(ignore_subscribe_messages=True)
                await pubsub.subscribe(_CHANNEL + self.reply_to, _WORK)
                self._ready.set()
                async for message in pubsub.listen():
                    if message.get("type") != "message":
                        continue
                    if message["channel"] == _WORK.encode():
                        self.wake(message["data"].decode())
                    else:
                        self.resolve(Outcome.from_json(json.loads(message["data"])))
            except asyncio.CancelledError:
                raise
            except Exception:  # reconnect: waiting requests fall back to the database
                log.exception("result subscription lost; resubscribing")
                await asyncio.sleep(0.5)

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
        await self._async.aclose()
        await self._commands.aclose()
        self._sync.close()

    async def mark_accepted(self, command_id: str, company_id: str) -> None:
        await self._commands.set(_ACCEPTED + command_id, company_id, ex=ACCEPTED_TTL_S)

    def accepted_company(self, command_id: str) -> str | None:
        value = self._sync.get(_ACCEPTED + command_id)
        return value.decode() if isinstance(value, bytes) else None

    def ping(self) -> bool:
        try:
            return bool(self._sync.ping())
        except redis.RedisError:
            return False


class RedisResultPublisher:
    """Distributed mode, worker side: publish each outcome to the waiting API's channel."""

    def __init__(self, url: str) -> None:
        self._redis = redis.Redis.from_url(url, socket_timeout=5)

    def __call__(self, reply_to: str | None, outcome: Outcome) -> None:
        self.many([(reply_to, outcome)])

    def many(self, answers: Sequence[tuple[str | None, Outcome]]) -> None:
        """Publish the outcomes of a batch of commands, in order, in one pipeline (one round
        trip): each command's marker dropped, its answer published, claims woken."""
        pipe = self._redis.pipeline(transaction=False)
        for reply_to, outcome in answers:
            pipe.delete(_ACCEPTED + outcome.command_id)
            if reply_to:
                pipe.publish(_CHANNEL + reply_to, json.dumps(outcome.to_json()))
            if outcome.work_company:
                pipe.publish(_WORK, outcome.work_company)
        try:
            pipe.execute()
        except redis.RedisError:
            # The outcomes are committed; the waiting APIs read them from the database at
            # their timeout.
            log.warning(
                "could not publish the outcomes of %s",
                ", ".join(outcome.command_id for _, outcome in answers),
            )
