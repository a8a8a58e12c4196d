"""The web console at ``/ui``: server-rendered pages over the API's own reads and commands.

Registered by the one app bootstrap (``api.app``) in both modes. No route here is part of
the ``/v1`` API's contract: every one is left out of the OpenAPI document. See
docs/console.md.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

from litestar import Request, Response, Router, get, post
from litestar.response import Redirect, Template
from litestar.static_files import create_static_files_router

from api.console import activity, board, issue, ops, org, queues, spend, webhooks
from api.console.render import NAV, TEMPLATES, problem_text, refused
from api.console.session import (
    CSRF_FIELD,
    LOGIN_COOKIE,
    SignIn,
    admin_principal,
    check_csrf,
    login_cookie,
    new_nonce,
    session_cookie,
    signed_in,
)
from domain.errors import DomainError
from service.problems import problem_from_error

__all__ = ["ROUTER", "TEMPLATES"]

Req = Request[Any, Any, Any]

STATIC_DIR = Path(__file__).parent / "static"


def _login_page(request: Req, error: str | None = None, status: int = 200) -> Template:
    nonce = new_nonce()
    response = Template(
        template_name="login.html",
        context={"nonce": nonce, "error": error},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )
    response.set_cookie(login_cookie(request, nonce))
    return response


@get("/login", include_in_schema=False)
async def login_form(request: Req) -> Template:
    return _login_page(request)


@post("/login", include_in_schema=False, status_code=303)
async def login(request: Req) -> Response[Any]:
    """A company admin token, checked as the API checks a bearer token, becomes the session
    cookie; the form's nonce must match its cookie (a double submit: no other site signs a
    browser in to its own company)."""
    form = await request.form()
    nonce, sent = request.cookies.get(LOGIN_COOKIE, ""), str(form.get(CSRF_FIELD, ""))
    if not nonce or nonce != sent:
        return _login_page(request, "The sign-in form expired; try again.", 403)
    token = str(form.get("token", "")).strip()
    if not token:
        return _login_page(request, "Give a company admin token.", 401)
    try:
        await admin_principal(request, token)
    except DomainError as exc:
        return _login_page(request, refused(exc), 401)
    response = Redirect("/ui/board", status_code=303)
    response.set_cookie(session_cookie(request, token))
    response.set_cookie(login_cookie(request, None))
    return response


@post("/logout", include_in_schema=False, status_code=303)
async def logout(request: Req) -> Redirect:
    form = await request.form()
    check_csrf(request, {k: str(v) for k, v in form.items()})
    response = Redirect("/ui/login", status_code=303)
    response.set_cookie(session_cookie(request, None))
    return response


def _to_sign_in(request: Req, _: SignIn) -> Response[Any]:
    if request.headers.get("hx-request"):  # htmx follows this header, not a 303
        return Response(content=b"", status_code=204, headers={"HX-Redirect": "/ui/login"})
    return Redirect("/ui/login", status_code=303)


def _error_page(request: Req, exc: DomainError) -> Response[Any]:
    """A refused page (an unknown issue, a bad filter, a stale form): the problem's text."""
    status, body = problem_from_error(exc)
    return Template(
        template_name="error.html",
        context={"title": body["title"], "error": problem_text(body), "nav": NAV, "here": ""},
        status_code=status,
        headers={"Cache-Control": "no-store"},
    )


SIGNED_IN = Router(
    path="/",
    guards=[signed_in],
    route_handlers=[
        logout,
        *board.ROUTES,
        *issue.ROUTES,
        *queues.ROUTES,
        *org.ROUTES,
        *spend.ROUTES,
        *activity.ROUTES,
        *webhooks.ROUTES,
        *ops.ROUTES,
    ],
)

ROUTER = Router(
    path="/ui",
    route_handlers=[
        login_form,
        login,
        SIGNED_IN,
        create_static_files_router(
            path="/static", directories=[STATIC_DIR], include_in_schema=False
        ),
    ],
    include_in_schema=False,
    exception_handlers={SignIn: _to_sign_in, DomainError: _error_page},
)
