"""Bulk operations: assign, cancel or reassign up to 10,000 issues, each on its own."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody
from pydantic import BaseModel, ValidationError

from api.io import COMMAND_ID_HEADER, json_response
from api.openapi import ADMIN_READ, reads, writes
from api.routing import PathId, Send, admin
from api.schemas import AssignBody, BulkBody, CancelBody, ReassignBody
from api.services import services
from domain import commands as c
from domain.errors import FieldError, InvalidRequest, NotFound
from service import kinds
from service.answers.bulk import BulkJob, BulkStarted
from service.reads.bulk import get_bulk

__all__ = ["BulkController"]

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


class BulkController(Controller):
    path = ""
    tags = ["bulk"]
    guards = [admin]

    @post(
        "/issues/bulk",
        status_code=200,
        operation_id="bulk_start",
        **writes(accepted=BulkStarted),
    )
    async def start_bulk(
        self, request: Req, cid: PathId, send: Send, data: JSONBody[BulkBody]
    ) -> Response[BulkJob]:
        """Run a verb on many issues

        Assign, cancel or reassign up to 10,000 issues, each on its own; answers the
        per-issue outcomes when done within the wait, else 202 with a `Location`."""
        command = c.StartBulk(kinds.BULK.new_id(), data.op, _check_args(data), tuple(data.ids))
        # Recording the job is quick: always wait for it, so its Location answers at once.
        started = await send(command, status=202, wait=True)
        if started.status_code != 202 or not isinstance(started.content, dict):
            return started
        svc = services(request)
        # The job the answer names: a replayed Idempotency-Key answers the first request's
        # job. (An answer that only says the command is queued names none: it is this one's.)
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
            except NotFound:  # still queued: the command that records it is not applied
                job = None
            if job is not None and job["status"] == "done":
                return json_response(job, 200, location)
            await asyncio.sleep(POLL_S)
        body_202 = {"id": bulk_id, "status": "running", "total": len(data.ids)}
        return json_response(body_202, 202, location)

    @get("/bulk/{bid:str}", operation_id="bulk_get", **reads(ADMIN_READ))
    async def bulk_status(self, request: Req, cid: PathId, bid: PathId) -> Response[BulkJob]:
        """Follow a bulk job

        `running`, then `done` with each id's outcome in the order of `ids`."""
        return json_response(await services(request).read(get_bulk, cid, bid))
