"""Resources as the API shows them: camelCase JSON, RFC 3339 UTC times, exact money."""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from datetime import UTC, datetime
from decimal import Decimal
from typing import Any

from domain.model import Issue

__all__ = [
    "agent_json",
    "comment_json",
    "company_json",
    "fmt_time",
    "issue_json",
    "money",
    "team_json",
    "token_json",
]


def fmt_time(value: datetime | None) -> str | None:
    """``2026-04-11T08:14:00.123Z``: UTC, milliseconds, ``Z``."""
    if value is None:
        return None
    return value.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def money(value: Decimal | None) -> float | int | None:
    """A JSON number with the decimal's exact digits (money has at most 6 decimal places)."""
    if value is None:
        return None
    return int(value) if value == value.to_integral_value() else float(value)


def issue_json(
    issue: Issue, blocked_by: Iterable[str] = (), pending_approvals: Iterable[str] = ()
) -> dict[str, Any]:
    return {
        "id": issue.id,
        "companyId": issue.company_id,
        "title": issue.title,
        "description": issue.description,
        "status": str(issue.status),
        "parentId": issue.parent_id,
        "assignedAgentId": issue.assigned_agent_id,
        "assignedTeamId": issue.assigned_team_id,
        "budget": {
            "perTaskUsd": money(issue.budget_per_task_usd),
            "spent": {"usd": money(issue.spent_usd)},
        },
        "dueAt": fmt_time(issue.due_at),
        "labels": list(issue.labels),
        "dependencies": list(issue.dependencies),
        "currentRunId": issue.current_run_id,
        "createdAt": fmt_time(issue.created_at),
        "updatedAt": fmt_time(issue.updated_at),
        "version": issue.version,
        "blockedBy": sorted(blocked_by),
        "pendingApprovals": list(pending_approvals),
        "attempts": issue.attempts,
        "maxAttempts": issue.max_attempts,
    }


def company_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {"id": row["id"], "name": row["name"], "createdAt": fmt_time(row["created_at"])}


def team_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "companyId": row["company_id"],
        "name": row["name"],
        "createdAt": fmt_time(row["created_at"]),
    }


def agent_json(row: Mapping[Any, Any], team_ids: Iterable[str], active_runs: int) -> dict[str, Any]:
    return {
        "id": row["id"],
        "companyId": row["company_id"],
        "name": row["name"],
        "status": row["status"],
        "capacity": row["capacity"],
        "activeRuns": active_runs,
        "teamIds": sorted(team_ids),
        "createdAt": fmt_time(row["created_at"]),
        "updatedAt": fmt_time(row["updated_at"]),
    }


def comment_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "issueId": row["issue_id"],
        "text": row["text"],
        "author": row["author"],
        "createdAt": fmt_time(row["created_at"]),
    }


def token_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "companyId": row["company_id"],
        "role": row["role"],
        "agentId": row["agent_id"],
        "createdAt": fmt_time(row["created_at"]),
    }
