"""Cost events and their hourly roll-ups: written with each report, read by ``GET /costs``.

A report inserts one ``cost_events`` row and adds itself to one ``cost_rollups`` row per
key it counts under (its issue, its agent, the issue's team, each of the issue's labels,
and the company ``total``) for the hour it happened in. A roll-up query then reads
(keys x hours) index rows, however many events there are.
"""

from __future__ import annotations

import base64
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from domain.costs import CostDimension
from domain.errors import InvalidRequest
from domain.model import Issue
from domain.money import from_micros
from domain.runs import Run
from service.answers.common import fmt_time, money
from service.db import tables as t

__all__ = ["DIMENSIONS", "CostRecord", "cost_rollup", "record_cost", "whole_hour"]

#: ``groupBy`` values and the dimension each reads (every dimension but the ``total``).
DIMENSIONS = tuple(d.value for d in CostDimension if d is not CostDimension.TOTAL)
#: The key of "no team" / "no label" in storage (shown as ``null``).
NONE_KEY = ""


@dataclass(frozen=True, slots=True)
class CostRecord:
    cost_id: str
    company_id: str
    issue: Issue
    run: Run
    usd_micros: int
    input_tokens: int
    output_tokens: int
    model: str | None
    at: datetime


def whole_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _upsert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
        t.cost_rollups
    )


def record_cost(conn: Connection, record: CostRecord) -> None:
    """The event and its roll-ups, in the report's transaction."""
    issue = record.issue
    amounts = {
        "usd_micros": record.usd_micros,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
    }
    conn.execute(
        t.cost_events.insert().values(
            id=record.cost_id,
            company_id=record.company_id,
            issue_id=issue.id,
            run_id=record.run.id,
            agent_id=record.run.agent_id,
            team_id=issue.assigned_team_id,
            labels=sorted(set(issue.labels)),
            model=record.model,
            at=record.at,
            **amounts,
        )
    )
    dim = CostDimension
    keys = {
        (dim.ISSUE.value, issue.id),
        (dim.AGENT.value, record.run.agent_id),
        (dim.TEAM.value, issue.assigned_team_id or NONE_KEY),
        (dim.TOTAL.value, NONE_KEY),
        *((dim.LABEL.value, label) for label in issue.labels or (NONE_KEY,)),
    }
    hour = whole_hour(record.at)
    # One statement, rows in key order: concurrent reports lock shared rows (the total, a
    # team, a label) in the same order, so they queue instead of deadlocking.
    rows = [
        {"company_id": record.company_id, "dimension": d, "key": k, "hour": hour, **amounts}
        for d, k in sorted(keys)
    ]
    insert = _upsert(conn)
    excluded = insert.excluded
    c = t.cost_rollups.c
    conn.execute(
        insert.values([{**row, "reports": 1} for row in rows]).on_conflict_do_update(
            index_elements=[c.company_id, c.dimension, c.key, c.hour],
            set_={
                "usd_micros": c.usd_micros + excluded.usd_micros,
                "input_tokens": c.input_tokens + excluded.input_tokens,
                "output_tokens": c.output_tokens + excluded.output_tokens,
                "reports": c.reports + excluded.reports,
            },
        )
    )


def _encode_key(key: str) -> str:
    return base64.urlsafe_b64encode(key.encode()).decode().rstrip("=") or "-"


def _decode_key(cursor: str) -> str:
    try:
        if cursor == "-":
            return NONE_KEY
        return base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4)).decode()
    except ValueError as exc:
        raise InvalidRequest.at(["query", "cursor"], "not a cursor this API gave out") from exc


def _sums(columns: Any) -> list[Any]:
    return [
        sa.func.sum(columns.usd_micros).label("usd_micros"),
        sa.func.sum(columns.input_tokens).label("input_tokens"),
        sa.func.sum(columns.output_tokens).label("output_tokens"),
        sa.func.sum(columns.reports).label("reports"),
    ]


def _amounts(row: Any) -> dict[str, Any]:
    return {
        "usd": money(from_micros(int(row.usd_micros or 0))),
        "inputTokens": int(row.input_tokens or 0),
        "outputTokens": int(row.output_tokens or 0),
        "reports": int(row.reports or 0),
    }


def cost_rollup(
    conn: Connection,
    company_id: str,
    group_by: str,
    since: datetime | None,
    until: datetime | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """Sums per key of ``group_by`` over ``[since, until)`` (whole hours), in key order."""
    c = t.cost_rollups.c
    window = [c.company_id == company_id]
    if since is not None:
        window.append(c.hour >= since)
    if until is not None:
        window.append(c.hour < until)
    query = sa.select(c.key, *_sums(c)).where(c.dimension == group_by, *window)
    if cursor:
        query = query.where(c.key > _decode_key(cursor))
    rows = conn.execute(query.group_by(c.key).order_by(c.key).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    total = conn.execute(
        sa.select(*_sums(c)).where(c.dimension == CostDimension.TOTAL, *window)
    ).one()
    return {
        "groupBy": group_by,
        "since": fmt_time(since),
        "until": fmt_time(until),
        "total": _amounts(total),
        "data": [{"key": row.key or None, **_amounts(row)} for row in rows],
        "nextCursor": _encode_key(rows[-1].key) if more and rows else None,
        "hasMore": more,
    }
