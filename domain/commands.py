"""Commands: what a caller asks for, in the imperative. Plain frozen values.

Every command names the entity whose shard serializes it (``shard_key``): commands
for one issue are applied one at a time, in order.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any

__all__ = [
    "AssignIssue",
    "CancelIssue",
    "ClaimWork",
    "Command",
    "CommandStatus",
    "CompleteRun",
    "CreateAgent",
    "CreateCompany",
    "CreateIssue",
    "CreateTeam",
    "CreateToken",
    "CreateWebhook",
    "DecideApproval",
    "DeleteWebhook",
    "DispatchIssue",
    "ExpireLease",
    "FailRun",
    "HandoffRun",
    "PostComment",
    "ReactToDependency",
    "ReassignIssue",
    "RecordCheckpoint",
    "RedeliverWebhook",
    "ReportCost",
    "RequestApproval",
    "ReviewIssue",
    "RevokeToken",
    "StartBulk",
    "UpdateAgent",
    "UpdateIssue",
    "UpdateWebhook",
]


class CommandStatus(StrEnum):
    """How a command ended, once applied exactly once (its stored outcome says the rest)."""

    APPLIED = "applied"  #: it changed what it asked to change
    REJECTED = "rejected"  #: it was refused; nothing changed

    @classmethod
    def of(cls, applied: bool) -> CommandStatus:
        return cls.APPLIED if applied else cls.REJECTED


@dataclass(frozen=True, slots=True)
class CreateCompany:
    company_id: str
    name: str

    @property
    def shard_key(self) -> str:
        return self.company_id


@dataclass(frozen=True, slots=True)
class CreateToken:
    """``token_hash`` only: the plaintext never travels through the queue."""

    token_id: str
    token_hash: str
    role: str
    agent_id: str | None = None

    @property
    def shard_key(self) -> str:
        return self.token_id


@dataclass(frozen=True, slots=True)
class RevokeToken:
    token_id: str

    @property
    def shard_key(self) -> str:
        return self.token_id


@dataclass(frozen=True, slots=True)
class CreateTeam:
    team_id: str
    name: str

    @property
    def shard_key(self) -> str:
        return self.team_id


@dataclass(frozen=True, slots=True)
class CreateAgent:
    agent_id: str
    name: str
    team_ids: tuple[str, ...] = ()
    capacity: int = 1

    @property
    def shard_key(self) -> str:
        return self.agent_id


@dataclass(frozen=True, slots=True)
class UpdateAgent:
    """Only the fields named in ``fields_set`` change."""

    agent_id: str
    fields_set: frozenset[str]
    name: str | None = None
    team_ids: tuple[str, ...] | None = None
    capacity: int | None = None
    status: str | None = None

    @property
    def shard_key(self) -> str:
        return self.agent_id


@dataclass(frozen=True, slots=True)
class CreateIssue:
    issue_id: str
    title: str
    description: str | None = None
    parent_id: str | None = None
    assigned_team_id: str | None = None
    assigned_agent_id: str | None = None
    budget_per_task_usd: Decimal | None = None
    due_at: datetime | None = None
    labels: tuple[str, ...] = ()
    dependencies: tuple[str, ...] = ()
    max_attempts: int = 3

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class UpdateIssue:
    """A PATCH: only the fields named in ``fields_set`` change (a None there clears)."""

    issue_id: str
    fields_set: frozenset[str] = field(default_factory=frozenset)
    title: str | None = None
    description: str | None = None
    labels: tuple[str, ...] | None = None
    due_at: datetime | None = None
    budget_per_task_usd: Decimal | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class AssignIssue:
    issue_id: str
    agent_id: str

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class CancelIssue:
    """With ``cascade``, every live child is cancelled too, each by a command of its own."""

    issue_id: str
    reason: str | None = None
    cascade: bool = False

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class ReassignIssue:
    """Exactly one of ``to_agent_id`` and ``to_team_id`` is set."""

    issue_id: str
    to_agent_id: str | None = None
    to_team_id: str | None = None
    reason: str | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class PostComment:
    comment_id: str
    issue_id: str
    text: str
    author: str

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class ClaimWork:
    """An agent asks for its next issue. Applied on the agent's shard; the issue's row lock
    (taken with SKIP LOCKED) serializes it with the issue's own commands."""

    agent_id: str
    run_id: str
    lease_seconds: int = 60
    acting_agent_id: str | None = None

    @property
    def shard_key(self) -> str:
        return self.agent_id


