"""How routes are declared: the company router, the guards, the caller, the request check.

Every ``/v1/companies/{cid}`` route hangs from ``company_router``. Who may call a route is
its guard (``member``, ``admin``, ``run_agent``, ``own_claim``, ``issue_watcher``;
``operator`` off the company path): a guard authenticates the token, checks it against the
path and leaves the caller in the request's state, where a handler receives it as
``who: Principal``. Then, before the body is read, ``check_request`` refuses path ids no
resource can have and any query parameter the handler does not declare, empty or repeated
(each as ``api.io.query_params`` says); the handler's own signature is the list of what it
takes.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from functools import cache
from typing import Annotated, Any

from litestar import Litestar, Request, Response, Router
from litestar.connection import ASGIConnection
from litestar.di import NamedDependency, Provide
from litestar.handlers import BaseRouteHandler, HTTPRouteHandler
from litestar.params import (
    CookieParameter,
    FromPath,
    HeaderParameter,
    KwargDefinition,
    ParameterKwarg,
    QueryParameter,
)
from litestar.routes import HTTPRoute
from litestar.types import ControllerRouterHandler, Scope

from api.auth import Principal, admin_of, member_of, principal, refuse
from api.io import QUERY_STATE, Sender, parse_limit, query_params
from api.services import services
from domain.errors import Forbidden, NotFound
from service.reads.events import current_run_agent
from service.reads.pagination import DEFAULT_LIMIT, MAX_LIMIT

__all__ = [
    "COMPANY",
    "DEPENDENCIES",
    "PRINCIPAL_STATE",
    "Cursor",
    "Limit",
    "PathId",
    "Send",
    "Who",
    "admin",
    "answer_options",
    "any_token",
    "check_request",
    "company_router",
    "created_in",
    "issue_watcher",
    "member",
    "operator",
    "own_claim",
    "query_text",
    "query_time",
    "run_agent",
    "sane_path",
]

#: The path every company resource hangs from.
COMPANY = "/v1/companies/{cid:str}"
#: Key in the ASGI scope's ``state`` of the caller a guard let in.
PRINCIPAL_STATE = "agentq.principal"

Connection = ASGIConnection[Any, Any, Any, Any]


def _preflight(connection: Connection) -> bool:
    """OPTIONS is answered to anyone: it tells only which methods a path takes."""
    return connection.scope.get("method") == "OPTIONS"


def _let_in(connection: Connection, who: Principal) -> None:
    connection.scope.setdefault("state", {})[PRINCIPAL_STATE] = who


def _company(connection: Connection) -> str:
    return str(connection.path_params["cid"])


async def member(connection: Connection, _: BaseRouteHandler) -> None:
    """Any token of the company, or the operator (another company's token: 404)."""
    if _preflight(connection):
        return
    _let_in(connection, await member_of(connection, _company(connection)))


async def admin(connection: Connection, _: BaseRouteHandler) -> None:
    """The operator or the company's admin token (an agent token: 403)."""
    if _preflight(connection):
        return
    _let_in(connection, await admin_of(connection, _company(connection)))


async def any_token(connection: Connection, _: BaseRouteHandler) -> None:
    """Any valid token: the operator's or a company's (no company in the path to check)."""
    if _preflight(connection):
        return
    _let_in(connection, await principal(connection))


async def operator(connection: Connection, _: BaseRouteHandler) -> None:
    """Only the operator token."""
    if _preflight(connection):
        return
    who = await principal(connection)
    if who.kind != "operator":
        raise Forbidden("only the operator token creates companies")
    _let_in(connection, who)


async def run_agent(connection: Connection, _: BaseRouteHandler) -> None:
    """Only an agent token drives a run (the command checks the run is that agent's)."""
    if _preflight(connection):
        return
    cid = _company(connection)
    who = await member_of(connection, cid)
    if who.kind != "agent" or who.agent_id is None:
        await refuse(connection, cid, "only the run's agent, with its agent token, drives a run")
    _let_in(connection, who)


async def own_claim(connection: Connection, _: BaseRouteHandler) -> None:
    """A member claims; an agent token only for its own agent."""
    if _preflight(connection):
        return
    cid = _company(connection)
    who = await member_of(connection, cid)
    if who.kind == "agent" and who.agent_id != connection.path_params["aid"]:
        await refuse(connection, cid, f"an agent token claims only for agent {who.agent_id}")
    _let_in(connection, who)


async def issue_watcher(connection: Connection, _: BaseRouteHandler) -> None:
    """An admin, or the agent of the issue's current run (another agent: 403)."""
    if _preflight(connection):
        return
    cid = _company(connection)
    who = await member_of(connection, cid)
    if who.kind == "agent":
        iid = str(connection.path_params["iid"])
        found, agent_id = await services(connection).read(current_run_agent, cid, iid)
        if not found:
            raise NotFound("issue", iid)
        if agent_id != who.agent_id:
            raise Forbidden("an agent token watches only the issue of its current run")
    _let_in(connection, who)


def _caller(request: Request[Any, Any, Any]) -> Principal:
    who = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if not isinstance(who, Principal):  # a route that takes ``who`` has no guard: a bug
        raise RuntimeError(f"{request.scope.get('path_template')} takes `who` but has no guard")
    return who


#: The caller a guard let in, as a handler takes it: ``who: Who``.
Who = NamedDependency[Principal]


def _sender(request: Request[Any, Any, Any], who: Who) -> Sender:
    cid = request.path_params.get("cid")
    return Sender(request, who, None if cid is None else str(cid))


#: The submit step, bound to the request and its caller: ``send: Send``, then
#: ``return await send(command, status=201, location=…)``.
Send = NamedDependency[Sender]

#: What every handler may ask for by name.
DEPENDENCIES = {
    "who": Provide(_caller, sync_to_thread=False),
    "send": Provide(_sender, sync_to_thread=False),
}


def created_in(cid: str, collection: str) -> str:
    """Where a resource created in a company's ``collection`` is read back (the ``location``
    of ``api.io.submit``: ``{id}`` is the new resource's)."""
    return f"/v1/companies/{cid}/{collection}/{{id}}"


def company_router(handlers: Sequence[ControllerRouterHandler]) -> Router:
    """Every ``/v1/companies/{cid}`` route; ``cid`` is documented once, here."""
    return Router(path=COMPANY, route_handlers=list(handlers))


#: An id in the path (``cid: PathId``).
PathId = FromPath[str]

#: ``?cursor=&limit=`` of every list (an empty cursor is the first page).
Cursor = Annotated[str | None, QueryParameter(description="`nextCursor` of the previous page.")]
Limit = Annotated[
    int,
    QueryParameter(ge=1, le=MAX_LIMIT, description=f"Items per page (default {DEFAULT_LIMIT})."),
]


def query_text(
    description: str, *, enum: Sequence[str] | None = None, name: str | None = None
) -> Any:
    """A text query parameter (an empty one is refused: leave it out instead)."""
    extra = None if enum is None else {"enum": list(enum)}
    return QueryParameter(name=name, description=description, min_length=1, schema_extra=extra)


def query_time(description: str, *, name: str | None = None) -> Any:
    """A time query parameter (RFC 3339 with a zone; read by ``api.io.parse_time``)."""
    return QueryParameter(
        name=name, description=description, min_length=1, schema_extra={"format": "date-time"}
    )


#: Path ids longer than this cannot exist (ids are at most 40 characters).
MAX_PATH_ID = 100
#: Names a handler may take that are not query parameters (Litestar fills them).
_NOT_QUERY = frozenset(
    {"request", "data", "state", "headers", "cookies", "query", "scope", "socket", "body"}
)
_PATH_NAME = re.compile(r"{(\w+)(?::\w+)?}")


@cache
def declared_query(handler: HTTPRouteHandler) -> frozenset[str]:
    """The query parameters a handler's signature declares (by their names on the wire)."""
    path_names = {name for path in handler.paths for name in _PATH_NAME.findall(path)}
    skip = _NOT_QUERY | path_names | set(handler.resolve_dependencies())
    names = set()
    for name, parameter in handler.parsed_fn_signature.parameters.items():
        kwarg = parameter.kwarg_definition
        if name in skip or (
            isinstance(kwarg, KwargDefinition) and kwarg.include_in_schema is False
        ):
            continue
        if isinstance(kwarg, ParameterKwarg):
            if isinstance(kwarg, HeaderParameter | CookieParameter) or kwarg.header or kwarg.cookie:
                continue
            names.add(kwarg.name or kwarg.query or name)
        else:
            names.add(name)
    return frozenset(names)


async def sane_path(connection: Connection, _: BaseRouteHandler) -> None:
    """A path id no resource can have (a NUL, absurd length) is simply not found, before
    anything is looked up (the app's first guard)."""
    for value in connection.path_params.values():
        if isinstance(value, str) and ("\x00" in value or len(value) > MAX_PATH_ID):
            raise NotFound("resource", value[:MAX_PATH_ID].replace("\x00", "\\0"))


async def check_request(request: Request[Any, Any, Any]) -> None:
    """Once the caller is let in: of a handler that takes query parameters (a list), one it
    does not declare is refused, and ``limit`` must be in range; the checked parameters are
    kept for ``read_page``."""
    handler = request.route_handler
    # A handler that takes no query parameter (a write, one resource) ignores the query.
    if isinstance(handler, HTTPRouteHandler) and (declared := declared_query(handler)):
        params = query_params(request, set(declared))
        if "limit" in declared:
            parse_limit(params)
        request.scope.setdefault("state", {})[QUERY_STATE] = params


def answer_options(app: Litestar) -> None:
    """``OPTIONS`` names every method of its path in ``Allow``: Litestar's own answer names
    only those of the path's first handler (its closure keeps the route it was made for,
    which the next handler of the path replaces)."""
    for route in app.routes:
        if isinstance(route, HTTPRoute) and "OPTIONS" in route.route_handler_map:
            handler = route.route_handler_map["OPTIONS"][0]
            if not handler.include_in_schema:  # Litestar's own, not one of ours
                handler._fn = _allow(sorted(route.methods))


def _allow(methods: list[str]) -> Any:
    def options(scope: Scope) -> Response[None]:
        return Response(content=None, status_code=204, headers={"Allow": ", ".join(methods)})

    return options
