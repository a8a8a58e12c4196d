"""The one place that turns exceptions into problem+json answers. Nothing escapes as a bare 500."""

from __future__ import annotations

import logging
from typing import Any

from litestar import Request, Response
from litestar.exceptions import HTTPException
from litestar.types import ExceptionHandlersMap
from sqlalchemy.exc import SQLAlchemyError

from api.io import json_response, problem_response
from domain.errors import DomainError
from service.problems import problem_from_error

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


def http_error(_: Request[Any, Any, Any], exc: HTTPException) -> Response[Any]:
    code = _BY_STATUS.get(exc.status_code)
    if code is None:
        return server_error(_, exc)
    if code == "payload_too_large":
        return problem_response(code, "request bodies are limited to 1 MiB")
    if code == "not_found":
        return problem_response(code, "no such resource or route")
    if code == "invalid_request":
        return problem_response(code, str(exc.detail), errors=[])
    return problem_response(code, str(exc.detail))


def database_error(_: Request[Any, Any, Any], exc: SQLAlchemyError) -> Response[Any]:
    log.warning("database error: %s", exc.__class__.__name__)
    return problem_response("unavailable", "the database is unavailable; retry shortly")


def server_error(_: Request[Any, Any, Any], exc: Exception) -> Response[Any]:
    log.exception("unhandled error", exc_info=exc)
    return problem_response("internal_error", "an unexpected error; it has been logged")


EXCEPTION_HANDLERS: ExceptionHandlersMap = {
    DomainError: domain_error,
    HTTPException: http_error,
    SQLAlchemyError: database_error,
    Exception: server_error,
}
