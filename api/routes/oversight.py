"""What humans watch and decide: costs and budgets, approvals, the activity trail."""

from __future__ import annotations

import asyncio
from datetime import datetime
from typing import Annotated, Any

from litestar import Controller, Request, Response, get, post
from litestar.params import JSONBody

from api.activity_params import SCOPES, entry_scope, entry_type
from api.io import COMMAND_ID_HEADER, checked_query, json_response, parse_time, read_page
from api.openapi import ADMIN_LIST, ADMIN_READ, ON_ISSUE, reads, writes
from api.routes.runs import RUN, agent_of
from api.routing import (
    Cursor,
    Limit,
    PathId,
    Send,
    Who,
    admin,
    created_in,
    query_text,
    query_time,
    run_agent,
)
from api.schemas import ApprovalDecisionBody, ApprovalRequestBody, ApprovalsDecideBody, CostBody
from api.services import services
from domain import commands as c
from domain.approvals import ApprovalStatus
from domain.errors import DomainError, InvalidRequest
from domain.events import ACTIVITY_TYPES
from service import kinds
from service.answers.common import Problem, wire
from service.answers.oversight import ActivityPage, CostReported, CostRollup
from service.answers.runs import Approval, ApprovalDecisions, ApprovalOutcome, ApprovalPage
from service.problems import problem_from_error
from service.reads import approvals as approval_reads
from service.reads.activity import ActivityFilters, list_activity
from service.reads.costs import cost_rollup
from service.store import approvals
from service.store.costs import DIMENSIONS, whole_hour

__all__ = ["ActivityController", "ApprovalController", "CostController", "RunOversight"]

Req = Request[Any, Any, Any]

APPROVAL_STATUSES = sorted(s.value for s in ApprovalStatus)


def _hour(params: dict[str, str], name: str) -> datetime | None:
    moment = parse_time(params, name)
    if moment is not None and moment != whole_hour(moment):
        raise InvalidRequest.at(
            ["query", name], "costs are kept per hour: give a whole hour, e.g. 2026-04-11T08:00:00Z"
        )
    return moment


class RunOversight(Controller):
    """What a run's agent reports for a human to see: its cost, and the approvals it asks."""

    path = RUN
    guards = [run_agent]

    @post(
        "/costs", status_code=200, operation_id="costs_report", tags=["costs"], **writes(ON_ISSUE)
    )
    async def report_cost(
        self,
        cid: PathId,
        iid: PathId,
        rid: PathId,
        who: Who,
        send: Send,
        data: JSONBody[CostBody],
    ) -> Response[CostReported]:
        """Report a run's cost

        Adds to the run's cost and the issue's spend; when the spend reaches the issue's
        budget the run stops (`stop: true`, `stopReason: "budget_exceeded"`)."""
        command = c.ReportCost(
            iid,
            rid,
            data.lease_token,
            kinds.COST.new_id(),
            data.usd,
            data.input_tokens,
            data.output_tokens,
            data.model,
            agent_of(who),
        )
        return await send(command)

    @post("/approvals", operation_id="approvals_request", tags=["approvals"], **writes(ON_ISSUE))
    async def request_approval(
        self,
        cid: PathId,
        iid: PathId,
        rid: PathId,
        who: Who,
        send: Send,
        data: JSONBody[ApprovalRequestBody],
    ) -> Response[Approval]:
        """Ask a human to approve an action

        A `pending` approval; the decision reaches the agent at its next checkpoint. Nobody
        deciding by `expiresAt` expires it, which the agent also learns at a checkpoint."""
        expires_in = data.expires_in_seconds or services(send.request).settings.approval_timeout_s
        command = c.RequestApproval(
            iid,
            rid,
            data.lease_token,
            kinds.APPROVAL.new_id(),
            data.action,
            data.details,
            agent_of(who),
            expires_in,
        )
        location = created_in(cid, "approvals")
        return await send(command, status=201, location=location)


