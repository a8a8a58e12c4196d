"""Command handlers of routines: create, update, delete, and a tick's firing."""

from __future__ import annotations

import logging
from datetime import datetime
from typing import Any
from zoneinfo import ZoneInfo

import sqlalchemy as sa

from domain import routines as rules
from domain.audit import AuditType
from domain.commands import (
    CreateIssue,
    CreateRoutine,
    DeleteRoutine,
    FireRoutine,
    UpdateRoutine,
)
from domain.errors import DomainError, NotFound
from service.answers.routines import RoutineTemplate, TemplateBudget, routine_json
from service.commands.context import Context, Reply
from service.commands.handlers.issues import create_issue
from service.commands.registry import handles
from service.ids import derived_id
from service.kinds import ISSUE
from service.store import tables as t

__all__ = [
    "create_routine",
    "delete_routine",
    "fire_routine",
    "routine_issue_id",
    "update_routine",
]

log = logging.getLogger("agentq.routines")

R = t.routines.c
_TEMPLATE_REFS = (("assignedAgentId", t.agents, "agent"), ("assignedTeamId", t.teams, "team"))


def routine_issue_id(routine_id: str, tick: datetime) -> str:
    """The issue a routine's tick creates: the same id however often the tick is fired."""
    return derived_id(ISSUE.prefix, tick, routine_id, tick.isoformat())


def _check(ctx: Context, cron: str, timezone: str, template: dict[str, Any]) -> ZoneInfo:
    zone = ZoneInfo(timezone)  # the API refused names zoneinfo does not know
    rules.check_cron(cron, zone, ["cron"])
    for field, table, kind in _TEMPLATE_REFS:
        if template.get(field) is not None:
            ctx.require(table, template[field], ["template", field], kind)
    return zone


@handles(CreateRoutine)
def create_routine(cmd: CreateRoutine, ctx: Context) -> dict[str, Any]:
    zone = _check(ctx, cmd.cron, cmd.timezone, cmd.template)
    row = {
        "id": cmd.routine_id,
        "company_id": ctx.company_id,
        "name": cmd.name,
        "cron": cmd.cron,
        "timezone": cmd.timezone,
        "template": cmd.template,
        "catch_up": cmd.catch_up,
        "paused": cmd.paused,
        "next_run_at": rules.next_tick(cmd.cron, zone, ctx.now),
        "created_at": ctx.now,
        "updated_at": ctx.now,
    }
    ctx.conn.execute(t.routines.insert().values(**row))
    answer = routine_json(row)
    ctx.audit(AuditType.ROUTINE_CREATED, cmd.routine_id, None, answer)
    return answer


def _routine(ctx: Context, routine_id: str) -> Any:
    row = ctx.conn.execute(
        sa.select(t.routines)
        .where(R.id == routine_id, R.company_id == ctx.company_id)
        .with_for_update()
    ).first()
    if row is None:
        raise NotFound("routine", routine_id)
    return row


@handles(UpdateRoutine)
def update_routine(cmd: UpdateRoutine, ctx: Context) -> dict[str, Any]:
    row = _routine(ctx, cmd.routine_id)
    values: dict[str, Any] = {name: getattr(cmd, name) for name in cmd.fields_set}
    merged = {**row._mapping, **values}
    zone = _check(ctx, merged["cron"], merged["timezone"], merged["template"])
    resumed = row.paused and values.get("paused") is False
    if resumed or {"cron", "timezone"} & cmd.fields_set:
        # A new schedule, or a resume: the next tick from now (ticks while paused are not
        # missed ones: they create nothing).
        values["next_run_at"] = rules.next_tick(merged["cron"], zone, ctx.now)
    values["updated_at"] = ctx.now
    ctx.conn.execute(t.routines.update().where(R.id == cmd.routine_id).values(**values))
    before, after = routine_json(row._mapping), routine_json({**merged, **values})
    ctx.audit(_routine_change(before, after), cmd.routine_id, before, after)
    return after


def _routine_change(before: dict[str, Any], after: dict[str, Any]) -> AuditType:
    """A PATCH that pauses or resumes the routine is its entry's type; else ``updated``."""
    if before["paused"] != after["paused"]:
        return AuditType.ROUTINE_PAUSED if after["paused"] else AuditType.ROUTINE_RESUMED
    return AuditType.ROUTINE_UPDATED


@handles(DeleteRoutine)
def delete_routine(cmd: DeleteRoutine, ctx: Context) -> Any:
    row = _routine(ctx, cmd.routine_id)
    ctx.audit(AuditType.ROUTINE_DELETED, cmd.routine_id, routine_json(row._mapping), None)
    rr = t.routine_runs
    ctx.conn.execute(rr.delete().where(rr.c.routine_id == cmd.routine_id))
    ctx.conn.execute(t.routines.delete().where(R.id == cmd.routine_id))
    return Reply(204)


def _issue_command(row: Any, tick: datetime, zone: ZoneInfo) -> CreateIssue:
    # The template is stored as the API took it (camelCase JSON); its answer model reads it.
    template = RoutineTemplate.model_validate(row.template)
    budget = template.budget or TemplateBudget()
    return CreateIssue(
        issue_id=routine_issue_id(row.id, tick),
        title=rules.render_title(template.title, tick, zone)[:500],
        description=template.description,
        assigned_team_id=template.assigned_team_id,
        assigned_agent_id=template.assigned_agent_id,
        budget_per_task_usd=budget.per_task_usd,
        budget_include_subtasks=bool(budget.include_subtasks),
        labels=tuple(template.labels or ()),
        max_attempts=template.max_attempts or 3,
        priority=template.priority,
    )


@handles(FireRoutine)
def fire_routine(cmd: FireRoutine, ctx: Context) -> dict[str, Any]:
    """Create the tick's issue (if it is to create one) and move to the next tick. Applied
    once per tick: a routine no longer due at ``due`` (fired already, paused, changed,
    deleted) changes nothing."""
    row = ctx.conn.execute(
        sa.select(t.routines).where(R.id == cmd.routine_id).with_for_update()
    ).first()
    if row is None or row.paused or row.next_run_at != cmd.due:
        return {"routineId": cmd.routine_id, "fired": False}
    zone = ZoneInfo(row.timezone)
    # The scheduler found it due by the database's clock: a worker whose clock is a little
    # behind fires it all the same (this command id is never sent for this tick again).
    now = max(ctx.now, cmd.due)
    firing = rules.fire(row.cron, zone, rules.CatchUp(row.catch_up), row.next_run_at, now)
    issue_id = None
    if firing.tick is not None:
        try:
            with ctx.conn.begin_nested():
                issue_id = create_issue(_issue_command(row, firing.tick, zone), ctx)["id"]
        except DomainError as error:
            # The template's assignee is gone, say: this tick creates nothing, and the
            # routine still moves on (refusing the firing would retry it for ever).
            log.warning(
                "routine %s: tick %s created no issue: %s",
                row.id,
                firing.tick.isoformat(),
                error,
                extra={"action": "routine_tick_refused", "routine_id": row.id},
            )
    if issue_id is not None and firing.tick is not None:
        ctx.conn.execute(
            t.routine_runs.insert().values(
                routine_id=row.id,
                tick_at=firing.tick,
                company_id=row.company_id,
                issue_id=issue_id,
                ticks=firing.ticks,
                created_at=ctx.now,
            )
        )
    ctx.conn.execute(
        t.routines.update()
        .where(R.id == row.id)
        .values(next_run_at=firing.next_run_at, updated_at=ctx.now)
    )
    return {"routineId": row.id, "fired": issue_id is not None, "issueId": issue_id}
