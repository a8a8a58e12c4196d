"""Keyset pagination on ``(created_at desc, id desc)``: page N costs what page 1 costs."""

from __future__ import annotations

import base64
import json
from collections.abc import Callable, Sequence
from datetime import UTC, datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import InvalidRequest

__all__ = ["DEFAULT_LIMIT", "MAX_LIMIT", "decode_cursor", "encode_cursor", "page"]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200


def encode_cursor(at: datetime, ident: str) -> str:
    raw = json.dumps([at.isoformat(), ident], separators=(",", ":")).encode()
    return base64.urlsafe_b64encode(raw).decode().rstrip("=")


def decode_cursor(cursor: str) -> tuple[datetime, str]:
    try:
        raw = base64.urlsafe_b64decode(cursor + "=" * (-len(cursor) % 4))
        at, ident = json.loads(raw)
        when = datetime.fromisoformat(at).astimezone(UTC)
        if not isinstance(ident, str) or "\x00" in ident:
            raise ValueError(cursor)
    except (ValueError, TypeError, OverflowError, RecursionError) as exc:
        raise InvalidRequest.at(["query", "cursor"], "not a cursor this API gave out") from exc
    return when, ident


def page(
    conn: Connection,
    query: sa.Select[Any],
    created_at: sa.ColumnElement[Any],
    ident: sa.ColumnElement[Any],
    *,
    cursor: str | None,
    limit: int,
    render: Callable[[Sequence[Any]], list[dict[str, Any]]],
) -> dict[str, Any]:
    """Run ``query`` newest first from ``cursor``; ``{"data", "nextCursor", "hasMore"}``."""
    if cursor:
        at, last_id = decode_cursor(cursor)
        query = query.where(
            sa.tuple_(created_at, ident) < sa.tuple_(sa.literal(at, created_at.type), last_id)
        )
    rows = conn.execute(query.order_by(created_at.desc(), ident.desc()).limit(limit + 1)).all()
    more = len(rows) > limit
    rows = rows[:limit]
    last = rows[-1] if rows else None
    next_cursor = (
        encode_cursor(last._mapping[str(created_at.key)], last._mapping[str(ident.key)])
        if more and last is not None
        else None
    )
    return {"data": render(rows), "nextCursor": next_cursor, "hasMore": more}
