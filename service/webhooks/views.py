"""Webhook endpoints and deliveries as the API shows them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from service.answers.common import fmt_time

__all__ = ["delivery_json", "webhook_json"]


def webhook_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    """The secret is never shown here; the create answer adds it, once."""
    return {
        "id": row["id"],
        "companyId": row["company_id"],
        "url": row["url"],
        "events": list(row["events"]),
        "description": row["description"],
        "disabled": bool(row["disabled"]),
        "disabledReason": row["disabled_reason"],
        "createdAt": fmt_time(row["created_at"]),
        "updatedAt": fmt_time(row["updated_at"]),
    }


def delivery_json(row: Mapping[Any, Any]) -> dict[str, Any]:
    return {
        "id": row["id"],
        "webhookId": row["endpoint_id"],
        "eventId": row["event_id"],
        "eventType": row["event_type"],
        "status": row["status"],
        "attempt": row["attempt"],
        "responseStatus": row.get("response_status"),
        "durationMs": row.get("duration_ms"),
        "lastError": row.get("last_error"),
        "nextAttemptAt": fmt_time(row.get("next_attempt_at"))
        if row["status"] == "pending"
        else None,
        "createdAt": fmt_time(row["created_at"]),
        "updatedAt": fmt_time(row["updated_at"]),
    }
