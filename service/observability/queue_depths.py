"""The depth of each broker queue, read at each scrape of ``/metrics`` (the API's).

``agentq_queue_messages``, ``agentq_queue_dead_letters`` and ``agentq_queue_consumers``, by
pool and queue: from RabbitMQ by passive ``queue.declare`` (``RabbitQueueReader``), or from
the embedded mode's in-process broker (``stub_queue_reader``).
"""

from __future__ import annotations

import logging
import threading
import time
from collections.abc import Callable, Iterable, Iterator, Mapping
from dataclasses import dataclass
from typing import Any

import pika
from pika.exceptions import AMQPConnectionError, ChannelClosedByBroker
from prometheus_client import REGISTRY
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

__all__ = [
    "QueueDepths",
    "QueueReader",
    "QueueReading",
    "RabbitQueueReader",
    "stub_queue_reader",
    "watch_queues",
]

log = logging.getLogger("agentq.metrics")


@dataclass(frozen=True, slots=True)
class QueueReading:
    """One broker queue as a scrape sees it."""

    pool: str
    queue: str
    #: Messages ready (not yet delivered to a consumer).
    messages: int
    #: Messages in its dead-letter queue (None: unknown).
    dead: int | None = None
    #: Consumers attached (None: unknown, as in the embedded mode).
    consumers: int | None = None


QueueReader = Callable[[], Iterable[QueueReading]]


class QueueDepths(Collector):
    """``agentq_queue_messages`` and friends, read through ``reader`` at each scrape.

    No reader (a worker process), or a reader that fails (RabbitMQ down): no samples, never an
    error, so ``/metrics`` keeps answering."""

    def __init__(self) -> None:
        self.reader: QueueReader | None = None

    def describe(self) -> Iterable[Any]:
        return self._families()

    def _families(self) -> list[GaugeMetricFamily]:
        labels = ["pool", "queue"]
        return [
            GaugeMetricFamily(
                "agentq_queue_messages",
                "Messages ready in a broker queue, by pool and queue",
                labels=labels,
            ),
            GaugeMetricFamily(
                "agentq_queue_dead_letters",
                "Messages in a broker queue's dead-letter queue, by pool and queue",
                labels=labels,
            ),
            GaugeMetricFamily(
                "agentq_queue_consumers",
                "Consumers attached to a broker queue, by pool and queue",
                labels=labels,
            ),
        ]

    def collect(self) -> Iterator[Any]:
        messages, dead, consumers = families = self._families()
        reader = self.reader
        readings: list[QueueReading] = []
        if reader is not None:
            try:
                readings = list(reader())
            except Exception:  # a scrape never fails for the broker's sake
                log.warning("could not read queue depths", exc_info=True)
        for r in readings:
            messages.add_metric([r.pool, r.queue], r.messages)
            if r.dead is not None:
                dead.add_metric([r.pool, r.queue], r.dead)
            if r.consumers is not None:
                consumers.add_metric([r.pool, r.queue], r.consumers)
        yield from families


_QUEUE_DEPTHS = QueueDepths()
REGISTRY.register(_QUEUE_DEPTHS)


def watch_queues(reader: QueueReader | None) -> None:
    """Report the queue depths ``reader`` returns at every scrape (None: stop reporting)."""
    _QUEUE_DEPTHS.reader = reader


def stub_queue_reader(broker: Any, pools: Mapping[str, str]) -> QueueReader:
    """Queue sizes of Dramatiq's in-process ``StubBroker`` (the embedded mode);
    ``pools`` maps each queue to report to its pool."""

    def read() -> list[QueueReading]:
        queues, dead = broker.queues, broker.dead_letters_by_queue
        return [
            QueueReading(pool, name, queues[name].qsize(), len(dead.get(name, ())))
            for name, pool in sorted(pools.items())
            if name in queues
        ]

    return read


class RabbitQueueReader:
    """Message counts of RabbitMQ queues by passive ``queue.declare`` on a connection of its
    own, kept open between scrapes (one scrape at a time).

    It never holds a scrape up for long: connecting times out after ``timeout_s``; a connection
    that went stale between scrapes is replaced once; a failure skips the samples and the next
    attempt waits ``retry_after_s``; a queue not declared yet (its pool never started) is
    looked for again only after ``missing_retry_s``."""

    def __init__(
        self,
        url: str,
        pools: Mapping[str, str],
        *,
        timeout_s: float = 0.5,
        retry_after_s: float = 5.0,
        missing_retry_s: float = 60.0,
    ) -> None:
        self.pools = dict(pools)
        # ``url`` may name several nodes of a cluster, ``;``-separated (as Dramatiq takes it):
        # pika tries them in turn.
        self.parameters = [pika.URLParameters(u) for u in url.split(";") if u.strip()]
        for params in self.parameters:
            params.socket_timeout = timeout_s
            params.stack_timeout = timeout_s * 2
            params.blocked_connection_timeout = timeout_s
            params.connection_attempts = 1
        self.retry_after_s = retry_after_s
        self.missing_retry_s = missing_retry_s
        self._lock = threading.Lock()
        self._connection: Any = None
        self._channel: Any = None
        self._down_until = 0.0
        self._missing: dict[str, float] = {}

    def __call__(self) -> list[QueueReading]:
        # A scrape already reading (or waiting on a dead connection) is not waited for.
        if not self._lock.acquire(timeout=1.0):
            return []
        try:
            return self._read()
        finally:
            self._lock.release()

    def _read(self) -> list[QueueReading]:
        now = time.monotonic()
        if now < self._down_until:
            return []
        try:
            try:
                return self._read_all(now)
            except AMQPConnectionError:
                if self._connection is None:
                    raise
                self._drop()  # closed while idle (the broker restarted, heartbeats lapsed)
                return self._read_all(now)
        except Exception as error:  # RabbitMQ down: no samples this time
            log.warning(
                "queue depths unavailable: %r", error, extra={"action": "queue_depths_skipped"}
            )
            self._down_until = now + self.retry_after_s
            self._drop()
            return []

    def _read_all(self, now: float) -> list[QueueReading]:
        readings = []
        for name, pool in sorted(self.pools.items()):
            declared = self._declare(name, now)
            if declared is None:
                continue
            dead = self._declare(f"{name}.XQ", now)
            readings.append(
                QueueReading(
                    pool,
                    name,
                    declared.message_count,
                    dead.message_count if dead is not None else None,
                    declared.consumer_count,
                )
            )
        return readings

    def _declare(self, queue: str, now: float) -> Any:
        """The ``Queue.DeclareOk`` of ``queue``, or None if it does not exist (yet)."""
        if self._missing.get(queue, 0.0) > now:
            return None
        if self._connection is None or not self._connection.is_open:
            self._connection = pika.BlockingConnection(self.parameters)
            self._channel = None
        if self._channel is None or not self._channel.is_open:
            self._channel = self._connection.channel()
        try:
            return self._channel.queue_declare(queue, passive=True).method
        except ChannelClosedByBroker as closed:
            self._channel = None  # the broker closes the channel on a 404
            if closed.reply_code != 404:
                raise
            self._missing[queue] = now + self.missing_retry_s
            return None

    def close(self) -> None:
        """Close the connection (at shutdown; a scrape still reading keeps it a second)."""
        got = self._lock.acquire(timeout=1.0)
        try:
            self._drop()
        finally:
            if got:
                self._lock.release()

    def _drop(self) -> None:
        connection, self._connection, self._channel = self._connection, None, None
        if connection is not None and connection.is_open:
            try:
                connection.close()
            except Exception:
                log.debug("closing the queue-depth connection failed", exc_info=True)
