"""Monthly budgets: caps per agent, team and company, and what a cost report does to them.

A cap is on one *scope*: an agent, a team (the spend of its member agents' runs) or the
whole company. Each cost report adds its dollars to the current month's spend of every
scope it counts in (its agent, each team the agent is a member of when it reports, the
company), whether or not the scope has a cap, so a cap set mid-month sees the month's
spend. The month is the UTC calendar month of the report's own ``now``.

A report whose spend reaches a cap (``spent >= monthlyUsd``) stops its run, as the
per-task cap does; so does any report while a scope is already exhausted. Each report is
decided on the spend of every report before it (the store adds it under the scope's row
lock), so a run overruns a cap by at most the one report that stopped it.

Thresholds (50, 80, 100 %) are announced once each per scope and month for a given cap:
the spend row remembers the highest one announced and the cap it was announced for; a
different cap starts the thresholds afresh.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from decimal import Decimal
from enum import StrEnum

__all__ = [
    "LIFETIME",
    "MAX_ANCESTORS",
    "MONTHLY_SCOPES",
    "THRESHOLDS_PERCENT",
    "BudgetScope",
    "ScopeSpend",
    "SubtreeSpend",
    "Verdict",
    "judge",
    "month_of",
    "thresholds_to_announce",
]


#: Shares of a cap that are announced (activity and ``budget.threshold``) when spending
#: first reaches them.
THRESHOLDS_PERCENT = (50, 80, 100)


class BudgetScope(StrEnum):
    """What a cap is on, narrowest first (the order a stop names them in)."""

    ISSUE = "issue"  #: the issue's own ``budget.perTaskUsd`` (not monthly; not set here)
    AGENT = "agent"  #: one agent's runs
    TEAM = "team"  #: the runs of the team's member agents
    COMPANY = "company"  #: every run of the company (the scope id is the company id)


#: The scopes ``PUT /budgets/{scope}/{id}`` takes.
MONTHLY_SCOPES = (BudgetScope.AGENT, BudgetScope.TEAM, BudgetScope.COMPANY)

#: The period of an issue's subtree spend (scope ``issue``): the issue's whole life.
LIFETIME = "all"
#: How far up a subtask's report counts: its parent, grandparent, … up to this many
#: ancestors (deeper ones are not walked; subtasks are not otherwise bounded in depth).
MAX_ANCESTORS = 10


@dataclass(frozen=True, slots=True)
class SubtreeSpend:
    """An issue whose ``budget.includeSubtasks`` cap counts its subtasks, after a report:
    its own spend, its subtasks' (all the way down, this report included), its cap."""

    issue_id: str
    own_usd: Decimal
    subtasks_usd: Decimal
    cap_usd: Decimal

    @property
    def spent_usd(self) -> Decimal:
        return self.own_usd + self.subtasks_usd

    @property
    def exhausted(self) -> bool:
        return self.spent_usd >= self.cap_usd


def month_of(moment: datetime) -> str:
    """The UTC calendar month of ``moment`` (an aware time), as ``YYYY-MM``."""
    offset = moment.utcoffset()
    if offset is None:
        raise ValueError("a naive time has no month")
    utc = moment - offset
    return f"{utc.year:04d}-{utc.month:02d}"


@dataclass(frozen=True, slots=True)
class ScopeSpend:
    """One scope's month after a report: its spend (this report included) and its cap."""

    scope: BudgetScope
    scope_id: str
    spent_usd: Decimal
    #: None: the scope has no cap (its spend is kept all the same).
    cap_usd: Decimal | None
    #: The highest threshold announced this month, and the cap it was announced for.
    announced_percent: int = 0
    announced_cap_usd: Decimal | None = None

    @property
    def exhausted(self) -> bool:
        return self.cap_usd is not None and self.spent_usd >= self.cap_usd


def thresholds_to_announce(spend: ScopeSpend) -> list[int]:
    """The thresholds ``spend`` has reached that were not announced yet this month for this
    cap (all of them again once the cap is a different one). A zero cap is reached by any
    report."""
    cap = spend.cap_usd
    if cap is None:
        return []
    announced = spend.announced_percent if spend.announced_cap_usd == cap else 0
    return [
        pct for pct in THRESHOLDS_PERCENT if pct > announced and spend.spent_usd * 100 >= cap * pct
    ]


@dataclass(frozen=True, slots=True)
class Verdict:
    """What one report's monthly spend decides: the cap that stops its run (None: none
    does), and the thresholds to announce, per scope."""

    stopped_by: ScopeSpend | None
    announce: tuple[tuple[ScopeSpend, int], ...]


def judge(spends: list[ScopeSpend]) -> Verdict:
    """The stop (the narrowest exhausted scope) and the announcements of one report."""
    order = list(BudgetScope)
    ranked = sorted(spends, key=lambda s: (order.index(s.scope), s.scope_id))
    stopped_by = next((s for s in ranked if s.exhausted), None)
    announce = tuple((s, pct) for s in ranked for pct in thresholds_to_announce(s))
    return Verdict(stopped_by, announce)
