"""Webhook endpoints, deliveries, and the events agentq sends."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any

from pydantic import Field

from domain.statuses import IssueStatus
from domain.webhooks import DeliveryStatus
from service.answers.common import Answer, Page, Time, Usd, wire
from service.answers.issues import Issue
from service.answers.runs import Approval, Run
from service.webhooks.outbox import EVENT_TYPES

__all__ = [
    "BudgetEventData",
    "Delivery",
    "DeliveryPage",
    "NewWebhook",
    "Webhook",
    "WebhookEvent",
    "WebhookEventData",
    "WebhookPage",
    "delivery_json",
    "webhook_json",
]


class Webhook(Answer):
    id: str
    company_id: str
    url: str
    events: list[str]
    description: str | None
    disabled: bool
    disabled_reason: str | None
    created_at: Time
    updated_at: Time


class NewWebhook(Webhook):
    """Created: the signing `secret` (`whsec_…`) is shown once, in this answer (not when an
    `Idempotency-Key` replays it)."""

    secret: str | None = None


class Delivery(Answer):
    id: str
    webhook_id: str
    event_id: str
    event_type: str | None
    status: DeliveryStatus
    attempt: int
    response_status: int | None
    duration_ms: int | None
    last_error: str | None
    next_attempt_at: Time | None
    created_at: Time
    updated_at: Time


class BudgetEventData(Answer):
    """``budget.threshold`` and ``budget.exceeded``: which cap, and where its spend stands."""

    #: ``issue`` (the issue's own ``perTaskUsd``), ``agent``, ``team`` or ``company``.
    scope: str
    scope_id: str
    #: The UTC month of a monthly cap (``YYYY-MM``); None for an issue's own budget.
    month: str | None
    cap_usd: Usd
    spent_usd: Usd
    #: ``budget.threshold``: the share of the cap reached (50, 80 or 100).
    percent: int | None = None
    #: The run whose cost report it was.
    run_id: str


class WebhookEventData(Answer):
    #: The issue as it is after the change.
    issue: Issue
    previous_status: IssueStatus | None
    actor: str
    #: The run, on events about one (``issue.started``, ``issue.progress``…).
    run: Run | None = None
    #: The approval, on its events (``approval.requested``, ``.approved``, ``.rejected``,
    #: ``.expired``) as it is after the change.
    approval: Approval | None = None
    #: ``budget.threshold`` and ``budget.exceeded``: the cap.
    budget: BudgetEventData | None = None


class WebhookEvent(Answer):
    """What agentq POSTs to a subscribed endpoint: one event (Standard Webhooks headers
    ``webhook-id``, ``webhook-timestamp``, ``webhook-signature``)."""

    id: str
    type: Annotated[str, Field(json_schema_extra={"enum": sorted(EVENT_TYPES)})]
    created_at: Time
    company_id: str
    data: WebhookEventData


class WebhookPage(Page):
    data: list[Webhook]


class DeliveryPage(Page):
    data: list[Delivery]


def webhook_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The secret is never shown here; the create answer adds it, once."""
    return wire(
        Webhook(
            id=row["id"],
            company_id=row["company_id"],
            url=row["url"],
            events=list(row["events"]),
            description=row["description"],
            disabled=bool(row["disabled"]),
            disabled_reason=row["disabled_reason"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
    )


def delivery_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    pending = row["status"] == DeliveryStatus.PENDING
    return wire(
        Delivery(
            id=row["id"],
            webhook_id=row["endpoint_id"],
            event_id=row["event_id"],
            event_type=row["event_type"],
            status=row["status"],
            attempt=row["attempt"],
            response_status=row.get("response_status"),
            duration_ms=row.get("duration_ms"),
            last_error=row.get("last_error"),
            next_attempt_at=row.get("next_attempt_at") if pending else None,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
    )
