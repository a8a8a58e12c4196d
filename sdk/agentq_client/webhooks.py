"""Receiving agentq's webhooks: ``verify(body, headers, secret)`` checks the Standard
Webhooks signature (with the reference library, ``pip install 'agentq-client[webhooks]'``)
and returns the event as the model of its type (``IssueCreated``, ``IssueDone``, …).

Delivery is at least once and unordered: de-duplicate on ``event.id`` (the ``webhook-id``
header) and order by ``event.data.issue.version``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal

from pydantic import Field, TypeAdapter

from agentq_client.errors import AgentqError
from agentq_client.models import WebhookEvent

__all__ = [
    "EVENT_MODELS",
    "ApprovalApproved",
    "ApprovalExpired",
    "ApprovalRejected",
    "ApprovalRequested",
    "BudgetExceeded",
    "BudgetThreshold",
    "Event",
    "IssueAssigned",
    "IssueCancelled",
    "IssueCreated",
    "IssueDone",
    "IssueFailed",
    "IssueHandoff",
    "IssueOverdue",
    "IssueProgress",
    "IssueReassigned",
    "IssueRejected",
    "IssueRequeued",
    "IssueReview",
    "IssueStarted",
    "WebhookVerificationFailed",
    "parse",
    "verify",
]


class WebhookVerificationFailed(AgentqError):
    """The request is not a genuine, fresh agentq delivery (forged, altered or stale)."""


class IssueCreated(WebhookEvent):
    type: Literal["issue.created"]


class IssueAssigned(WebhookEvent):
    """First assignment."""

    type: Literal["issue.assigned"]


class IssueReassigned(WebhookEvent):
    type: Literal["issue.reassigned"]


class IssueStarted(WebhookEvent):
    """A run started (``data.run``)."""

    type: Literal["issue.started"]


class IssueProgress(WebhookEvent):
    """A checkpoint with ``progress``."""

    type: Literal["issue.progress"]


class IssueReview(WebhookEvent):
    type: Literal["issue.review"]


class IssueDone(WebhookEvent):
    type: Literal["issue.done"]


class IssueFailed(WebhookEvent):
    type: Literal["issue.failed"]


class IssueCancelled(WebhookEvent):
    type: Literal["issue.cancelled"]


class IssueHandoff(WebhookEvent):
    type: Literal["issue.handoff"]


class IssueRequeued(WebhookEvent):
    """Back to the queue after an expired lease or a retryable failure."""

    type: Literal["issue.requeued"]


class IssueRejected(WebhookEvent):
    """Review sent it back to its agent."""

    type: Literal["issue.rejected"]


class IssueOverdue(WebhookEvent):
    """A live issue passed its `dueAt` (once per due time)."""

    type: Literal["issue.overdue"]


class ApprovalRequested(WebhookEvent):
    """The running agent asked for an approval (``data.approval``, pending)."""

    type: Literal["approval.requested"]


class ApprovalApproved(WebhookEvent):
    """Someone approved (``data.approval``)."""

    type: Literal["approval.approved"]


class ApprovalRejected(WebhookEvent):
    """Someone rejected (``data.approval``)."""

    type: Literal["approval.rejected"]


class ApprovalExpired(WebhookEvent):
    """Nobody decided by its ``expiresAt`` (``data.approval``)."""

    type: Literal["approval.expired"]


class BudgetThreshold(WebhookEvent):
    """A cap's spend reached 50, 80 or 100 % (``data.budget``: scope, month, percent)."""

    type: Literal["budget.threshold"]


class BudgetExceeded(WebhookEvent):
    """A cap stopped a run (``data.budget``: which cap, its spend)."""

    type: Literal["budget.exceeded"]


Event = Annotated[
    IssueCreated
    | IssueAssigned
    | IssueReassigned
    | IssueStarted
    | IssueProgress
    | IssueReview
    | IssueDone
    | IssueFailed
    | IssueCancelled
    | IssueHandoff
    | IssueRequeued
    | IssueRejected
    | IssueOverdue
    | ApprovalRequested
    | ApprovalApproved
    | ApprovalRejected
    | ApprovalExpired
    | BudgetThreshold
    | BudgetExceeded,
    Field(discriminator="type"),
]

#: Event type -> its model (a test checks these are the document's event types).
EVENT_MODELS: dict[str, type[WebhookEvent]] = {
    model.model_fields["type"].annotation.__args__[0]: model  # type: ignore[union-attr]
    for model in (
        IssueCreated,
        IssueAssigned,
        IssueReassigned,
        IssueStarted,
        IssueProgress,
        IssueReview,
        IssueDone,
        IssueFailed,
        IssueCancelled,
        IssueHandoff,
        IssueRequeued,
        IssueRejected,
        IssueOverdue,
        ApprovalRequested,
        ApprovalApproved,
        ApprovalRejected,
        ApprovalExpired,
        BudgetThreshold,
        BudgetExceeded,
    )
}

_EVENT: TypeAdapter[Event] = TypeAdapter(Event)


def parse(payload: Any) -> Event:
    """The event model of a payload already verified (parsed JSON)."""
    return _EVENT.validate_python(payload)


def verify(body: bytes | str, headers: Mapping[str, str], secret: str) -> Event:
    """Check ``body``'s ``webhook-signature`` against ``secret`` (the endpoint's
    ``whsec_…``) and its ``webhook-timestamp`` (5 minutes of tolerance); the event, typed.
    Raises ``WebhookVerificationFailed`` if the delivery is not genuine."""
    try:
        from standardwebhooks.webhooks import Webhook, WebhookVerificationError
    except ImportError as exc:  # the extra was not installed
        raise AgentqError(
            "verify() needs the Standard Webhooks library: pip install 'agentq-client[webhooks]'"
        ) from exc
    try:
        payload = Webhook(secret).verify(body, dict(headers.items()))
    except WebhookVerificationError as exc:
        raise WebhookVerificationFailed(str(exc)) from exc
    return parse(payload)
