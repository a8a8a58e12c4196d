"""Reads of webhook endpoints and their delivery log."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.errors import NotFound
from service.answers.webhooks import delivery_json, webhook_json
from service.reads.pagination import page
from service.store import tables as t

__all__ = ["get_webhook", "list_deliveries", "list_webhooks"]


def get_webhook(conn: Connection, company_id: str, webhook_id: str) -> dict[str, Any]:
    e = t.webhook_endpoints
    row = conn.execute(
        sa.select(e).where(e.c.id == webhook_id, e.c.company_id == company_id)
    ).first()
    if row is None:
        raise NotFound("webhook", webhook_id)
    return webhook_json(row._mapping)


def list_webhooks(
    conn: Connection, company_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    e = t.webhook_endpoints
    query = sa.select(e).where(e.c.company_id == company_id)
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [webhook_json(r._mapping) for r in rows],
    )


def list_deliveries(
    conn: Connection, company_id: str, webhook_id: str, cursor: str | None, limit: int
) -> dict[str, Any]:
    get_webhook(conn, company_id, webhook_id)
    d = t.webhook_deliveries
    query = (
        sa.select(d, t.webhook_events.c.type.label("event_type"))
        .join(t.webhook_events, t.webhook_events.c.id == d.c.event_id)
        .where(d.c.endpoint_id == webhook_id)
    )
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: [delivery_json(r._mapping) for r in rows],
        order=(d.c.created_at, d.c.id),
    )
