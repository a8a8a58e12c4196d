"""The console's sign-in: a company admin token kept in a cookie, and the forms' CSRF token.

The session cookie holds the admin token itself (``HttpOnly``: no script reads it;
``SameSite=Strict``: no other site's page sends it; ``Path=/ui``: the API never sees it;
``Secure`` when the request came over https). Every request looks the token up as an API
call's bearer token is looked up (``api.auth.token_principal``), so a revoked token signs
the console out at once. Every POST carries the session's CSRF token, an HMAC of the token
under the server's key: in a form's ``csrf`` field, or htmx's ``X-CSRF-Token`` header. The
sign-in form, before there is a session, is a double submit: a random nonce in a cookie and
in the form.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
from typing import Any

from litestar import Request
from litestar.connection import ASGIConnection
from litestar.datastructures import Cookie
from litestar.handlers import BaseRouteHandler

from api.auth import Principal, Unauthorized, token_principal
from api.routing import PRINCIPAL_STATE
from api.services import services
from domain.errors import Forbidden

__all__ = [
    "CSRF_FIELD",
    "CSRF_HEADER",
    "LOGIN_COOKIE",
    "SESSION_COOKIE",
    "SignIn",
    "check_csrf",
    "csrf_token",
    "login_cookie",
    "session_cookie",
    "signed_in",
    "signed_in_as",
]

Caller = ASGIConnection[Any, Any, Any, Any]

SESSION_COOKIE = "aq_session"
LOGIN_COOKIE = "aq_login"
CSRF_FIELD = "csrf"
CSRF_HEADER = "x-csrf-token"
#: Where the cookies are sent: the console's paths only.
COOKIE_PATH = "/ui"
#: A session lasts at most this long, in seconds (the token itself may be revoked sooner).
SESSION_MAX_AGE_S = 12 * 3600
#: How long the sign-in form's nonce lives, in seconds.
LOGIN_MAX_AGE_S = 600


class SignIn(Exception):
    """No valid session: the console answers with its sign-in page."""


def _secure(connection: Caller) -> bool:
    return connection.url.scheme == "https"


def _cookie(connection: Caller, key: str, value: str | None, max_age_s: int) -> Cookie:
    """One of the console's cookies (``value`` None: the cookie that clears it): no script
    reads it, no other site's page sends it, the ``/v1`` API never receives it."""
    return Cookie(
        key=key,
        value=value or "",
        path=COOKIE_PATH,
        httponly=True,
        samesite="strict",
        secure=_secure(connection),
        max_age=max_age_s if value else 0,
    )


def session_cookie(connection: Caller, token: str | None) -> Cookie:
    """The session cookie holding ``token``; None: the cookie that clears it (sign-out)."""
    return _cookie(connection, SESSION_COOKIE, token, SESSION_MAX_AGE_S)


def login_cookie(connection: Caller, nonce: str | None) -> Cookie:
    """The sign-in form's nonce (a double submit); None: the cookie that clears it."""
    return _cookie(connection, LOGIN_COOKIE, nonce, LOGIN_MAX_AGE_S)


def new_nonce() -> str:
    return secrets.token_urlsafe(24)


def csrf_token(connection: Caller, token: str) -> str:
    """The session's CSRF token: the same in every API process (the key is the cursors')."""
    key = services(connection).cursor_key
    return hmac.new(key, b"console-csrf\x00" + token.encode(), hashlib.sha256).hexdigest()


async def admin_principal(connection: Caller, token: str) -> Principal:
    """The company admin ``token`` belongs to; 401 for any other token (an agent's, the
    operator's: the console is a company's)."""
    who = await token_principal(connection, token)
    if who.kind != "admin" or who.company_id is None:
        raise Unauthorized("sign in with a company admin token")
    return who


async def signed_in(connection: Caller, _: BaseRouteHandler | None = None) -> None:
    """The console's guard: the session's admin, left where ``who``/``send`` find it."""
    token = connection.cookies.get(SESSION_COOKIE)
    if not token:
        raise SignIn
    try:
        who = await admin_principal(connection, token)
    except Unauthorized as exc:
        raise SignIn from exc
    connection.scope.setdefault("state", {})[PRINCIPAL_STATE] = who


def signed_in_as(request: Request[Any, Any, Any]) -> Principal:
    who = request.scope.get("state", {}).get(PRINCIPAL_STATE)
    if not isinstance(who, Principal):
        raise SignIn
    return who


def session_csrf(request: Request[Any, Any, Any]) -> str:
    return csrf_token(request, request.cookies.get(SESSION_COOKIE, ""))


def check_csrf(request: Request[Any, Any, Any], form: dict[str, str]) -> None:
    """403 unless the request carries the session's CSRF token (field or header)."""
    sent = form.get(CSRF_FIELD) or request.headers.get(CSRF_HEADER) or ""
    if not hmac.compare_digest(sent.encode(), session_csrf(request).encode()):
        raise Forbidden("the form is stale or was not sent by this console; reload the page")
