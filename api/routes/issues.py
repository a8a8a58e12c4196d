"""Issues: list, create, get, patch, the verbs, comments, runs."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, get, patch, post
from litestar.params import JSONBody

from api.auth import refuse
from api.io import checked_query, json_response, parse_time, read_page
from api.openapi import LIST, ON_ISSUE, READ, reads, writes
from api.routing import (
    Cursor,
    Limit,
    PathId,
    Send,
    Who,
    admin,
    created_in,
    member,
    query_text,
    query_time,
)
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
from service import kinds
from service.answers.issues import Comment, CommentPage, Issue, IssuePage
from service.answers.runs import Run, RunPage
from service.reads import issues, runs

__all__ = ["CommentController", "IssueController", "IssueRunController"]

Req = Request[Any, Any, Any]

STATUSES = {s.value for s in IssueStatus}


def _filters(params: dict[str, str]) -> issues.IssueFilters:
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
    return issues.IssueFilters(
        statuses=statuses,
        agent=params.get("agent"),
        team=params.get("team"),
        parent="" if parent == "null" else parent,
        label=params.get("label"),
        since=parse_time(params, "since"),
        until=parse_time(params, "until"),
        overdue=_overdue(params.get("overdue")),
    )


def _overdue(raw: str | None) -> bool | None:
    if raw is None:
        return None
    if raw not in ("true", "false"):
        raise InvalidRequest.at(["query", "overdue"], "true or false")
    return raw == "true"


StatusFilter = Annotated[
    str | None,
    query_text(f"Comma-separated statuses: {', '.join(s.value for s in IssueStatus)}."),
]


class IssueController(Controller):
    path = "/issues"
    tags = ["issues"]

    @get("", guards=[member], operation_id="issues_list", **reads(LIST))
    async def list_issues(
        self,
        request: Req,
        cid: PathId,
        status: StatusFilter = None,
        agent: Annotated[str | None, query_text("Assigned to this agent.")] = None,
        team: Annotated[str | None, query_text("Assigned to this team.")] = None,
        parent: Annotated[
            str | None, query_text("`null`: top-level issues only; an issue id: its children.")
        ] = None,
        label: Annotated[str | None, query_text("Has this label (exact).")] = None,
        since: Annotated[str | None, query_time("Created at or after this time.")] = None,
        until: Annotated[str | None, query_time("Created before this time.")] = None,
        overdue: Annotated[
            str | None,
            query_text(
                "`true`: only live issues whose `dueAt` has passed; `false`: only the others.",
                enum=["true", "false"],
            ),
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response[IssuePage]:
        """List issues

        The company's issues, newest first, filtered by status, assignee, parent, label,
        creation time and whether they are overdue; a page at a time (`nextCursor`)."""
        filters = _filters(checked_query(request))
        return json_response(await read_page(request, issues.list_issues, cid, filters))

    @post("", guards=[admin], operation_id="issues_create", **writes())
    async def create_issue(
        self, cid: PathId, send: Send, data: JSONBody[IssueCreate]
    ) -> Response[Issue]:
        """Create an issue

        A new issue, `queued` (or `assigned` at once when it names an agent); `Location`
        names it."""
        command = c.CreateIssue(
            issue_id=kinds.ISSUE.new_id(),
            title=data.title,
            description=data.description,
            parent_id=data.parent_id,
            assigned_team_id=data.assigned_team_id,
            assigned_agent_id=data.assigned_agent_id,
            budget_per_task_usd=data.budget.per_task_usd if data.budget else None,
            due_at=data.due_at,
            labels=tuple(data.labels),
            dependencies=tuple(data.dependencies),
            max_attempts=data.max_attempts,
            priority=None if data.priority is None else data.priority.value,
            not_before=data.not_before,
            retry_base_s=None if data.retry_policy is None else data.retry_policy.base_seconds,
            retry_max_s=None if data.retry_policy is None else data.retry_policy.max_seconds,
            budget_include_subtasks=bool(data.budget and data.budget.include_subtasks),
        )
        return await send(command, status=201, location=created_in(cid, "issues"))

    @get("/{iid:str}", guards=[member], operation_id="issues_get", **reads(READ))
    async def get_issue(self, request: Req, cid: PathId, iid: PathId) -> Response[Issue]:
        """Get an issue

        The issue as it is now; its `ETag` is its version, for `If-Match`."""
        issue = await services(request).read(issues.get_issue, cid, iid)
        return json_response(issue, headers={"ETag": f'"{issue["version"]}"'})

    @patch("/{iid:str}", guards=[admin], operation_id="issues_update", **writes(ON_ISSUE))
    async def update_issue(
        self, cid: PathId, iid: PathId, send: Send, data: JSONBody[IssuePatch]
    ) -> Response[Issue]:
        """Update an issue

        Change the title, description, labels, due time, budget, priority or (while
        `queued`) `notBefore`; only while the issue is not done, failed or cancelled."""
        fields = set(data.model_fields_set) - {"budget"}
        if data.budget is not None:
            named = data.budget.model_fields_set
            fields.update(
                f"budget_{name}" for name in ("per_task_usd", "include_subtasks") if name in named
            )
        command = c.UpdateIssue(
            issue_id=iid,
            fields_set=frozenset(fields),
            title=data.title,
            description=data.description,
            labels=None if data.labels is None else tuple(data.labels),
            due_at=data.due_at,
            budget_per_task_usd=data.budget.per_task_usd if data.budget else None,
            budget_include_subtasks=data.budget.include_subtasks if data.budget else None,
            priority=None if data.priority is None else data.priority.value,
            not_before=data.not_before,
        )
        return await send(command)

    @post(
        "/{iid:str}/assign",
        status_code=200,
        guards=[admin],
        operation_id="issues_assign",
        **writes(ON_ISSUE),
    )
    async def assign_issue(
        self,
        cid: PathId,
        iid: PathId,
        send: Send,
        data: JSONBody[AssignBody],
    ) -> Response[Issue]:
        """Assign an issue to an agent

        A `queued` issue (or one in `handoff`) is `assigned` to that agent, who claims it
        when it is not blocked."""
        return await send(c.AssignIssue(iid, data.agent_id))

    @post(
        "/{iid:str}/cancel",
        status_code=200,
        guards=[admin],
        operation_id="issues_cancel",
        **writes(ON_ISSUE),
    )
    async def cancel_issue(
        self, cid: PathId, iid: PathId, send: Send, data: JSONBody[CancelBody]
    ) -> Response[Issue]:
        """Cancel an issue

        Ends the issue (and its active run, whose agent is told to stop at its next call);
        with `cascade`, its live subtasks too."""
        return await send(c.CancelIssue(iid, data.reason, data.cascade))

    @post(
        "/{iid:str}/reassign",
        status_code=200,
        guards=[admin],
        operation_id="issues_reassign",
        **writes(ON_ISSUE),
    )
    async def reassign_issue(
        self, cid: PathId, iid: PathId, send: Send, data: JSONBody[ReassignBody]
    ) -> Response[Issue]:
        """Reassign an issue

        To another agent or team; an active run is ended and its agent told to stop."""
        command = c.ReassignIssue(iid, data.to_agent_id, data.to_team_id, data.reason)
        return await send(command)


class CommentController(Controller):
    path = "/issues/{iid:str}/comments"
    tags = ["comments"]

    @post("", guards=[member], operation_id="comments_create", **writes(ON_ISSUE, located=False))
    async def post_comment(
        self,
        request: Req,
        cid: PathId,
        iid: PathId,
        who: Who,
        send: Send,
        data: JSONBody[CommentCreate],
    ) -> Response[Comment]:
        """Comment on an issue

        The issue's agent sees it at its next checkpoint; an agent token writes only as its
        own agent."""
        if who.kind == "agent" and data.author != who.actor:
            await refuse(request, cid, f"an agent token may only write as {who.actor}")
        command = c.PostComment(kinds.COMMENT.new_id(), iid, data.text, data.author)
        return await send(command, status=201)

    @get("", guards=[member], operation_id="comments_list", **reads(LIST))
    async def list_comments(
        self, request: Req, cid: PathId, iid: PathId, cursor: Cursor = None, limit: Limit = 50
    ) -> Response[CommentPage]:
        """List an issue's comments

        Newest first."""
        return json_response(await read_page(request, issues.list_comments, cid, iid))


class IssueRunController(Controller):
    path = "/issues/{iid:str}/runs"
    tags = ["runs"]

    @get("", guards=[member], operation_id="runs_list", **reads(LIST))
    async def list_runs(
        self, request: Req, cid: PathId, iid: PathId, cursor: Cursor = None, limit: Limit = 50
    ) -> Response[RunPage]:
        """List an issue's runs

        Every attempt at the issue, newest first, with its lease history and exit."""
        return json_response(await read_page(request, runs.list_runs, cid, iid))

    @get(
        "/{rid:str}",
        guards=[member],
        operation_id="runs_get",
        **reads(READ),
    )
    async def get_run(self, request: Req, cid: PathId, iid: PathId, rid: PathId) -> Response[Run]:
        """Get a run

        One attempt: its agent, leases, final checkpoint, cost and exit reason."""
        return json_response(await services(request).read(runs.get_run, cid, iid, rid))
