"""Commands: what a caller asks for, in the imperative. Plain frozen values.

Every command names the entity whose shard serializes it (``shard_key``): commands
for one issue are applied one at a time, in order.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from enum import StrEnum
from typing import Any, ClassVar

#: The commands themselves are every ``Command`` subclass below, listed in ``COMMANDS``.
__all__ = ["COMMANDS", "Command", "CommandStatus"]


class CommandStatus(StrEnum):
    """How a command ended, once applied exactly once (its stored outcome says the rest)."""

    APPLIED = "applied"  #: it changed what it asked to change
    REJECTED = "rejected"  #: it was refused; nothing changed

    @classmethod
    def of(cls, applied: bool) -> CommandStatus:
        return cls.APPLIED if applied else cls.REJECTED


class Command:
    """A command. Each is a frozen dataclass subclassing this; its class name is its type."""

    __slots__ = ()
    #: The field holding the id of the entity whose shard applies the command.
    shard_field: ClassVar[str]

    @property
    def shard_key(self) -> str:
        """The id of the entity whose shard applies the command, in order with its others."""
        key: str = getattr(self, self.shard_field)
        return key


@dataclass(frozen=True, slots=True)
class CreateCompany(Command):
    company_id: str
    name: str
    shard_field: ClassVar[str] = "company_id"


@dataclass(frozen=True, slots=True)
class CreateToken(Command):
    """``token_hash`` only: the plaintext never travels through the queue."""

    token_id: str
    token_hash: str
    role: str
    agent_id: str | None = None
    shard_field: ClassVar[str] = "token_id"


@dataclass(frozen=True, slots=True)
class RevokeToken(Command):
    token_id: str
    shard_field: ClassVar[str] = "token_id"


@dataclass(frozen=True, slots=True)
class CreateTeam(Command):
    team_id: str
    name: str
    shard_field: ClassVar[str] = "team_id"


@dataclass(frozen=True, slots=True)
class CreateAgent(Command):
    agent_id: str
    name: str
    team_ids: tuple[str, ...] = ()
    capacity: int = 1
    shard_field: ClassVar[str] = "agent_id"


@dataclass(frozen=True, slots=True)
class UpdateAgent(Command):
    """Only the fields named in ``fields_set`` change."""

    agent_id: str
    fields_set: frozenset[str]
    name: str | None = None
    team_ids: tuple[str, ...] | None = None
    capacity: int | None = None
    status: str | None = None
    shard_field: ClassVar[str] = "agent_id"


@dataclass(frozen=True, slots=True)
class CreateIssue(Command):
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
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class UpdateIssue(Command):
    """A PATCH: only the fields named in ``fields_set`` change (a None there clears)."""

    issue_id: str
    fields_set: frozenset[str] = field(default_factory=frozenset)
    title: str | None = None
    description: str | None = None
    labels: tuple[str, ...] | None = None
    due_at: datetime | None = None
    budget_per_task_usd: Decimal | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class AssignIssue(Command):
    issue_id: str
    agent_id: str
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class CancelIssue(Command):
    """With ``cascade``, every live child is cancelled too, each by a command of its own."""

    issue_id: str
    reason: str | None = None
    cascade: bool = False
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class ReassignIssue(Command):
    """Exactly one of ``to_agent_id`` and ``to_team_id`` is set."""

    issue_id: str
    to_agent_id: str | None = None
    to_team_id: str | None = None
    reason: str | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class PostComment(Command):
    comment_id: str
    issue_id: str
    text: str
    author: str
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class ClaimWork(Command):
    """An agent asks for its next issue. Applied on the agent's shard; the issue's row lock
    (taken with SKIP LOCKED) serializes it with the issue's own commands."""

    agent_id: str
    run_id: str
    lease_seconds: int = 60
    acting_agent_id: str | None = None
    shard_field: ClassVar[str] = "agent_id"


@dataclass(frozen=True, slots=True)
class RecordCheckpoint(Command):
    issue_id: str
    run_id: str
    lease_token: str
    acting_agent_id: str | None = None
    fields_set: frozenset[str] = field(default_factory=frozenset)
    progress: dict[str, Any] | None = None
    state: dict[str, Any] | None = None
    workspace_url: str | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class CompleteRun(Command):
    issue_id: str
    run_id: str
    lease_token: str
    acting_agent_id: str | None = None
    result: dict[str, Any] | None = None
    workspace_url: str | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class FailRun(Command):
    issue_id: str
    run_id: str
    lease_token: str
    reason: str
    acting_agent_id: str | None = None
    details: dict[str, Any] | None = None
    retryable: bool = False
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class HandoffRun(Command):
    issue_id: str
    run_id: str
    lease_token: str
    reason: str
    acting_agent_id: str | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class ReviewIssue(Command):
    issue_id: str
    accept: bool
    comment_id: str
    comment: str | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class ExpireLease(Command):
    """The sweep saw ``lease_token`` past its expiry; applied only if it still is."""

    issue_id: str
    lease_token: str
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class DispatchIssue(Command):
    """Give a queued issue to an agent if one is available (its team's, or its waiting agent)."""

    issue_id: str
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class ReactToDependency(Command):
    """A dependency of ``issue_id`` reached a terminal status: hand the issue off if it
    failed or was cancelled; if it is done, the issue may now be dispatched or claimed."""

    issue_id: str
    dependency_id: str
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class CreateWebhook(Command):
    webhook_id: str
    url: str
    events: tuple[str, ...]
    secret: str
    description: str | None = None
    shard_field: ClassVar[str] = "webhook_id"


@dataclass(frozen=True, slots=True)
class UpdateWebhook(Command):
    """Only the fields named in ``fields_set`` change."""

    webhook_id: str
    fields_set: frozenset[str]
    url: str | None = None
    events: tuple[str, ...] | None = None
    disabled: bool | None = None
    description: str | None = None
    shard_field: ClassVar[str] = "webhook_id"


@dataclass(frozen=True, slots=True)
class DeleteWebhook(Command):
    webhook_id: str
    shard_field: ClassVar[str] = "webhook_id"


@dataclass(frozen=True, slots=True)
class RedeliverWebhook(Command):
    """Send a delivery's event to its endpoint again, as a new delivery."""

    webhook_id: str
    delivery_id: str
    new_delivery_id: str
    shard_field: ClassVar[str] = "webhook_id"


@dataclass(frozen=True, slots=True)
class StartBulk(Command):
    """Record a bulk operation over ``ids``; the bulk pool then applies it issue by issue."""

    bulk_id: str
    op: str
    args: dict[str, Any]
    ids: tuple[str, ...]
    shard_field: ClassVar[str] = "bulk_id"


@dataclass(frozen=True, slots=True)
class ReportCost(Command):
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
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class RequestApproval(Command):
    issue_id: str
    run_id: str
    lease_token: str
    approval_id: str
    action: str
    details: dict[str, Any] | None = None
    acting_agent_id: str | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class DecideApproval(Command):
    """Approve or reject; on the issue's shard, like every change to the issue's run."""

    issue_id: str
    approval_id: str
    approve: bool
    comment: str | None = None
    shard_field: ClassVar[str] = "issue_id"


#: Every command, by class name (the name the envelope carries on the wire).
COMMANDS: Mapping[str, type[Command]] = {
    name: value
    for name, value in list(globals().items())
    if isinstance(value, type) and issubclass(value, Command) and value is not Command
}
