"""Bulk operations: one operation over many issues, applied issue by issue."""

from __future__ import annotations

from enum import StrEnum

__all__ = ["BulkOp", "BulkStatus"]


class BulkOp(StrEnum):
    """What a bulk does to each of its issues (the command each one becomes)."""

    ASSIGN = "assign"
    CANCEL = "cancel"
    REASSIGN = "reassign"


class BulkStatus(StrEnum):
    RUNNING = "running"  #: recorded; its issues are being applied
    DONE = "done"  #: every issue has its outcome
