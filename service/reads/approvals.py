"""Reads of approvals: one, or a company's, filtered."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.answers.runs import approval_json
from service.reads.pagination import page
from service.store import tables as t
from service.store.approvals import approval_from_row, load_approval

__all__ = ["get_approval", "list_approvals"]

A = t.approvals.c


def get_approval(conn: Connection, company_id: str, approval_id: str) -> dict[str, Any]:
    return approval_json(load_approval(conn, company_id, approval_id))


def list_approvals(
    conn: Connection,
    company_id: str,
    status: str | None,
    issue_id: str | None,
    agent_id: str | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    query = sa.select(t.approvals).where(A.company_id == company_id)
    if status is not None:
        query = query.where(A.status == status)
    if issue_id is not None:
        query = query.where(A.issue_id == issue_id)
    if agent_id is not None:
        query = query.where(A.agent_id == agent_id)
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [approval_json(approval_from_row(r)) for r in rows],
    )
