"""Approvals: a running agent asks a human before an action; the human approves or rejects.

An approval belongs to one run. While any approval of a run is pending its lease does not
expire (the agent is waiting on a human, not dead). When the run ends, for any reason, its
pending approvals expire: nobody is left to act on the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from enum import StrEnum
from typing import Any

from domain.actors import Actor
from domain.errors import DomainError
from domain.events import ApprovalApproved, ApprovalRejected, ApprovalRequested, IssueEvent
from domain.model import Issue
from domain.runs import Run

__all__ = [
    "Approval",
    "ApprovalNotPending",
    "ApprovalStatus",
    "decide_approval",
    "request_approval",
]


class ApprovalStatus(StrEnum):
    PENDING = "pending"  #: waiting for a human
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  #: the run ended before anyone decided


class ApprovalNotPending(DomainError):
    """Only a pending approval can be decided (409, with the approval's ``currentStatus``)."""

    code = "invalid_transition"

    def __init__(self, approval: Approval) -> None:
        why = " (its run ended)" if approval.status is ApprovalStatus.EXPIRED else ""
        super().__init__(
            f"approval {approval.id} is already {approval.status}{why}",
            currentStatus=str(approval.status),
        )


@dataclass(frozen=True, slots=True)
class Approval:
    id: str
    issue_id: str
    run_id: str
    agent_id: str
    action: str
    details: dict[str, Any] | None
    status: ApprovalStatus
    created_at: datetime
    comment: str | None = None
    decided_by: str | None = None
    decided_at: datetime | None = None


def request_approval(
    issue: Issue,
    run: Run,
    *,
    approval_id: str,
    action: str,
    details: dict[str, Any] | None,
    now: datetime,
) -> tuple[Approval, IssueEvent]:
    """A new pending approval of ``run`` (whose lease the caller has checked)."""
    approval = Approval(
        approval_id,
        issue.id,
        run.id,
        run.agent_id,
        action,
        details,
        ApprovalStatus.PENDING,
        now,
    )
    actor = str(Actor.agent(run.agent_id))
    event = ApprovalRequested(issue.id, issue.status, issue.status, issue.version, actor, action)
    return approval, event


def decide_approval(
    approval: Approval,
    issue: Issue,
    *,
    approve: bool,
    actor: str,
    comment: str | None,
    now: datetime,
) -> tuple[Approval, IssueEvent]:
    """``pending`` → ``approved`` or ``rejected``; anything else is refused."""
    if approval.status is not ApprovalStatus.PENDING:
        raise ApprovalNotPending(approval)
    status = ApprovalStatus.APPROVED if approve else ApprovalStatus.REJECTED
    decided = replace(approval, status=status, comment=comment, decided_by=actor, decided_at=now)
    event_type = ApprovalApproved if approve else ApprovalRejected
    reason = approval.action if comment is None else f"{approval.action}: {comment}"
    event = event_type(issue.id, issue.status, issue.status, issue.version, actor, reason)
    return decided, event
