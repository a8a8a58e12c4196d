"""Monthly budgets: a cap per agent, team or company (``PUT …/budgets/{scope}/{id}``), read
back with the current month's spend, listed, removed."""

from __future__ import annotations

from typing import Annotated, Any

from litestar import Controller, Request, Response, delete, get, put
from litestar.params import JSONBody

from api.io import json_response, read_page
from api.openapi import ADMIN_LIST, ADMIN_READ, reads, writes
from api.routing import Cursor, Limit, PathId, Send, admin, query_text
from api.schemas import BudgetCapBody
from api.services import services
from domain import commands as c
from domain.budgets import MONTHLY_SCOPES, BudgetScope
from domain.errors import InvalidRequest
from service.answers.budgets import MonthlyBudget, MonthlyBudgetPage
from service.commands.handlers.budgets import check_scope
from service.reads import budgets

__all__ = ["BudgetController"]

Req = Request[Any, Any, Any]
SCOPES = [str(scope) for scope in MONTHLY_SCOPES]
#: ``{budget_scope}``: ``agent``, ``team`` or ``company`` (``scope`` is a name Litestar keeps).
ONE = "/{budget_scope:str}/{sid:str}"


class BudgetController(Controller):
    path = "/budgets"
    tags = ["budgets"]
    guards = [admin]

    @put(ONE, status_code=200, operation_id="budgets_set", **writes(located=False))
    async def set_budget(
        self, budget_scope: PathId, sid: PathId, send: Send, data: JSONBody[BudgetCapBody]
    ) -> Response[MonthlyBudget]:
        """Set a monthly budget

        Caps what the scope (`agent`, `team` or `company`; for `company` the id is the
        company's) may spend per UTC calendar month. A cost report that reaches the cap
        stops its run; while the cap is spent the scope's agents get no new work. A new cap
        takes effect at once, also for the month's spend so far."""
        command = c.SetBudget(str(check_scope(budget_scope)), sid, data.monthly_usd)
        return await send(command)

    @get(ONE, operation_id="budgets_get", **reads((*ADMIN_READ, 422)))
    async def get_budget(
        self, request: Req, cid: PathId, budget_scope: PathId, sid: PathId
    ) -> Response[MonthlyBudget]:
        """Get a monthly budget

        The cap and the current month's spend; 404 if the scope has no cap."""
        found = await services(request).read(
            budgets.get_budget, cid, check_scope(budget_scope), sid
        )
        return json_response(found)

    @delete(ONE, status_code=200, operation_id="budgets_delete", **writes(success=204))
    async def delete_budget(self, budget_scope: PathId, sid: PathId, send: Send) -> Response[None]:
        """Remove a monthly budget

        The scope's spend is no longer capped (it is still counted)."""
        return await send(c.DeleteBudget(str(check_scope(budget_scope)), sid), status=204)

    @get("", operation_id="budgets_list", **reads(ADMIN_LIST))
    async def list_budgets(
        self,
        request: Req,
        cid: PathId,
        only: Annotated[
            str | None, query_text("Only caps of this scope.", enum=SCOPES, name="scope")
        ] = None,
        cursor: Cursor = None,
        limit: Limit = 50,
    ) -> Response[MonthlyBudgetPage]:
        """List monthly budgets

        The company's caps, newest first, each with the current month's spend."""
        if only is not None and only not in SCOPES:
            raise InvalidRequest.at(["query", "scope"], f"one of {', '.join(SCOPES)}")
        chosen = None if only is None else BudgetScope(only)
        return json_response(await read_page(request, budgets.list_budgets, cid, chosen))
