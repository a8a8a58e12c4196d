"""Fan-out of outbox events into deliveries, and delivery attempts: signed, pinned to the
address that passed the SSRF check, recorded, rescheduled in PostgreSQL on failure, a few
at a time per endpoint, in the order docs/api.md ("Webhooks") gives."""

from __future__ import annotations

import json
import logging
import random
import time
from collections import Counter
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.webhooks import DeliveryStatus
from service.clock import utc_now
from service.observability import metrics
from service.settings import Settings
from service.store import tables as t
from service.webhooks.attempt import Attempt, Sender
from service.webhooks.endpoint_health import update_endpoint
from service.webhooks.relay import Remembered, company_to_relay, relay_batch

__all__ = ["Deliverer", "next_delay_s"]

log = logging.getLogger("agentq.webhooks")

#: How long past the receiver timeout a worker holds a delivery it attempts, in seconds;
#: then a crashed worker's delivery is attempted again.
HOLD_MARGIN_S = 5
#: At most this many attempts in flight per endpoint: a slow one cannot take the whole pool.
#: A delivery that finds its endpoint busy waits, due; the worker that finishes an attempt
#: takes the endpoint's next due delivery at once (``deliver``).
MAX_IN_FLIGHT_PER_ENDPOINT = 2
#: How long one ``deliver`` job goes on with its endpoint's backlog, in seconds, before it
#: hands the next delivery on as a job of its own (a job never holds its message for long).
CHAIN_S = 30.0
#: Jitter on every retry delay: ±10 %.
JITTER = 0.1
#: A delivery's status after an attempt -> the attempt's outcome, as metrics count it.
_OUTCOMES = {
    DeliveryStatus.SUCCEEDED: "succeeded",
    DeliveryStatus.PENDING: "retrying",
    DeliveryStatus.FAILED: "failed",
}
_ENDPOINT = t.webhook_endpoints.c
#: The endpoint's row; locked (``_LOCK_ENDPOINT``) by a take that starts a chain.
_ENDPOINT_ROW = sa.select(t.webhook_endpoints).where(_ENDPOINT.id == sa.bindparam("b_id"))
_LOCK_ENDPOINT = _ENDPOINT_ROW.with_for_update()


def _status_is(status: DeliveryStatus) -> sa.ColumnElement[bool]:
    # A literal, not bound: a generic plan can use the index of open deliveries then.
    return t.webhook_deliveries.c.status == sa.literal(status.value, literal_execute=True)


def _due(now: datetime) -> sa.ColumnElement[bool]:
    """A delivery to attempt now: pending and due, or held by a worker whose hold lapsed."""
    d = t.webhook_deliveries.c
    return sa.or_(
        _status_is(DeliveryStatus.PENDING) & (d.next_attempt_at <= now),
        _status_is(DeliveryStatus.DELIVERING) & (d.locked_until <= now),
    )


def _next_due(endpoint_id: str, now: datetime) -> sa.Select[Any]:
    """The endpoint's delivery due longest (first attempts come due in event order)."""
    d = t.webhook_deliveries
    return (
        sa.select(d)
        .where(d.c.endpoint_id == endpoint_id, _due(now))
        .order_by(d.c.next_attempt_at, d.c.id)
        .limit(1)
    )


def next_delay_s(
    attempts_made: int, schedule: tuple[float, ...], rng: Callable[[], float] = random.random
) -> float | None:
    """Delay before the next attempt after ``attempts_made`` attempts (jittered), or None when
    the schedule is used up and the delivery has failed for good."""
    if attempts_made >= len(schedule):
        return None
    base = schedule[attempts_made]
    return max(0.0, base * (1 + JITTER * (2 * rng() - 1)))


