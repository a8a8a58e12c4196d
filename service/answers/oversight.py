"""Cost reports and roll-ups, and the activity trail, as the API answers them."""

from __future__ import annotations

from service.answers.common import Answer, Page, Time, Usd
from service.answers.issues import IssueBudget
from service.answers.runs import RunCost

__all__ = [
    "ActivityEntry",
    "ActivityPage",
    "Amounts",
    "CostGroup",
    "CostReported",
    "CostRollup",
]


class CostReported(Answer):
    id: str
    issue_id: str
    run_id: str
    cost: RunCost
    budget: IssueBudget
    stop: bool
    stop_reason: str | None = None


class Amounts(Answer):
    usd: Usd | None
    input_tokens: int
    output_tokens: int
    reports: int


class CostGroup(Amounts):
    key: str | None


class CostRollup(Answer):
    group_by: str
    since: Time | None
    until: Time | None
    total: Amounts
    data: list[CostGroup]
    next_cursor: str | None
    has_more: bool


class ActivityEntry(Answer):
    id: str
    at: Time
    issue_id: str
    type: str
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str | None
    version: int | None
    command_id: str | None


class ActivityPage(Page):
    data: list[ActivityEntry]
