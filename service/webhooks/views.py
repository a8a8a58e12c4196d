"""Webhook endpoints and deliveries as the API shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.webhooks import DeliveryStatus
from service.answers.common import wire
from service.answers.webhooks import Delivery, Webhook

__all__ = ["delivery_json", "webhook_json"]


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
