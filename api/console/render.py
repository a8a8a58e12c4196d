"""What every console page shares: the templates, the page frame, and running a command.

Pages are Jinja templates with autoescape on. A page gets the signed-in admin (``who``), the
session's CSRF token (``csrf``), the navigation, and whatever the handler passes. An action
is the API's own command, submitted through the same step a ``/v1`` handler's ``send`` is
(``api.io.submit``): its problem, when refused, comes back as text for the page's alert.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from decimal import Decimal, InvalidOperation
from pathlib import Path
from typing import Any, TypeVar

from jinja2 import Environment, FileSystemLoader, select_autoescape
from litestar import Request, Response
from litestar.plugins.jinja import JinjaTemplateEngine
from litestar.response import Template
from litestar.template.config import TemplateConfig
from pydantic import BaseModel, ValidationError

from api.body import body_errors
from api.console.session import check_csrf, session_csrf, signed_in_as
from api.io import Sender
from api.services import services
from domain.commands import Command
from domain.errors import DomainError, InvalidRequest
from service.problems import problem_from_error
from service.reads import org

__all__ = [
    "NAV",
    "TEMPLATES",
    "Done",
    "act",
    "body_of",
    "choice",
    "form_of",
    "names_of",
    "page",
    "problem_text",
    "refused",
]

Req = Request[Any, Any, Any]

TEMPLATE_DIR = Path(__file__).parent / "templates"

#: (path, label) of each page in the navigation, in order.
NAV = (
    ("/ui/board", "Board"),
    ("/ui/queues", "Queues"),
    ("/ui/agents", "Agents and teams"),
    ("/ui/costs", "Costs"),
    ("/ui/activity", "Activity"),
    ("/ui/webhooks", "Webhooks"),
    ("/ui/ops", "Operations"),
)


def _money(value: Any) -> str:
    if value is None:
        return "—"
    try:
        return f"${Decimal(str(value)):,.2f}"
    except InvalidOperation:
        return str(value)


def _when(value: Any) -> str:
    """An RFC 3339 time as ``2026-12-01 21:04:05 UTC`` (the API's own text otherwise)."""
    if not value:
        return "—"
    try:
        at = datetime.fromisoformat(str(value).replace("Z", "+00:00")).astimezone(UTC)
    except ValueError:
        return str(value)
    return at.strftime("%Y-%m-%d %H:%M:%S UTC")


def _environment() -> Environment:
    env = Environment(
        loader=FileSystemLoader(TEMPLATE_DIR),
        autoescape=select_autoescape(["html"], default_for_string=True, default=True),
        trim_blocks=True,
        lstrip_blocks=True,
    )
    env.filters["money"] = _money
    env.filters["when"] = _when
    return env


TEMPLATES = TemplateConfig(engine=JinjaTemplateEngine.from_environment(_environment()))


def page(request: Req, name: str, status: int = 200, **context: Any) -> Template:
    """The template ``name`` with the page frame's context."""
    who = signed_in_as(request)
    return Template(
        template_name=name,
        context={
            "who": who,
            "csrf": session_csrf(request),
            "nav": NAV,
            "here": request.url.path,
            **context,
        },
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


async def form_of(request: Req) -> dict[str, str]:
    """The POSTed form's fields (single values, stripped), its CSRF token checked."""
    form = await request.form()
    fields = {k: str(v).strip() for k, v in form.items() if isinstance(v, str)}
    check_csrf(request, fields)
    return fields


@dataclass(frozen=True, slots=True)
class Done:
    """What a command came to: its answer's body when applied, or the problem's text."""

    ok: bool
    body: Any = None
    error: str | None = None
    status: int = 200


def problem_text(body: Any) -> str:
    """A problem's title and detail, and each field error, as one line of text."""
    if not isinstance(body, dict):
        return "the command was refused"
    text = f"{body.get('title', 'Refused')}: {body.get('detail', '')}".rstrip(": ")
    errors = body.get("errors") or []
    parts = [
        f"{'.'.join(str(p) for p in e.get('loc', [])[1:])} {e.get('msg', '')}".strip()
        for e in errors
        if isinstance(e, dict)
    ]
    return text + (" (" + "; ".join(parts) + ")" if parts else "")


async def act(send: Sender, command: Command) -> Done:
    """Submit ``command`` as the signed-in admin, through the API's own submit step."""
    assert send.who.company_id is not None
    try:
        response: Response[Any] = await send(
            command, company_id=send.who.company_id, idempotent=False
        )
    except DomainError as exc:  # the queue is down: the same problem an API call gets
        refused_status, problem = problem_from_error(exc)
        return Done(False, problem, problem_text(problem), refused_status)
    status, body = response.status_code or 200, response.content
    if status >= 400:
        return Done(False, body, problem_text(body), status)
    return Done(True, body, None, status)


M = TypeVar("M", bound=BaseModel)


def body_of(model: type[M], fields: dict[str, Any]) -> M:
    """The API's own request body for ``fields`` (422 as the API refuses it)."""
    try:
        return model.model_validate(fields)
    except ValidationError as exc:
        raise InvalidRequest(body_errors(exc, fields)) from exc


def refused(exc: DomainError) -> str:
    """The text of the problem ``exc`` answers as."""
    return problem_text(problem_from_error(exc)[1])


def choice(params: Mapping[str, str], name: str) -> str | None:
    """A form or query field, None when left empty (a form sends empty fields)."""
    value = params.get(name, "").strip()
    return value or None


#: Agents and teams named on a page, at most (the rest show their ids).
NAMED = 200


async def names_of(request: Req) -> dict[str, str]:
    """The company's agents' and teams' names by id, for pages that show assignees."""
    who = signed_in_as(request)
    svc = services(request)
    agents = await svc.read(org.list_agents, who.company_id, None, NAMED)
    teams = await svc.read(org.list_teams, who.company_id, None, NAMED)
    return {row["id"]: row["name"] for row in [*agents["data"], *teams["data"]]}
