"""The domain error tree. One root; one place (``service.problems``) maps it to HTTP."""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

__all__ = [
    "AgentUnavailable",
    "AtCapacity",
    "Blocked",
    "BudgetExhausted",
    "DomainError",
    "FieldError",
    "Forbidden",
    "Frozen",
    "IdempotencyConflict",
    "InvalidRequest",
    "InvalidTransition",
    "NotEditable",
    "NotFound",
    "PreconditionFailed",
    "StaleLease",
]


@dataclass(frozen=True, slots=True)
class FieldError:
    """One thing wrong with a request: where (``loc``) and what (``msg``)."""

    loc: tuple[str | int, ...]
    msg: str


class DomainError(Exception):
    """Root of every rule violation. ``code`` is the stable machine-readable name."""

    code: str = "domain_error"

    def __init__(self, detail: str = "", **extra: Any) -> None:
        super().__init__(detail or self.code)
        self.detail = detail or self.default_detail()
        self.extra: dict[str, Any] = extra

    def default_detail(self) -> str:
        return self.code.replace("_", " ")


class NotFound(DomainError):
    code = "not_found"

    def __init__(self, kind: str, ident: str) -> None:
        super().__init__(f"{kind} {ident} does not exist")


class Forbidden(DomainError):
    code = "forbidden"


class InvalidRequest(DomainError):
    """The request is well-formed JSON but names something wrong."""

    code = "invalid_request"

    def __init__(self, errors: Sequence[FieldError], detail: str = "") -> None:
        first = errors[0].msg if errors else "invalid request"
        super().__init__(detail or first)
        self.errors: tuple[FieldError, ...] = tuple(errors)

    @classmethod
    def at(cls, loc: Sequence[str | int], msg: str) -> InvalidRequest:
        return cls([FieldError(tuple(loc), msg)])


class InvalidTransition(DomainError):
    code = "invalid_transition"

    def __init__(self, current_status: str, trigger: str = "") -> None:
        super().__init__(
            f"cannot {trigger} an issue in status {current_status}"
            if trigger
            else f"not allowed in status {current_status}",
            currentStatus=str(current_status),
        )


class Frozen(DomainError):
    code = "frozen"

    def __init__(self, current_status: str) -> None:
        super().__init__(
            f"the issue is {current_status}: terminal issues are frozen",
            currentStatus=str(current_status),
        )


class NotEditable(DomainError):
    code = "not_editable"


class StaleLease(DomainError):
    code = "stale_lease"


class Blocked(DomainError):
    code = "blocked"


class AtCapacity(DomainError):
    code = "at_capacity"


class AgentUnavailable(DomainError):
    code = "agent_unavailable"


class BudgetExhausted(DomainError):
    """A monthly cap of one of the agent's scopes is spent: no new work for it until the
    month turns or the cap is raised (``domain.budgets``)."""

    code = "budget_exhausted"

    def __init__(self, scope: str, scope_id: str, month: str) -> None:
        super().__init__(
            f"the {scope} {scope_id} has spent its monthly budget for {month}",
            budgetScope=scope,
            budgetScopeId=scope_id,
            month=month,
        )


class PreconditionFailed(DomainError):
    code = "precondition_failed"

    def __init__(self, expected: int, actual: int) -> None:
        super().__init__(
            f"If-Match wanted version {expected} but the issue is at version {actual}",
            currentVersion=actual,
        )


class IdempotencyConflict(DomainError):
    code = "idempotency_conflict"
