"""Cost reports and the per-task budget cap.

Each report adds to its run's cost and to the issue's ``spent``, exactly (``Decimal``).
When ``spent`` reaches ``perTaskUsd`` the report that crossed the cap ends the run
(``budget_exceeded``) and the issue goes to ``handoff``, in the same decision: nothing can
be spent on that run after it, so an overrun is at most that one report.

With ``budget.includeSubtasks`` the cap is judged on the issue's own spend plus its
subtasks' (all the way down): a subtask's report that brings an ancestor's total to the
ancestor's cap stops the subtask's run the same way (``domain.budgets.SubtreeSpend``).
"""

from __future__ import annotations

from dataclasses import dataclass, replace
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

from domain.actors import Actor
from domain.budgets import THRESHOLDS_PERCENT, BudgetScope, ScopeSpend, SubtreeSpend
from domain.change import Change, Decision
from domain.errors import InvalidRequest
from domain.events import BudgetThresholdReached, IssueEvent, IssueHandedOff
from domain.model import Issue
from domain.runs import ExitReason, Lease, Run, end_run_by_others
from domain.statuses import IssueStatus, Trigger

__all__ = [
    "BUDGET_ACTOR",
    "THRESHOLDS_PERCENT",
    "CostDimension",
    "CostReported",
    "Usage",
    "ancestor_stop",
    "budget_reached",
    "report_cost",
    "thresholds_crossed",
]

#: Who stops a run that spent its budget.
BUDGET_ACTOR = str(Actor.system("budget"))


class CostDimension(StrEnum):
    """What costs are summed per: each report counts once under each of its keys."""

    ISSUE = "issue"
    AGENT = "agent"
    TEAM = "team"
    LABEL = "label"  #: once per label of the issue
    MODEL = "model"  #: the report's ``model`` (none: the empty key)
    TOTAL = "total"  #: the whole company


@dataclass(frozen=True, slots=True)
class Usage:
    """What one report adds: dollars (at most 6 decimal places) and token counts."""

    usd: Decimal
    input_tokens: int = 0
    output_tokens: int = 0

    def __post_init__(self) -> None:
        if self.usd < 0 or self.input_tokens < 0 or self.output_tokens < 0:
            raise InvalidRequest.at(["usd"], "a cost report cannot be negative")


@dataclass(frozen=True, slots=True)
class CostReported:
    """The outcome of one report: the issue and run after it, and whether the run stopped."""

    decision: Decision
    run: Run
    lease: Lease
    #: Activity entries for budget thresholds this report reached (no version change).
    notes: tuple[IssueEvent, ...]
    #: The cap that stopped the run: its scope and the scope's id (None: not stopped).
    stopped_by: tuple[BudgetScope, str] | None = None
    #: The issue's own thresholds this report reached (percent of ``perTaskUsd``).
    own_thresholds: tuple[int, ...] = ()

    @property
    def stopped(self) -> bool:
        return not self.run.active


def thresholds_crossed(before: Decimal, after: Decimal, budget: Decimal | None) -> list[int]:
    """The percentages of ``budget`` that spending reached with this report (``before`` was
    under them, ``after`` is at or past them). A zero budget is reached by any report."""
    if budget is None:
        return []
    return [
        pct
        for pct in THRESHOLDS_PERCENT
        if after >= budget * pct / 100 and (before < budget * pct / 100 or (budget == 0 == before))
    ]


def budget_reached(issue: Issue, subtasks_usd: Decimal = Decimal(0)) -> bool:
    budget = issue.budget_per_task_usd
    return budget is not None and issue.spent_usd + subtasks_usd >= budget


def ancestor_stop(ancestors: list[SubtreeSpend]) -> SubtreeSpend | None:
    """The nearest ancestor (``ancestors`` nearest first) whose cap this report reached."""
    return next((a for a in ancestors if a.exhausted), None)


def report_cost(
    issue: Issue,
    run: Run,
    lease: Lease,
    usage: Usage,
    *,
    now: datetime,
    monthly: ScopeSpend | None = None,
    subtasks_usd: Decimal = Decimal(0),
    ancestor: SubtreeSpend | None = None,
) -> CostReported:
    """Add ``usage`` to the run and the issue; at the cap, stop the run (→ ``handoff``).

    ``subtasks_usd``: what the issue's subtasks spent, when its budget includes them (its
    cap and thresholds are judged on its own spend plus theirs). ``ancestor``: the nearest
    ancestor whose ``includeSubtasks`` cap this report reached (``ancestor_stop``).

    ``monthly``: the monthly cap (``domain.budgets.judge``) this report's spend reached, if
    one did: it stops the run as the issue's own cap does. The issue's own cap is named
    first when both are reached.

    ``spent`` and the run's cost change without a new issue version: the version counts
    transitions and edits, and a report is neither (unless it stops the run)."""
    before = issue.spent_usd
    issue = issue.evolve(spent_usd=before + usage.usd)
    run = replace(
        run,
        cost_usd=run.cost_usd + usage.usd,
        input_tokens=run.input_tokens + usage.input_tokens,
        output_tokens=run.output_tokens + usage.output_tokens,
    )
    budget = issue.budget_per_task_usd
    sub = subtasks_usd if issue.budget_include_subtasks else Decimal(0)
    total = issue.spent_usd + sub
    own = tuple(thresholds_crossed(before + sub, total, budget))
    notes = tuple(
        BudgetThresholdReached(
            issue.id,
            issue.status,
            issue.status,
            issue.version,
            BUDGET_ACTOR,
            f"{pct}% of the budget spent: ${total} of ${budget}",
        )
        for pct in own
    )
    change = Change(issue, now, BUDGET_ACTOR, None)
    stopped_by: tuple[BudgetScope, str] | None = None
    if budget_reached(issue, sub):
        stopped_by = (BudgetScope.ISSUE, issue.id)
        change.reason = f"budget exceeded: spent ${total} of ${budget}"
    elif ancestor is not None and ancestor.exhausted:
        stopped_by = (BudgetScope.ISSUE, ancestor.issue_id)
        change.reason = (
            f"budget of parent issue {ancestor.issue_id} (with its subtasks) exceeded: "
            f"spent ${ancestor.spent_usd} of ${ancestor.cap_usd}"
        )
    elif monthly is not None and monthly.exhausted:
        stopped_by = (monthly.scope, monthly.scope_id)
        change.reason = (
            f"monthly budget of {monthly.scope} {monthly.scope_id} exceeded: "
            f"spent ${monthly.spent_usd} of ${monthly.cap_usd}"
        )
    if stopped_by is not None:
        change.move(
            IssueStatus.HANDOFF, Trigger.BUDGET_EXCEEDED, IssueHandedOff, current_run_id=None
        )
        ended_run, ended_lease = end_run_by_others(
            run, lease, now=now, reason=ExitReason.BUDGET_EXCEEDED
        )
        assert ended_run is not None and ended_lease is not None
        run, lease = ended_run, ended_lease
    return CostReported(change.decision(), run, lease, notes, stopped_by, own)
