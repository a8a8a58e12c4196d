"""Checks of a company's history that the race and fault tests share."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from domain.events import NOTE_TYPES
from domain.statuses import TRANSITIONS
from service.store import tables as t


def check_history(engine: Engine, company_id: str) -> int:
    """Every issue's activity is a path through the table with contiguous versions; the
    number of transitions checked."""
    with engine.connect() as conn:
        rows = conn.execute(
            sa.select(t.activity)
            .where(
                t.activity.c.company_id == company_id,
                t.activity.c.issue_id.is_not(None),  # the company's own entries have no path
                t.activity.c.type.not_in(NOTE_TYPES),
            )
            .order_by(t.activity.c.issue_id, t.activity.c.version)
        ).all()
    last: dict[str, Any] = {}
    for row in rows:
        previous = last.get(row.issue_id)
        if previous is not None:
            assert row.version == previous.version + 1, (previous, row)
            assert row.from_status == previous.to_status, (previous, row)
        else:
            assert row.type == "issue.created" and row.version == 1, row
        if row.type not in ("issue.created", "issue.updated"):
            assert (row.from_status, row.to_status) in TRANSITIONS, row
        last[row.issue_id] = row
    return len(rows)
