"""Approval rows: loading, writing, and what a checkpoint shows of them."""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.approvals import Approval, ApprovalStatus
from domain.errors import NotFound
from service.store import tables as t

__all__ = [
    "approval_from_row",
    "approval_issue_id",
    "insert_approval",
    "load_approval",
    "pending_approvals",
    "pending_of_run",
    "save_decision",
    "shown_at_checkpoint",
]

A = t.approvals.c


def approval_from_row(row: Any) -> Approval:
    return Approval(
        id=row.id,
        issue_id=row.issue_id,
        run_id=row.run_id,
        agent_id=row.agent_id,
        action=row.action,
        details=row.details,
        status=ApprovalStatus(row.status),
        created_at=row.created_at,
        comment=row.comment,
        decided_by=row.decided_by,
        decided_at=row.decided_at,
        expires_at=row.expires_at,
    )


def insert_approval(conn: Connection, company_id: str, approval: Approval) -> None:
    conn.execute(
        t.approvals.insert().values(
            id=approval.id,
            company_id=company_id,
            issue_id=approval.issue_id,
            run_id=approval.run_id,
            agent_id=approval.agent_id,
            action=approval.action,
            details=approval.details,
            status=approval.status.value,
            created_at=approval.created_at,
            expires_at=approval.expires_at,
        )
    )


def save_decision(conn: Connection, approval: Approval) -> None:
    conn.execute(
        t.approvals.update()
        .where(A.id == approval.id)
        .values(
            status=approval.status.value,
            comment=approval.comment,
            decided_by=approval.decided_by,
            decided_at=approval.decided_at,
        )
    )


def pending_of_run(conn: Connection, run_id: str) -> list[Approval]:
    """The run's approvals still pending (oldest first)."""
    rows = conn.execute(
        sa.select(t.approvals)
        .where(A.run_id == run_id, A.status == ApprovalStatus.PENDING.value)
        .order_by(A.created_at, A.id)
    )
    return [approval_from_row(row) for row in rows]


def load_approval(conn: Connection, company_id: str, approval_id: str) -> Approval:
    row = conn.execute(
        sa.select(t.approvals).where(A.id == approval_id, A.company_id == company_id)
    ).first()
    if row is None:
        raise NotFound("approval", approval_id)
    return approval_from_row(row)


def approval_issue_id(conn: Connection, company_id: str, approval_id: str) -> str:
    """The issue an approval belongs to (its decision is applied on that issue's shard)."""
    return load_approval(conn, company_id, approval_id).issue_id


def pending_approvals(conn: Connection, issue_ids: Iterable[str]) -> dict[str, list[str]]:
    """Issue id -> ids of its pending approvals (only issues that have some)."""
    ids = list(issue_ids)
    result: dict[str, list[str]] = {}
    if ids:
        rows = conn.execute(
            sa.select(A.issue_id, A.id)
            .where(A.issue_id.in_(ids), A.status == ApprovalStatus.PENDING.value)
            .order_by(A.created_at, A.id)
        )
        for issue_id, approval_id in rows:
            result.setdefault(issue_id, []).append(approval_id)
    return result


def shown_at_checkpoint(conn: Connection, run_id: str, now: datetime) -> list[Approval]:
    """What a checkpoint tells the agent: its run's pending approvals, and each decision it
    has not been shown yet (then marked shown: a decision is delivered once)."""
    rows = conn.execute(
        sa.select(t.approvals)
        .where(
            A.run_id == run_id,
            (A.status == ApprovalStatus.PENDING.value) | A.seen_at.is_(None),
        )
        .order_by(A.created_at, A.id)
    ).all()
    decided = [r.id for r in rows if r.status != ApprovalStatus.PENDING.value]
    if decided:
        conn.execute(t.approvals.update().where(A.id.in_(decided)).values(seen_at=now))
    return [approval_from_row(r) for r in rows]
