"""Every Prometheus metric agentq defines, in one place: names ``agentq_*``, durations in seconds.

The API serves them at ``/metrics`` on its own port; a worker or scheduler process serves them
on ``AGENTQ_METRICS_PORT`` (``serve_worker_metrics``). Each process exports what it does: the
API its requests, commands accepted, command waits and queue depths; the commands pool its
applied commands and leases; the webhooks pool its deliveries; the scheduler its sweeps. The
embedded mode does everything in one process, so its ``/metrics`` has all of them.

The request metrics come from Litestar's Prometheus middleware (``api/app.py``, prefix
``agentq``): ``agentq_request_duration_seconds`` (histogram), ``agentq_requests_total``,
``agentq_requests_error_total`` (5xx) and ``agentq_requests_in_progress``, labelled by
``method``, ``path`` (the route template, e.g. ``/v1/companies/{cid}/issues/{iid}``) and
``status_code``.
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
from prometheus_client import (
    REGISTRY,
    Counter,
    Histogram,
    disable_created_metrics,
    start_http_server,
)
from prometheus_client.core import GaugeMetricFamily
from prometheus_client.registry import Collector

from service.envelope import Outcome

__all__ = [
    "COMMANDS_ACCEPTED",
    "COMMAND_WAIT",
    "LATENCY_BUCKETS",
    "QueueDepths",
    "QueueReader",
    "QueueReading",
    "RabbitQueueReader",
    "count_command",
    "serve_worker_metrics",
    "stub_queue_reader",
    "watch_queues",
]

log = logging.getLogger("agentq.metrics")

# No ``*_created`` series beside every counter and histogram: they double a scrape for nothing.
disable_created_metrics()  # type: ignore[no-untyped-call]

#: Histogram buckets of every duration, in seconds: 1 ms to 60 s (a long-polling claim
#: waits up to 30 s; a webhook receiver has up to 60 s).
LATENCY_BUCKETS = (
    0.001,
    0.0025,
    0.005,
    0.01,
    0.025,
    0.05,
    0.1,
    0.25,
    0.5,
    1.0,
    2.5,
    5.0,
    10.0,
    30.0,
    60.0,
)

# --- API ------------------------------------------------------------------------------------

#: Commands the API published to the broker (count), by command ``type`` (``UpdateIssue``, …).
COMMANDS_ACCEPTED = Counter(
    "agentq_commands_accepted",
    "Commands published by the API, by command type",
    ["type"],
)
#: Seconds from the start of publishing a command to the API's answer, by ``answer``:
#: ``outcome`` (the command's outcome arrived in time) or ``accepted`` (the API answered 202:
#: ``Prefer: respond-async``, or ``AGENTQ_COMMAND_WAIT_MS`` ran out).
COMMAND_WAIT = Histogram(
    "agentq_command_wait_seconds",
    "Seconds from publishing a command to the API's answer (its outcome, or 202)",
    ["answer"],
    buckets=LATENCY_BUCKETS,
)

# --- commands pool ----------------------------------------------------------------------------

#: Commands whose handler ran and succeeded (count), by command ``type``.
COMMANDS_APPLIED = Counter(
    "agentq_commands_applied",
    "Commands applied (the handler ran and succeeded), by command type",
    ["type"],
)
#: Commands whose handler refused them (count), by command ``type`` and HTTP ``status`` of the
#: problem answered (409, 422, …; 500 is a bug, logged with its traceback).
COMMANDS_REJECTED = Counter(
    "agentq_commands_rejected",
    "Commands rejected (the handler refused them), by command type and HTTP status",
    ["type", "status"],
)
#: Commands answered from a stored outcome without running the handler (count), by ``type``:
#: a broker redelivery of a command already applied, or a reused ``Idempotency-Key``.
COMMANDS_REPLAYED = Counter(
    "agentq_commands_replayed",
    "Commands answered from a stored outcome (redelivery, Idempotency-Key reuse), by type",
    ["type"],
)
#: Commands that raised after every in-place retry (count), by ``type``: the broker
#: dead-letters them (lost races past the limit, a database down past the backoff).
COMMANDS_FAILED = Counter(
    "agentq_commands_failed",
    "Commands that raised after their retries (dead-lettered), by command type",
    ["type"],
)
#: Seconds to apply one command (its transaction, retries included; not the outcome's
#: publication), by command ``type``.
COMMAND_APPLY = Histogram(
    "agentq_command_apply_seconds",
    "Seconds to apply one command (transaction and in-place retries), by command type",
    ["type"],
    buckets=LATENCY_BUCKETS,
)
#: Leases granted (count): claims that started a run.
LEASES_GRANTED = Counter("agentq_leases_granted", "Leases granted (claims that started a run)")
#: Leases renewed (count): checkpoints applied.
LEASES_RENEWED = Counter("agentq_leases_renewed", "Leases renewed (checkpoints applied)")
#: Leases expired (count): ``ExpireLease`` commands applied (the run ended ``lease_expired``).
LEASES_EXPIRED = Counter("agentq_leases_expired", "Leases expired (ExpireLease applied)")

# --- webhooks pool ----------------------------------------------------------------------------

#: Delivery attempts (count), by ``outcome``: ``succeeded`` (a 2xx), ``retrying`` (failed;
#: another attempt is scheduled), ``failed`` (failed for good: schedule used up, 410 Gone, or
#: the endpoint is disabled).
WEBHOOK_DELIVERIES = Counter(
    "agentq_webhook_deliveries",
    "Webhook delivery attempts, by outcome (succeeded, retrying, failed)",
    ["outcome"],
)
#: Seconds a delivery attempt took, from the address check to the receiver's answer.
WEBHOOK_ATTEMPT = Histogram(
    "agentq_webhook_attempt_seconds",
    "Seconds one webhook delivery attempt took",
    buckets=LATENCY_BUCKETS,
)

# --- scheduler --------------------------------------------------------------------------------

#: Seconds one sweep of the leading scheduler took (expiries, dispatches, webhook jobs).
SWEEP_DURATION = Histogram(
    "agentq_sweep_duration_seconds",
    "Seconds one scheduler sweep took (leader only)",
    buckets=LATENCY_BUCKETS,
)
#: Commands and jobs the sweeps enqueued (count), by ``kind``: ``lease_expiry``,
#: ``dispatch``, ``webhook`` (an outbox relay or a due delivery attempt).
SWEEP_ENQUEUED = Counter(
    "agentq_sweep_enqueued",
    "Commands and jobs enqueued by scheduler sweeps, by kind",
    ["kind"],
)
#: Sweeps that raised (count); the scheduler tries again next interval.
SWEEP_FAILURES = Counter("agentq_sweep_failures", "Scheduler sweeps that raised")

#: Command type -> the lease counter its success increments.
_LEASE_EVENTS = {
    "ClaimWork": LEASES_GRANTED,
    "RecordCheckpoint": LEASES_RENEWED,
    "ExpireLease": LEASES_EXPIRED,
}


def count_command(command_type: str, outcome: Outcome, seconds: float, *, replayed: bool) -> None:
    """Count one command's outcome (``Applier.apply``), and the lease event it made."""
    COMMAND_APPLY.labels(command_type).observe(seconds)
    if replayed:
        COMMANDS_REPLAYED.labels(command_type).inc()
    elif not outcome.applied:
        COMMANDS_REJECTED.labels(command_type, str(outcome.http_status)).inc()
    else:
        COMMANDS_APPLIED.labels(command_type).inc()
        lease_event = _LEASE_EVENTS.get(command_type)
        # A claim that found no work answers 204 and grants nothing.
        if lease_event is not None and outcome.http_status != 204:
            lease_event.inc()


# --- queue depths (collected at scrape time) ------------------------------------------------


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
        self.parameters = pika.URLParameters(url)
        self.parameters.socket_timeout = timeout_s
        self.parameters.stack_timeout = timeout_s * 2
        self.parameters.blocked_connection_timeout = timeout_s
        self.parameters.connection_attempts = 1
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


def serve_worker_metrics(port: int | None, host: str = "127.0.0.1") -> None:
    """Serve this process's metrics at ``http://host:port/metrics`` (a daemon thread) when
    ``port`` is set (``AGENTQ_METRICS_PORT``); do nothing when it is None."""
    if port is None:
        return
    start_http_server(port, addr=host)
    log.info(
        "metrics on http://%s:%d/metrics",
        host,
        port,
        extra={"action": "metrics_serving", "port": port},
    )
