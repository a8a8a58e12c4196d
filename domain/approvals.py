"""Approvals: a running agent asks a human before an action; the human approves or rejects.

An approval belongs to one run. While any approval of a run is pending its lease does not
expire (the agent is waiting on a human, not dead). An approval nobody decides by its
``expires_at`` expires (``approval.expired``): the agent hears of it at its next checkpoint
like a decision, and the lease is no longer held open by it. When the run ends, for any
reason, its pending approvals expire too: nobody is left to act on the answer.
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from enum import StrEnum
from typing import Any

from domain.actors import Actor
from domain.errors import DomainError
from domain.events import (
    ApprovalApproved,
    ApprovalExpired,
    ApprovalRejected,
    ApprovalRequested,
    IssueEvent,
)
from domain.model import Issue
from domain.runs import Run

__all__ = [
    "DEFAULT_EXPIRES_IN_S",
    "MAX_EXPIRES_IN_S",
    "Approval",
    "ApprovalNotPending",
    "ApprovalStatus",
    "decide_approval",
    "expire_approval",
    "request_approval",
]

#: The longest ``expiresInSeconds`` a request may ask for: 30 days.
MAX_EXPIRES_IN_S = 30 * 24 * 3600
#: How long an approval waits when nothing else says (``AGENTQ_APPROVAL_TIMEOUT_S``): 1 hour.
DEFAULT_EXPIRES_IN_S = 3600


class ApprovalStatus(StrEnum):
    PENDING = "pending"  #: waiting for a human
    APPROVED = "approved"
    REJECTED = "rejected"
    EXPIRED = "expired"  #: nobody decided in time, or the run ended first


class ApprovalNotPending(DomainError):
    """Only a pending approval can be decided (409, with the approval's ``currentStatus``)."""

    code = "invalid_transition"

    def __init__(self, approval: Approval) -> None:
        why = (
            " (nobody decided in time, or its run ended)"
            if approval.status is ApprovalStatus.EXPIRED
            else ""
        )
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
    #: When it expires if nobody decides (None: requested before approvals expired).
    expires_at: datetime | None = None


def request_approval(
    issue: Issue,
    run: Run,
    *,
    approval_id: str,
    action: str,
    details: dict[str, Any] | None,
    now: datetime,
    expires_in_s: int = DEFAULT_EXPIRES_IN_S,
) -> tuple[Approval, IssueEvent]:
    """A new pending approval of ``run`` (whose lease the caller has checked), expiring
    ``expires_in_s`` seconds from ``now`` if nobody decides."""
    approval = Approval(
        approval_id,
        issue.id,
        run.id,
        run.agent_id,
        action,
        details,
        ApprovalStatus.PENDING,
        now,
        expires_at=now + timedelta(seconds=expires_in_s),
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


def expire_approval(
    approval: Approval, issue: Issue, *, actor: str, now: datetime
) -> tuple[Approval, IssueEvent] | None:
    """``pending`` past its ``expires_at`` → ``expired``; None when it is not (decided
    meanwhile, or not due yet: the sweep that sent this was early or late)."""
    if approval.status is not ApprovalStatus.PENDING:
        return None
    if approval.expires_at is None or approval.expires_at > now:
        return None
    expired = replace(approval, status=ApprovalStatus.EXPIRED, decided_by=actor, decided_at=now)
    event = ApprovalExpired(
        issue.id, issue.status, issue.status, issue.version, actor, approval.action
    )
    return expired, event


def expire_with_run(
    approval: Approval, issue: Issue, *, run_exit: str, actor: str
) -> tuple[Approval, IssueEvent] | None:
    """``pending`` → ``expired`` because its run ended (``run_exit`` its exit reason): nobody
    is left to act on a decision. ``issue`` is the issue after the run ended. None when the
    approval is no longer pending. Nobody decided it: ``decided_by`` and ``decided_at`` stay
    unset; ``actor`` (who ended the run) is the event's."""
    if approval.status is not ApprovalStatus.PENDING:
        return None
    expired = replace(approval, status=ApprovalStatus.EXPIRED)
    event = ApprovalExpired(
        issue.id,
        issue.status,
        issue.status,
        issue.version,
        actor,
        f"{approval.action} (the run ended: {run_exit})",
    )
    return expired, event
