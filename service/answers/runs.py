"""Runs, leases, approvals and the agent loop's answers (claim, checkpoint)."""

from __future__ import annotations

from domain.approvals import ApprovalStatus
from domain.runs import ExitReason, RunStatus
from service.answers.common import Answer, Json, Page, Time, Usd
from service.answers.issues import Comment, Issue

__all__ = [
    "Approval",
    "ApprovalPage",
    "Checkpointed",
    "Claimed",
    "Lease",
    "LeaseGrant",
    "Run",
    "RunCost",
    "RunPage",
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
