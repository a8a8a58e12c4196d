"""Agents and teams: each agent's capacity, what it runs now, since when it is idle, and
pause/resume (the API's ``UpdateAgent``); each team's members."""

from __future__ import annotations

from typing import Any

from litestar import Request, get, post
from litestar.response import Redirect, Template

from api.console.render import act, body_of, form_of, page, refused
from api.console.session import signed_in_as
from api.routing import PathId, Send
from api.schemas import AgentPatch
from api.services import services
from domain import commands as c
from domain.errors import DomainError, InvalidRequest
from service.reads import org
from service.reads.console import agent_activity

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]
SHOWN = 200


async def _context(request: Req) -> dict[str, Any]:
    who = signed_in_as(request)
    svc = services(request)
    agents = (await svc.read(org.list_agents, who.company_id, None, SHOWN))["data"]
    teams = (await svc.read(org.list_teams, who.company_id, None, SHOWN))["data"]
    activity = await svc.read(agent_activity, who.company_id)
    members: dict[str, list[str]] = {t["id"]: [] for t in teams}
    for agent in agents:
        for team_id in agent["teamIds"]:
            members.setdefault(team_id, []).append(agent["name"])
    return {
        "agents": agents,
        "teams": teams,
        "members": members,
        "activity": activity,
        "names": {row["id"]: row["name"] for row in [*agents, *teams]},
    }


@get("/agents", include_in_schema=False)
async def show(request: Req) -> Template:
    return page(request, "agents.html", title="Agents and teams", **await _context(request))


@post("/agents/{aid:str}/{verb:str}", include_in_schema=False, status_code=303)
async def pause_or_resume(
    request: Req, aid: PathId, verb: PathId, send: Send
) -> Redirect | Template:
    await form_of(request)
    try:
        if verb not in {"pause", "resume"}:
            raise InvalidRequest.at(["path", "verb"], "pause or resume")
        status = body_of(AgentPatch, {"status": "paused" if verb == "pause" else "active"}).status
        done = await act(send, c.UpdateAgent(aid, frozenset({"status"}), status=status))
        error = done.error
    except DomainError as exc:
        error = refused(exc)
    if error is None:
        return Redirect("/ui/agents", status_code=303)
    return page(
        request, "agents.html", title="Agents and teams", error=error, **await _context(request)
    )


ROUTES = [show, pause_or_resume]
