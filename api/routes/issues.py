"""Issues: list, create, get, patch, the verbs, comments, runs."""

from __future__ import annotations

from typing import Any

from litestar import Request, Response, get, patch, post
from litestar.openapi.spec import Schema

from api.auth import Principal, admin_of, member_of, refuse
from api.io import json_response, page_of, parse_body, parse_time, query_params, read_page, submit
from api.openapi import LIST, ON_ISSUE, PAGE, READ, as_command, documented, moment, text
from api.resources import Comment, CommentPage, Issue, IssuePage, Run, RunPage
from api.schemas import (
    AssignBody,
    CancelBody,
    CommentCreate,
    IssueCreate,
    IssuePatch,
    ReassignBody,
)
from api.services import services
from domain import commands as c
from domain.errors import FieldError, InvalidRequest
from domain.statuses import IssueStatus
from service import queries
from service.ids import new_id

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]

STATUSES = {s.value for s in IssueStatus}
LIST_QUERY: dict[str, Schema] = {
    **PAGE,
    "status": text(f"Comma-separated statuses: {', '.join(s.value for s in IssueStatus)}."),
    "agent": text("Assigned to this agent."),
    "team": text("Assigned to this team."),
    "parent": text("`null`: top-level issues only; an issue id: its children."),
    "label": text("Has this label (exact)."),
    "since": moment("Created at or after this time."),
    "until": moment("Created before this time."),
}
LIST_FILTERS = set(LIST_QUERY)


def _filters(params: dict[str, str]) -> queries.IssueFilters:
    statuses: tuple[str, ...] = ()
    if "status" in params:
        statuses = tuple(s.strip() for s in params["status"].split(",") if s.strip())
        unknown = [s for s in statuses if s not in STATUSES]
        if unknown or not statuses:
            raise InvalidRequest(
                [FieldError(("query", "status"), f"unknown status {s!r}") for s in unknown]
                or [FieldError(("query", "status"), "give at least one status")]
            )
    parent = params.get("parent")
    return queries.IssueFilters(
        statuses=statuses,
        agent=params.get("agent"),
        team=params.get("team"),
        parent="" if parent == "null" else parent,
        label=params.get("label"),
        since=parse_time(params, "since"),
        until=parse_time(params, "until"),
    )


@get(
    "/v1/companies/{cid:str}/issues",
    operation_class=documented(answers={200: IssuePage}, errors=LIST, query=LIST_QUERY),
)
async def list_issues(request: Req, cid: str) -> Response[Any]:
    await member_of(request, cid)
    params = query_params(request, LIST_FILTERS)
    filters = _filters(params)
    return json_response(await read_page(request, params, queries.list_issues, cid, filters))


@post(
    "/v1/companies/{cid:str}/issues",
    operation_class=as_command(IssueCreate, Issue, 201),
)
async def create_issue(request: Req, cid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, IssueCreate)
    command = c.CreateIssue(
        issue_id=new_id("iss"),
        title=body.title,
        description=body.description,
        parent_id=body.parent_id,
        assigned_team_id=body.assigned_team_id,
        assigned_agent_id=body.assigned_agent_id,
        budget_per_task_usd=body.budget.per_task_usd if body.budget else None,
        due_at=body.due_at,
        labels=tuple(body.labels),
        dependencies=tuple(body.dependencies),
        max_attempts=body.max_attempts,
    )
    return await submit(request, who, cid, command, data, status=201)


@get(
    "/v1/companies/{cid:str}/issues/{iid:str}",
    operation_class=documented(answers={200: Issue}, errors=READ),
)
async def get_issue(request: Req, cid: str, iid: str) -> Response[Any]:
    await member_of(request, cid)
    issue = await services(request).read(queries.get_issue, cid, iid)
    return json_response(issue, headers={"ETag": f'"{issue["version"]}"'})


