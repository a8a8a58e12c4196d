"""Fan-out of outbox events into deliveries, and one delivery attempt: signed, pinned to the
address that passed the SSRF check, recorded, and rescheduled in PostgreSQL on failure."""

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
from sqlalchemy.engine import Engine
from standardwebhooks import Webhook

from domain.webhooks import DeliveryStatus
from service import metrics
from service.clock import utc_now
from service.db import tables as t
from service.kinds import DELIVERY
from service.settings import Settings
from service.webhooks.outbox import matches
from service.webhooks.ssrf import UnsafeUrl, parse_webhook_url, resolve_safely

__all__ = ["Deliverer", "next_delay_s"]

log = logging.getLogger("agentq.webhooks")

#: How long past the receiver timeout a worker holds a delivery it attempts, in seconds;
#: then a crashed worker's delivery is attempted again.
HOLD_MARGIN_S = 5
#: At most this many attempts in flight per endpoint: a slow one cannot take the whole pool.
MAX_IN_FLIGHT_PER_ENDPOINT = 2
#: A delivery whose endpoint is busy is looked at again this much later, in seconds.
BUSY_RETRY_S = 1.0
#: Jitter on every retry delay: ±10 %.
JITTER = 0.1
#: A delivery's status after an attempt -> the attempt's outcome, as metrics count it.
_OUTCOMES = {
    DeliveryStatus.SUCCEEDED: "succeeded",
    DeliveryStatus.PENDING: "retrying",
    DeliveryStatus.FAILED: "failed",
}


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
        """Hold a due delivery for this worker, or None (not due, done, or held elsewhere)."""
        now = self.clock()
        d = t.webhook_deliveries
        with self.engine.begin() as conn:
            row = conn.execute(
                sa.select(d).where(d.c.id == delivery_id).with_for_update(skip_locked=True)
            ).first()
            if row is None:
                return None
            due = row.status == DeliveryStatus.PENDING and row.next_attempt_at <= now
            lapsed = row.status == DeliveryStatus.DELIVERING and row.locked_until <= now
            if not (due or lapsed):
                return None
            busy = conn.execute(
                sa.select(sa.func.count()).where(
                    d.c.endpoint_id == row.endpoint_id,
                    d.c.status == DeliveryStatus.DELIVERING,
                    d.c.locked_until > now,
                )
            ).scalar_one()
            if busy >= MAX_IN_FLIGHT_PER_ENDPOINT:
                conn.execute(
                    d.update()
                    .where(d.c.id == row.id)
                    .values(
                        status=DeliveryStatus.PENDING.value,
                        next_attempt_at=now + timedelta(seconds=BUSY_RETRY_S),
                        updated_at=now,
                    )
                )
                return None
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
        """One attempt at a delivery; its new status, or None if it was not ours to attempt."""
        taken = self._take(delivery_id)
        if taken is None:
            return None
        row, endpoint, event = taken
        if endpoint.disabled:
            return self._record(row, endpoint, Attempt(None, 0, "endpoint disabled"), final=True)
        body = json.dumps(event.payload, separators=(",", ":"))
        attempt = self._post(endpoint.url, endpoint.secret, event.id, body)
        return self._record(row, endpoint, attempt)

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
        d, e = t.webhook_deliveries, t.webhook_endpoints
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
                conn.execute(
                    e.update()
                    .where(e.c.id == endpoint.id)
                    .values(updated_at=now, **endpoint_values)
                )
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
