"""What the MCP server's tools answer, as text a model reads: issues with their comments and
dependencies, approvals, what a checkpoint brought, why a run is over."""

from __future__ import annotations

import json
from collections.abc import Iterable, Sequence
from decimal import Decimal
from typing import Any

from agentq_client._work_common import InboxItem
from agentq_client.models import Approval, Comment, Issue

__all__ = [
    "approval_text",
    "issue_line",
    "issue_text",
    "money",
    "news_text",
    "stop_notice",
    "stop_phrase",
]

#: Why a run ended, as a model should hear it (the API's ``stopReason`` values).
STOP_PHRASES = {
    "cancelled": "the issue was cancelled by a human",
    "reassigned": "the issue was reassigned to someone else",
    "lease_expired": "its lease expired",
    "budget_exceeded": "its budget is spent",
    "dependency_failed": "an issue it depends on failed or was cancelled",
    "stale_lease": "the lease is no longer the current one",
    "session_ended": "the MCP session ended",
}
#: How the agent itself ended a run (``AsyncWork.ended``).
END_PHRASES = {
    "completed": "you completed it: it went to review",
    "failed": "you failed it",
    "handoff": "you handed it off to a human",
}


def stop_phrase(reason: str) -> str:
    return STOP_PHRASES.get(reason, reason.replace("_", " "))


def stop_notice(issue_id: str, reason: str) -> str:
    """What every tool result says once the server stopped the run, so the model stops."""
    return (
        f"THE RUN IS OVER ({reason}: {stop_phrase(reason)}). Stop working on issue "
        f"{issue_id}: anything more you do for it is not recorded. Call claim_next_issue "
        "for the next issue."
    )


def _json(value: Any) -> str:
    return json.dumps(value, ensure_ascii=False, sort_keys=True, default=str)


def issue_line(issue: Issue) -> str:
    """One line of a list: id, status, who has it, title."""
    who = issue.assigned_agent_id or issue.assigned_team_id or "unassigned"
    labels = f" [{', '.join(issue.labels)}]" if issue.labels else ""
    return f"- {issue.id} ({issue.status}, {who}){labels}: {issue.title}"


def money(amount: Decimal | None) -> str:
    """Money as people write it: ``$2.50``, ``$0.0042`` (every place the API kept)."""
    whole, _, cents = format(amount or Decimal(0), "f").partition(".")
    return f"${whole}.{cents.ljust(2, '0')}"


def _budget(issue: Issue) -> str:
    spent = money(issue.budget.spent.usd)
    if issue.budget.per_task_usd is None:
        return f"no budget ({spent} spent)"
    return f"{money(issue.budget.per_task_usd)} per task, {spent} spent"


def comment_line(comment: Comment) -> str:
    return f"- {comment.author} at {comment.created_at:%Y-%m-%d %H:%M:%S}Z: {comment.text}"


def issue_text(
    issue: Issue,
    comments: Sequence[Comment] = (),
    dependencies: Sequence[Issue] = (),
    *,
    more_comments: bool = False,
) -> str:
    """The whole issue as a model reads it: what to do, its state, what humans said."""
    lines = [
        f"# {issue.title}",
        f"Issue {issue.id}, status {issue.status}, version {issue.version}",
        f"Labels: {', '.join(issue.labels) or 'none'}",
        f"Budget: {_budget(issue)}",
        f"Attempt {issue.attempts} of at most {issue.max_attempts}",
    ]
    if issue.assigned_agent_id or issue.assigned_team_id:
        lines.append(f"Assigned to: {issue.assigned_agent_id or issue.assigned_team_id}")
    if issue.parent_id:
        lines.append(f"Parent issue: {issue.parent_id}")
    if issue.due_at is not None:
        lines.append(f"Due: {issue.due_at.isoformat()}")
    if issue.pending_approvals:
        lines.append(f"Pending approvals: {', '.join(issue.pending_approvals)}")
    lines += ["", "## Description", issue.description or "(none)"]
    if issue.dependencies:
        lines += ["", "## Dependencies (issues this one waits for)"]
        known = {dep.id: dep for dep in dependencies}
        for dep_id in issue.dependencies:
            dep = known.get(dep_id)
            lines.append(f"- {dep_id}: unknown" if dep is None else issue_line(dep))
        if issue.blocked_by:
            lines.append(f"Blocked by (not done yet): {', '.join(issue.blocked_by)}")
    shown = f"the latest {len(comments)}, oldest first" if more_comments else str(len(comments))
    lines += ["", f"## Comments ({shown})"]
    lines += [comment_line(c) for c in comments] or ["(none)"]
    return "\n".join(lines)


def approval_text(approval: Approval) -> str:
    details = f" details {_json(approval.details)}" if approval.details else ""
    head = f"- {approval.id} ({approval.status}): {approval.action!r}{details}"
    where = f" on {approval.issue_id}, run {approval.run_id}, agent {approval.agent_id}"
    decided = ""
    if approval.decided_by is not None:
        note = f": {approval.comment}" if approval.comment else ""
        decided = f"; decided by {approval.decided_by}{note}"
    return head + where + decided


def news_text(items: Iterable[InboxItem]) -> str:
    """Comments and approval decisions that arrived since the model last heard (the
    heartbeat's checkpoints bring them); empty when there are none."""
    lines: list[str] = []
    for item in items:
        if isinstance(item, Comment):
            lines.append("New comment " + comment_line(item)[2:])
        else:
            note = f" ({item.comment})" if item.comment else ""
            lines.append(
                f"Approval {item.id} for {item.action!r} was {item.status} "
                f"by {item.decided_by}{note}."
            )
    return "\n".join(lines)
