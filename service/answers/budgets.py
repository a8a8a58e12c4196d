"""Monthly budgets as the API answers them: the cap, and the current month's spend."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, Literal

from domain.budgets import BudgetScope
from domain.money import from_micros
from service.answers.common import Answer, Page, Time, Usd, wire
from service.answers.issues import Spent

__all__ = ["MonthlyBudget", "MonthlyBudgetPage", "budget_json"]


class MonthlyBudget(Answer):
    """A monthly cap on an agent, a team or the company, with the month's spend so far."""

    scope: Literal["agent", "team", "company"]
    #: The agent's, the team's or the company's id.
    scope_id: str
    company_id: str
    monthly_usd: Usd
    #: The UTC calendar month ``spent`` is of (``YYYY-MM``): the current one.
    month: str
    spent: Spent
    #: ``spent`` has reached ``monthlyUsd``: the scope's agents get no new work this month.
    exhausted: bool
    created_at: Time
    updated_at: Time


class MonthlyBudgetPage(Page):
    data: list[MonthlyBudget]


def budget_json(row: Mapping[str, Any], month: str, spent_micros: int) -> dict[str, Any]:
    """A ``budgets`` row, with ``spent_micros`` spent in ``month``."""
    cap = int(row["monthly_micros"])
    return wire(
        MonthlyBudget(
            scope=BudgetScope(row["scope"]).value,  # type: ignore[arg-type]
            scope_id=row["scope_id"],
            company_id=row["company_id"],
            monthly_usd=from_micros(cap),
            month=month,
            spent=Spent(usd=from_micros(spent_micros)),
            exhausted=spent_micros >= cap,
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
    )
