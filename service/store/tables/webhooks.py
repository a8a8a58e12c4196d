"""Webhook endpoints, the outbox of events, and their deliveries."""

from __future__ import annotations

import sqlalchemy as sa

from domain.webhooks import DeliveryStatus
from service.store.tables.base import ID, in_values, metadata
from service.store.types import JSONType, UTCDateTime

__all__ = ["webhook_deliveries", "webhook_endpoints", "webhook_events"]

webhook_endpoints = sa.Table(
    "webhook_endpoints",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("url", sa.String(2000), nullable=False),
    #: Event types, exact (``issue.done``) or ``issue.*``.
    sa.Column("events", JSONType, nullable=False),
    sa.Column("description", sa.String(500), nullable=True),
    #: ``whsec_…``: the Standard Webhooks signing secret (needed in the clear to sign).
    sa.Column("secret", sa.String(100), nullable=False),
    sa.Column("disabled", sa.Boolean, nullable=False, server_default=sa.false()),
    sa.Column("disabled_reason", sa.String(200), nullable=True),
    #: Start of the current run of failed attempts (None after any success).
    sa.Column("failing_since", UTCDateTime, nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.Index("ix_webhook_endpoints_company", "company_id", "created_at", "id"),
)

webhook_events = sa.Table(
    "webhook_events",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    sa.Column("type", sa.String(40), nullable=False),
    sa.Column("payload", JSONType, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    #: When the event was fanned out into deliveries; None = still in the outbox.
    sa.Column("relayed_at", UTCDateTime, nullable=True),
    sa.Index(
        "ix_webhook_events_outbox",
        "created_at",
        postgresql_where=sa.text("relayed_at IS NULL"),
        sqlite_where=sa.text("relayed_at IS NULL"),
    ),
    sa.Index("ix_webhook_events_issue", "issue_id", "type"),
)

#: A delivery not finished yet: waiting for an attempt, or being attempted.
OPEN_DELIVERY = "status IN ('pending', 'delivering')"
#: A delivery being attempted (held by a worker).
IN_FLIGHT = "status = 'delivering'"

webhook_deliveries = sa.Table(
    "webhook_deliveries",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column(
        "endpoint_id",
        ID,
        sa.ForeignKey("webhook_endpoints.id", ondelete="CASCADE"),
        nullable=False,
    ),
    sa.Column("event_id", ID, sa.ForeignKey("webhook_events.id"), nullable=False),
    sa.Column("status", sa.String(12), nullable=False),
    #: Attempts made so far.
    sa.Column("attempt", sa.Integer, nullable=False, server_default="0"),
    sa.Column("next_attempt_at", UTCDateTime, nullable=True),
    #: While ``delivering``: a worker holds it until then (a crashed worker's hold lapses).
    sa.Column("locked_until", UTCDateTime, nullable=True),
    #: When the scheduler last put it on the queue (so a due attempt is enqueued once).
    sa.Column("enqueued_at", UTCDateTime, nullable=True),
    sa.Column("response_status", sa.Integer, nullable=True),
    sa.Column("duration_ms", sa.Integer, nullable=True),
    sa.Column("last_error", sa.String(500), nullable=True),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(in_values("status", DeliveryStatus), name="status"),
    sa.Index("ix_webhook_deliveries_due", "status", "next_attempt_at"),
    sa.Index("ix_webhook_deliveries_endpoint", "endpoint_id", "created_at", "id"),
    # An endpoint's open deliveries in the order they go out (its next due is the first of
    # them, read off the index) and its attempts in flight: every attempt reads both
    # (``service.webhooks.delivery``), and the endpoint's history or backlog would not do.
    sa.Index(
        "ix_webhook_deliveries_open",
        "endpoint_id",
        "next_attempt_at",
        "id",
        postgresql_where=sa.text(OPEN_DELIVERY),
        sqlite_where=sa.text(OPEN_DELIVERY),
    ),
    sa.Index(
        "ix_webhook_deliveries_in_flight",
        "endpoint_id",
        postgresql_where=sa.text(IN_FLIGHT),
        sqlite_where=sa.text(IN_FLIGHT),
    ),
)
