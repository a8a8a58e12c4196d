"""Command handlers of monthly budgets: set a cap, remove it."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa

from domain.budgets import MONTHLY_SCOPES, BudgetScope, month_of
from domain.commands import DeleteBudget, SetBudget
from domain.errors import InvalidRequest, NotFound
from domain.money import to_micros
from service.answers.budgets import budget_json
from service.commands.context import Context, Reply
from service.commands.registry import handles
from service.store import budgets as budgets_db
from service.store import tables as t

__all__ = ["delete_budget", "set_budget"]

B = t.budgets.c
_TABLES = {BudgetScope.AGENT: t.agents, BudgetScope.TEAM: t.teams}


def check_scope(scope: str) -> BudgetScope:
    """The scope named in the path, or 422 naming it."""
    if scope not in {str(s) for s in MONTHLY_SCOPES}:
        raise InvalidRequest.at(
            ["path", "budget_scope"],
            f"unknown budget scope {scope!r}: one of {', '.join(map(str, MONTHLY_SCOPES))}",
        )
    return BudgetScope(scope)


def _check_owner(ctx: Context, scope: BudgetScope, scope_id: str) -> None:
    """404 unless ``scope_id`` is this company's agent or team, or this company."""
    if scope is BudgetScope.COMPANY:
        if scope_id != ctx.company_id:
            raise NotFound("company", scope_id)
        return
    table = _TABLES[scope]
    found = ctx.conn.execute(
        sa.select(table.c.id).where(table.c.id == scope_id, table.c.company_id == ctx.company_id)
    ).first()
    if found is None:
        raise NotFound(str(scope), scope_id)


def _row(ctx: Context, scope: BudgetScope, scope_id: str) -> Any:
    return ctx.conn.execute(
        sa.select(t.budgets)
        .where(B.company_id == ctx.company_id, B.scope == str(scope), B.scope_id == scope_id)
        .with_for_update()
    ).first()


@handles(SetBudget)
def set_budget(cmd: SetBudget, ctx: Context) -> dict[str, Any]:
    scope = check_scope(cmd.scope)
    _check_owner(ctx, scope, cmd.scope_id)
    micros = to_micros(cmd.monthly_usd)
    before = _row(ctx, scope, cmd.scope_id)
    if before is None:
        row = {
            "company_id": ctx.company_id,
            "scope": str(scope),
            "scope_id": cmd.scope_id,
            "monthly_micros": micros,
            "created_at": ctx.now,
            "updated_at": ctx.now,
        }
        ctx.conn.execute(t.budgets.insert().values(**row))
    else:
        row = {**before._mapping}
        if int(before.monthly_micros) != micros:
            row.update(monthly_micros=micros, updated_at=ctx.now)
            ctx.conn.execute(
                t.budgets.update()
                .where(
                    B.company_id == ctx.company_id,
                    B.scope == str(scope),
                    B.scope_id == cmd.scope_id,
                )
                .values(monthly_micros=micros, updated_at=ctx.now)
            )
    month = month_of(ctx.now)
    key = (scope, cmd.scope_id)
    spent = budgets_db.spent_micros(ctx.conn, ctx.company_id, [key], month)[key]
    answer = budget_json(row, month, spent)
    was = None if before is None else budget_json(before._mapping, month, spent)
    ctx.audit_budget_set(str(scope), cmd.scope_id, was, answer)
    return answer


@handles(DeleteBudget)
def delete_budget(cmd: DeleteBudget, ctx: Context) -> Reply:
    scope = check_scope(cmd.scope)
    _check_owner(ctx, scope, cmd.scope_id)
    before = _row(ctx, scope, cmd.scope_id)
    if before is None:
        raise NotFound(f"{scope} budget", cmd.scope_id)
    ctx.audit_budget_set(str(scope), cmd.scope_id, budget_json(before._mapping, "", 0), None)
    ctx.conn.execute(
        t.budgets.delete().where(
            B.company_id == ctx.company_id, B.scope == str(scope), B.scope_id == cmd.scope_id
        )
    )
    return Reply(204)
