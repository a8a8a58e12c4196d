"""Resources as the API shows them, built as their answer models (``service.answers``) and
written as JSON (``wire``): camelCase, RFC 3339 UTC times, exact money."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from typing import Any

from domain.model import Issue
from service.answers import issues as a_issues
from service.answers import org as a_org
from service.answers.common import wire

__all__ = [
    "agent_json",
    "comment_json",
    "company_json",
    "issue_answer",
    "issue_json",
    "team_json",
    "token_json",
]


def issue_answer(
    issue: Issue, blocked_by: Iterable[str] = (), pending_approvals: Iterable[str] = ()
) -> a_issues.Issue:
    return a_issues.Issue(
        id=issue.id,
        company_id=issue.company_id,
        title=issue.title,
        description=issue.description,
        status=issue.status,
        parent_id=issue.parent_id,
        assigned_agent_id=issue.assigned_agent_id,
        assigned_team_id=issue.assigned_team_id,
        budget=a_issues.IssueBudget(
            per_task_usd=issue.budget_per_task_usd,
            spent=a_issues.Spent(usd=issue.spent_usd),
        ),
        due_at=issue.due_at,
        labels=list(issue.labels),
        dependencies=list(issue.dependencies),
        current_run_id=issue.current_run_id,
        created_at=issue.created_at,
        updated_at=issue.updated_at,
        version=issue.version,
        blocked_by=sorted(blocked_by),
        pending_approvals=list(pending_approvals),
        attempts=issue.attempts,
        max_attempts=issue.max_attempts,
    )


def issue_json(
    issue: Issue, blocked_by: Iterable[str] = (), pending_approvals: Iterable[str] = ()
) -> dict[str, Any]:
    return wire(issue_answer(issue, blocked_by, pending_approvals))


def company_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return wire(a_org.Company(id=row["id"], name=row["name"], created_at=row["created_at"]))


def team_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return wire(
        a_org.Team(
            id=row["id"],
            company_id=row["company_id"],
            name=row["name"],
            created_at=row["created_at"],
        )
    )


def agent_json(row: Mapping[Any, Any], team_ids: Iterable[str], active_runs: int) -> dict[str, Any]:
    return wire(
        a_org.Agent(
            id=row["id"],
            company_id=row["company_id"],
            name=row["name"],
            status=row["status"],
            capacity=row["capacity"],
            active_runs=active_runs,
            team_ids=sorted(team_ids),
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
    )


def comment_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return wire(
        a_issues.Comment(
            id=row["id"],
            issue_id=row["issue_id"],
            text=row["text"],
            author=row["author"],
            created_at=row["created_at"],
        )
    )


def token_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return wire(
        a_org.Token(
            id=row["id"],
            company_id=row["company_id"],
            role=row["role"],
            agent_id=row["agent_id"],
            created_at=row["created_at"],
        )
    )
