"""The activity log's rows: one per issue event or company audit entry, and their insert."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from domain.audit import AuditEntry
from domain.events import IssueEvent
from service.kinds import ACTIVITY
from service.store import tables as t

__all__ = ["activity_rows", "audit_row", "insert_activity"]

# Built once (``service.store.repo`` says why): given no ``.values()``, it takes its columns
# from the rows it is executed with.
_INSERT_ACTIVITY = t.activity.insert()


def activity_rows(
    company_id: str, events: Sequence[IssueEvent], *, at: datetime, command_id: str | None
) -> list[dict[str, Any]]:
    """One activity entry per event, as rows of ``activity``."""
    return [
        {
            "id": ACTIVITY.new_id(),
            "company_id": company_id,
            "issue_id": e.issue_id,
            "at": at,
            "type": e.type,
            "from_status": None if e.from_status is None else e.from_status.value,
            "to_status": e.to_status.value,
            "actor": e.actor,
            "reason": e.reason,
            "version": e.version,
            "command_id": command_id,
            "subject_type": None,
            "subject_id": None,
            "changes": None,
            "not_before": e.not_before,
        }
        for e in events
    ]


def audit_row(
    company_id: str, entry: AuditEntry, *, at: datetime, command_id: str | None
) -> dict[str, Any]:
    """A company's activity entry (``domain.audit``) as a row of ``activity``: about no issue,
    so with no status or version; the same keys as ``activity_rows``' (one statement writes
    both kinds)."""
    return {
        "id": ACTIVITY.new_id(),
        "company_id": company_id,
        "issue_id": None,
        "at": at,
        "type": entry.type.value,
        "from_status": None,
        "to_status": None,
        "actor": entry.actor,
        "reason": entry.reason,
        "version": None,
        "command_id": command_id,
        "subject_type": entry.type.subject.value,
        "subject_id": entry.subject_id,
        "changes": entry.changes,
        "not_before": None,
    }


def insert_activity(conn: Connection, rows: Sequence[dict[str, Any]]) -> None:
    if rows:
        conn.execute(_INSERT_ACTIVITY, list(rows))
