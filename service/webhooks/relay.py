"""The outbox's relay: a company's events fanned out into one pending delivery per matching
enabled endpoint, a batch of events per transaction."""

from __future__ import annotations

import threading
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import datetime

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.webhooks import DeliveryStatus
from service.kinds import DELIVERY
from service.store import tables as t
from service.webhooks.outbox import matches

__all__ = ["RELAY_BATCH", "Relayed", "Remembered", "company_to_relay", "relay_batch"]

#: Most outbox events one transaction fans out: a burst of events goes out in a few
#: transactions, and each endpoint gets a few delivery jobs per batch, not one per delivery.
RELAY_BATCH = 100

_E = t.webhook_events.c


@dataclass(frozen=True, slots=True)
class Relayed:
    """The events a batch relayed, the deliveries it made, as (delivery id, endpoint id) in
    event order, and whether it was full (more of the company's events may be waiting)."""

    events: list[str]
    deliveries: list[tuple[str, str]]
    full: bool


class Remembered:
    """The events this process relayed lately, at most ``size`` (the oldest forgotten first):
    the relay jobs of a batch's other events, which come after it, end without a query."""

    def __init__(self, size: int = 100_000) -> None:
        self.size = size
        self._ids: dict[str, None] = {}
        self._lock = threading.Lock()

    def add(self, event_ids: Iterable[str]) -> None:
        with self._lock:
            self._ids.update(dict.fromkeys(event_ids))
            while len(self._ids) > self.size:
                del self._ids[next(iter(self._ids))]

    def __contains__(self, event_id: object) -> bool:
        return event_id in self._ids


def company_to_relay(conn: Connection, event_id: str) -> str | None:
    """The event's company, or None once the event is relayed (with an earlier batch)."""
    found = conn.execute(
        sa.select(_E.company_id).where(_E.id == event_id, _E.relayed_at.is_(None))
    ).scalar()
    return None if found is None else str(found)


def relay_batch(
    conn: Connection, company_id: str, now: datetime, first: str | None = None
) -> Relayed:
    """Relay up to ``RELAY_BATCH`` of the company's events still in the outbox, oldest
    first, and ``first`` whatever the backlog (the job's own event). Events another relay
    holds are its own (SKIP LOCKED): none is relayed twice."""
    mine = sa.case((_E.id == first, 0), else_=1) if first is not None else sa.literal(1)
    batch = conn.execute(
        sa.select(_E.id, _E.type, _E.created_at)
        .where(_E.company_id == company_id, _E.relayed_at.is_(None))
        .order_by(mine, _E.created_at, _E.id)
        .limit(RELAY_BATCH)
        .with_for_update(skip_locked=True)
    ).all()
    if not batch:
        return Relayed([], [], full=False)
    events = sorted(batch, key=lambda event: (event.created_at, event.id))
    endpoints = conn.execute(
        sa.select(t.webhook_endpoints.c.id, t.webhook_endpoints.c.events).where(
            t.webhook_endpoints.c.company_id == company_id, ~t.webhook_endpoints.c.disabled
        )
    ).all()
    # Ids made in event order (monotonic in a process): an endpoint's first attempts, due
    # longest first and then by id, go out in that order.
    rows = [
        {
            "id": DELIVERY.new_id(),
            "company_id": company_id,
            "endpoint_id": endpoint.id,
            "event_id": event.id,
            "status": DeliveryStatus.PENDING.value,
            "attempt": 0,
            "next_attempt_at": now,
            "enqueued_at": now,
            "created_at": now,
            "updated_at": now,
        }
        for event in events
        for endpoint in endpoints
        if matches(endpoint.events, event.type)
    ]
    if rows:
        conn.execute(t.webhook_deliveries.insert(), rows)
    conn.execute(
        t.webhook_events.update()
        .where(_E.id.in_([event.id for event in events]))
        .values(relayed_at=now)
    )
    return Relayed(
        [str(event.id) for event in events],
        [(str(row["id"]), str(row["endpoint_id"])) for row in rows],
        full=len(batch) == RELAY_BATCH,
    )
