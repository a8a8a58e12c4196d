"""The event stream's reads: activity entries in stream order, only below the watermark.

An entry's place in the stream is ``(stream_pos, id)`` (``activity.stream_pos``, set by the
database). Entries of concurrent transactions commit in any order, so a reader that went on
"after the last entry it saw" could pass an entry that commits later with a smaller
position. The watermark rules that out (docs/api.md "Event stream" has the argument):

- PostgreSQL: ``stream_pos`` is the writing transaction's id. The watermark is the oldest
  transaction id still running (``pg_snapshot_xmin``), read in a statement *before* the
  entries: every transaction below it had ended before the entries' snapshot was taken, so
  each entry below it is visible to that read and no entry below it can appear later.
- SQLite: one transaction writes at a time and each entry gets its company's largest
  position plus one, so positions commit in order: every committed entry is below it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.reads.activity import Scope, activity_json, in_scope
from service.store import tables as t

__all__ = [
    "Batch",
    "Position",
    "StreamFilter",
    "current_run_agent",
    "read_batch",
    "resume_at",
    "start_at",
]

_XMIN = sa.text("SELECT pg_snapshot_xmin(pg_current_snapshot())::text::bigint")


@dataclass(frozen=True, slots=True)
class Position:
    """A place in the stream: what comes after it is every entry above ``(pos, id)``."""

    pos: int
    id: str


@dataclass(frozen=True, slots=True)
class StreamFilter:
    company_id: str
    issue_id: str | None = None
    type: str | None = None
    scope: Scope = Scope.ISSUE


@dataclass(frozen=True, slots=True)
class Batch:
    #: The entries to send, in stream order (as the wire has them).
    entries: list[dict[str, Any]]
    #: Where the next read starts: past every entry read, sent or filtered out.
    after: Position
    #: Entries above the watermark were seen (committed, but not yet safe to send, or not
    #: yet committed): read again soon.
    held: bool
    #: The page was full: read again at once.
    more: bool


def _watermark(conn: Connection) -> int | None:
    """Entries with a position below this are all committed or never will be; None: all
    that this connection sees are (SQLite)."""
    if conn.dialect.name != "postgresql":
        return None
    return int(conn.execute(_XMIN).scalar_one())


def start_at(conn: Connection, company_id: str) -> Position:
    """The stream's start for a client that names no entry: before every entry not yet
    known to be committed (so whatever commits after this call is sent)."""
    watermark = _watermark(conn)
    if watermark is None:
        c = t.activity.c
        query = sa.select(sa.func.max(c.stream_pos)).where(c.company_id == company_id)
        watermark = int(conn.execute(query).scalar_one() or 0) + 1
    return Position(watermark, "")


def resume_at(conn: Connection, company_id: str, entry_id: str) -> Position | None:
    """The place of the company's entry ``entry_id`` (None: it has no such entry)."""
    c = t.activity.c
    query = sa.select(c.stream_pos).where(c.id == entry_id, c.company_id == company_id)
    pos = conn.execute(query).scalar_one_or_none()
    return None if pos is None else Position(int(pos), entry_id)


def read_batch(conn: Connection, f: StreamFilter, after: Position, limit: int) -> Batch:
    """Up to ``limit`` entries after ``after`` that are safe to send, and where to go on.
    ``type`` and ``scope`` are filtered here rather than in SQL, so that ``after`` moves past
    the entries left out and an idle filtered stream never scans the same rows again."""
    watermark = _watermark(conn)  # first: see the module's docstring
    c = t.activity.c
    query = sa.select(t.activity).where(
        c.company_id == f.company_id, sa.tuple_(c.stream_pos, c.id) > (after.pos, after.id)
    )
    if f.issue_id is not None:
        query = query.where(c.issue_id == f.issue_id)
    rows = conn.execute(query.order_by(c.stream_pos, c.id).limit(limit)).all()
    safe = [r for r in rows if watermark is None or r.stream_pos < watermark]
    held = len(safe) < len(rows)
    if safe:
        after = Position(int(safe[-1].stream_pos), safe[-1].id)
    entries = [
        activity_json(r)
        for r in safe
        if (f.type is None or r.type == f.type) and in_scope(f.scope, r.issue_id)
    ]
    return Batch(entries, after, held, more=not held and len(rows) == limit)


def current_run_agent(conn: Connection, company_id: str, issue_id: str) -> tuple[bool, str | None]:
    """Whether the company has the issue, and the agent of its current run (None: none)."""
    i, r = t.issues.c, t.runs.c
    query = (
        sa.select(i.id, r.agent_id)
        .select_from(t.issues.outerjoin(t.runs, r.id == i.current_run_id))
        .where(i.id == issue_id, i.company_id == company_id)
    )
    row = conn.execute(query).first()
    return (False, None) if row is None else (True, row.agent_id)
