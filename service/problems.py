"""The one place that maps errors to RFC 9457 problem+json bodies and HTTP statuses."""

from __future__ import annotations

from typing import Any

from domain.errors import DomainError, InvalidRequest

__all__ = ["HTTP_STATUS", "PROBLEM_BASE", "problem", "problem_from_error"]

PROBLEM_BASE = "https://agentq.dev/problems/"

#: Problem code -> HTTP status (docs/api.md "Conventions").
HTTP_STATUS: dict[str, int] = {
    "bad_request": 400,
    "unauthorized": 401,
    "forbidden": 403,
    "not_found": 404,
    "method_not_allowed": 405,
    "invalid_request": 422,
    "invalid_transition": 409,
    "frozen": 409,
    "not_editable": 409,
    "stale_lease": 409,
    "blocked": 409,
    "idempotency_conflict": 422,
    "at_capacity": 409,
    "agent_unavailable": 409,
    "budget_exhausted": 409,
    "precondition_failed": 412,
    "request_timeout": 408,
    "payload_too_large": 413,
    "uri_too_long": 414,
    "unsupported_media_type": 415,
    "rate_limited": 429,
    "headers_too_large": 431,
    "unavailable": 503,
    "internal_error": 500,
}

_TITLES: dict[str, str] = {
    "bad_request": "Bad request",
    "unauthorized": "Unauthorized",
    "forbidden": "Forbidden",
    "not_found": "Not found",
    "method_not_allowed": "Method not allowed",
    "invalid_request": "Invalid request",
    "invalid_transition": "Invalid transition",
    "frozen": "Issue is frozen",
    "not_editable": "Field not editable",
    "stale_lease": "Stale lease",
    "blocked": "Blocked",
    "idempotency_conflict": "Idempotency key reused",
    "at_capacity": "Agent at capacity",
    "agent_unavailable": "Agent unavailable",
    "budget_exhausted": "Budget exhausted",
    "precondition_failed": "Precondition failed",
    "request_timeout": "Request timeout",
    "payload_too_large": "Payload too large",
    "uri_too_long": "URI too long",
    "rate_limited": "Rate limited",
    "headers_too_large": "Request headers too large",
    "unavailable": "Service unavailable",
    "internal_error": "Internal error",
}


def problem(code: str, detail: str, **extra: Any) -> tuple[int, dict[str, Any]]:
    """(status, body) of a problem with a code from ``HTTP_STATUS``."""
    status = HTTP_STATUS[code]
    body: dict[str, Any] = {
        "type": PROBLEM_BASE + code,
        "title": _TITLES.get(code, code.replace("_", " ").capitalize()),
        "status": status,
        "detail": detail,
        "code": code,
    }
    body.update(extra)
    return status, body


def problem_from_error(error: DomainError) -> tuple[int, dict[str, Any]]:
    extra = dict(error.extra)
    if isinstance(error, InvalidRequest):
        extra["errors"] = [{"loc": list(e.loc), "msg": e.msg} for e in error.errors]
    return problem(error.code, error.detail, **extra)
