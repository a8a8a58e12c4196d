"""Bulk jobs, as the API answers them."""

from __future__ import annotations

from typing import Literal

from domain.bulk import BulkOp, BulkStatus
from service.answers.common import Answer, Problem

__all__ = [
    "BulkJob",
    "BulkResult",
    "BulkStarted",
]


class BulkResult(Answer):
    id: str
    ok: bool
    #: ``ok``: the issue's new status.
    status: str | None = None
    #: not ``ok``: why this one failed.
    error: Problem | None = None


class BulkJob(Answer):
    id: str
    status: BulkStatus
    op: BulkOp | None = None
    total: int
    succeeded: int | None = None
    failed: int | None = None
    #: Once ``done``: the outcome of each id, in the order of ``ids``.
    results: list[BulkResult] | None = None


class BulkStarted(Answer):
    """Accepted: the bulk goes on; `Location` is `GET …/bulk/{id}`."""

    id: str
    status: Literal["running"]
    total: int
