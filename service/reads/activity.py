"""The audit trail: one entry per transition, comment, budget threshold and approval of an
issue, and one per change to the company (``domain.audit``) with no issue."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from enum import StrEnum
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from service.answers.common import wire
from service.answers.oversight import ActivityEntry
from service.reads.pagination import page
from service.store import tables as t

__all__ = ["ActivityFilters", "Scope", "activity_json", "in_scope", "list_activity", "scope_where"]

#: An issue's entry's ``subjectType``.
ISSUE_SUBJECT = "issue"


class Scope(StrEnum):
    """Which entries a read of the trail takes."""

    ISSUE = "issue"  #: an issue's (the default: what the trail held before company entries)
    COMPANY = "company"  #: the company's own: agents, teams, tokens, webhook endpoints, budgets
    ALL = "all"  #: both


@dataclass(frozen=True, slots=True)
class ActivityFilters:
    issue_id: str | None = None
    type: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    scope: Scope = Scope.ISSUE
    subject_id: str | None = None


def in_scope(scope: Scope, issue_id: str | None) -> bool:
    """Whether an entry of ``issue_id`` (None: a company's) is in ``scope``."""
    return scope is Scope.ALL or (scope is Scope.ISSUE) == (issue_id is not None)


def scope_where(scope: Scope) -> sa.ColumnElement[bool] | None:
    """``scope`` as SQL (None: every entry)."""
    c = t.activity.c
    if scope is Scope.ISSUE:
        return c.issue_id.is_not(None)
    if scope is Scope.COMPANY:
        return c.issue_id.is_(None)
    return None


def activity_json(row: Any) -> dict[str, Any]:
    return wire(
        ActivityEntry(
            id=row.id,
            at=row.at,
            issue_id=row.issue_id,
            type=row.type,
            from_status=row.from_status,
            to_status=row.to_status,
            actor=row.actor,
            reason=row.reason,
            version=row.version,
            command_id=row.command_id,
            subject_type=row.subject_type or ISSUE_SUBJECT,
            subject_id=row.subject_id or row.issue_id,
            changes=row.changes,
            not_before=row.not_before,
        )
    )


def list_activity(
    conn: Connection, company_id: str, f: ActivityFilters, cursor: str | None, limit: int
) -> dict[str, Any]:
    """Newest first; ``since`` inclusive, ``until`` exclusive."""
    c = t.activity.c
    query = sa.select(t.activity).where(c.company_id == company_id)
    scoped = scope_where(f.scope)
    if scoped is not None:
        query = query.where(scoped)
    if f.issue_id is not None:
        query = query.where(c.issue_id == f.issue_id)
    if f.subject_id is not None:
        # An issue's entries have it as their subject; a company's, in ``subject_id``.
        query = query.where(sa.or_(c.subject_id == f.subject_id, c.issue_id == f.subject_id))
    if f.type is not None:
        query = query.where(c.type == f.type)
    if f.since is not None:
        query = query.where(c.at >= f.since)
    if f.until is not None:
        query = query.where(c.at < f.until)
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [activity_json(r) for r in rows],
        order=(c.at, c.id),
    )
