"""Issues and their comments, as the API answers them."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain import model
from domain.priorities import Priority
from domain.statuses import IssueStatus
from service.answers.common import Answer, Page, Time, Usd, wire, wire_of

__all__ = [
    "Comment",
    "CommentPage",
    "Issue",
    "IssueBudget",
    "IssuePage",
    "RetryPolicy",
    "Spent",
    "comment_answer",
    "comment_json",
    "issue_answer",
    "issue_fields",
    "issue_json",
]


class Spent(Answer):
    usd: Usd | None


class IssueBudget(Answer):
    per_task_usd: Usd | None
    #: The spend of the issue's subtasks (all the way down) counts against ``perTaskUsd``.
    include_subtasks: bool
    #: The issue's own spend (its subtasks' is not added in).
    spent: Spent


class RetryPolicy(Answer):
    """The issue's own retry backoff, in seconds: the first retry waits a uniform draw up to
    ``baseSeconds``, each later one up to twice the one before, never above ``maxSeconds``."""

    base_seconds: int
    max_seconds: int


class Issue(Answer):
    id: str
    company_id: str
    title: str
    description: str | None
    status: IssueStatus
    parent_id: str | None
    assigned_agent_id: str | None
    assigned_team_id: str | None
    budget: IssueBudget
    due_at: Time | None
    labels: list[str]
    dependencies: list[str]
    current_run_id: str | None
    created_at: Time
    updated_at: Time
    version: int
    blocked_by: list[str]
    pending_approvals: list[str]
    attempts: int
    max_attempts: int
    #: Claims and dispatch take higher priority first, then oldest.
    priority: Priority
    #: Nothing claims or dispatches the issue before this time (a retry's backoff, or a
    #: later start asked for at create); null: at once.
    not_before: Time | None
    #: Its own retry backoff; null: the server's (``AGENTQ_RETRY_BASE_S``, ``_MAX_S``).
    retry_policy: RetryPolicy | None
    #: ``cancel`` with ``cascade``: the live children whose cancellation was queued.
    cancelled_children: list[str] | None = None


class Comment(Answer):
    id: str
    issue_id: str
    text: str
    author: str
    created_at: Time


class IssuePage(Page):
    data: list[Issue]


class CommentPage(Page):
    data: list[Comment]


def issue_fields(
    issue: model.Issue, blocked_by: Iterable[str] = (), pending_approvals: Iterable[str] = ()
) -> dict[str, Any]:
    """The fields of an issue's answer (``Issue(**fields)``), nested answers as dicts."""
    return {
        "id": issue.id,
        "company_id": issue.company_id,
        "title": issue.title,
        "description": issue.description,
        "status": issue.status,
        "parent_id": issue.parent_id,
        "assigned_agent_id": issue.assigned_agent_id,
        "assigned_team_id": issue.assigned_team_id,
        "budget": {
            "per_task_usd": issue.budget_per_task_usd,
            "include_subtasks": issue.budget_include_subtasks,
            "spent": {"usd": issue.spent_usd},
        },
        "due_at": issue.due_at,
        "labels": list(issue.labels),
        "dependencies": list(issue.dependencies),
        "current_run_id": issue.current_run_id,
        "created_at": issue.created_at,
        "updated_at": issue.updated_at,
        "version": issue.version,
        "blocked_by": sorted(blocked_by),
        "pending_approvals": list(pending_approvals),
        "attempts": issue.attempts,
        "max_attempts": issue.max_attempts,
        "priority": issue.priority,
        "not_before": issue.not_before,
        "retry_policy": None
        if issue.retry_policy is None
        else {
            "base_seconds": issue.retry_policy.base_seconds,
            "max_seconds": issue.retry_policy.max_seconds,
        },
    }


def issue_answer(
    issue: model.Issue, blocked_by: Iterable[str] = (), pending_approvals: Iterable[str] = ()
) -> Issue:
    return Issue(**issue_fields(issue, blocked_by, pending_approvals))


#: ``wire(Issue(**fields))``, without the model: pages and webhook payloads build many.
_issue_wire = wire_of(Issue)


def issue_json(
    issue: model.Issue, blocked_by: Iterable[str] = (), pending_approvals: Iterable[str] = ()
) -> dict[str, Any]:
    """The issue's answer as JSON goes on the wire: ``wire(issue_answer(...))``."""
    return _issue_wire(issue_fields(issue, blocked_by, pending_approvals))


def comment_answer(row: Mapping[Any, Any]) -> Comment:
    return Comment(
        id=row["id"],
        issue_id=row["issue_id"],
        text=row["text"],
        author=row["author"],
        created_at=row["created_at"],
    )


def comment_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return wire(comment_answer(row))
