"""Events: what happened to an issue, in the past tense. Each becomes one activity entry."""

from __future__ import annotations

from dataclasses import dataclass
from typing import ClassVar

from domain.statuses import IssueStatus

__all__ = [
    "ACTIVITY_TYPES",
    "PROGRESS_TYPE",
    "WEBHOOK_TYPES",
    "ApprovalApproved",
    "ApprovalRejected",
    "ApprovalRequested",
    "BudgetThresholdReached",
    "CommentPosted",
    "IssueAssigned",
    "IssueCancelled",
    "IssueCreated",
    "IssueDone",
    "IssueEvent",
    "IssueFailed",
    "IssueHandedOff",
    "IssueInReview",
    "IssueReassigned",
    "IssueRejected",
    "IssueRequeued",
    "IssueStarted",
    "IssueUpdated",
]


@dataclass(frozen=True, slots=True)
class IssueEvent:
    """Something that happened to one issue; ``version`` is the issue's version after it."""

    type: ClassVar[str] = "issue.event"
    #: Whether subscribers hear of it: a webhook event of the same ``type``.
    webhook: ClassVar[bool] = False

    issue_id: str
    from_status: IssueStatus | None
    to_status: IssueStatus
    version: int
    actor: str
    reason: str | None = None


@dataclass(frozen=True, slots=True)
class IssueCreated(IssueEvent):
    type: ClassVar[str] = "issue.created"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueAssigned(IssueEvent):
    """An agent was given the issue. Subscribers hear ``issue.assigned`` for the issue's first
    assignment only, ``issue.reassigned`` for any later one."""

    type: ClassVar[str] = "issue.assigned"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueReassigned(IssueEvent):
    type: ClassVar[str] = "issue.reassigned"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueStarted(IssueEvent):
    """An agent claimed the issue and a run started."""

    type: ClassVar[str] = "issue.started"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueInReview(IssueEvent):
    """The agent completed its run; a reviewer decides."""

    type: ClassVar[str] = "issue.review"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueDone(IssueEvent):
    type: ClassVar[str] = "issue.done"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueFailed(IssueEvent):
    type: ClassVar[str] = "issue.failed"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueHandedOff(IssueEvent):
    type: ClassVar[str] = "issue.handoff"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueRequeued(IssueEvent):
    """Back to ``queued`` for a new attempt (a retryable failure or an expired lease)."""

    type: ClassVar[str] = "issue.requeued"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueRejected(IssueEvent):
    """The reviewer sent it back to the same agent for rework."""

    type: ClassVar[str] = "issue.rejected"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueCancelled(IssueEvent):
    type: ClassVar[str] = "issue.cancelled"
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class IssueUpdated(IssueEvent):
    """A PATCH changed fields; the status stays."""

    type: ClassVar[str] = "issue.updated"


@dataclass(frozen=True, slots=True)
class CommentPosted(IssueEvent):
    """A comment was posted; the issue's version does not change."""

    type: ClassVar[str] = "issue.commented"


@dataclass(frozen=True, slots=True)
class BudgetThresholdReached(IssueEvent):
    """Spending reached 50, 80 or 100 % of the budget; the version stays."""

    type: ClassVar[str] = "budget.threshold"


@dataclass(frozen=True, slots=True)
class ApprovalRequested(IssueEvent):
    """The running agent asked a human to approve an action; the version stays."""

    type: ClassVar[str] = "approval.requested"


@dataclass(frozen=True, slots=True)
class ApprovalApproved(IssueEvent):
    """A human approved what the agent asked; the version stays."""

    type: ClassVar[str] = "approval.approved"


@dataclass(frozen=True, slots=True)
class ApprovalRejected(IssueEvent):
    """A human rejected what the agent asked; the version stays."""

    type: ClassVar[str] = "approval.rejected"


#: A checkpoint that reports ``progress``: a webhook event, not an activity entry.
PROGRESS_TYPE = "issue.progress"

#: Every ``type`` an activity entry can have.
ACTIVITY_TYPES = frozenset(cls.type for cls in IssueEvent.__subclasses__())
#: Every ``type`` a webhook event can have (a subscription names some of them).
WEBHOOK_TYPES = frozenset(
    {cls.type for cls in IssueEvent.__subclasses__() if cls.webhook} | {PROGRESS_TYPE}
)