@dataclass(frozen=True, slots=True)
class RecordCheckpoint:
    issue_id: str
    run_id: str
    lease_token: str
    acting_agent_id: str | None = None
    fields_set: frozenset[str] = field(default_factory=frozenset)
    progress: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    workspace_url: str | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class CompleteRun:
    issue_id: str
    run_id: str
    lease_token: str
    acting_agent_id: str | None = None
    result: dict[str, Any] | None = None
    workspace_url: str | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class FailRun:
    issue_id: str
    run_id: str
    lease_token: str
    reason: str
    acting_agent_id: str | None = None
    details: dict[str, Any] | None = None
    retryable: bool = False

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class HandoffRun:
    issue_id: str
    run_id: str
    lease_token: str
    reason: str
    acting_agent_id: str | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class ReviewIssue:
    issue_id: str
    accept: bool
    comment_id: str
    comment: str | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class ExpireLease:
    """The sweep saw ``lease_token`` past its expiry; applied only if it still is."""

    issue_id: str
    lease_token: str

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class DispatchIssue:
    """Give a queued issue to an agent if one is available (its team's, or its waiting agent)."""

    issue_id: str

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class ReactToDependency:
    """A dependency of ``issue_id`` reached a terminal status: hand the issue off if it
    failed or was cancelled; if it is done, the issue may now be dispatched or claimed."""

    issue_id: str
    dependency_id: str

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class CreateWebhook:
    webhook_id: str
    url: str
    events: tuple[str, ...]
    secret: str
    description: str | None = None

    @property
    def shard_key(self) -> str:
        return self.webhook_id


@dataclass(frozen=True, slots=True)
class UpdateWebhook:
    """Only the fields named in ``fields_set`` change."""

    webhook_id: str
    fields_set: frozenset[str]
    url: str | None = None
    events: tuple[str, ...] | None = None
    disabled: bool | None = None
    description: str | None = None

    @property
    def shard_key(self) -> str:
        return self.webhook_id


@dataclass(frozen=True, slots=True)
class DeleteWebhook:
    webhook_id: str

    @property
    def shard_key(self) -> str:
        return self.webhook_id


@dataclass(frozen=True, slots=True)
class RedeliverWebhook:
    """Send a delivery's event to its endpoint again, as a new delivery."""

    webhook_id: str
    delivery_id: str
    new_delivery_id: str

    @property
    def shard_key(self) -> str:
        return self.webhook_id


@dataclass(frozen=True, slots=True)
class StartBulk:
    """Record a bulk operation over ``ids``; the bulk pool then applies it issue by issue."""

    bulk_id: str
    op: str
    args: dict[str, Any]
    ids: tuple[str, ...]

    @property
    def shard_key(self) -> str:
        return self.bulk_id


@dataclass(frozen=True, slots=True)
class ReportCost:
    """The run's agent reports what it spent; may stop the run at the budget cap."""

    issue_id: str
    run_id: str
    lease_token: str
    cost_id: str
    usd: Decimal
    input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None
    acting_agent_id: str | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class RequestApproval:
    issue_id: str
    run_id: str
    lease_token: str
    approval_id: str
    action: str
    details: dict[str, Any] | None = None
    acting_agent_id: str | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


@dataclass(frozen=True, slots=True)
class DecideApproval:
    """Approve or reject; on the issue's shard, like every change to the issue's run."""

    issue_id: str
    approval_id: str
    approve: bool
    comment: str | None = None

    @property
    def shard_key(self) -> str:
        return self.issue_id


Command = (
    CreateCompany
    | CreateToken
    | RevokeToken
    | CreateTeam
    | CreateAgent
    | UpdateAgent
    | CreateIssue
    | UpdateIssue
    | AssignIssue
    | CancelIssue
    | ReassignIssue
    | PostComment
    | ClaimWork
    | RecordCheckpoint
    | CompleteRun
    | FailRun
    | HandoffRun
    | ReviewIssue
    | ExpireLease
    | DispatchIssue
    | ReactToDependency
    | CreateWebhook
    | UpdateWebhook
    | DeleteWebhook
    | RedeliverWebhook
    | StartBulk
    | ReportCost
    | RequestApproval
    | DecideApproval
)
