"""Reads of an issue's runs, each with its full lease history."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import NotFound
from service.answers.common import wire
from service.answers.runs import run_answer
from service.reads.issues import require_issue
from service.reads.pagination import page
from service.store import runs as runs_db
from service.store import tables as t

__all__ = ["get_run", "list_runs", "runs_json"]


def runs_json(conn: Connection, rows: Sequence[Any]) -> list[dict[str, Any]]:
    """Stored runs (their rows) as the API shows them, each with its full lease history."""
    history = runs_db.lease_history(conn, [r.id for r in rows])
    return [wire(run_answer(row, history[row.id])) for row in rows]


def list_runs(
    conn: Connection, company_id: str, issue_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    require_issue(conn, company_id, issue_id)
    query = sa.select(t.runs).where(t.runs.c.issue_id == issue_id)
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: runs_json(conn, rows),
        order=(t.runs.c.started_at, t.runs.c.id),
    )


def get_run(conn: Connection, company_id: str, issue_id: str, run_id: str) -> dict[str, Any]:
    require_issue(conn, company_id, issue_id)
    row = conn.execute(
        sa.select(t.runs).where(t.runs.c.id == run_id, t.runs.c.issue_id == issue_id)
    ).first()
    if row is None:
        raise NotFound("run", run_id)
    return runs_json(conn, [row])[0]
