"""Fan-out of outbox events into deliveries, and delivery attempts: signed, pinned to the
address that passed the SSRF check, recorded, rescheduled in PostgreSQL on failure, a few
at a time per endpoint, in the order docs/api.md ("Webhooks") gives."""

from __future__ import annotations

import ipaddress
import json
import logging
import random
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import datetime, timedelta
from email.utils import parsedate_to_datetime
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from standardwebhooks import Webhook

from domain.webhooks import DeliveryStatus
from service.clock import utc_now
from service.kinds import DELIVERY
from service.observability import metrics
from service.settings import Settings
from service.store import tables as t
from service.webhooks.endpoint_health import update_endpoint
from service.webhooks.outbox import matches
from service.webhooks.ssrf import UnsafeUrl, parse_webhook_url, resolve_safely

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
_LOCK_ENDPOINT = (
    sa.select(_ENDPOINT.id).where(_ENDPOINT.id == sa.bindparam("b_id")).with_for_update()
)


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


def _is_ip(host: str) -> bool:
    try:
        ipaddress.ip_address(host)
    except ValueError:
        return False
    return True


def _retry_after_s(response: httpx.Response, now: datetime) -> float | None:
    value = response.headers.get("retry-after")
    if not value:
        return None
    if value.strip().isdigit():
        return float(value.strip())
    try:
        return max(0.0, (parsedate_to_datetime(value) - now).total_seconds())
    except (TypeError, ValueError):
        return None


