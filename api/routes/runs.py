"""The agent work loop: claim (long-poll), checkpoint, complete, fail, hand off; and review."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Request, Response, post

from api.auth import Principal, admin_of, member_of, refuse
from api.io import parse_body, submit
from api.openapi import ON_ISSUE, WRITE, as_command, documented
from api.resources import Checkpointed, Claimed, Issue
from api.schemas import (
    CheckpointBody,
    ClaimBody,
    CompleteBody,
    FailBody,
    HandoffBody,
    ReviewBody,
)
from api.services import services
from domain import commands as c
from service import queries
from service.ids import new_id

__all__ = ["ROUTES", "RUN", "acting_agent"]

Req = Request[Any, Any, Any]
RUN = "/v1/companies/{cid:str}/issues/{iid:str}/runs/{rid:str}"
#: A long-polling claim looks again at least this often, even without a wake-up, in s.
CLAIM_RECHECK_S = 1.0


async def acting_agent(request: Req, cid: str, who: Principal) -> str:
    """Only the run's agent drives its run (the handler checks the run is that agent's)."""
    if who.kind != "agent" or who.agent_id is None:
        await refuse(request, cid, "only the run's agent, with its agent token, drives a run")
    assert who.agent_id is not None
    return who.agent_id


@post(
    "/v1/companies/{cid:str}/agents/{aid:str}/claim",
    operation_class=documented(
        body=ClaimBody,
        answers={200: Claimed, 204: None},
        errors=WRITE,
        headers=("Prefer",),
        accepted=True,
    ),
)
async def claim(request: Req, cid: str, aid: str) -> Response[Any]:
    """Start a run on the agent's next issue; wait up to ``waitSeconds`` for one to appear."""
    who = await member_of(request, cid)
    if who.kind == "agent" and who.agent_id != aid:
        await refuse(request, cid, f"an agent token claims only for agent {who.agent_id}")
    body, data = await parse_body(request, ClaimBody)
    svc = services(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + body.wait_seconds
    while True:
        woken = svc.results.work_appeared(cid)
        try:
            if await svc.read(queries.worth_claiming, cid, aid):
                command = c.ClaimWork(aid, new_id("run"), body.lease_seconds, who.agent_id)
                answer = await submit(request, who, cid, command, data, idempotent=False)
                if answer.status_code != 204:
                    return answer
            remaining = deadline - loop.time()
            if remaining <= 0:
                return Response(content=None, status_code=204)
            await asyncio.wait({woken}, timeout=min(remaining, CLAIM_RECHECK_S))
        finally:
            woken.cancel()


@post(
    RUN + "/checkpoint", operation_class=as_command(CheckpointBody, Checkpointed, headers=ON_ISSUE)
)
async def checkpoint(request: Req, cid: str, iid: str, rid: str) -> Response[Any]:
    who = await member_of(request, cid)
    agent_id = await acting_agent(request, cid, who)
    body, data = await parse_body(request, CheckpointBody)
    command = c.RecordCheckpoint(
        iid,
        rid,
        body.lease_token,
        agent_id,
        fields_set=frozenset(body.model_fields_set - {"lease_token"}),
        progress=body.progress,
        state=body.state,
        workspace_url=body.workspace_url,
    )
    return await submit(request, who, cid, command, data)


@post(RUN + "/complete", operation_class=as_command(CompleteBody, Issue, headers=ON_ISSUE))
async def complete(request: Req, cid: str, iid: str, rid: str) -> Response[Any]:
    who = await member_of(request, cid)
    agent_id = await acting_agent(request, cid, who)
    body, data = await parse_body(request, CompleteBody)
    command = c.CompleteRun(
        iid,
        rid,
        body.lease_token,
        agent_id,
        body.result,
        body.workspace_url,
    )
    return await submit(request, who, cid, command, data)


@post(RUN + "/fail", operation_class=as_command(FailBody, Issue, headers=ON_ISSUE))
async def fail(request: Req, cid: str, iid: str, rid: str) -> Response[Any]:
    who = await member_of(request, cid)
    agent_id = await acting_agent(request, cid, who)
    body, data = await parse_body(request, FailBody)
    command = c.FailRun(
        iid,
        rid,
        body.lease_token,
        body.reason,
        agent_id,
        body.details,
        body.retryable,
    )
    return await submit(request, who, cid, command, data)


@post(RUN + "/handoff", operation_class=as_command(HandoffBody, Issue, headers=ON_ISSUE))
async def handoff(request: Req, cid: str, iid: str, rid: str) -> Response[Any]:
    who = await member_of(request, cid)
    agent_id = await acting_agent(request, cid, who)
    body, data = await parse_body(request, HandoffBody)
    command = c.HandoffRun(iid, rid, body.lease_token, body.reason, agent_id)
    return await submit(request, who, cid, command, data)


@post(
    "/v1/companies/{cid:str}/issues/{iid:str}/review",
    operation_class=as_command(ReviewBody, Issue, headers=ON_ISSUE),
)
async def review(request: Req, cid: str, iid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, ReviewBody)
    command = c.ReviewIssue(iid, body.decision == "accept", new_id("cmt"), body.comment)
    return await submit(request, who, cid, command, data)


ROUTES = [claim, checkpoint, complete, fail, handoff, review]
