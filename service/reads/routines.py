"""Reads of routines and of the issues each created."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import NotFound
from service.answers.routines import routine_json, routine_run_json
from service.reads.pagination import page
from service.store import tables as t

__all__ = ["get_routine", "list_routine_runs", "list_routines"]


def _row(conn: Connection, company_id: str, routine_id: str) -> Any:
    r = t.routines.c
    row = conn.execute(
        sa.select(t.routines).where(r.id == routine_id, r.company_id == company_id)
    ).first()
    if row is None:
        raise NotFound("routine", routine_id)
    return row


def get_routine(conn: Connection, company_id: str, routine_id: str) -> dict[str, Any]:
    return routine_json(_row(conn, company_id, routine_id)._mapping)


def list_routines(
    conn: Connection, company_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    query = sa.select(t.routines).where(t.routines.c.company_id == company_id)
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [routine_json(r._mapping) for r in rows],
    )


def list_routine_runs(
    conn: Connection, company_id: str, routine_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Newest first: the issues the routine's ticks created."""
    _row(conn, company_id, routine_id)
    rr = t.routine_runs.c
    query = sa.select(t.routine_runs).where(rr.routine_id == routine_id)
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [routine_run_json(r._mapping) for r in rows],
        order=(rr.created_at, rr.issue_id),
    )
