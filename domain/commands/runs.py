"""Commands of the agent work loop, and the ones agentq sends itself (expiry, dispatch)."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, ClassVar

from domain.commands.base import Command

__all__ = [
    "ClaimWork",
    "CompleteRun",
    "DispatchIssue",
    "ExpireLease",
    "FailRun",
    "HandoffRun",
    "ReactToDependency",
    "RecordCheckpoint",
    "ReviewIssue",
]


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
