"""The agent work loop: claim (long-poll), checkpoint, complete, fail, hand off; and review."""

from __future__ import annotations

import asyncio
from typing import Any

from litestar import Controller, Request, Response, post
from litestar.params import JSONBody

from api.openapi import ON_ISSUE, writes
from api.routing import PathId, Send, Who, admin, own_claim, run_agent
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
from service import kinds
from service.answers.issues import Issue
from service.answers.runs import Checkpointed, Claimed
from service.reads import claims

__all__ = ["RUN", "RunController", "claim", "review"]

Req = Request[Any, Any, Any]

#: A run's path below the company's.
RUN = "/issues/{iid:str}/runs/{rid:str}"

#: A long-polling claim looks again at least this often, even without a wake-up, in s.
CLAIM_RECHECK_S = 1.0


def agent_of(who: Who) -> str:
    """The agent a ``run_agent`` guard let in."""
    assert who.agent_id is not None
    return who.agent_id


@post(
    "/agents/{aid:str}/claim",
    status_code=200,
    guards=[own_claim],
    operation_id="agents_claim",
    tags=["runs"],
    **writes(("Prefer",), empty={204: "No Content: nothing to claim within the wait."}),
)
async def claim(
    request: Req, cid: PathId, aid: PathId, who: Who, send: Send, data: JSONBody[ClaimBody]
) -> Response[Claimed]:
    """Claim work for an agent

    Starts a run on the agent's next issue and grants a lease; waits up to `waitSeconds`
    for one to appear, then answers 204 (nothing to do)."""
    svc = services(request)
    loop = asyncio.get_running_loop()
    deadline = loop.time() + data.wait_seconds
    while True:
        woken = svc.results.work_appeared(cid)
        try:
            if await svc.read(claims.worth_claiming, cid, aid):
                command = c.ClaimWork(aid, kinds.RUN.new_id(), data.lease_seconds, who.agent_id)
                answer = await send(command, idempotent=False)
                if answer.status_code != 204:
                    return answer
            remaining = deadline - loop.time()
            if remaining <= 0:
                return Response(content=None, status_code=204)  # type: ignore[arg-type]
            await asyncio.wait({woken}, timeout=min(remaining, CLAIM_RECHECK_S))
        finally:
            woken.cancel()


class RunController(Controller):
    """What only the run's agent does, with the lease token its claim granted."""

    path = RUN
    tags = ["runs"]
    guards = [run_agent]

    @post("/checkpoint", status_code=200, operation_id="runs_checkpoint", **writes(ON_ISSUE))
    async def checkpoint(
        self,
        cid: PathId,
        iid: PathId,
        rid: PathId,
        who: Who,
        send: Send,
        data: JSONBody[CheckpointBody],
    ) -> Response[Checkpointed]:
        """Checkpoint a run

        Renews the lease and records progress and state; answers the comments and approval
        decisions since the last checkpoint, and `stop: true` when the run must end."""
        command = c.RecordCheckpoint(
            iid,
            rid,
            data.lease_token,
            agent_of(who),
            fields_set=frozenset(data.model_fields_set - {"lease_token"}),
            progress=data.progress,
            state=data.state,
            workspace_url=data.workspace_url,
        )
        return await send(command)

    @post("/complete", status_code=200, operation_id="runs_complete", **writes(ON_ISSUE))
    async def complete(
        self,
        cid: PathId,
        iid: PathId,
        rid: PathId,
        who: Who,
        send: Send,
        data: JSONBody[CompleteBody],
    ) -> Response[Issue]:
        """Complete a run

        Ends the run with its result; the issue goes to `review`."""
        command = c.CompleteRun(
            iid, rid, data.lease_token, agent_of(who), data.result, data.workspace_url
        )
        return await send(command)

    @post("/fail", status_code=200, operation_id="runs_fail", **writes(ON_ISSUE))
    async def fail(
        self,
        cid: PathId,
        iid: PathId,
        rid: PathId,
        who: Who,
        send: Send,
        data: JSONBody[FailBody],
    ) -> Response[Issue]:
        """Fail a run

        Ends the run; a retryable failure queues the issue again while attempts remain,
        otherwise the issue is `failed`."""
        command = c.FailRun(
            iid, rid, data.lease_token, data.reason, agent_of(who), data.details, data.retryable
        )
        return await send(command)

    @post("/handoff", status_code=200, operation_id="runs_handoff", **writes(ON_ISSUE))
    async def handoff(
        self,
        cid: PathId,
        iid: PathId,
        rid: PathId,
        who: Who,
        send: Send,
        data: JSONBody[HandoffBody],
    ) -> Response[Issue]:
        """Hand a run off

        Ends the run and puts the issue in `handoff`, for a human to assign or reassign."""
        command = c.HandoffRun(iid, rid, data.lease_token, data.reason, agent_of(who))
        return await send(command)


@post(
    "/issues/{iid:str}/review",
    status_code=200,
    guards=[admin],
    operation_id="issues_review",
    tags=["issues"],
    **writes(ON_ISSUE),
)
async def review(
    cid: PathId, iid: PathId, send: Send, data: JSONBody[ReviewBody]
) -> Response[Issue]:
    """Review an issue's result

    `accept`: the issue is `done`; `reject`: it goes back to its agent (`assigned`) with
    the comment, for rework."""
    command = c.ReviewIssue(iid, data.decision == "accept", kinds.COMMENT.new_id(), data.comment)
    return await send(command)
