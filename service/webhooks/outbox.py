"""The transactional outbox: webhook events written in the same transaction as the change."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any, NamedTuple

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.events import (
    WEBHOOK_TYPES,
    WEBHOOK_WILDCARDS,
    IssueAssigned,
    IssueEvent,
    IssueReassigned,
)
from domain.model import Issue
from service.answers.common import fmt_time
from service.answers.issues import issue_json
from service.kinds import EVENT
from service.store import tables as t

__all__ = [
    "EVENT_FILTERS",
    "EVENT_TYPES",
    "PendingEvent",
    "has_subscribers",
    "matches",
    "subscribed",
    "webhook_type",
    "write_events",
]

#: Every event type a subscription may name (the event classes say which they are).
EVENT_TYPES = WEBHOOK_TYPES
#: What a subscription's ``events`` may list: a type, or all of a prefix's (``issue.*``).
EVENT_FILTERS = WEBHOOK_TYPES | WEBHOOK_WILDCARDS


class PendingEvent(NamedTuple):
    """A webhook event to write: its type, the issue after the change, the issue's previous
    status, the actor, and more of ``data`` (``{"approval": …}`` on an approval's events)."""

    type: str
    issue: Issue
    previous: str | None
    actor: str
    data: dict[str, Any] | None = None


def webhook_type(event: IssueEvent, first_assignment: bool) -> str | None:
    """The webhook an activity event becomes; None for changes that are not transitions."""
    if isinstance(event, IssueAssigned):
        return IssueAssigned.type if first_assignment else IssueReassigned.type
    return event.type if event.webhook else None


def matches(filters: Sequence[str], event_type: str) -> bool:
    """An endpoint's filters match exact types and wildcards (``issue.*``, ``approval.*``)."""
    return any(
        f == event_type or (f.endswith(".*") and event_type.startswith(f[:-1])) for f in filters
    )


def pending_from(
    conn: Connection, events: Sequence[IssueEvent], states: Sequence[Issue]
) -> list[PendingEvent]:
    """Webhook events for one decision's activity events (``issue.assigned`` only once)."""
    pending: list[PendingEvent] = []
    assigned_before: dict[str, bool] = {}
    for event, state in zip(events, states, strict=True):
        first = False
        if isinstance(event, IssueAssigned):
            if event.issue_id not in assigned_before:
                assigned_before[event.issue_id] = (
                    conn.execute(
                        sa.select(t.webhook_events.c.id)
                        .where(
                            t.webhook_events.c.issue_id == event.issue_id,
                            t.webhook_events.c.type == IssueAssigned.type,
                        )
                        .limit(1)
                    ).first()
                    is not None
                )
            first = not assigned_before[event.issue_id]
            assigned_before[event.issue_id] = True
        kind = webhook_type(event, first)
        if kind is not None:
            previous = None if event.from_status is None else str(event.from_status)
            pending.append(PendingEvent(kind, state, previous, event.actor))
    return pending


def subscribed(company_id: sa.ColumnElement[str]) -> sa.Exists:
    """Whether the company has an enabled webhook endpoint, as SQL."""
    e = t.webhook_endpoints.c
    return sa.exists().where(e.company_id == company_id, ~e.disabled)


#: Built once (``service.store.repo`` says why).
_HAS_SUBSCRIBERS = sa.select(subscribed(sa.bindparam("b_cid")))


def has_subscribers(conn: Connection, company_id: str) -> bool:
    """Only companies with an enabled endpoint pay for outbox rows."""
    return bool(conn.execute(_HAS_SUBSCRIBERS, {"b_cid": company_id}).scalar())


def write_events(
    conn: Connection,
    company_id: str,
    pending: Sequence[PendingEvent],
    *,
    now: datetime,
    blocked_by: Sequence[str] = (),
    run: dict[str, Any] | None = None,
) -> list[str]:
    """Insert the events (in the caller's transaction); their ids, for the relay."""
    rows = []
    for kind, issue, previous, actor, more in pending:
        event_id = EVENT.new_id()
        data: dict[str, Any] = {
            "issue": issue_json(issue, blocked_by),
            "previousStatus": previous,
            "actor": actor,
        }
        if run is not None:
            data["run"] = run
        if more:
            data.update(more)
        rows.append(
            {
                "id": event_id,
                "company_id": company_id,
                "issue_id": issue.id,
                "type": kind,
                "created_at": now,
                "payload": {
                    "id": event_id,
                    "type": kind,
                    "createdAt": fmt_time(now),
                    "companyId": company_id,
                    "data": data,
                },
            }
        )
    if rows:
        conn.execute(t.webhook_events.insert(), rows)
    return [str(r["id"]) for r in rows]
