"""Reads of bulk operations: how far one has got, and each id's outcome once done."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.bulk import BulkStatus
from domain.errors import NotFound
from service.answers.bulk import BulkJob, BulkResult
from service.answers.common import wire
from service.store import tables as t

__all__ = ["bulk_json", "get_bulk"]


def bulk_json(conn: Connection, job: Any) -> dict[str, Any]:
    """A bulk job; once done, with the outcome of each id (stored as ``ok`` and the issue's
    status, or the problem), in the order of its ``ids``."""
    answer = BulkJob(
        id=job.id,
        status=job.status,
        op=job.op,
        total=job.total,
        succeeded=job.succeeded,
        failed=job.failed,
    )
    if job.status == BulkStatus.DONE:
        rows = conn.execute(
            sa.select(t.bulk_items.c.issue_id, t.bulk_items.c.outcome)
            .where(t.bulk_items.c.bulk_id == job.id)
            .order_by(t.bulk_items.c.position)
        )
        answer.results = [
            BulkResult.model_validate({"id": issue_id, **outcome}) for issue_id, outcome in rows
        ]
    return wire(answer)


def get_bulk(conn: Connection, company_id: str, bulk_id: str) -> dict[str, Any]:
    job = conn.execute(
        sa.select(t.bulk_jobs).where(
            t.bulk_jobs.c.id == bulk_id, t.bulk_jobs.c.company_id == company_id
        )
    ).first()
    if job is None:
        raise NotFound("bulk", bulk_id)
    return bulk_json(conn, job)
