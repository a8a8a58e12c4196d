"""Every error the SDK raises: one exception per problem code, each carrying the problem.

An error answer of the API is an RFC 9457 problem (``application/problem+json``); the SDK
raises the exception of its ``code`` (or, for a code it does not know, of its status), with
the parsed :class:`~agentq_client.models.Problem` on ``.problem``.
"""

from __future__ import annotations

from typing import Any

import httpx
from pydantic import ValidationError

from agentq_client.models import FieldProblem, Problem

__all__ = [
    "AgentUnavailable",
    "AgentqError",
    "ApiError",
    "AtCapacity",
    "Blocked",
    "BudgetExhausted",
    "CommandPending",
    "Conflict",
    "Forbidden",
    "Frozen",
    "IdempotencyConflict",
    "InvalidRequest",
    "InvalidTransition",
    "NotEditable",
    "NotFound",
    "PayloadTooLarge",
    "PreconditionFailed",
    "RateLimited",
    "RunStopped",
    "ServerError",
    "StaleLease",
    "TransportFailed",
    "Unauthorized",
    "Unavailable",
    "error_for",
]


class AgentqError(Exception):
    """Anything the SDK raises."""


class TransportFailed(AgentqError):
    """The API could not be reached (connection refused, timed out…), retries included."""


class CommandPending(AgentqError):
    """A write was accepted (202) but not applied within the SDK's wait: it will be.
    ``client.commands_get(command_id)`` tells when; sending the write again with the same
    ``idempotency_key`` returns its outcome once applied (and applies nothing twice)."""

    def __init__(self, command_id: str, idempotency_key: str | None) -> None:
        super().__init__(f"command {command_id} accepted, not applied yet")
        self.command_id = command_id
        self.idempotency_key = idempotency_key


class RunStopped(AgentqError):
    """The server ended the run: ``reason`` is its ``stopReason`` (``cancelled``,
    ``reassigned``, ``lease_expired``, ``budget_exceeded``, ``dependency_failed``), or
    ``stale_lease`` when the lease stopped being the current one without one."""

    def __init__(self, reason: str, run_id: str | None = None) -> None:
        super().__init__(reason)
        self.reason = reason
        #: The run it stopped (set when a work object raised it).
        self.run_id = run_id


class ApiError(AgentqError):
    """An error answer: ``status``, ``code`` and the whole ``problem``."""

    def __init__(self, status: int, problem: Problem | None, headers: httpx.Headers) -> None:
        detail = problem.detail if problem is not None else f"HTTP {status}"
        super().__init__(f"{status} {problem.code if problem else ''}: {detail}".strip())
        self.status = status
        self.problem = problem
        self.code: str | None = problem.code if problem is not None else None
        self.detail = detail
        self.headers = headers


class Unauthorized(ApiError):
    """401: no token, or one unknown or revoked."""


class Forbidden(ApiError):
    """403: this token may not do this."""


class NotFound(ApiError):
    """404: no such resource in this company."""


class Conflict(ApiError):
    """409: a conflict with the resource's state; ``code`` says which, and
    ``current_status`` the status it is in (for the codes that carry one)."""

    @property
    def current_status(self) -> str | None:
        return self.problem.current_status if self.problem is not None else None


class StaleLease(Conflict):
    """409 ``stale_lease``: the lease is not the run's current one; nothing changed.
    ``stop``/``stop_reason``: the run was ended by someone else (the agent should stop)."""

    @property
    def stop(self) -> bool:
        return bool(self.problem and self.problem.stop)

    @property
    def stop_reason(self) -> str | None:
        return self.problem.stop_reason if self.problem is not None else None


class InvalidTransition(Conflict):
    """409 ``invalid_transition``."""


class Frozen(Conflict):
    """409 ``frozen``: the issue is terminal."""


class NotEditable(Conflict):
    """409 ``not_editable``."""


class Blocked(Conflict):
    """409 ``blocked``."""


class AtCapacity(Conflict):
    """409 ``at_capacity``: the agent already runs ``capacity`` issues."""


class AgentUnavailable(Conflict):
    """409 ``agent_unavailable``: the agent is paused."""


class BudgetExhausted(Conflict):
    """409 ``budget_exhausted``: a monthly cap of one of the agent's scopes is spent
    (``budgetScope``, ``budgetScopeId`` and ``month`` in the problem)."""


class PreconditionFailed(ApiError):
    """412: ``If-Match`` names another version."""


class PayloadTooLarge(ApiError):
    """413: the body is over 1 MiB."""


class InvalidRequest(ApiError):
    """422 ``invalid_request``: ``errors`` lists each refused field (``loc``, ``msg``)."""

    @property
    def errors(self) -> list[FieldProblem]:
        return list(self.problem.errors or []) if self.problem is not None else []


class IdempotencyConflict(InvalidRequest):
    """422 ``idempotency_conflict``: the key was used with another body."""


class _Retryable(ApiError):
    @property
    def retry_after_seconds(self) -> float | None:
        return retry_after_seconds(self.headers)


class RateLimited(_Retryable):
    """429: the token's allowance for the window is spent (raised once the SDK's retries,
    which wait ``Retry-After``, ran out of time)."""


class Unavailable(_Retryable):
    """503: a dependency of the API is down (raised once the SDK's retries ran out)."""


class ServerError(ApiError):
    """Any other 5xx."""


_BY_CODE: dict[str, type[ApiError]] = {
    "unauthorized": Unauthorized,
    "forbidden": Forbidden,
    "not_found": NotFound,
    "stale_lease": StaleLease,
    "invalid_transition": InvalidTransition,
    "frozen": Frozen,
    "not_editable": NotEditable,
    "blocked": Blocked,
    "at_capacity": AtCapacity,
    "agent_unavailable": AgentUnavailable,
    "budget_exhausted": BudgetExhausted,
    "precondition_failed": PreconditionFailed,
    "payload_too_large": PayloadTooLarge,
    "invalid_request": InvalidRequest,
    "idempotency_conflict": IdempotencyConflict,
    "rate_limited": RateLimited,
    "unavailable": Unavailable,
}
_BY_STATUS: dict[int, type[ApiError]] = {
    401: Unauthorized,
    403: Forbidden,
    404: NotFound,
    409: Conflict,
    412: PreconditionFailed,
    413: PayloadTooLarge,
    422: InvalidRequest,
    429: RateLimited,
    503: Unavailable,
}


def _problem(body: Any) -> Problem | None:
    try:
        return Problem.model_validate(body)
    except ValidationError:  # not a problem of ours (a proxy's page, a code we do not know)
        if isinstance(body, dict) and isinstance(body.get("code"), str):
            return Problem.model_construct(**body)
        return None


def error_for(status: int, body: Any, headers: httpx.Headers | None = None) -> ApiError:
    """The exception of an error answer (``body``: its parsed JSON, or None)."""
    problem = _problem(body)
    cls = _BY_CODE.get(problem.code if problem is not None else "") or _BY_STATUS.get(status)
    if cls is None:
        cls = ServerError if status >= 500 else ApiError
    return cls(status, problem, headers or httpx.Headers())


def retry_after_seconds(headers: httpx.Headers) -> float | None:
    """``Retry-After`` in seconds (the API sends whole seconds; an HTTP date is not used)."""
    raw = headers.get("retry-after")
    if raw is None:
        return None
    try:
        return max(0.0, float(raw))
    except ValueError:
        return None
