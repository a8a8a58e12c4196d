"""Wakes the event streams of this web process when a company's activity may have grown.

The streams read the activity table themselves (``service.reads.events``); the hub only
tells them when to look, so it holds no entries and a lost wake-up only delays a stream
until its next periodic read. One hub per web process:

- PostgreSQL: one ``LISTEN agentq_activity`` connection (psycopg 3, async); the trigger of
  migration 0010 notifies the company's id when its entries commit, and the hub wakes that
  company's streams. A lost connection is made again, waking every stream.
- SQLite (the embedded mode, one process): a look at the table's last rowid every
  ``SQLITE_POLL_S`` while a stream is open, waking every stream when it moved.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections import defaultdict

import anyio.to_thread
import psycopg
import sqlalchemy as sa
from sqlalchemy.engine import Engine

__all__ = ["CHANNEL", "EventHub", "Waker"]

log = logging.getLogger("agentq.events")

#: The channel migration 0010's trigger notifies.
CHANNEL = "agentq_activity"
#: How often the embedded mode looks for new entries, in seconds.
SQLITE_POLL_S = 0.2
#: Waits between attempts to listen again after the connection failed, in seconds.
RELISTEN_S = (0.5, 1.0, 2.0, 5.0)


class Waker(asyncio.Event):
    """Set when the stream's company may have new entries; the stream clears it before it
    reads, so a wake-up during the read is not lost."""


class EventHub:
    def __init__(self, engine: Engine, database_url: str | None) -> None:
        self._engine = engine
        self._url = database_url if engine.dialect.name == "postgresql" else None
        self._streams: defaultdict[str, set[Waker]] = defaultdict(set)
        self._task: asyncio.Task[None] | None = None
        #: Whether the listener is listening (a stream can then wait longer between reads).
        self.listening = False

    def subscribe(self, company_id: str) -> Waker:
        waker = Waker()
        self._streams[company_id].add(waker)
        return waker

    def unsubscribe(self, company_id: str, waker: Waker) -> None:
        streams = self._streams.get(company_id)
        if streams is not None:
            streams.discard(waker)
            if not streams:
                del self._streams[company_id]

    @property
    def open_streams(self) -> int:
        return sum(len(s) for s in self._streams.values())

    def wake(self, company_id: str | None = None) -> None:
        """Wake the streams of ``company_id`` (None: of every company)."""
        if company_id is None:
            groups = list(self._streams.values())
        else:
            groups = [self._streams.get(company_id, set())]
        for group in groups:
            for waker in group:
                waker.set()

    async def start(self) -> None:
        watch = self._listen if self._url is not None else self._poll
        self._task = asyncio.create_task(watch(), name="event-hub")

    async def stop(self) -> None:
        if self._task is not None:
            self._task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await self._task
            self._task = None
        self.listening = False

    async def _listen(self) -> None:
        assert self._url is not None
        attempt = 0
        while True:
            try:
                async with await psycopg.AsyncConnection.connect(
                    self._url, autocommit=True
                ) as conn:
                    await conn.execute(f"LISTEN {CHANNEL}")
                    self.listening, attempt = True, 0
                    self.wake()  # whatever was notified while not listening
                    async for note in conn.notifies():
                        self.wake(note.payload)
            except psycopg.Error as exc:
                log.warning(
                    "event stream listener lost: %s", exc, extra={"action": "events_listen_lost"}
                )
            self.listening = False
            self.wake()
            await asyncio.sleep(RELISTEN_S[min(attempt, len(RELISTEN_S) - 1)])
            attempt += 1

    async def _poll(self) -> None:
        last: int | None = None
        query = sa.text("SELECT max(rowid) FROM activity")

        def newest() -> int | None:
            with self._engine.connect() as conn:
                value = conn.execute(query).scalar_one_or_none()
            return None if value is None else int(value)

        while True:
            await asyncio.sleep(SQLITE_POLL_S)
            if not self._streams:
                continue  # ``last`` is kept: the first look once a stream opens wakes it
            try:
                seen = await anyio.to_thread.run_sync(newest)
            except sa.exc.SQLAlchemyError:
                continue  # the streams' own periodic reads go on
            if seen != last:
                self.wake()
            last = seen
