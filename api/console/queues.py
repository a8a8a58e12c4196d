"""The queues a person works through: issues waiting for review, issues handed off, and
pending approvals, decided in place (htmx swaps the approval's row for its outcome; without
script the form posts and the page comes back)."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from api.console.render import act, body_of, choice, form_of, names_of, page, refused
from api.console.session import signed_in_as
from api.routing import PathId, Send
from api.schemas import ApprovalDecisionBody
from api.services import services
from domain import commands as c
from domain.approvals import ApprovalStatus
from domain.errors import DomainError, InvalidRequest
from domain.statuses import IssueStatus
from service.reads import approvals as approval_reads
from service.reads import issues
from service.store import approvals

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
#: Items shown per queue (oldest waiting first is the API's order reversed: newest first).
SHOWN = 100


async def _titles(request: Req, approvals_: list[dict[str, Any]]) -> dict[str, str]:
    """The titles of the approvals' issues, by id (shown in place of their ids)."""
    who = signed_in_as(request)
    svc = services(request)
    titles = {}
    for issue_id in {a["issueId"] for a in approvals_}:
        try:
            titles[issue_id] = (await svc.read(issues.get_issue, who.company_id, issue_id))["title"]
        except DomainError:
            continue
    return titles


async def _queues(request: Req) -> dict[str, Any]:
    who = signed_in_as(request)
    svc = services(request)
    cid = who.company_id

    async def of(status: IssueStatus) -> list[dict[str, Any]]:
        found = await svc.read(
            issues.list_issues, cid, issues.IssueFilters(statuses=(status.value,)), None, SHOWN
        )
        return list(found["data"])

    pending = await svc.read(
        approval_reads.list_approvals, cid, ApprovalStatus.PENDING.value, None, None, None, SHOWN
    )
    return {
        "review": await of(IssueStatus.REVIEW),
        "handoff": await of(IssueStatus.HANDOFF),
        "approvals": pending["data"],
        "names": await names_of(request) | await _titles(request, pending["data"]),
    }


@get("/queues", include_in_schema=False)
async def show(request: Req) -> Template:
    return page(request, "queues.html", title="Queues", **await _queues(request))


@post("/approvals/{apid:str}/{decision:str}", include_in_schema=False, status_code=303)
async def decide(request: Req, apid: PathId, decision: PathId, send: Send) -> Redirect | Template:
    """Approve or reject: the API's ``DecideApproval``, on the approval's issue."""
    fields = await form_of(request)
    htmx = bool(request.headers.get("hx-request"))
    who = signed_in_as(request)
    approval: dict[str, Any] | None = None
    try:
        if decision not in {"approve", "reject"}:
            raise InvalidRequest.at(["path", "decision"], "approve or reject")
        body = body_of(ApprovalDecisionBody, {"comment": choice(fields, "comment")})
        svc = services(request)
        approval = await svc.read(approval_reads.get_approval, who.company_id, apid)
        issue_id = await svc.read(approvals.approval_issue_id, who.company_id, apid)
        done = await act(
            send, c.DecideApproval(issue_id, apid, decision == "approve", body.comment)
        )
        error = done.error
        if done.ok and isinstance(done.body, dict) and "status" in done.body:
            approval = done.body
    except DomainError as exc:
        error = refused(exc)
    if htmx and approval is not None:
        names = await names_of(request) | await _titles(request, [approval])
        return page(request, "_approval.html", a=approval, error=error, names=names)
    if error is None:
        return Redirect("/ui/queues", status_code=303)
    return page(request, "queues.html", title="Queues", error=error, **await _queues(request))


ROUTES = [show, decide]
