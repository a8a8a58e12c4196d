"""Cost reports and roll-ups, and the activity trail, as the API answers them."""

from __future__ import annotations

from typing import Any

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
    "FieldChange",
]


class CostReported(Answer):
    id: str
    issue_id: str
    run_id: str
    cost: RunCost
    budget: IssueBudget
    stop: bool
    stop_reason: str | None = None
    #: The cap that stopped the run: ``issue`` (its ``perTaskUsd``), ``agent``, ``team`` or
    #: ``company`` (a monthly cap), and the id of what it caps.
    budget_scope: str | None = None
    budget_scope_id: str | None = None


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


class FieldChange(Answer):
    """One field of a company entry's subject: its value before and after (null: it had
    none, or the subject was created or removed; ``[redacted]`` for a secret)."""

    before: Any
    after: Any


class ActivityEntry(Answer):
    id: str
    at: Time
    #: The issue of an issue's entry; null for a company's (``subjectType``/``subjectId``).
    issue_id: str | None
    type: str
    #: An issue's status before and after (null on a company's entry).
    from_status: str | None
    to_status: str | None
    actor: str
    reason: str | None
    #: The issue's version after it (null on a company's entry).
    version: int | None
    command_id: str | None
    #: What the entry is about: ``issue`` (then ``subjectId`` is ``issueId``), ``agent``,
    #: ``team``, ``token``, ``webhook_endpoint`` or ``budget``.
    subject_type: str
    subject_id: str
    #: A company entry's changed fields (wire names); null on an issue's entry.
    changes: dict[str, FieldChange] | None = None
    #: The issue's ``notBefore`` when this entry's change set it (a retry's backoff, a
    #: create or a PATCH naming one); null otherwise.
    not_before: Time | None


class ActivityPage(Page):
    data: list[ActivityEntry]
