"""The audit trail: one entry per transition, comment, budget threshold and approval."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.answers.common import wire
from service.answers.oversight import ActivityEntry
from service.db import tables as t
from service.pagination import page

__all__ = ["ActivityFilters", "activity_json", "list_activity"]


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    issue_id: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None


def activity_json(row: Any) -> dict[str, Any]:
    return wire(
        ActivityEntry(
            id=row.id,
            at=row.at,
            issue_id=row.issue_id,
            type=row.type,
            from_status=row.from_status,
            to_status=row.to_status,
            actor=row.actor,
            reason=row.reason,
            version=row.version,
            command_id=row.command_id,
        )
    )


def list_activity(
    conn: Connection, company_id: str, f: ActivityFilters, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Newest first; ``since`` inclusive, ``until`` exclusive."""
    c = t.activity.c
    query = sa.select(t.activity).where(c.company_id == company_id)
    if f.issue_id is not None:
        query = query.where(c.issue_id == f.issue_id)
    if f.type is not None:
        query = query.where(c.type == f.type)
    if f.since is not None:
        query = query.where(c.at >= f.since)
    if f.until is not None:
        query = query.where(c.at < f.until)
    return page(
        conn,
        query,
        c.at,
        c.id,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [activity_json(r) for r in rows],
    )
