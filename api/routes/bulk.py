"""Bulk operations: assign, cancel or reassign up to 10,000 issues, each on its own."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, get, post
from pydantic import BaseModel, ValidationError

from api.auth import admin_of
from api.io import COMMAND_ID_HEADER, json_response, parse_body, submit
from api.openapi import ADMIN_READ, IDEMPOTENT, WRITE, documented
from api.resources import BulkJob, BulkStarted
from api.schemas import AssignBody, BulkBody, CancelBody, ReassignBody
from api.services import services
from domain import commands as c
from domain.errors import FieldError, InvalidRequest, NotFound
from service.bulk import get_bulk
from service.ids import new_id

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
#: The ``args`` of each op are those of the single verb.
ARGS: dict[str, type[BaseModel]] = {
    "assign": AssignBody,
    "cancel": CancelBody,
    "reassign": ReassignBody,
}
#: How often a waiting bulk request looks at its job, in seconds.
POLL_S = 0.05


def _check_args(body: BulkBody) -> dict[str, Any]:
    try:
        ARGS[body.op].model_validate(body.args)
    except ValidationError as exc:
        raise InvalidRequest(
            [FieldError(("args", *e["loc"]), e["msg"]) for e in exc.errors(include_url=False)]
        ) from exc
    return body.args


@post(
    "/v1/companies/{cid:str}/issues/bulk",
    operation_class=documented(
        body=BulkBody,
        answers={200: BulkJob, 202: BulkStarted},
        errors=WRITE,
        headers=IDEMPOTENT,
    ),
)
async def start_bulk(request: Req, cid: str) -> Response[Any]:
    """Answers the per-issue outcomes when done within the wait; else 202 and a Location."""
    who = await admin_of(request, cid)
    body, data = await parse_body(request, BulkBody)
    command = c.StartBulk(new_id("blk"), body.op, _check_args(body), tuple(body.ids))
    # Recording the job is quick: always wait for it, so its Location answers at once.
    started = await submit(request, who, cid, command, data, status=202, wait=True)
    if started.status_code != 202 or not isinstance(started.content, dict):
        return started
    svc = services(request)
    # The job the answer names: a replayed Idempotency-Key answers the first request's job.
    # (An answer that only says the command is queued names none: it is this command's.)
    bulk_id = str(started.content.get("id", command.bulk_id))
    location = {
        "Location": f"/v1/companies/{cid}/bulk/{bulk_id}",
        COMMAND_ID_HEADER: started.headers[COMMAND_ID_HEADER],
    }
    loop = asyncio.get_running_loop()
    deadline = loop.time() + svc.settings.command_wait_ms / 1000
    wants_async = "respond-async" in request.headers.get("prefer", "").lower()
    while not wants_async and loop.time() < deadline:
        try:
            job = await svc.read(get_bulk, cid, bulk_id)
        except NotFound:  # still queued: the command that records it has not been applied
            job = None
        if job is not None and job["status"] == "done":
            return json_response(job, 200, location)
        await asyncio.sleep(POLL_S)
    body_202 = {"id": bulk_id, "status": "running", "total": len(body.ids)}
    return json_response(body_202, 202, location)


@get(
    "/v1/companies/{cid:str}/bulk/{bid:str}",
    operation_class=documented(answers={200: BulkJob}, errors=ADMIN_READ),
)
async def bulk_status(request: Req, cid: str, bid: str) -> Response[Any]:
    await admin_of(request, cid)
    return json_response(await services(request).read(get_bulk, cid, bid))


ROUTES = [start_bulk, bulk_status]
