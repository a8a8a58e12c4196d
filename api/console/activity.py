"""The company's audit trail: its newest entries (``GET /activity?scope=company``, the same
``list_activity`` read), each with its actor, subject and changed fields as text."""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from litestar import Request, get
from litestar.response import Template

from api.console.render import names_of, page
from api.console.session import signed_in_as
from api.services import services
from service.reads.activity import ActivityFilters, Scope, list_activity

__all__ = ["ROUTES", "change_rows", "shown"]

Req = Request[Any, Any, Any]
#: Entries shown, the newest first (one page; older ones are in ``GET /activity``).
SHOWN = 100


@dataclass(frozen=True, slots=True)
class Change:
    field: str
    before: str
    after: str


def shown(value: Any) -> str:
    """A changed field's value as text: none as a dash (it had none), a list comma-joined."""
    if value is None:
        return "—"
    if isinstance(value, bool):
        return "true" if value else "false"
    if isinstance(value, list):
        return ", ".join(shown(v) for v in value) if value else "(none)"
    if isinstance(value, dict):
        return ", ".join(f"{k}: {shown(v)}" for k, v in value.items()) or "(none)"
    return str(value)


def change_rows(changes: dict[str, dict[str, Any]] | None) -> list[Change]:
    """An entry's ``changes`` ({field: {before, after}}), in the order the API gives them."""
    return [
        Change(name, shown(change.get("before")), shown(change.get("after")))
        for name, change in (changes or {}).items()
    ]


@get("/activity", include_in_schema=False)
async def show(request: Req) -> Template:
    who = signed_in_as(request)
    filters = ActivityFilters(scope=Scope.COMPANY)
    found = await services(request).read(list_activity, who.company_id, filters, None, SHOWN)
    names = await names_of(request)
    entries = [
        {**e, "subjectName": names.get(e["subjectId"]), "changeRows": change_rows(e["changes"])}
        for e in found["data"]
    ]
    return page(request, "activity.html", title="Activity", entries=entries, limit=SHOWN)


ROUTES = [show]