@dataclass(frozen=True, slots=True)
class Attempt:
    status_code: int | None
    duration_ms: int
    error: str | None
    retry_after_s: float | None = None

    @property
    def ok(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


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
        self.http = httpx.Client(follow_redirects=False, timeout=settings.webhook_timeout_s)
        self.hold_s = settings.webhook_timeout_s + HOLD_MARGIN_S

    def close(self) -> None:
        self.http.close()

    def relay(self, event_id: str) -> list[str]:
        """Turn an outbox event into one pending delivery per matching enabled endpoint."""
        now = self.clock()
        with self.engine.begin() as conn:
            event = conn.execute(
                sa.select(t.webhook_events)
                .where(t.webhook_events.c.id == event_id, t.webhook_events.c.relayed_at.is_(None))
                .with_for_update(skip_locked=True)
            ).first()
            if event is None:
                return []
            endpoints = conn.execute(
                sa.select(t.webhook_endpoints.c.id, t.webhook_endpoints.c.events).where(
                    t.webhook_endpoints.c.company_id == event.company_id,
                    ~t.webhook_endpoints.c.disabled,
                )
            ).all()
            rows = [
                {
                    "id": DELIVERY.new_id(),
                    "company_id": event.company_id,
                    "endpoint_id": endpoint.id,
                    "event_id": event.id,
                    "status": DeliveryStatus.PENDING.value,
                    "attempt": 0,
                    "next_attempt_at": now,
                    "enqueued_at": now,
                    "created_at": now,
                    "updated_at": now,
                }
                for endpoint in endpoints
                if matches(endpoint.events, event.type)
            ]
            if rows:
                conn.execute(t.webhook_deliveries.insert(), rows)
            conn.execute(
                t.webhook_events.update()
                .where(t.webhook_events.c.id == event.id)
                .values(relayed_at=now)
            )
        for row in rows:
            self.send_delivery(str(row["id"]))
        return [str(r["id"]) for r in rows]

    def _take(self, delivery_id: str) -> Any:
        """Hold a due delivery for this worker, or None: not due, done, held elsewhere, or
        its endpoint busy. A busy endpoint's delivery is left as it is, due and unlocked, so
        the next attempt to free a slot finds it (``_take_next``)."""
        now = self.clock()
        d = t.webhook_deliveries
        with self.engine.begin() as conn:
            endpoint_id = conn.execute(
                sa.select(d.c.endpoint_id).where(d.c.id == delivery_id, _due(now))
            ).scalar()
            # First without the endpoint's lock (a slot freed since is its freer's to fill).
            if endpoint_id is None or any(
                self._busy(conn, endpoint_id, now, lock=lock) for lock in (False, True)
            ):
                return None
            row = conn.execute(
                sa.select(d)
                .where(d.c.id == delivery_id, _due(now))
                .with_for_update(skip_locked=True)
            ).first()
            return None if row is None else self._hold(conn, row, now)

    def _take_next(self, endpoint_id: str, after: str) -> Any:
        """Hold the endpoint's next due delivery other than ``after`` (the one just attempted:
        with no delay before its retry it would be due again at once) if it has a free slot."""
        now = self.clock()
        query = _next_due(endpoint_id, now).where(t.webhook_deliveries.c.id != after)
        with self.engine.begin() as conn:
            if self._busy(conn, endpoint_id, now):
                return None
            found = conn.execute(query.with_for_update(skip_locked=True)).first()
            return None if found is None else self._hold(conn, found, now)

    @staticmethod
    def _busy(conn: Connection, endpoint_id: str, now: datetime, *, lock: bool = True) -> bool:
        """Whether the endpoint has its most attempts in flight; ``lock`` locks its row first
        (takes of one endpoint are serialized: two never both take the last free slot)."""
        if lock:
            conn.execute(_LOCK_ENDPOINT, {"b_id": endpoint_id})
        busy = conn.execute(
            sa.select(sa.func.count()).where(
                t.webhook_deliveries.c.endpoint_id == endpoint_id,
                _status_is(DeliveryStatus.DELIVERING),
                t.webhook_deliveries.c.locked_until > now,
            )
        ).scalar_one()
        return bool(busy >= MAX_IN_FLIGHT_PER_ENDPOINT)

    def _hold(self, conn: Connection, row: Any, now: datetime) -> tuple[Any, Any, Any]:
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
        endpoint = conn.execute(
            sa.select(t.webhook_endpoints).where(t.webhook_endpoints.c.id == row.endpoint_id)
        ).one()
        event = conn.execute(
            sa.select(t.webhook_events).where(t.webhook_events.c.id == row.event_id)
        ).one()
        return row, endpoint, event

    def deliver(self, delivery_id: str) -> DeliveryStatus | None:
        """One attempt at a delivery; its new status, or None if it was not ours to attempt.

        Then, with the endpoint's slot it freed, the endpoint's next due deliveries (for up
        to ``CHAIN_S``, then the next as a job of its own): a fast endpoint's backlog drains
        at the endpoint's own speed, and a slow one holds no more threads than its slots."""
        taken = self._take(delivery_id)
        if taken is None:
            return None
        status = self._attempt(*taken)
        endpoint_id, last = taken[0].endpoint_id, taken[0].id
        until = time.monotonic() + CHAIN_S
        while time.monotonic() < until:
            following = self._take_next(endpoint_id, last)
            if following is None:
                return status
            self._attempt(*following)
            last = following[0].id
        self._send_next(endpoint_id)
        return status

    def _attempt(self, row: Any, endpoint: Any, event: Any) -> DeliveryStatus:
        if endpoint.disabled:
            return self._record(row, endpoint, Attempt(None, 0, "endpoint disabled"), final=True)
        body = json.dumps(event.payload, separators=(",", ":"))
        attempt = self._post(endpoint.url, endpoint.secret, event.id, body)
        return self._record(row, endpoint, attempt)

    def _send_next(self, endpoint_id: str) -> None:
        """Send the endpoint's next due delivery as a job (its ``_take`` checks it again)."""
        query = _next_due(endpoint_id, self.clock()).with_only_columns(t.webhook_deliveries.c.id)
        with self.engine.connect() as conn:
            if (next_id := conn.execute(query).scalar()) is not None:
                self.send_delivery(str(next_id))

    def _post(self, url: str, secret: str, event_id: str, body: str) -> Attempt:
        started = time.monotonic()
        try:
            # A URL stored before the allowed ports changed is checked against today's.
            scheme, host, port, path = parse_webhook_url(
                url, allowed_ports=self.settings.webhook_ports
            )
            allow = self.settings.webhook_allow_private
            address = resolve_safely(host, port, allow_private=allow)[0]
        except UnsafeUrl as exc:
            return Attempt(None, 0, f"refused: {exc}")
        now = self.clock()
        is_ip = _is_ip(host)
        host_literal = f"[{host}]" if ":" in host else host
        default_port = {"http": 80, "https": 443}[scheme]
        headers = {
            "content-type": "application/json",
            "user-agent": "agentq-webhooks/1",
            "webhook-id": event_id,
            "webhook-timestamp": str(int(now.timestamp())),
            "webhook-signature": Webhook(secret).sign(event_id, now, body),
            "host": host_literal if port == default_port else f"{host_literal}:{port}",
        }
        # Connect to the address that passed the check (no second DNS lookup); TLS still
        # names and verifies the host.
        literal = f"[{address}]" if ":" in address else address
        target = f"{scheme}://{literal}:{port}{path}"
        extensions = {} if is_ip else {"sni_hostname": host}
        try:
            response = self.http.post(target, content=body, headers=headers, extensions=extensions)
        except httpx.HTTPError as exc:
            elapsed = int((time.monotonic() - started) * 1000)
            return Attempt(None, elapsed, f"{type(exc).__name__}: {exc}"[:500])
        elapsed = int((time.monotonic() - started) * 1000)
        return Attempt(response.status_code, elapsed, None, _retry_after_s(response, now))

    def _record(
        self, row: Any, endpoint: Any, attempt: Attempt, final: bool = False
    ) -> DeliveryStatus:
        now = self.clock()
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
        with self.engine.begin() as conn:
            conn.execute(d.update().where(d.c.id == row.id).values(**values))
            if endpoint_values and not endpoint.disabled:
                update_endpoint(conn, endpoint, endpoint_values, now)
        status = DeliveryStatus(values["status"])
        outcome = _OUTCOMES[status]
        metrics.WEBHOOK_DELIVERIES.labels(outcome).inc()
        metrics.WEBHOOK_ATTEMPT.observe(attempt.duration_ms / 1000)
        log.info(
            "webhook %s attempt %d: %s",
            row.id,
            made,
            attempt.status_code or attempt.error,
            extra={
                "action": "webhook_attempt",
                "company_id": row.company_id,
                "webhook_id": endpoint.id,
                "delivery_id": row.id,
                "event_id": row.event_id,
                "attempt": made,
                "http_status": attempt.status_code,
                "outcome": outcome,
                "duration_ms": attempt.duration_ms,
            },
        )
        return status
