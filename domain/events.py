"""Events: what happened to an issue, in the past tense. Each becomes one activity entry."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import ClassVar

from domain.audit import AuditType
from domain.statuses import IssueStatus

__all__ = [
    "ACTIVITY_TYPES",
    "BUDGET_EXCEEDED_TYPE",
    "BUDGET_THRESHOLD_TYPE",
    "ISSUE_ACTIVITY_TYPES",
    "NOTE_TYPES",
    "PROGRESS_TYPE",
    "WEBHOOK_TYPES",
    "WEBHOOK_WILDCARDS",
    "ApprovalApproved",
    "ApprovalExpired",
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
    "IssueOverdue",
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
    #: A note about the issue, not a step through the transition table: the status and the
    #: version stay as they were (``version`` is the issue's current one).
    note: ClassVar[bool] = False

    issue_id: str
    from_status: IssueStatus | None
    to_status: IssueStatus
    version: int
    actor: str
    reason: str | None = None
    #: The issue's ``not_before`` when this event set it (a retry's backoff, a create or a
    #: PATCH that names one); None when the event left it alone.
    not_before: datetime | None = None


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
class IssueOverdue(IssueEvent):
    """A live issue passed its ``due_at`` (once per due time); the version stays."""

    type: ClassVar[str] = "issue.overdue"
    note: ClassVar[bool] = True
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class CommentPosted(IssueEvent):
    """A comment was posted; the issue's version does not change."""

    type: ClassVar[str] = "issue.commented"
    note: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class BudgetThresholdReached(IssueEvent):
    """Spending reached 50, 80 or 100 % of a budget (the issue's, or a monthly cap of a scope
    the issue's run counts in); the version stays."""

    type: ClassVar[str] = "budget.threshold"
    note: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class ApprovalRequested(IssueEvent):
    """The running agent asked a human to approve an action; the version stays."""

    type: ClassVar[str] = "approval.requested"
    note: ClassVar[bool] = True
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class ApprovalApproved(IssueEvent):
    """A human approved what the agent asked; the version stays."""

    type: ClassVar[str] = "approval.approved"
    note: ClassVar[bool] = True
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class ApprovalRejected(IssueEvent):
    """A human rejected what the agent asked; the version stays."""

    type: ClassVar[str] = "approval.rejected"
    note: ClassVar[bool] = True
    webhook: ClassVar[bool] = True


@dataclass(frozen=True, slots=True)
class ApprovalExpired(IssueEvent):
    """Nobody decided before the approval's ``expiresAt``; the version stays."""

    type: ClassVar[str] = "approval.expired"
    note: ClassVar[bool] = True
    webhook: ClassVar[bool] = True


#: A checkpoint that reports ``progress``: a webhook event, not an activity entry.
PROGRESS_TYPE = "issue.progress"
#: Spending reached 50, 80 or 100 % of a cap (the issue's own, or a monthly one): a
#: webhook event naming the scope (``data.budget``), beside its activity entry.
BUDGET_THRESHOLD_TYPE = BudgetThresholdReached.type
#: A cap stopped a run: a webhook event naming the scope (``data.budget``).
BUDGET_EXCEEDED_TYPE = "budget.exceeded"

#: Every ``type`` an issue's activity entry can have.
ISSUE_ACTIVITY_TYPES = frozenset(cls.type for cls in IssueEvent.__subclasses__())
#: The issue entries that are notes (``IssueEvent.note``): the version stays.
NOTE_TYPES = frozenset(cls.type for cls in IssueEvent.__subclasses__() if cls.note)
#: Every ``type`` an activity entry can have: an issue's, or a company's (``domain.audit``).
ACTIVITY_TYPES = ISSUE_ACTIVITY_TYPES | frozenset(t.value for t in AuditType)
#: Every ``type`` a webhook event can have (a subscription names some of them). A company's
#: audit entries are not webhook events (docs/api.md "Company activity" says why).
WEBHOOK_TYPES = frozenset(
    {cls.type for cls in IssueEvent.__subclasses__() if cls.webhook}
    | {PROGRESS_TYPE, BUDGET_THRESHOLD_TYPE, BUDGET_EXCEEDED_TYPE}
)
#: What a subscription may name besides exact types: ``issue.*``, ``approval.*``.
WEBHOOK_WILDCARDS = frozenset(f"{kind.partition('.')[0]}.*" for kind in WEBHOOK_TYPES)
