"""Commands on issues: create, change, assign, cancel, reassign, comment, in bulk."""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from decimal import Decimal
from typing import Any, ClassVar

from domain.commands.base import Command

__all__ = [
    "ApplyBulkSlice",
    "AssignIssue",
    "CancelIssue",
    "CreateIssue",
    "MarkOverdue",
    "PostComment",
    "ReassignIssue",
    "StartBulk",
    "UpdateIssue",
]


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
    #: None: from a ``priority:*`` label, else ``medium``.
    priority: str | None = None
    #: Nothing claims or dispatches it before then (None: at once).
    not_before: datetime | None = None
    #: Its own retry backoff, in seconds (both None: ``AGENTQ_RETRY_*``).
    retry_base_s: int | None = None
    retry_max_s: int | None = None
    #: ``budget.includeSubtasks``: the subtasks' spend counts against the cap too.
    budget_include_subtasks: bool = False
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
    priority: str | None = None
    not_before: datetime | None = None
    budget_include_subtasks: bool | None = None
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
class MarkOverdue(Command):
    """The scheduler found the issue live and past ``due_at`` (the time it saw, which the
    command id is derived from: one ``issue.overdue`` per due time)."""

    issue_id: str
    due_at: datetime
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class PostComment(Command):
    comment_id: str
    issue_id: str
    text: str
    author: str
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class StartBulk(Command):
    """Record a bulk operation over ``ids``; the bulk pool then applies it issue by issue."""

    bulk_id: str
    op: str
    args: dict[str, Any]
    ids: tuple[str, ...]
    shard_field: ClassVar[str] = "bulk_id"


@dataclass(frozen=True, slots=True)
class ApplyBulkSlice(Command):
    """Apply the items of bulk ``bulk_id`` at ``positions``, in one transaction: issues that
    all share one shard, so the slice is sent on that shard (``issue_id``, the first item's
    issue) and stays serial with the single commands of each of its issues."""

    bulk_id: str
    positions: tuple[int, ...]
    issue_id: str
    shard_field: ClassVar[str] = "issue_id"