class CostController(Controller):
    path = "/costs"
    tags = ["costs"]
    guards = [admin]

    @get("", operation_id="costs_rollup", **reads(ADMIN_LIST))
    async def cost_rollups(
        self,
        request: Req,
        cid: PathId,
        group_by: Annotated[
            str | None,
            query_text("What to sum per key (default `issue`).", enum=DIMENSIONS, name="groupBy"),
        ] = None,
        since: Annotated[str | None, query_time("From this whole hour (inclusive).")] = None,
        until: Annotated[str | None, query_time("To this whole hour (exclusive).")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response[CostRollup]:
        """Sum costs

        The company's spend and tokens per issue, agent, team, label or model, over whole
        hours, with the total."""
        params = checked_query(request)
        group = params.get("groupBy", "issue")
        if group not in DIMENSIONS:
            raise InvalidRequest.at(["query", "groupBy"], f"one of {', '.join(DIMENSIONS)}")
        start, end = _hour(params, "since"), _hour(params, "until")
        if start is not None and end is not None and start >= end:
            raise InvalidRequest.at(["query", "until"], "until must be after since")
        return json_response(await read_page(request, cost_rollup, cid, group, start, end))


def _problem(error: DomainError) -> Problem:
    return Problem.model_validate(problem_from_error(error)[1])


class ApprovalController(Controller):
    path = "/approvals"
    tags = ["approvals"]
    guards = [admin]

    @get("", operation_id="approvals_list", **reads(ADMIN_LIST))
    async def list_approvals(
        self,
        request: Req,
        cid: PathId,
        status: Annotated[
            str | None, query_text("Only approvals in this status.", enum=APPROVAL_STATUSES)
        ] = None,
        issue_id: Annotated[str | None, query_text("Only this issue's.", name="issueId")] = None,
        agent_id: Annotated[str | None, query_text("Only this agent's.", name="agentId")] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response[ApprovalPage]:
        """List approvals

        The approval queue, oldest first: `?status=pending` is what waits for a human."""
        if status is not None and status not in APPROVAL_STATUSES:
            raise InvalidRequest.at(["query", "status"], f"one of {', '.join(APPROVAL_STATUSES)}")
        page = await read_page(
            request, approval_reads.list_approvals, cid, status, issue_id, agent_id
        )
        return json_response(page)

    @get("/{apid:str}", operation_id="approvals_get", **reads(ADMIN_READ))
    async def get_approval(self, request: Req, cid: PathId, apid: PathId) -> Response[Approval]:
        """Get an approval

        What was asked, by which run, and its decision."""
        return json_response(await services(request).read(approval_reads.get_approval, cid, apid))

    @post("/decide", status_code=200, operation_id="approvals_decide", **writes())
    async def decide_many(
        self, request: Req, cid: PathId, send: Send, data: JSONBody[ApprovalsDecideBody]
    ) -> Response[ApprovalDecisions]:
        """Decide many approvals

        One decision for up to 100 approvals, each decided on its own (one refused refuses
        only itself); the outcome of each, in the order of `ids`. A retry with the same
        `Idempotency-Key` answers each id as before."""
        svc = services(request)
        approve = data.decision == "approve"

        async def one(apid: str) -> ApprovalOutcome:
            try:
                issue_id = await svc.read(approvals.approval_issue_id, cid, apid)
            except DomainError as refused:
                return ApprovalOutcome(id=apid, ok=False, error=_problem(refused))
            command = c.DecideApproval(issue_id, apid, approve, data.comment)
            answer = await send(command, wait=True, part=apid)
            body: Any = answer.content
            command_id = answer.headers.get(COMMAND_ID_HEADER)
            status = answer.status_code or 200
            if status == 202:
                return ApprovalOutcome(id=apid, ok=None, command_id=command_id)
            if status >= 400:
                return ApprovalOutcome(id=apid, ok=False, error=Problem.model_validate(body))
            return ApprovalOutcome(id=apid, ok=True, status=body["status"])

        results = await asyncio.gather(*(one(apid) for apid in data.ids))
        return json_response(wire(ApprovalDecisions(results=list(results))))

    async def _decide(
        self,
        request: Req,
        cid: PathId,
        apid: PathId,
        send: Send,
        approve: bool,
        comment: str | None,
    ) -> Response[Any]:
        # The decision is applied on the issue's shard, in order with the run's own calls.
        issue_id = await services(request).read(approvals.approval_issue_id, cid, apid)
        command = c.DecideApproval(issue_id, apid, approve, comment)
        return await send(command)

    @post(
        "/{apid:str}/approve",
        status_code=200,
        operation_id="approvals_approve",
        **writes(ON_ISSUE),
    )
    async def approve(
        self,
        request: Req,
        cid: PathId,
        apid: PathId,
        send: Send,
        data: JSONBody[ApprovalDecisionBody],
    ) -> Response[Approval]:
        """Approve

        Decides a pending approval; the agent learns it at its next checkpoint."""
        return await self._decide(request, cid, apid, send, True, data.comment)

    @post(
        "/{apid:str}/reject", status_code=200, operation_id="approvals_reject", **writes(ON_ISSUE)
    )
    async def reject(
        self,
        request: Req,
        cid: PathId,
        apid: PathId,
        send: Send,
        data: JSONBody[ApprovalDecisionBody],
    ) -> Response[Approval]:
        """Reject

        Decides a pending approval against; the agent learns it at its next checkpoint."""
        return await self._decide(request, cid, apid, send, False, data.comment)


class ActivityController(Controller):
    path = "/activity"
    tags = ["activity"]
    guards = [admin]

    @get("", operation_id="activity_list", **reads(ADMIN_LIST))
    async def activity(
        self,
        request: Req,
        cid: PathId,
        issue_id: Annotated[
            str | None, query_text("Only this issue's entries.", name="issueId")
        ] = None,
        type: Annotated[
            str | None, query_text("Only entries of this type.", enum=sorted(ACTIVITY_TYPES))
        ] = None,
        since: Annotated[str | None, query_time("At or after this time.")] = None,
        until: Annotated[str | None, query_time("Before this time.")] = None,
        entries: Annotated[
            str | None,
            query_text(
                "Which entries: `issue` (the default), an issue's; `company`, the company's "
                "own (agents, teams, tokens, webhook endpoints, budgets); `all`, both.",
                enum=SCOPES,
                name="scope",
            ),
        ] = None,
        subject_id: Annotated[
            str | None,
            query_text(
                "Only the entries about this agent, team, token, webhook endpoint or issue.",
                name="subjectId",
            ),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response[ActivityPage]:
        """List activity

        The company's activity trail, newest first: every transition and change of an issue
        (`scope=issue`, the default), or every change to the company itself (`scope=company`:
        agents, teams, tokens, webhook endpoints, budgets, each with its `changes`), or both
        (`scope=all`); each with its actor, reason and command."""
        params = checked_query(request)
        filters = ActivityFilters(
            issue_id,
            entry_type(type),
            parse_time(params, "since"),
            parse_time(params, "until"),
            entry_scope(entries, issue_id, type),
            subject_id,
        )
        return json_response(await read_page(request, list_activity, cid, filters))
