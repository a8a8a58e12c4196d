"""The set-based writes of a bulk slice: its items' stored outcomes, their bulk items, and the
job's counts, each one statement whatever the slice's size (``service.commands.handlers.bulk``).
"""

from __future__ import annotations

import json
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.bulk import BulkStatus
from domain.commands import CommandStatus
from service.commands.envelope import Outcome
from service.store import tables as t

__all__ = ["StoredItem", "count_recorded", "insert_outcomes", "item_outcome", "record_items"]

#: One item's outcome, as ``applied_commands`` stores it: the outcome, its command's type
#: (the class name the single command stores), and when it was stored.
StoredItem = tuple[Outcome, str, datetime]

# PostgreSQL: every item of the slice in one UPDATE, joined to the (position, outcome) pairs
# unnested from two arrays; only items not recorded yet, and it answers which it recorded.
_RECORD_ITEMS_PG = sa.text(
    """
    UPDATE bulk_items SET outcome = v.outcome::jsonb
    FROM unnest(CAST(:positions AS integer[]), CAST(:outcomes AS text[])) AS v(pos, outcome)
    WHERE bulk_items.bulk_id = :bulk_id
      AND bulk_items.position = v.pos
      AND bulk_items.outcome IS NULL
    RETURNING bulk_items.position
    """
)
_RECORD_ITEM = (
    t.bulk_items.update()
    .where(
        t.bulk_items.c.bulk_id == sa.bindparam("b_bulk_id"),
        t.bulk_items.c.position == sa.bindparam("b_position"),
        t.bulk_items.c.outcome.is_(None),
    )
    .values(outcome=sa.bindparam("b_outcome", type_=t.bulk_items.c.outcome.type))
)


def item_outcome(outcome: Outcome) -> dict[str, Any]:
    """What a bulk item records of its command's outcome: the issue's new status, or the
    problem it was refused with."""
    if outcome.applied:
        return {"ok": True, "status": outcome.body["status"]}
    return {"ok": False, "error": outcome.body}


def insert_outcomes(conn: Connection, company_id: str, stored: Sequence[StoredItem]) -> None:
    """The stored outcomes of the items, one multi-row INSERT into ``applied_commands``: the
    same columns and values ``outcomes.store_outcome`` writes for each command alone."""
    if not stored:
        return
    conn.execute(
        t.applied_commands.insert().values(
            [
                {
                    "id": outcome.command_id,
                    "company_id": company_id,
                    "type": kind,
                    "status": CommandStatus.of(outcome.applied).value,
                    "http_status": outcome.http_status,
                    "body": outcome.body,
                    "applied_at": at,
                }
                for outcome, kind, at in stored
            ]
        )
    )


def record_items(
    conn: Connection, bulk_id: str, outcomes: Sequence[tuple[int, dict[str, Any]]]
) -> set[int]:
    """Record each ``(position, outcome)`` on its bulk item unless it has one already; the
    positions it recorded (an item recorded meanwhile, by a runner overlapping this one after
    a stop, is not counted twice)."""
    if not outcomes:
        return set()
    if conn.dialect.name == "postgresql":
        rows = conn.execute(
            _RECORD_ITEMS_PG,
            {
                "bulk_id": bulk_id,
                "positions": [position for position, _ in outcomes],
                "outcomes": [json.dumps(outcome) for _, outcome in outcomes],
            },
        ).scalars()
        return set(rows)
    # SQLite (one writer, the embedded mode): an UPDATE an item.
    recorded: set[int] = set()
    for position, outcome in outcomes:
        params = {"b_bulk_id": bulk_id, "b_position": position, "b_outcome": outcome}
        if conn.execute(_RECORD_ITEM, params).rowcount:
            recorded.add(position)
    return recorded


def count_recorded(
    conn: Connection, bulk_id: str, succeeded: int, failed: int, now: datetime
) -> None:
    """Add newly recorded items to the job's counts, and mark it done (at ``now``) once every
    item is recorded: one UPDATE, which reads the counts under the row's lock."""
    if not succeeded and not failed:
        return
    j = t.bulk_jobs.c
    complete = j.succeeded + j.failed + succeeded + failed >= j.total
    conn.execute(
        t.bulk_jobs.update()
        .where(j.id == bulk_id)
        .values(
            succeeded=j.succeeded + succeeded,
            failed=j.failed + failed,
            status=sa.case((complete, BulkStatus.DONE.value), else_=j.status),
            finished_at=sa.case(
                (complete & j.finished_at.is_(None), sa.literal(now, j.finished_at.type)),
                else_=j.finished_at,
            ),
        )
    )
