"""The issue and agent models: plain frozen values, changed by the rules in ``domain.issues``."""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.priorities import Priority
from domain.statuses import IssueStatus

__all__ = ["AgentLoad", "AgentStatus", "Issue", "RetryPolicy"]


class AgentStatus(StrEnum):
    ACTIVE = "active"  #: takes new work
    PAUSED = "paused"  #: keeps what it has, gets nothing new


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """How long a retry waits (``domain.retries``): ``base_seconds`` doubled per retry,
    never above ``max_seconds``. ``base_seconds`` 0 retries at once."""

    base_seconds: int
    max_seconds: int


@dataclass(frozen=True, slots=True)
class Issue:
    """An issue (task) as the rules see it. ``version`` grows by one per transition or edit."""

    id: str
    company_id: str
    title: str
    description: str | None
    status: IssueStatus
    parent_id: str | None
    assigned_agent_id: str | None
    assigned_team_id: str | None
    budget_per_task_usd: Decimal | None
    spent_usd: Decimal
    due_at: datetime | None
    labels: tuple[str, ...]
    dependencies: tuple[str, ...]
    current_run_id: str | None
    created_at: datetime
    updated_at: datetime
    version: int
    attempts: int
    max_attempts: int
    #: The fencing number of the latest lease: grows by one per lease, never reused.
    lease_fence: int = 0
    #: Claims and dispatch take higher priority first, then oldest.
    priority: Priority = Priority.MEDIUM
    #: Nothing claims or dispatches the issue before this time (None: at once).
    not_before: datetime | None = None
    #: The issue's own retry backoff (None: the process's ``AGENTQ_RETRY_*`` defaults).
    retry_policy: RetryPolicy | None = None
    #: ``budget.includeSubtasks``: the subtasks' spend counts against ``budget_per_task_usd``.
    budget_include_subtasks: bool = False

    def evolve(self, **changes: object) -> Issue:
        return replace(self, **changes)  # type: ignore[arg-type]


@dataclass(frozen=True, slots=True)
class AgentLoad:
    """What the dispatcher needs to know of one agent.

    ``load`` counts the agent's issues in ``assigned`` plus ``running``;
    ``idle_since`` is when it was last given work (None: never), used to break ties.
    """

    id: str
    status: AgentStatus
    capacity: int
    load: int
    idle_since: datetime | None

    @property
    def available(self) -> bool:
        return self.status is AgentStatus.ACTIVE and self.load < self.capacity