class Deliverer:
    """Relays outbox events and attempts deliveries; both are safe to run twice at once."""

    def __init__(
        self,
        engine: Engine,
        settings: Settings,
        send_delivery: Callable[[str], None],
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.engine = engine.execution_options(write=True)
        self.settings = settings
        self.send_delivery = send_delivery
        self.clock = clock
        self.sender = Sender(settings, clock)
        self.relayed = Remembered()
        self.hold_s = settings.webhook_timeout_s + HOLD_MARGIN_S

    def close(self) -> None:
        self.sender.close()

    def relay(self, event_id: str) -> list[str]:
        """Fan the event out, with its company's other events still in the outbox, a batch
        per transaction (for up to ``CHAIN_S``: a burst is relayed by the first of its jobs,
        not one event per job); after each batch, send at most
        ``MAX_IN_FLIGHT_PER_ENDPOINT`` delivery jobs per endpoint (each attempt that ends
        takes the endpoint's next due delivery, ``deliver``). The deliveries' ids."""
        if event_id in self.relayed:
            return []  # with an earlier event's batch, by this process
        until = time.monotonic() + CHAIN_S
        made: list[str] = []
        first: str | None = event_id
        company_id: str | None = None
        while True:
            with self.engine.begin() as conn:
                # The company is looked up in the first batch's own transaction.
                company_id = company_id or company_to_relay(conn, event_id)
                if company_id is None:
                    return made
                batch = relay_batch(conn, company_id, self.clock(), first)
            self.relayed.add(batch.events)
            jobs: Counter[str] = Counter()
            for delivery_id, endpoint_id in batch.deliveries:
                if jobs[endpoint_id] < MAX_IN_FLIGHT_PER_ENDPOINT:
                    jobs[endpoint_id] += 1
                    self.send_delivery(delivery_id)
            made.extend(delivery_id for delivery_id, _ in batch.deliveries)
            if not batch.full or time.monotonic() >= until:
                break
            first = None
        return made

    def _take(self, delivery_id: str) -> Held | None:
        """Hold a due delivery for this worker, or None: not due, done, held elsewhere, or
        its endpoint busy. A busy endpoint's delivery is left as it is, due and unlocked, so
        an attempt that ends passes its slot on to it (``_take_next``)."""
        now = self.clock()
        d = t.webhook_deliveries
        with self.engine.begin() as conn:
            endpoint_id = conn.execute(
                sa.select(d.c.endpoint_id).where(d.c.id == delivery_id, _due(now))
            ).scalar()
            # First without the endpoint's lock (a slot freed since is its freer's to fill).
            if (
                endpoint_id is None
                or _in_flight(conn, endpoint_id, now) >= MAX_IN_FLIGHT_PER_ENDPOINT
            ):
                return None
            endpoint = self._lock_if_free(conn, endpoint_id, now)
            if endpoint is None:
                return None
            row = conn.execute(
                _with_payload(sa.select(d).where(d.c.id == delivery_id, _due(now)))
            ).first()
            return None if row is None else self._hold(conn, row, endpoint, now)

    def _take_next(self, conn: Connection, endpoint_id: str, after: str) -> Held | None:
        """Hold the endpoint's next due delivery other than ``after`` (the one just attempted:
        with no delay before its retry it would be due again at once), in the transaction
        that recorded ``after``'s attempt. That passes ``after``'s slot on rather than taking
        a new one: the attempts in flight are as many at its commit as before, so neither the
        endpoint's lock nor a count is needed (only ``_take`` takes a slot), and an
        endpoint's chains do not wait on each other (a delivery this statement cannot see yet
        is taken by ``_take_due`` once the chain ends). The endpoint is read again (not
        locked): it may have been changed or disabled since the chain began."""
        now = self.clock()
        query = _next_due(endpoint_id, now).where(t.webhook_deliveries.c.id != after)
        found = conn.execute(_with_payload(query)).first()
        if found is None:
            return None
        endpoint = conn.execute(_ENDPOINT_ROW, {"b_id": endpoint_id}).first()
        return None if endpoint is None else self._hold(conn, found, endpoint, now)

    @staticmethod
    def _lock_if_free(conn: Connection, endpoint_id: str, now: datetime) -> Any:
        """The endpoint's row, locked (takes of one endpoint are serialized: two never both
        take its last free slot), or None if it has its most attempts in flight."""
        endpoint = conn.execute(_LOCK_ENDPOINT, {"b_id": endpoint_id}).first()
        # Counted by a statement of its own, after the lock: in READ COMMITTED a statement
        # that waited for the lock still reads with the snapshot it took before waiting, so a
        # count in the locking statement would miss the slot its holder has just freed.
        if endpoint is None or _in_flight(conn, endpoint_id, now) >= MAX_IN_FLIGHT_PER_ENDPOINT:
            return None
        return endpoint

    def _hold(self, conn: Connection, row: Any, endpoint: Any, now: datetime) -> Held:
        """Mark the (locked) delivery as being attempted by this worker until the hold ends."""
        d = t.webhook_deliveries
        conn.execute(
            d.update()
            .where(d.c.id == row.id)
            .values(
                status=DeliveryStatus.DELIVERING.value,
                locked_until=now + timedelta(seconds=self.hold_s),
                updated_at=now,
            )
        )
        return Held(row, endpoint)

    def deliver(self, delivery_id: str) -> DeliveryStatus | None:
        """One attempt at a delivery; its new status, or None if it was not ours to attempt.

        Then, with the endpoint's slot it freed, the endpoint's next due deliveries (for up
        to ``CHAIN_S``, then the next as a job of its own): a fast endpoint's backlog drains
        at the endpoint's own speed, and a slow one holds no more threads than its slots.
        Each attempt is recorded in the transaction that holds the next one."""
        held = self._take(delivery_id)
        if held is None:
            return None
        endpoint_id = held.row.endpoint_id
        until = time.monotonic() + CHAIN_S
        first: DeliveryStatus | None = None
        while held is not None:
            attempt, final = self._attempt(held)
            going_on = time.monotonic() < until
            now = self.clock()
            with self.engine.begin() as conn:
                status = self._record(conn, held, attempt, now, final=final)
                following = self._take_next(conn, endpoint_id, held.row.id) if going_on else None
            _observe(held, attempt, status)
            first = first or status
            if not going_on:
                self._send_next(endpoint_id)
            elif following is None:
                following = self._take_due(endpoint_id, held.row.id)
            held = following
        return first

    def _attempt(self, held: Held) -> tuple[Attempt, bool]:
        """The attempt's outcome, and whether it is final whatever it is (no retry)."""
        row, endpoint = held
        if endpoint.disabled:
            return Attempt(None, 0, "endpoint disabled"), True
        body = json.dumps(row.payload, separators=(",", ":"))
        return self.sender.post(endpoint.url, endpoint.secret, row.event_id, body), False

    def _take_due(self, endpoint_id: str, after: str) -> Held | None:
        """Once a chain has freed its slot: take (as a new chain, under the lock) a due
        delivery other than ``after`` that its ``_take_next`` could not see. A delivery
        committed after that statement's snapshot, whose job found the endpoint busy before
        this chain's commit, would otherwise wait for the sweep."""
        query = _next_due(endpoint_id, self.clock()).where(t.webhook_deliveries.c.id != after)
        with self.engine.connect() as conn:
            due_id = conn.execute(query.with_only_columns(t.webhook_deliveries.c.id)).scalar()
        return None if due_id is None else self._take(str(due_id))

    def _send_next(self, endpoint_id: str) -> None:
        """Send the endpoint's next due delivery as a job (its ``_take`` checks it again)."""
        query = _next_due(endpoint_id, self.clock()).with_only_columns(t.webhook_deliveries.c.id)
        with self.engine.connect() as conn:
            if (next_id := conn.execute(query).scalar()) is not None:
                self.send_delivery(str(next_id))

    def _record(
        self, conn: Connection, held: Held, attempt: Attempt, now: datetime, *, final: bool
    ) -> DeliveryStatus:
        """Write the attempt's outcome to the delivery, and to its endpoint what it changes
        there (its failing streak, perhaps disabling it); the delivery's new status."""
        row, endpoint = held
        made = row.attempt + 1
        d = t.webhook_deliveries
        values: dict[str, Any] = {
            "attempt": made,
            "response_status": attempt.status_code,
            "duration_ms": attempt.duration_ms,
            "last_error": attempt.error,
            "locked_until": None,
            "updated_at": now,
        }
        endpoint_values: dict[str, Any] = {}
        if attempt.ok:
            values.update(status=DeliveryStatus.SUCCEEDED, next_attempt_at=None)
            endpoint_values["failing_since"] = None
        else:
            gone = attempt.status_code == 410
            delay = None if (final or gone) else next_delay_s(made, self.settings.retry_schedule_s)
            if delay is not None and attempt.retry_after_s is not None:
                delay = max(delay, attempt.retry_after_s)
            if delay is None:
                values.update(status=DeliveryStatus.FAILED, next_attempt_at=None)
            else:
                values.update(
                    status=DeliveryStatus.PENDING, next_attempt_at=now + timedelta(seconds=delay)
                )
            failing_since = endpoint.failing_since or now
            endpoint_values["failing_since"] = failing_since
            too_long = (
                now - failing_since
            ).total_seconds() >= self.settings.webhook_disable_after_s
            if gone or too_long:
                endpoint_values.update(
                    disabled=True,
                    disabled_reason="410 Gone" if gone else "failing for 5 days",
                )
        conn.execute(d.update().where(d.c.id == row.id).values(**values))
        # Written only when it changes something (as the endpoint was read when the attempt
        # was held): a healthy endpoint's row is not rewritten on every delivery.
        if not endpoint.disabled and any(
            getattr(endpoint, name) != value for name, value in endpoint_values.items()
        ):
            update_endpoint(conn, endpoint, endpoint_values, now)
        return DeliveryStatus(values["status"])


class Held(NamedTuple):
    """A delivery this worker holds (its row, with its event's ``payload``) and its endpoint
    as it was when the delivery was taken."""

    row: Any
    endpoint: Any


def _in_flight(conn: Connection, endpoint_id: str, now: datetime) -> int:
    """The endpoint's attempts in flight (held, and the hold not lapsed)."""
    d = t.webhook_deliveries.c
    return int(
        conn.execute(
            sa.select(sa.func.count()).where(
                d.endpoint_id == endpoint_id,
                _status_is(DeliveryStatus.DELIVERING),
                d.locked_until > now,
            )
        ).scalar_one()
    )


def _with_payload(query: sa.Select[Any]) -> sa.Select[Any]:
    """``query`` of deliveries with their event's ``payload``, the delivery row locked (a
    delivery another worker is taking is skipped). A subquery, not a join: it is read for
    the one row taken, not for every row the scan passes."""
    events = t.webhook_events.c
    payload = (
        sa.select(events.payload)
        .where(events.id == t.webhook_deliveries.c.event_id)
        .scalar_subquery()
        .label("payload")
    )
    return query.add_columns(payload).with_for_update(skip_locked=True)


def _observe(held: Held, attempt: Attempt, status: DeliveryStatus) -> None:
    """Count and log an attempt once its outcome is committed."""
    row, endpoint = held
    outcome = _OUTCOMES[status]
    metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
    metrics.WEBHOOK_ATTEMPT.observe(attempt.duration_ms / 1000)
    log.info(
        "webhook %s attempt %d: %s",
        row.id,
        row.attempt + 1,
        attempt.status_code or attempt.error,
        extra={
            "action": "webhook_attempt",
            "company_id": row.company_id,
            "webhook_id": endpoint.id,
            "delivery_id": row.id,
            "event_id": row.event_id,
            "attempt": row.attempt + 1,
            "http_status": attempt.status_code,
            "outcome": outcome,
            "duration_ms": attempt.duration_ms,
        },
    )
