"""The issue page: its fields, budget, dependencies and subtasks, runs, timeline, comments,
and the actions its status allows, each the API's own command. A refused action shows the
problem's text on the page (``role="alert"``); an applied one redirects back to the page."""

from __future__ import annotations

from decimal import Decimal, InvalidOperation
from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from api.console.render import act, body_of, choice, form_of, page, refused
from api.console.session import signed_in_as
from api.routing import PathId, Send
from api.schemas import AssignBody, CancelBody, CommentCreate, ReassignBody, ReviewBody
from api.services import services
from domain import commands as c
from domain.errors import DomainError, InvalidRequest
from domain.statuses import IssueStatus
from service import kinds
from service.reads import issues, org, runs
from service.reads.activity import ActivityFilters, list_activity

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
S = IssueStatus

#: How many of each list the page shows (newest first).
SHOWN = 50

#: The actions the page offers in each status (the commands refuse any other anyway).
ACTIONS: dict[IssueStatus, tuple[str, ...]] = {
    S.QUEUED: ("assign", "reassign", "cancel"),
    S.ASSIGNED: ("reassign", "cancel"),
    S.RUNNING: ("reassign", "cancel"),
    S.REVIEW: ("review", "cancel"),
    S.HANDOFF: ("assign", "reassign", "cancel"),
}


def _budget(issue: dict[str, Any]) -> dict[str, Any]:
    """Spent and cap in dollars, and the share spent (None without a cap)."""
    budget = issue.get("budget") or {}
    try:
        spent = Decimal(str((budget.get("spent") or {}).get("usd") or "0"))
        cap = None if budget.get("perTaskUsd") is None else Decimal(str(budget["perTaskUsd"]))
    except InvalidOperation:
        return {"spent": None, "cap": None, "share": None, "includeSubtasks": False}
    share = None if not cap else min(float(spent / cap), 1.0)
    subtasks = bool(budget.get("includeSubtasks"))
    return {"spent": spent, "cap": cap, "share": share, "includeSubtasks": subtasks}


async def _context(request: Req, iid: str) -> dict[str, Any]:
    who = signed_in_as(request)
    cid = who.company_id
    svc = services(request)
    issue = await svc.read(issues.get_issue, cid, iid)
    children = await svc.read(issues.list_issues, cid, issues.IssueFilters(parent=iid), None, SHOWN)
    deps = []
    for dep in issue["dependencies"]:
        try:
            deps.append(await svc.read(issues.get_issue, cid, dep))
        except DomainError:
            deps.append({"id": dep, "title": "(not readable)", "status": "unknown"})
    return {
        "title": issue["title"],
        "issue": issue,
        "budget": _budget(issue),
        "deps": deps,
        "children": children["data"],
        "runs": (await svc.read(runs.list_runs, cid, iid, None, SHOWN))["data"],
        "timeline": (
            await svc.read(list_activity, cid, ActivityFilters(issue_id=iid), None, SHOWN)
        )["data"],
        "comments": (await svc.read(issues.list_comments, cid, iid, None, SHOWN))["data"],
        "agents": (agents := (await svc.read(org.list_agents, cid, None, 200))["data"]),
        "teams": (teams := (await svc.read(org.list_teams, cid, None, 200))["data"]),
        "names": {row["id"]: row["name"] for row in [*agents, *teams]},
        "actions": ACTIONS.get(IssueStatus(issue["status"]), ()),
    }


async def issue_page(request: Req, iid: str, error: str | None = None) -> Template:
    return page(request, "issue.html", error=error, **await _context(request, iid))


@get("/issues/{iid:str}", include_in_schema=False)
async def show(request: Req, iid: PathId) -> Template:
    return await issue_page(request, iid)


def _command(action: str, iid: str, fields: dict[str, str], actor: str) -> c.Command:
    """The API's command for ``action``, from the form, validated by the API's own body."""
    if action == "assign":
        return c.AssignIssue(
            iid, body_of(AssignBody, {"agentId": fields.get("agent", "")}).agent_id
        )
    if action == "reassign":
        target = choice(fields, "target") or ""
        kind, _, ident = target.partition(":")
        raw = {"toAgentId" if kind == "agent" else "toTeamId": ident or None}
        if choice(fields, "reason"):
            raw["reason"] = fields["reason"]
        re = body_of(ReassignBody, raw)
        return c.ReassignIssue(iid, re.to_agent_id, re.to_team_id, re.reason)
    if action == "cancel":
        cancel = body_of(
            CancelBody,
            {"reason": choice(fields, "reason"), "cascade": choice(fields, "cascade") is not None},
        )
        return c.CancelIssue(iid, cancel.reason, cancel.cascade)
    if action == "review":
        review = body_of(
            ReviewBody,
            {"decision": fields.get("decision", ""), "comment": choice(fields, "comment")},
        )
        return c.ReviewIssue(
            iid, review.decision == "accept", kinds.COMMENT.new_id(), review.comment
        )
    if action == "comment":
        comment = body_of(CommentCreate, {"text": fields.get("text", ""), "author": actor})
        return c.PostComment(kinds.COMMENT.new_id(), iid, comment.text, comment.author)
    raise InvalidRequest.at(["path", "action"], "assign, reassign, cancel, review or comment")


@post("/issues/{iid:str}/{action:str}", include_in_schema=False, status_code=303)
async def do(request: Req, iid: PathId, action: PathId, send: Send) -> Redirect | Template:
    fields = await form_of(request)
    try:
        command = _command(action, iid, fields, send.who.actor)
    except DomainError as exc:
        return await issue_page(request, iid, refused(exc))
    done = await act(send, command)
    if not done.ok:
        return await issue_page(request, iid, done.error)
    return Redirect(f"/ui/issues/{iid}", status_code=303)


ROUTES = [show, do]
