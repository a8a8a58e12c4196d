"""Runs, leases, approvals and the agent loop's answers (claim, checkpoint)."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

from domain import approvals as approval_rules
from domain import runs as domain
from domain.approvals import ApprovalStatus
from domain.money import from_micros
from domain.runs import ExitReason, RunStatus
from service.answers.common import Answer, Json, Page, Problem, Time, Usd, wire
from service.answers.issues import Comment, Issue

__all__ = [
    "Approval",
    "ApprovalDecisions",
    "ApprovalOutcome",
    "ApprovalPage",
    "Checkpointed",
    "Claimed",
    "Lease",
    "LeaseGrant",
    "Run",
    "RunCost",
    "RunPage",
    "approval_answer",
    "approval_json",
    "grant",
    "lease_answer",
    "run_answer",
    "started_run",
]


class Lease(Answer):
    token: str
    granted_at: Time
    expires_at: Time
    renewals: int
    released_at: Time | None
    release_reason: str | None


class RunCost(Answer):
    usd: Usd | None
    input_tokens: int
    output_tokens: int


class LeaseGrant(Answer):
    token: str
    expires_at: Time


class Run(Answer):
    id: str
    issue_id: str
    agent_id: str
    attempt: int
    status: RunStatus
    started_at: Time
    ended_at: Time | None
    lease_history: list[Lease]
    final_checkpoint: Json | None
    cost: RunCost
    exit_reason: ExitReason | None
    exit_details: Json | None
    workspace_url: str | None


class RunPage(Page):
    data: list[Run]


class Approval(Answer):
    id: str
    issue_id: str
    run_id: str
    agent_id: str
    action: str
    details: Json | None
    status: ApprovalStatus
    comment: str | None
    decided_by: str | None
    decided_at: Time | None
    created_at: Time
    #: When it expires if nobody decides (``null`` for one requested before approvals
    #: expired); then its status is ``expired``.
    expires_at: Time | None


class Checkpointed(Answer):
    lease: LeaseGrant
    #: Comments by others since the agent's last checkpoint.
    comments: list[Comment]
    stop: bool
    stop_reason: str | None = None
    approvals: list[Approval]


class Claimed(Answer):
    issue: Issue
    run: Run
    lease: LeaseGrant


class ApprovalPage(Page):
    data: list[Approval]


class ApprovalOutcome(Answer):
    """What one id of ``POST /approvals/decide`` came to."""

    id: str
    #: ``false``: refused (``error`` says why); ``null``: accepted but not applied within the
    #: wait (``GET …/commands/{commandId}`` tells).
    ok: bool | None
    #: ``ok``: the approval's status now.
    status: ApprovalStatus | None = None
    error: Problem | None = None
    #: ``ok: null``: the command to follow.
    command_id: str | None = None


class ApprovalDecisions(Answer):
    """Each id's outcome, in the order of ``ids``."""

    results: list[ApprovalOutcome]


def lease_answer(lease: Any) -> Lease:
    """A lease of a run's history, from its row or its domain value (the same names)."""
    return Lease(
        token=lease.token,
        granted_at=lease.granted_at,
        expires_at=lease.expires_at,
        renewals=lease.renewals,
        released_at=lease.released_at,
        release_reason=lease.release_reason,
    )


def grant(lease: domain.Lease) -> LeaseGrant:
    """The lease a claim or a checkpoint grants, as the agent sees it."""
    return LeaseGrant(token=lease.token, expires_at=lease.expires_at)


def run_answer(row: Any, leases: Sequence[Any]) -> Run:
    """A stored run (its ``runs`` row) with its lease history, oldest first."""
    return Run(
        id=row.id,
        issue_id=row.issue_id,
        agent_id=row.agent_id,
        attempt=row.attempt,
        status=row.status,
        started_at=row.started_at,
        ended_at=row.ended_at,
        lease_history=[lease_answer(lease) for lease in leases],
        final_checkpoint=row.final_checkpoint,
        cost=RunCost(
            usd=from_micros(row.cost_micros),
            input_tokens=row.input_tokens,
            output_tokens=row.output_tokens,
        ),
        exit_reason=row.exit_reason,
        exit_details=row.exit_details,
        workspace_url=row.workspace_url,
    )


def started_run(run: domain.Run, lease: domain.Lease) -> Run:
    """A run that has just started, as ``run_answer`` shows it once stored: no checkpoint,
    no cost and no end yet, one lease."""
    return Run(
        id=run.id,
        issue_id=run.issue_id,
        agent_id=run.agent_id,
        attempt=run.attempt,
        status=run.status,
        started_at=run.started_at,
        ended_at=None,
        lease_history=[lease_answer(lease)],
        final_checkpoint=None,
        cost=RunCost(usd=from_micros(0), input_tokens=0, output_tokens=0),
        exit_reason=None,
        exit_details=None,
        workspace_url=run.workspace_url,
    )


def approval_answer(approval: approval_rules.Approval) -> Approval:
    return Approval(
        id=approval.id,
        issue_id=approval.issue_id,
        run_id=approval.run_id,
        agent_id=approval.agent_id,
        action=approval.action,
        details=approval.details,
        status=approval.status,
        comment=approval.comment,
        decided_by=approval.decided_by,
        decided_at=approval.decided_at,
        created_at=approval.created_at,
        expires_at=approval.expires_at,
    )


def approval_json(approval: approval_rules.Approval) -> dict[str, Any]:
    return wire(approval_answer(approval))
