"""Webhook subscriptions, their delivery log, and redelivery."""

from __future__ import annotations

import base64
import os
from typing import Any

import anyio.to_thread
from litestar import Controller, Request, Response, delete, get, patch, post
from litestar.params import JSONBody

from api.io import json_response, read_page
from api.openapi import ADMIN_LIST, ADMIN_READ, reads, writes
from api.routing import Cursor, Limit, PathId, Send, admin, created_in
from api.schemas import EmptyBody, WebhookCreate, WebhookPatch
from api.services import services
from domain import commands as c
from domain.errors import InvalidRequest
from service import kinds
from service.answers.webhooks import Delivery, DeliveryPage, NewWebhook, Webhook, WebhookPage
from service.reads import webhooks
from service.webhooks.ssrf import UnsafeUrl, parse_webhook_url, resolve_safely

__all__ = ["WebhookController"]

Req = Request[Any, Any, Any]


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


class WebhookController(Controller):
    path = "/webhooks"
    tags = ["webhooks"]
    guards = [admin]

    @post("", operation_id="webhooks_create", **writes())
    async def create_webhook(
        self, request: Req, cid: PathId, send: Send, data: JSONBody[WebhookCreate]
    ) -> Response[NewWebhook]:
        """Subscribe an endpoint

        agentq POSTs the events it names to `url`, signed per Standard Webhooks with the
        `secret` in this answer (shown once)."""
        await _check_url(request, data.url)
        # Standard Webhooks secret: shown once, in this answer.
        secret = "whsec_" + base64.b64encode(os.urandom(24)).decode()
        command = c.CreateWebhook(
            kinds.WEBHOOK.new_id(), data.url, tuple(data.events), secret, data.description
        )
        location = created_in(cid, "webhooks")
        response = await send(command, status=201, location=location)
        content = response.content
        if isinstance(content, dict) and content.get("id") == command.webhook_id:
            response.content = {**content, "secret": secret}
        return response

    @get("", operation_id="webhooks_list", **reads(ADMIN_LIST))
    async def list_webhooks(
        self, request: Req, cid: PathId, cursor: Cursor = None, limit: Limit = 50
    ) -> Response[WebhookPage]:
        """List endpoints

        Newest first, disabled ones included (with why)."""
        return json_response(await read_page(request, webhooks.list_webhooks, cid))

    @get("/{wid:str}", operation_id="webhooks_get", **reads(ADMIN_READ))
    async def get_webhook(self, request: Req, cid: PathId, wid: PathId) -> Response[Webhook]:
        """Get an endpoint

        Its URL, events, description and whether it is disabled (the secret is not shown)."""
        return json_response(await services(request).read(webhooks.get_webhook, cid, wid))

    @patch("/{wid:str}", operation_id="webhooks_update", **writes())
    async def update_webhook(
        self, request: Req, cid: PathId, wid: PathId, send: Send, data: JSONBody[WebhookPatch]
    ) -> Response[Webhook]:
        """Update an endpoint

        Change its URL, events or description; disable it, or enable it again."""
        if data.url is not None:
            await _check_url(request, data.url)
        command = c.UpdateWebhook(
            wid,
            frozenset(data.model_fields_set),
            url=data.url,
            events=None if data.events is None else tuple(data.events),
            disabled=data.disabled,
            description=data.description,
        )
        return await send(command)

    @delete("/{wid:str}", status_code=200, operation_id="webhooks_delete", **writes(success=204))
    async def delete_webhook(self, cid: PathId, wid: PathId, send: Send) -> Response[None]:
        """Delete an endpoint

        No event is sent to it any more; its deliveries and their log go with it."""
        return await send(c.DeleteWebhook(wid), status=204)

    @get(
        "/{wid:str}/deliveries",
        operation_id="deliveries_list",
        **reads(ADMIN_LIST),
    )
    async def list_deliveries(
        self, request: Req, cid: PathId, wid: PathId, cursor: Cursor = None, limit: Limit = 50
    ) -> Response[DeliveryPage]:
        """List an endpoint's deliveries

        Newest first: each attempt's status, response code, duration and next attempt."""
        return json_response(await read_page(request, webhooks.list_deliveries, cid, wid))

    @post(
        "/{wid:str}/deliveries/{did:str}/redeliver",
        operation_id="deliveries_redeliver",
        **writes(located=False),
    )
    async def redeliver(
        self,
        cid: PathId,
        wid: PathId,
        did: PathId,
        send: Send,
        data: JSONBody[EmptyBody],
    ) -> Response[Delivery]:
        """Deliver an event again

        A new delivery of the same event (same `webhook-id`), sent at once."""
        command = c.RedeliverWebhook(wid, did, kinds.DELIVERY.new_id())
        return await send(command, status=201)
