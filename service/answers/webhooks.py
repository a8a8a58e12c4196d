"""Webhook endpoints, deliveries, and the events agentq sends."""

from __future__ import annotations

from typing import Annotated

from pydantic import Field

from domain.statuses import IssueStatus
from domain.webhooks import DeliveryStatus
from service.answers.common import Answer, Page, Time
from service.answers.issues import Issue
from service.answers.runs import Run
from service.webhooks.outbox import EVENT_TYPES

__all__ = [
    "Delivery",
    "DeliveryPage",
    "NewWebhook",
    "Webhook",
    "WebhookEvent",
    "WebhookEventData",
    "WebhookPage",
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


class WebhookEventData(Answer):
    #: The issue as it is after the change.
    issue: Issue
    previous_status: IssueStatus | None
    actor: str
    #: The run, on events about one (``issue.started``, ``issue.progress``…).
    run: Run | None = None


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