@patch(
    "/v1/companies/{cid:str}/issues/{iid:str}",
    operation_class=as_command(IssuePatch, Issue, headers=ON_ISSUE),
)
async def update_issue(request: Req, cid: str, iid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, IssuePatch)
    fields = set(body.model_fields_set) - {"budget"}
    if body.budget is not None:
        fields.add("budget_per_task_usd")
    command = c.UpdateIssue(
        issue_id=iid,
        fields_set=frozenset(fields),
        title=body.title,
        description=body.description,
        labels=None if body.labels is None else tuple(body.labels),
        due_at=body.due_at,
        budget_per_task_usd=body.budget.per_task_usd if body.budget else None,
    )
    return await submit(request, who, cid, command, data)


@post(
    "/v1/companies/{cid:str}/issues/{iid:str}/assign",
    operation_class=as_command(AssignBody, Issue, headers=ON_ISSUE),
)
async def assign_issue(request: Req, cid: str, iid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, AssignBody)
    return await submit(request, who, cid, c.AssignIssue(iid, body.agent_id), data)


@post(
    "/v1/companies/{cid:str}/issues/{iid:str}/cancel",
    operation_class=as_command(CancelBody, Issue, headers=ON_ISSUE),
)
async def cancel_issue(request: Req, cid: str, iid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, CancelBody)
    return await submit(request, who, cid, c.CancelIssue(iid, body.reason, body.cascade), data)


@post(
    "/v1/companies/{cid:str}/issues/{iid:str}/reassign",
    operation_class=as_command(ReassignBody, Issue, headers=ON_ISSUE),
)
async def reassign_issue(request: Req, cid: str, iid: str) -> Response[Any]:
    who = await admin_of(request, cid)
    body, data = await parse_body(request, ReassignBody)
    command = c.ReassignIssue(iid, body.to_agent_id, body.to_team_id, body.reason)
    return await submit(request, who, cid, command, data)


async def _check_author(request: Req, cid: str, who: Principal, author: str) -> None:
    if who.kind == "agent" and author != f"agent:{who.agent_id}":
        await refuse(request, cid, f"an agent token may only write as agent:{who.agent_id}")


@post(
    "/v1/companies/{cid:str}/issues/{iid:str}/comments",
    operation_class=as_command(CommentCreate, Comment, 201, headers=ON_ISSUE),
)
async def post_comment(request: Req, cid: str, iid: str) -> Response[Any]:
    who = await member_of(request, cid)
    body, data = await parse_body(request, CommentCreate)
    await _check_author(request, cid, who, body.author)
    command = c.PostComment(new_id("cmt"), iid, body.text, body.author)
    return await submit(request, who, cid, command, data, status=201)


@get(
    "/v1/companies/{cid:str}/issues/{iid:str}/comments",
    operation_class=documented(answers={200: CommentPage}, errors=LIST, query=PAGE),
)
async def list_comments(request: Req, cid: str, iid: str) -> Response[Any]:
    await member_of(request, cid)
    return await page_of(request, queries.list_comments, cid, iid)


@get(
    "/v1/companies/{cid:str}/issues/{iid:str}/runs",
    operation_class=documented(answers={200: RunPage}, errors=LIST, query=PAGE),
)
async def list_runs(request: Req, cid: str, iid: str) -> Response[Any]:
    await member_of(request, cid)
    return await page_of(request, queries.list_runs, cid, iid)


@get(
    "/v1/companies/{cid:str}/issues/{iid:str}/runs/{rid:str}",
    operation_class=documented(answers={200: Run}, errors=READ),
)
async def get_run(request: Req, cid: str, iid: str, rid: str) -> Response[Any]:
    await member_of(request, cid)
    return json_response(await services(request).read(queries.get_run, cid, iid, rid))


ROUTES = [
    list_issues,
    create_issue,
    get_issue,
    update_issue,
    assign_issue,
    cancel_issue,
    reassign_issue,
    post_comment,
    list_comments,
    list_runs,
    get_run,
]
