"""The cost roll-up ``GET /costs`` reads: sums per team, agent, label or model, per window.

Reads the hourly ``cost_rollups`` rows ``service.store.costs`` keeps; its cursor is the last
key shown (base64url), since groups are in key order.
"""

from __future__ import annotations

import base64
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.costs import CostDimension
from domain.errors import InvalidRequest
from domain.money import from_micros
from service.answers.common import wire
from service.answers.oversight import Amounts, CostGroup, CostRollup
from service.store import tables as t
from service.store.costs import NONE_KEY

__all__ = ["cost_rollup"]


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
        "usd": from_micros(int(row.usd_micros or 0)),
        "input_tokens": int(row.input_tokens or 0),
        "output_tokens": int(row.output_tokens or 0),
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
    return wire(
        CostRollup(
            group_by=group_by,
            since=since,
            until=until,
            total=Amounts(**_amounts(total)),
            data=[CostGroup(key=row.key or None, **_amounts(row)) for row in rows],
            next_cursor=_encode_key(rows[-1].key) if more and rows else None,
            has_more=more,
        )
    )
