"""The one place that turns exceptions into problem+json answers. Nothing escapes as a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException, ValidationException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import SQLAlchemyError

from api.io import CLIENT_CLOSED_REQUEST, CLIENT_GONE, json_response, problem_response
from api.server import TIMED_OUT
from domain.errors import DomainError, FieldError, InvalidRequest
from service.problems import problem, problem_from_error
from service.store.errors import caused_by_data, database_unavailable

__all__ = ["EXCEPTION_HANDLERS"]

log = logging.getLogger("agentq.api")

_BY_STATUS = {
    400: "invalid_request",
    401: "unauthorized",
    403: "forbidden",
    404: "not_found",
    405: "method_not_allowed",
    413: "payload_too_large",
    415: "unsupported_media_type",
    429: "rate_limited",
    503: "unavailable",
}


def domain_error(_: Request[Any, Any, Any], exc: DomainError) -> Response[Any]:
    status, body = problem_from_error(exc)
    headers: dict[str, str] = {}
    if status == 401:
        headers["WWW-Authenticate"] = "Bearer"
    if status == 503:
        headers["Retry-After"] = "1"
    return json_response(body, status, headers)


def _client_gone(request: Request[Any, Any, Any]) -> Response[Any] | None:
    """The answer to record when the client is no longer there to read one: 408 when the
    server timed the body out (``api.server`` already sent it), else 499 (nginx's "client
    closed request"). Neither is the server's error: logged by ``api.app`` as a request."""
    state = request.scope.get("state") or {}
    if state.get(TIMED_OUT):
        return problem_response("request_timeout", "the request's body did not arrive in time")
    if state.get(CLIENT_GONE):
        return Response(content=b"", status_code=CLIENT_CLOSED_REQUEST)
    return None


def http_error(request: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = _BY_STATUS.get(exc.status_code)
    if code is None:
        return server_error(request, exc)
    if code == "payload_too_large":
        # Closed after the answer: reading the rest of a huge body would be work for nothing.
        status, body = problem(code, "request bodies are limited to 1 MiB")
        return json_response(body, status, {"Connection": "close"})
    if code == "not_found":
        return problem_response(code, "no such resource or route")
    if code == "invalid_request":
        return problem_response(code, str(exc.detail), errors=[])
    if code == "method_not_allowed":
        # The methods the path takes (Litestar's router names them in ``Allow``).
        allow = (exc.headers or {}).get("allow", "")
        status, body = problem(code, f"this path takes {allow}" if allow else "not this method")
        return json_response(body, status, {"Allow": allow} if allow else {})
    return problem_response(code, str(exc.detail))


def validation_error(request: Request[Any, Any, Any], exc: ValidationException) -> Response[Any]:
    """Litestar's refusal of a path or query value, as our 422 (a body the handler's model
    refuses is ours already: ``api.body.BodyModels`` raises ``InvalidRequest``)."""
    errors = [
        FieldError((str(e.get("source") or "request"), str(e.get("key") or "")), str(e["message"]))
        for e in exc.extra or []
        if isinstance(e, dict) and "message" in e
    ]
    return domain_error(request, InvalidRequest(errors or [FieldError((), str(exc.detail))]))


def database_error(request: Request[Any, Any, Any], exc: SQLAlchemyError) -> Response[Any]:
    """503 only when the database cannot serve anyone; a value it refused is the request's
    (422); any other failed statement is a bug (500)."""
    if caused_by_data(exc):
        log.info("database refused a value: %s", exc.__class__.__name__)
        return problem_response(
            "invalid_request", "a value in the request cannot be stored or compared", errors=[]
        )
    if database_unavailable(exc):
        log.warning("database unavailable: %s", exc.__class__.__name__)
        return problem_response("unavailable", "the database is unavailable; retry shortly")
    return server_error(request, exc)


def server_error(request: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    gone = _client_gone(request)
    if gone is not None:
        return gone
    log.exception("unhandled error", exc_info=exc)
    return problem_response("internal_error", "an unexpected error; it has been logged")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error,
    ValidationException: validation_error,
    HTTPException: http_error,
    SQLAlchemyError: database_error,
    Exception: server_error,
}
