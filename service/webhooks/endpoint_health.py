"""What an attempt's outcome does to its endpoint: its failing streak, and disabling it.

agentq disables an endpoint that answers 410 Gone or has failed for
``webhook_disable_after_s``; that is a change to the company like a user's PATCH, so it
gets its ``webhook_endpoint.disabled`` entry in the same transaction, by ``system:webhooks``.
"""

from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy.engine import Connection

from domain.actors import Actor
from domain.audit import AuditEntry, AuditType, field_changes
from service.store import tables as t
from service.store.activity import audit_row, insert_activity

__all__ = ["WEBHOOKS", "update_endpoint"]

#: The actor of what the delivery side does to an endpoint.
WEBHOOKS = str(Actor.system("webhooks"))


def update_endpoint(conn: Connection, endpoint: Any, values: dict[str, Any], now: datetime) -> None:
    """Write ``values`` (``failing_since``, perhaps ``disabled`` and its reason) to the
    endpoint unless it is disabled already; if this disables it, its activity entry."""
    e = t.webhook_endpoints
    changed = conn.execute(
        e.update().where(e.c.id == endpoint.id, ~e.c.disabled).values(updated_at=now, **values)
    ).rowcount
    if not changed or not values.get("disabled"):
        return
    before = {"disabled": False, "disabledReason": endpoint.disabled_reason}
    after = {"disabled": True, "disabledReason": values["disabled_reason"]}
    entry = AuditEntry(
        AuditType.WEBHOOK_ENDPOINT_DISABLED,
        endpoint.id,
        WEBHOOKS,
        field_changes(before, after),
        reason=values["disabled_reason"],
    )
    row = audit_row(endpoint.company_id, entry, at=now, command_id=None)
    insert_activity(conn, [row])
