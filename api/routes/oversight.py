"""What humans watch and decide: costs and budgets, approvals, the activity trail."""

from __future__ import annotations

from datetime import datetime
from typing import Any

from litestar import Request, Response, get, post

from api.auth import admin_of, member_of
from api.io import json_response, parse_body, parse_time, query_params, read_page, submit
from api.openapi import ADMIN_LIST, ADMIN_READ, ON_ISSUE, PAGE, as_command, documented, moment, text
from api.resources import ActivityPage, Approval, ApprovalPage, CostReported, CostRollup
from api.routes.runs import RUN, acting_agent
from api.schemas import ApprovalDecisionBody, ApprovalRequestBody, CostBody
from api.services import services
from domain import commands as c
from domain.approvals import ApprovalStatus
from domain.errors import InvalidRequest
from domain.events import ACTIVITY_TYPES
from service import approvals
from service.activity import ActivityFilters, list_activity
from service.costs import DIMENSIONS, cost_rollup, whole_hour
from service.ids import new_id

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
COMPANY = "/v1/companies/{cid:str}"
APPROVAL_STATUSES = {s.value for s in ApprovalStatus}

COST_QUERY = {
    "groupBy": text("What to sum per key (default `issue`).", enum=list(DIMENSIONS)),
    "since": moment("From this whole hour (inclusive)."),
    "until": moment("To this whole hour (exclusive)."),
    **PAGE,
}
APPROVAL_QUERY = {
    "status": text("Only approvals in this status.", enum=sorted(APPROVAL_STATUSES)),
    "issueId": text("Only this issue's."),
    "agentId": text("Only this agent's."),
    **PAGE,
}
ACTIVITY_QUERY = {
    "issueId": text("Only this issue's entries."),
    "type": text("Only entries of this type.", enum=sorted(ACTIVITY_TYPES)),
    "since": moment("At or after this time."),
    "until": moment("Before this time."),
    **PAGE,
}
#: Approve or reject: answers the approval as decided.
DECISION = as_command(ApprovalDecisionBody, Approval, headers=ON_ISSUE)


@post(RUN + "/costs", operation_class=as_command(CostBody, CostReported, headers=ON_ISSUE))
async def report_cost(request: Req, cid: str, iid: str, rid: str) -> Response[Any]:
    """Add to the run's cost and the issue's spend; at the budget cap the run stops."""
    who = await member_of(request, cid)
    agent_id = await acting_agent(request, cid, who)
    body, data = await parse_body(request, CostBody)
    command = c.ReportCost(
        iid,
        rid,
        body.lease_token,
        new_id("cost"),
        body.usd,
        body.input_tokens,
        body.output_tokens,
        body.model,
        agent_id,
    )
    return await submit(request, who, cid, command, data)


def _hour(params: dict[str, str], name: str) -> datetime | None:
    moment = parse_time(params, name)
    if moment is not None and moment != whole_hour(moment):
        raise InvalidRequest.at(
            ["query", name], "costs are kept per hour: give a whole hour, e.g. 2026-04-11T08:00:00Z"
        )
    return moment


@get(
    COMPANY + "/costs",
    operation_class=documented(answers={200: CostRollup}, errors=ADMIN_LIST, query=COST_QUERY),
)
async def cost_rollups(request: Req, cid: str) -> Response[Any]:
    await admin_of(request, cid)
    params = query_params(request, set(COST_QUERY))
    group_by = params.get("groupBy", "issue")
    if group_by not in DIMENSIONS:
        raise InvalidRequest.at(["query", "groupBy"], f"one of {', '.join(DIMENSIONS)}")
    since, until = _hour(params, "since"), _hour(params, "until")
    if since is not None and until is not None and since >= until:
        raise InvalidRequest.at(["query", "until"], "until must be after since")
    rollup = await read_page(request, params, cost_rollup, cid, group_by, since, until)
    return json_response(rollup)


@post(
    RUN + "/approvals",
    operation_class=as_command(ApprovalRequestBody, Approval, 201, headers=ON_ISSUE),
)
async def request_approval(request: Req, cid: str, iid: str, rid: str) -> Response[Any]:
    who = await member_of(request, cid)
    agent_id = await acting_agent(request, cid, who)
    body, data = await parse_body(request, ApprovalRequestBody)
    command = c.RequestApproval(
        iid,
        rid,
        body.lease_token,
        new_id("apr"),
        body.action,
        body.details,
        agent_id,
    )
    return await submit(request, who, cid, command, data, status=201)


@get(
    COMPANY + "/approvals",
    operation_class=documented(
        answers={200: ApprovalPage}, errors=ADMIN_LIST, query=APPROVAL_QUERY
    ),
)
async def list_approvals(request: Req, cid: str) -> Response[Any]:
    """The approval queue: ``?status=pending`` is what waits for a human."""
    await admin_of(request, cid)
    params = query_params(request, set(APPROVAL_QUERY))
    status = params.get("status")
    if status is not None and status not in APPROVAL_STATUSES:
        raise InvalidRequest.at(
            ["query", "status"], f"one of {', '.join(sorted(APPROVAL_STATUSES))}"
        )
    page = await read_page(
        request,
        params,
        approvals.list_approvals,
        cid,
        status,
        params.get("issueId"),
        params.get("agentId"),
    )
    return json_response(page)


@get(
    COMPANY + "/approvals/{apid:str}",
    operation_class=documented(answers={200: Approval}, errors=ADMIN_READ),
)
async def get_approval(request: Req, cid: str, apid: str) -> Response[Any]:
    await admin_of(request, cid)
    return json_response(await services(request).read(approvals.get_approval, cid, apid))


async def _decide(request: Req, cid: str, apid: str, approve: bool) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, ApprovalDecisionBody)
    # The decision is applied on the issue's shard, in order with the run's own calls.
    issue_id = await services(request).read(approvals.approval_issue_id, cid, apid)
    command = c.DecideApproval(issue_id, apid, approve, body.comment)
    return await submit(request, who, cid, command, data)


@post(COMPANY + "/approvals/{apid:str}/approve", operation_class=DECISION)
async def approve(request: Req, cid: str, apid: str) -> Response[Any]:
    return await _decide(request, cid, apid, approve=True)


@post(COMPANY + "/approvals/{apid:str}/reject", operation_class=DECISION)
async def reject(request: Req, cid: str, apid: str) -> Response[Any]:
    return await _decide(request, cid, apid, approve=False)


@get(
    COMPANY + "/activity",
    operation_class=documented(
        answers={200: ActivityPage}, errors=ADMIN_LIST, query=ACTIVITY_QUERY
    ),
)
async def activity(request: Req, cid: str) -> Response[Any]:
    await admin_of(request, cid)
    params = query_params(request, set(ACTIVITY_QUERY))
    kind = params.get("type")
    if kind is not None and kind not in ACTIVITY_TYPES:
        raise InvalidRequest.at(["query", "type"], f"one of {', '.join(sorted(ACTIVITY_TYPES))}")
    filters = ActivityFilters(
        params.get("issueId"), kind, parse_time(params, "since"), parse_time(params, "until")
    )
    return json_response(await read_page(request, params, list_activity, cid, filters))


ROUTES = [
    report_cost,
    cost_rollups,
    request_approval,
    list_approvals,
    get_approval,
    approve,
    reject,
    activity,
]
