"""Events: what happened to an issue, in the past tense. Each becomes one activity entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.statuses import IssueStatus

__all__ = [
    "CommentPosted",
    "IssueAssigned",
    "IssueCancelled",
    "IssueCreated",
    "IssueEvent",
    "IssueReassigned",
    "IssueUpdated",
]


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """Something that happened to one issue; ``version`` is the issue's version after it."""

    type: ClassVar[str] = "issue.event"

    issue_id: str
    from_status: IssueStatus | None
    to_status: IssueStatus
    version: int
    actor: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class IssueCreated(IssueEvent):
    type: ClassVar[str] = "issue.created"


@dataclass(frozen=True, slots=True)
class IssueAssigned(IssueEvent):
    type: ClassVar[str] = "issue.assigned"


@dataclass(frozen=True, slots=True)
class IssueReassigned(IssueEvent):
    type: ClassVar[str] = "issue.reassigned"


@dataclass(frozen=True, slots=True)
class IssueCancelled(IssueEvent):
    type: ClassVar[str] = "issue.cancelled"


@dataclass(frozen=True, slots=True)
class IssueUpdated(IssueEvent):
    """A PATCH changed fields; the status stays."""

    type: ClassVar[str] = "issue.updated"


@dataclass(frozen=True, slots=True)
class CommentPosted(IssueEvent):
    """A comment was posted; the issue's version does not change."""

    type: ClassVar[str] = "issue.commented"
