"""Webhooks: the endpoints, each with its recent deliveries (failing ones first), and
redeliver (the API's ``RedeliverWebhook``)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from api.console.render import act, form_of, page
from api.console.session import signed_in_as
from api.routing import PathId, Send
from api.services import services
from domain import commands as c
from service import kinds
from service.reads import webhooks

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
#: Endpoints listed, and deliveries shown per endpoint (the newest).
ENDPOINTS, DELIVERIES = 100, 20
#: Delivery statuses shown first, in this order (then the rest, newest first).
FAILING = ("failed", "pending")


def failing_first(deliveries: list[dict[str, Any]]) -> list[dict[str, Any]]:
    def rank(d: dict[str, Any]) -> int:
        if d["status"] in FAILING and (d["status"] == "failed" or d.get("lastError")):
            return FAILING.index(d["status"])
        return len(FAILING)

    return sorted(deliveries, key=rank)  # stable: newest first within each rank


async def _context(request: Req) -> dict[str, Any]:
    who = signed_in_as(request)
    svc = services(request)
    endpoints = (await svc.read(webhooks.list_webhooks, who.company_id, None, ENDPOINTS))["data"]
    shown = []
    for endpoint in endpoints:
        page_ = await svc.read(
            webhooks.list_deliveries, who.company_id, endpoint["id"], None, DELIVERIES
        )
        deliveries = failing_first(page_["data"])
        failing = sum(1 for d in deliveries if d["status"] == "failed" or d.get("lastError"))
        shown.append({"endpoint": endpoint, "deliveries": deliveries, "failing": failing})
    shown.sort(key=lambda e: (e["endpoint"]["disabled"] is False, -e["failing"]))
    return {"endpoints": shown}


@get("/webhooks", include_in_schema=False)
async def show(request: Req) -> Template:
    return page(request, "webhooks.html", title="Webhooks", **await _context(request))


@post("/webhooks/{wid:str}/deliveries/{did:str}/redeliver", include_in_schema=False)
async def redeliver(request: Req, wid: PathId, did: PathId, send: Send) -> Redirect | Template:
    await form_of(request)
    done = await act(send, c.RedeliverWebhook(wid, did, kinds.DELIVERY.new_id()))
    if done.ok:
        return Redirect("/ui/webhooks", status_code=303)
    return page(
        request, "webhooks.html", title="Webhooks", error=done.error, **await _context(request)
    )


ROUTES = [show, redeliver]
