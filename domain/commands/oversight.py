"""Commands of oversight: cost reports, monthly budgets and approvals."""

from __future__ import annotations

from dataclasses import dataclass
from decimal import Decimal
from typing import Any, ClassVar

from domain.commands.base import Command

__all__ = [
    "DecideApproval",
    "DeleteBudget",
    "ExpireApproval",
    "ReportCost",
    "RequestApproval",
    "SetBudget",
]


@dataclass(frozen=True, slots=True)
class ReportCost(Command):
    """The run's agent reports what it spent; may stop the run at the budget cap."""

    issue_id: str
    run_id: str
    lease_token: str
    cost_id: str
    usd: Decimal
    input_tokens: int = 0
    output_tokens: int = 0
    model: str | None = None
    acting_agent_id: str | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class RequestApproval(Command):
    issue_id: str
    run_id: str
    lease_token: str
    approval_id: str
    action: str
    details: dict[str, Any] | None = None
    acting_agent_id: str | None = None
    #: Seconds until it expires if nobody decides (None: ``DEFAULT_EXPIRES_IN_S``; the API
    #: always names it, from ``AGENTQ_APPROVAL_TIMEOUT_S``).
    expires_in_s: int | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class ExpireApproval(Command):
    """The scheduler found the approval past its ``expiresAt``, still pending."""

    issue_id: str
    approval_id: str
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class DecideApproval(Command):
    """Approve or reject; on the issue's shard, like every change to the issue's run."""

    issue_id: str
    approval_id: str
    approve: bool
    comment: str | None = None
    shard_field: ClassVar[str] = "issue_id"


@dataclass(frozen=True, slots=True)
class SetBudget(Command):
    """Set or change the monthly cap of an agent, a team or the company (``scope_id`` is
    the company's id for ``company``); on the scope's shard."""

    scope: str
    scope_id: str
    monthly_usd: Decimal
    shard_field: ClassVar[str] = "scope_id"


@dataclass(frozen=True, slots=True)
class DeleteBudget(Command):
    """Remove a monthly cap: the scope's spend is no longer limited (it is still kept)."""

    scope: str
    scope_id: str
    shard_field: ClassVar[str] = "scope_id"
