"""Webhook subscriptions, their delivery log, and redelivery."""

from __future__ import annotations

import base64
import os
from typing import Any

import anyio.to_thread
from litestar import Request, Response, delete, get, patch, post

from api.auth import admin_of
from api.io import json_response, page_of, parse_body, submit
from api.openapi import ADMIN_LIST, ADMIN_READ, PAGE, as_command, documented
from api.resources import Delivery, DeliveryPage, NewWebhook, Webhook, WebhookPage
from api.schemas import EmptyBody, WebhookCreate, WebhookPatch
from api.services import services
from domain import commands as c
from domain.errors import InvalidRequest
from service.ids import new_id
from service.webhooks import queries
from service.webhooks.ssrf import UnsafeUrl, parse_webhook_url, resolve_safely

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
BASE = "/v1/companies/{cid:str}/webhooks"


async def _check_url(request: Req, url: str) -> None:
    """Refuse URLs naming a port not allowed, or resolving to private, loopback or link-local
    addresses (SSRF)."""
    settings = services(request).settings
    allow = settings.webhook_allow_private
    try:
        _, host, port, _ = parse_webhook_url(url, allowed_ports=settings.webhook_ports)
        await anyio.to_thread.run_sync(lambda: resolve_safely(host, port, allow_private=allow))
    except UnsafeUrl as exc:
        raise InvalidRequest.at(["url"], str(exc)) from exc


@post(
    BASE,
    operation_class=as_command(WebhookCreate, NewWebhook, 201),
)
async def create_webhook(request: Req, cid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, WebhookCreate)
    await _check_url(request, body.url)
    # Standard Webhooks secret: shown once, in this answer.
    secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
    command = c.CreateWebhook(new_id("whk"), body.url, tuple(body.events), secret, body.description)
    response = await submit(request, who, cid, command, data, status=201)
    content = response.content
    if isinstance(content, dict) and content.get("id") == command.webhook_id:
        response.content = {**content, "secret": secret}
    return response


@get(BASE, operation_class=documented(answers={200: WebhookPage}, errors=ADMIN_LIST, query=PAGE))
async def list_webhooks(request: Req, cid: str) -> Response[Any]:
    await admin_of(request, cid)
    return await page_of(request, queries.list_webhooks, cid)


@get(BASE + "/{wid:str}", operation_class=documented(answers={200: Webhook}, errors=ADMIN_READ))
async def get_webhook(request: Req, cid: str, wid: str) -> Response[Any]:
    await admin_of(request, cid)
    return json_response(await services(request).read(queries.get_webhook, cid, wid))


@patch(
    BASE + "/{wid:str}",
    operation_class=as_command(WebhookPatch, Webhook),
)
async def update_webhook(request: Req, cid: str, wid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, WebhookPatch)
    if body.url is not None:
        await _check_url(request, body.url)
    command = c.UpdateWebhook(
        wid,
        frozenset(body.model_fields_set),
        url=body.url,
        events=None if body.events is None else tuple(body.events),
        disabled=body.disabled,
        description=body.description,
    )
    return await submit(request, who, cid, command, data)


@delete(
    BASE + "/{wid:str}",
    status_code=200,  # answers 204 (Litestar refuses a 204 handler that returns a Response)
    operation_class=as_command(None, None, 204),
)
async def delete_webhook(request: Req, cid: str, wid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    return await submit(request, who, cid, c.DeleteWebhook(wid), {}, status=204)


@get(
    BASE + "/{wid:str}/deliveries",
    operation_class=documented(answers={200: DeliveryPage}, errors=ADMIN_LIST, query=PAGE),
)
async def list_deliveries(request: Req, cid: str, wid: str) -> Response[Any]:
    await admin_of(request, cid)
    return await page_of(request, queries.list_deliveries, cid, wid)


@post(
    BASE + "/{wid:str}/deliveries/{did:str}/redeliver",
    operation_class=as_command(EmptyBody, Delivery, 201),
)
async def redeliver(request: Req, cid: str, wid: str, did: str) -> Response[Any]:
    who = await admin_of(request, cid)
    _, data = await parse_body(request, EmptyBody)
    command = c.RedeliverWebhook(wid, did, new_id("dlv"))
    return await submit(request, who, cid, command, data, status=201)


ROUTES = [
    create_webhook,
    list_webhooks,
    get_webhook,
    update_webhook,
    delete_webhook,
    list_deliveries,
    redeliver,
]
