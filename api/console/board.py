"""The board: issues in columns by status, filtered, live from the event stream.

The page listens to ``/ui/events`` (the company's event stream, the API's own
``open_stream``, authenticated by the session cookie since a browser's EventSource sends no
``Authorization`` header) and, on any entry, fetches ``/ui/board/columns`` again with the
same filters: the columns' fragment, so the page never reloads.
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime
from typing import Any
from urllib.parse import urlencode

from litestar import Request, get
from litestar.response import Redirect, Template

from api.console.render import choice, names_of, page
from api.console.session import signed_in_as
from api.routes.events import EventStream, open_stream
from api.services import services
from domain.errors import InvalidRequest
from domain.events import ACTIVITY_TYPES
from domain.priorities import PRIORITIES, Priority
from domain.statuses import TERMINAL, IssueStatus
from service.clock import utc_now
from service.reads import org
from service.reads.console import BOARD_LIMIT, BoardFilters, board_issues
from service.reads.events import StreamFilter

__all__ = ["ROUTES"]

Req = Request[Any, Any, Any]

#: The board's columns, left to right: the work's way through its statuses.
COLUMNS = (
    IssueStatus.QUEUED,
    IssueStatus.ASSIGNED,
    IssueStatus.RUNNING,
    IssueStatus.REVIEW,
    IssueStatus.HANDOFF,
    IssueStatus.DONE,
    IssueStatus.FAILED,
    IssueStatus.CANCELLED,
)
FINISHED = {s.value for s in TERMINAL}
FILTER_FIELDS = ("team", "agent", "label", "priority", "overdue", "q")
#: Teams and agents listed in the filters' choices, at most.
CHOICES = 200


def parse_time(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


def board_filters(params: Mapping[str, str]) -> BoardFilters:
    priority = choice(params, "priority")
    if priority is not None and priority not in PRIORITIES:
        raise InvalidRequest.at(["query", "priority"], f"one of {', '.join(PRIORITIES)}")
    return BoardFilters(
        team=choice(params, "team"),
        agent=choice(params, "agent"),
        label=choice(params, "label"),
        priority=None if priority is None else Priority(priority),
        overdue=choice(params, "overdue") is not None,
        search=choice(params, "q"),
    )


def _params(request: Req) -> dict[str, str]:
    return {k: v for k, v in request.query_params.items() if k in FILTER_FIELDS and v.strip()}


async def _columns(request: Req) -> dict[str, Any]:
    who = signed_in_as(request)
    params = _params(request)
    f = board_filters(params)
    issues = await services(request).read(board_issues, who.company_id, f, utc_now())
    now = utc_now()
    by_status: dict[str, list[dict[str, Any]]] = {s.value: [] for s in COLUMNS}
    overdue = set()
    for issue in issues:
        by_status[issue["status"]].append(issue)
        due = issue.get("dueAt")
        if due and issue["status"] not in FINISHED and parse_time(due) < now:
            overdue.add(issue["id"])
    return {
        "columns": [(s.value, by_status[s.value]) for s in COLUMNS],
        "count": len(issues),
        "capped": len(issues) >= BOARD_LIMIT,
        "filters": params,
        "query": urlencode(params),
        "overdue": overdue,
        "names": await names_of(request),
    }


@get("/", include_in_schema=False)
async def home() -> Redirect:
    return Redirect("/ui/board")


@get("/board", include_in_schema=False)
async def board(request: Req) -> Template:
    who = signed_in_as(request)
    svc = services(request)
    teams = await svc.read(org.list_teams, who.company_id, None, CHOICES)
    agents = await svc.read(org.list_agents, who.company_id, None, CHOICES)
    return page(
        request,
        "board.html",
        title="Board",
        teams=teams["data"],
        agents=agents["data"],
        priorities=PRIORITIES,
        event_types=sorted(ACTIVITY_TYPES),
        **await _columns(request),
    )


@get("/board/columns", include_in_schema=False)
async def columns(request: Req) -> Template:
    return page(request, "_columns.html", **await _columns(request))


@get("/events", include_in_schema=False)
async def events(request: Req) -> EventStream:
    """The company's event stream for the board, resumed by the browser's ``Last-Event-ID``."""
    who = signed_in_as(request)
    assert who.company_id is not None
    last = request.headers.get("last-event-id")
    return await open_stream(request, StreamFilter(who.company_id), last, None)


ROUTES = [home, board, columns, events]
