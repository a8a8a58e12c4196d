"""Reads of issues (with what each waits on) and their comments."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import NotFound
from domain.model import Issue
from domain.statuses import NON_TERMINAL, IssueStatus
from service.answers import issues as answers
from service.clock import utc_now
from service.reads.pagination import page
from service.store import approvals, repo
from service.store import tables as t

__all__ = [
    "IssueFilters",
    "get_issue",
    "issue_answers",
    "issues_json",
    "list_comments",
    "list_issues",
    "require_issue",
]


def issue_answers(
    conn: Connection, issues: Sequence[Issue], *, new_run: bool = False
) -> list[answers.Issue]:
    """Issues as the API shows them, with what they wait on (dependencies, approvals).
    ``new_run``: their runs have just started, so no approval can be pending yet."""
    blocked, pending = _waits(conn, issues, new_run=new_run)
    return [answers.issue_answer(i, blocked.get(i.id, ()), pending.get(i.id, ())) for i in issues]


def issues_json(
    conn: Connection, issues: Sequence[Issue], *, new_run: bool = False
) -> list[dict[str, Any]]:
    """``issue_answers`` as JSON goes on the wire (without building the models)."""
    blocked, pending = _waits(conn, issues, new_run=new_run)
    return [answers.issue_json(i, blocked.get(i.id, ()), pending.get(i.id, ())) for i in issues]


def _waits(
    conn: Connection, issues: Sequence[Issue], *, new_run: bool
) -> tuple[dict[str, list[str]], dict[str, list[str]]]:
    """What each issue waits on: its dependencies not done, its pending approvals."""
    blocked = repo.blocked_by(conn, [i.id for i in issues if i.dependencies])
    running = [] if new_run else [i.id for i in issues if i.status is IssueStatus.RUNNING]
    pending = approvals.pending_approvals(conn, running) if running else {}
    return blocked, pending


def get_issue(conn: Connection, company_id: str, issue_id: str) -> dict[str, Any]:
    issue = repo.load_issue(conn, company_id, issue_id)
    if issue is None:
        raise NotFound("issue", issue_id)
    return issues_json(conn, [issue])[0]


@dataclass(frozen=True, slots=True)
class IssueFilters:
    """The list filters of ``GET /issues``; ``parent`` of ``""`` means top-level only."""

    statuses: tuple[str, ...] = ()
    agent: str | None = None
    team: str | None = None
    parent: str | None = None
    label: str | None = None
    since: datetime | None = None
    until: datetime | None = None
    #: True: live issues past their ``due_at`` at the time of the read; False: the others.
    overdue: bool | None = None


def list_issues(
    conn: Connection, company_id: str, f: IssueFilters, cursor: str | None, limit: int
) -> dict[str, Any]:
    c = t.issues.c
    query = sa.select(t.issues).where(c.company_id == company_id)
    if f.statuses:
        query = query.where(c.status.in_(f.statuses))
    if f.agent is not None:
        query = query.where(c.assigned_agent_id == f.agent)
    if f.team is not None:
        query = query.where(c.assigned_team_id == f.team)
    if f.parent == "":
        query = query.where(c.parent_id.is_(None))
    elif f.parent is not None:
        query = query.where(c.parent_id == f.parent)
    if f.label is not None:
        query = query.where(
            sa.exists().where(t.issue_labels.c.issue_id == c.id, t.issue_labels.c.label == f.label)
        )
    if f.since is not None:
        query = query.where(c.created_at >= f.since)
    if f.until is not None:
        query = query.where(c.created_at < f.until)
    if f.overdue is not None:
        late = (
            c.due_at.is_not(None)
            & c.status.in_(sorted(s.value for s in NON_TERMINAL))
            & (c.due_at <= utc_now())
        )
        query = query.where(late if f.overdue else ~late)
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: issues_json(conn, repo.issues_from_rows(rows)),
    )


def require_issue(conn: Connection, company_id: str, issue_id: str) -> None:
    """404 unless the issue is this company's (before reading what hangs from it)."""
    found = conn.execute(
        sa.select(t.issues.c.id).where(
            t.issues.c.id == issue_id, t.issues.c.company_id == company_id
        )
    ).first()
    if found is None:
        raise NotFound("issue", issue_id)


def list_comments(
    conn: Connection, company_id: str, issue_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    require_issue(conn, company_id, issue_id)
    query = sa.select(t.comments).where(t.comments.c.issue_id == issue_id)
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [answers.comment_json(r._mapping) for r in rows],
    )
