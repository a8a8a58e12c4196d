"""Keyset pagination on ``(created_at desc, id desc)``: page N costs what page 1 costs.

A cursor the API gives out is a position signed for one list: ``<position>.<mac>``, the
mac an HMAC-SHA256 (128 bits kept) over the list's scope (its path, company and filters)
and the position, keyed with the server's cursor key. A cursor from another list, filter
or company, or one not made by this API, is refused before it reaches a query."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
from collections.abc import Callable, Mapping, Sequence
from datetime import UTC, datetime
from typing import Any
from urllib.parse import urlencode

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import InvalidRequest

__all__ = [
    "DEFAULT_LIMIT",
    "MAX_LIMIT",
    "cursor_key",
    "decode_cursor",
    "encode_cursor",
    "list_scope",
    "open_cursor",
    "page",
    "sign_cursor",
]

DEFAULT_LIMIT = 50
MAX_LIMIT = 200

#: Bytes of the HMAC kept in a cursor (128 bits).
_MAC_BYTES = 16
#: Longest cursor accepted, in characters (a position is an id and a time, or a group key).
_MAX_CURSOR = 1000
_NOT_OURS = "not a cursor this API gave out for this list and these filters"


def list_scope(path: str, params: Mapping[str, str]) -> str:
    """What a cursor is signed for: the list's path (its company and resource) and its
    filters, every query parameter but ``cursor`` and ``limit`` (a limit may change)."""
    filters = sorted((k, v) for k, v in params.items() if k not in {"cursor", "limit"})
    return f"{path}?{urlencode(filters)}"


def cursor_key(secret: str) -> bytes:
    """The key cursors are signed with, derived from a secret every API process shares (the
    operator token): a cursor from one process is good on the others."""
    return hashlib.sha256(b"agentq cursor key\x00" + secret.encode()).digest()


def _mac(key: bytes, scope: str, position: str) -> str:
    digest = hmac.new(key, f"{scope}\n{position}".encode(), hashlib.sha256).digest()
    return base64.urlsafe_b64encode(digest[:_MAC_BYTES]).decode().rstrip("=")


def sign_cursor(key: bytes, scope: str, position: str) -> str:
    """The cursor for ``position`` (base64url, so it holds no ".") in the list ``scope``."""
    return f"{position}.{_mac(key, scope, position)}"


def open_cursor(key: bytes, scope: str, cursor: str) -> str:
    """The position inside a cursor signed for ``scope``; 422 for any other string."""
    position, dot, mac = cursor.rpartition(".")
    if (
        not dot
        or len(cursor) > _MAX_CURSOR
        or not cursor.isascii()
        or not hmac.compare_digest(mac, _mac(key, scope, position))
    ):
        raise InvalidRequest.at(["query", "cursor"], _NOT_OURS)
    return position


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
    *,
    cursor: str | None,
    limit: int,
    render: Callable[[Sequence[Any]], list[dict[str, Any]]],
    order: tuple[sa.ColumnElement[Any], sa.ColumnElement[Any]] | None = None,
) -> dict[str, Any]:
    """Run ``query`` newest first from ``cursor``; ``{"data", "nextCursor", "hasMore"}``.

    ``order``: the (time, id) columns the list is ordered by; by default, the ``created_at``
    and ``id`` of the table the query selects from."""
    if order is None:
        # The table the columns come from (``get_final_froms`` would compile the statement
        # to say: ~0.4 ms, a fifth of a page of 50 issues).
        froms = query.columns_clause_froms
        table = froms[0] if len(froms) == 1 else None
        if not isinstance(table, sa.Table):
            raise TypeError("a list over a join names its order columns")
        order = (table.c.created_at, table.c.id)
    created_at, ident = order
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
