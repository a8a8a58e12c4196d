"""Command handlers for webhook subscriptions and redelivery."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.audit import AuditType
from domain.commands import CreateWebhook, DeleteWebhook, RedeliverWebhook, UpdateWebhook
from domain.errors import NotFound
from domain.webhooks import DeliveryStatus
from service.answers.webhooks import delivery_json, webhook_json
from service.commands.context import Context, Reply
from service.commands.jobs import JobKind
from service.commands.registry import handles
from service.store import tables as t

__all__ = ["create_webhook", "delete_webhook", "redeliver_webhook", "update_webhook"]


@handles(CreateWebhook)
def create_webhook(cmd: CreateWebhook, ctx: Context) -> Any:
    row = {
        "id": cmd.webhook_id,
        "company_id": ctx.company_id,
        "url": cmd.url,
        "events": list(cmd.events),
        "description": cmd.description,
        "secret": cmd.secret,
        "disabled": False,
        "disabled_reason": None,
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }
    ctx.conn.execute(t.webhook_endpoints.insert().values(**row))
    body = webhook_json(row)  # without the secret: the route adds it to the answer, once
    ctx.audit(AuditType.WEBHOOK_ENDPOINT_CREATED, cmd.webhook_id, None, body)
    return body


def _endpoint(ctx: Context, webhook_id: str, *, for_update: bool = False) -> Any:
    query = sa.select(t.webhook_endpoints).where(
        t.webhook_endpoints.c.id == webhook_id, t.webhook_endpoints.c.company_id == ctx.company_id
    )
    row = ctx.conn.execute(query.with_for_update() if for_update else query).first()
    if row is None:
        raise NotFound("webhook", webhook_id)
    return row


@handles(UpdateWebhook)
def update_webhook(cmd: UpdateWebhook, ctx: Context) -> Any:
    before = webhook_json(_endpoint(ctx, cmd.webhook_id, for_update=True)._mapping)
    values: dict[str, Any] = {
        name: list(value) if isinstance(value, tuple) else value
        for name in cmd.fields_set
        if (value := getattr(cmd, name)) is not None or name == "description"
    }
    if "disabled" in values:
        # Re-enabling starts a fresh failure count; disabling by hand says so.
        values["disabled_reason"] = "disabled by a user" if values["disabled"] else None
        if not values["disabled"]:
            values["failing_since"] = None
    values["updated_at"] = ctx.now
    table = t.webhook_endpoints
    ctx.conn.execute(table.update().where(table.c.id == cmd.webhook_id).values(**values))
    after = webhook_json(_endpoint(ctx, cmd.webhook_id)._mapping)
    ctx.audit(_endpoint_change(before, after), cmd.webhook_id, before, after)
    return after


def _endpoint_change(before: dict[str, Any], after: dict[str, Any]) -> AuditType:
    """A PATCH that disables or enables the endpoint is its entry's type; else ``updated``."""
    if before["disabled"] != after["disabled"]:
        if after["disabled"]:
            return AuditType.WEBHOOK_ENDPOINT_DISABLED
        return AuditType.WEBHOOK_ENDPOINT_ENABLED
    return AuditType.WEBHOOK_ENDPOINT_UPDATED


@handles(DeleteWebhook)
def delete_webhook(cmd: DeleteWebhook, ctx: Context) -> Any:
    before = webhook_json(_endpoint(ctx, cmd.webhook_id, for_update=True)._mapping)
    d = t.webhook_deliveries
    ctx.conn.execute(d.delete().where(d.c.endpoint_id == cmd.webhook_id))
    table = t.webhook_endpoints
    ctx.conn.execute(table.delete().where(table.c.id == cmd.webhook_id))
    ctx.audit(AuditType.WEBHOOK_ENDPOINT_DELETED, cmd.webhook_id, before, None)
    return Reply(204)


@handles(RedeliverWebhook)
def redeliver_webhook(cmd: RedeliverWebhook, ctx: Context) -> Any:
    _endpoint(ctx, cmd.webhook_id)
    d = t.webhook_deliveries
    source = ctx.conn.execute(
        sa.select(d).where(d.c.id == cmd.delivery_id, d.c.endpoint_id == cmd.webhook_id)
    ).first()
    if source is None:
        raise NotFound("delivery", cmd.delivery_id)
    row = {
        "id": cmd.new_delivery_id,
        "company_id": ctx.company_id,
        "endpoint_id": cmd.webhook_id,
        "event_id": source.event_id,
        "status": DeliveryStatus.PENDING.value,
        "attempt": 0,
        "next_attempt_at": ctx.now,
        "enqueued_at": ctx.now,
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }
    ctx.conn.execute(d.insert().values(**row))
    ctx.jobs.append((JobKind.DELIVER, cmd.new_delivery_id))
    event_type = ctx.conn.execute(
        sa.select(t.webhook_events.c.type).where(t.webhook_events.c.id == source.event_id)
    ).scalar_one()
    return delivery_json({**row, "event_type": event_type})
