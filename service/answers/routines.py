"""Routines and the issues their ticks created, as the API answers them."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from domain.priorities import Priority
from domain.routines import CatchUp
from service.answers.common import Answer, Page, Time, Usd, wire

__all__ = [
    "Routine",
    "RoutinePage",
    "RoutineRun",
    "RoutineRunPage",
    "RoutineTemplate",
    "TemplateBudget",
    "routine_json",
    "routine_run_json",
]


class TemplateBudget(Answer):
    per_task_usd: Usd | None = None
    include_subtasks: bool | None = None


class RoutineTemplate(Answer):
    """The issue each tick creates; ``{date}``, ``{time}`` and ``{datetime}`` in the title
    become the tick's local date and time."""

    title: str
    description: str | None = None
    assigned_team_id: str | None = None
    assigned_agent_id: str | None = None
    labels: list[str] | None = None
    budget: TemplateBudget | None = None
    priority: Priority | None = None
    max_attempts: int | None = None


class Routine(Answer):
    id: str
    company_id: str
    name: str
    #: Five fields: minute hour day-of-month month day-of-week, in ``timezone``.
    cron: str
    timezone: str
    template: RoutineTemplate
    catch_up: CatchUp
    paused: bool
    #: The next tick, in UTC (while paused: when it would be).
    next_run_at: Time
    created_at: Time
    updated_at: Time


class RoutineRun(Answer):
    """One issue a routine created."""

    routine_id: str
    #: The tick it was created for.
    tick_at: Time
    issue_id: str
    #: How many due ticks it stands for (more than 1 after missed ticks, with
    #: ``catchUp: "one"``).
    ticks: int
    created_at: Time


class RoutinePage(Page):
    data: list[Routine]


class RoutineRunPage(Page):
    data: list[RoutineRun]


def routine_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return wire(
        Routine(
            id=row["id"],
            company_id=row["company_id"],
            name=row["name"],
            cron=row["cron"],
            timezone=row["timezone"],
            template=RoutineTemplate.model_validate(row["template"]),
            catch_up=row["catch_up"],
            paused=bool(row["paused"]),
            next_run_at=row["next_run_at"],
            created_at=row["created_at"],
            updated_at=row["updated_at"],
        )
    )


def routine_run_json(row: Mapping[str, Any]) -> dict[str, Any]:
    return wire(
        RoutineRun(
            routine_id=row["routine_id"],
            tick_at=row["tick_at"],
            issue_id=row["issue_id"],
            ticks=row["ticks"],
            created_at=row["created_at"],
        )
    )
