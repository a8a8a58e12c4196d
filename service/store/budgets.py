"""Monthly budgets in storage: a report's spend added under each scope's row lock, the caps,
and "is this agent's budget exhausted" as one SQL clause for claims and dispatch.

Why a spend row per scope and month, updated with ``INSERT … ON CONFLICT DO UPDATE …
RETURNING`` in the report's transaction: two shards applying reports for two issues of one
agent both touch the agent's row; the second waits for the first's commit and its update
then reads the first's spend (PostgreSQL re-reads a row it waited for). So each report is
judged on the spend of every report committed before it, and no two can both slip under a
cap. The rows of one report are written in one statement in key order, so concurrent
reports take the shared rows (a team, the company) in the same order and queue rather than
deadlock; the cost roll-ups, written after, keep the same rule.

A subtask's report also adds itself to the lifetime row (scope ``issue``, period ``all``)
of each of its ancestors, in the same statement: the row of a parent is its subtasks'
spend (all the way down), kept whether or not the parent's budget includes them, so
turning ``includeSubtasks`` on counts what they spent before. Reports of two subtasks of
one parent take turns on the parent's row; a report of the parent itself (when its budget
includes its subtasks) takes the row too, adding nothing, so it reads their spend under
the same lock.
"""

from __future__ import annotations

import functools
from collections.abc import Sequence
from dataclasses import dataclass
from typing import Any

import sqlalchemy as sa
from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from domain.budgets import LIFETIME, MAX_ANCESTORS, BudgetScope, ScopeSpend
from domain.money import from_micros, to_micros
from service.store import tables as t

__all__ = [
    "Ancestor",
    "Key",
    "add_spend",
    "agent_scopes",
    "ancestors",
    "exhausted_agents",
    "exhausted_clause",
    "exhausted_scope",
    "mark_announced",
    "own_spent",
    "spent_micros",
]

#: A scope and its id.
Key = tuple[BudgetScope, str]

B, S = t.budgets.c, t.budget_spend.c


def agent_scopes(conn: Connection, company_id: str, agent_id: str) -> list[Key]:
    """Where an agent's spend counts: itself, each team it is a member of now, the company."""
    teams = conn.execute(
        sa.select(t.agent_teams.c.team_id).where(t.agent_teams.c.agent_id == agent_id)
    ).scalars()
    return [
        (BudgetScope.AGENT, agent_id),
        *((BudgetScope.TEAM, team_id) for team_id in teams),
        (BudgetScope.COMPANY, company_id),
    ]


@dataclass(frozen=True, slots=True)
class Ancestor:
    """An ancestor of a subtask, and whether its cap counts its subtasks' spend."""

    id: str
    cap_micros: int | None
    include_subtasks: bool

    @property
    def counts_subtasks(self) -> bool:
        return self.include_subtasks and self.cap_micros is not None


@functools.cache
def _ancestors() -> sa.Select[Any]:
    i = t.issues.c
    up = (
        sa.select(
            i.id,
            i.parent_id,
            i.budget_micros,
            i.budget_include_subtasks,
            sa.literal(1).label("depth"),
        )
        .where(i.id == sa.bindparam("b_parent"), i.company_id == sa.bindparam("b_cid"))
        .cte("up", recursive=True)
    )
    a = t.issues.alias("a")
    up = up.union_all(
        sa.select(
            a.c.id, a.c.parent_id, a.c.budget_micros, a.c.budget_include_subtasks, up.c.depth + 1
        ).where(a.c.id == up.c.parent_id, up.c.depth < MAX_ANCESTORS)
    )
    return sa.select(up.c.id, up.c.budget_micros, up.c.budget_include_subtasks).order_by(up.c.depth)


def ancestors(conn: Connection, company_id: str, parent_id: str) -> list[Ancestor]:
    """The issue's parent, its parent, … (nearest first, at most ``MAX_ANCESTORS``): one
    query, asked only for a subtask."""
    rows = conn.execute(_ancestors(), {"b_parent": parent_id, "b_cid": company_id})
    return [
        Ancestor(
            row.id,
            None if row.budget_micros is None else int(row.budget_micros),
            bool(row.budget_include_subtasks),
        )
        for row in rows
    ]


def own_spent(conn: Connection, issue_ids: Sequence[str]) -> dict[str, int]:
    """The issues' own spend, read after their lifetime rows were locked (so a report of
    the issue itself, which takes the row too, is either committed here or waits)."""
    i = t.issues.c
    rows = conn.execute(sa.select(i.id, i.spent_micros).where(i.id.in_(issue_ids)))
    return {row.id: int(row.spent_micros) for row in rows}


def _upsert(conn: Connection) -> Any:
    insert = postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert
    return insert(t.budget_spend)


def add_spend(
    conn: Connection,
    company_id: str,
    keys: Sequence[Key],
    month: str,
    micros: int,
    lifetime: Sequence[tuple[str, int]] = (),
) -> tuple[list[ScopeSpend], dict[str, int]]:
    """Add ``micros`` to each scope's spend of ``month``, under its row lock (held until the
    transaction ends), and read each scope's cap: the spends after this report. In the
    same statement, add each of ``lifetime``'s amounts to that issue's subtree row: their
    totals after this report come back, per issue id."""
    ordered = sorted({(str(scope), ident) for scope, ident in keys})
    rows = [(scope, ident, month, micros) for scope, ident in ordered]
    rows += [(str(BudgetScope.ISSUE), ident, LIFETIME, amount) for ident, amount in lifetime]
    insert = _upsert(conn)
    statement = (
        insert.values(
            [
                {
                    "company_id": company_id,
                    "scope": scope,
                    "scope_id": ident,
                    "month": period,
                    "spent_micros": amount,
                    "announced_percent": 0,
                }
                for scope, ident, period, amount in sorted(rows)
            ]
        )
        .on_conflict_do_update(
            index_elements=[S.company_id, S.scope, S.scope_id, S.month],
            set_={"spent_micros": S.spent_micros + insert.excluded.spent_micros},
        )
        .returning(
            S.scope,
            S.scope_id,
            S.month,
            S.spent_micros,
            S.announced_percent,
            S.announced_cap_micros,
        )
    )
    spent: dict[tuple[str, str], Any] = {}
    subtree: dict[str, int] = {}
    for row in conn.execute(statement):
        if row.month == LIFETIME:
            subtree[row.scope_id] = int(row.spent_micros)
        else:
            spent[(row.scope, row.scope_id)] = row
    caps = _caps(conn, company_id, ordered)
    spends = []
    for scope, ident in ordered:
        row = spent[(scope, ident)]
        cap = caps.get((scope, ident))
        announced_cap = row.announced_cap_micros
        spends.append(
            ScopeSpend(
                BudgetScope(scope),
                ident,
                from_micros(int(row.spent_micros)),
                None if cap is None else from_micros(int(cap)),
                int(row.announced_percent),
                None if announced_cap is None else from_micros(int(announced_cap)),
            )
        )
    return spends, subtree


def _caps(
    conn: Connection, company_id: str, keys: Sequence[tuple[str, str]]
) -> dict[tuple[str, str], int]:
    rows = conn.execute(
        sa.select(B.scope, B.scope_id, B.monthly_micros).where(
            B.company_id == company_id, B.scope_id.in_({ident for _, ident in keys})
        )
    )
    return {(row.scope, row.scope_id): int(row.monthly_micros) for row in rows}


def mark_announced(
    conn: Connection, company_id: str, spend: ScopeSpend, month: str, percent: int
) -> None:
    """Remember that ``percent`` of the scope's cap was announced this month (its row is the
    report's, locked)."""
    assert spend.cap_usd is not None
    conn.execute(
        t.budget_spend.update()
        .where(
            S.company_id == company_id,
            S.scope == str(spend.scope),
            S.scope_id == spend.scope_id,
            S.month == month,
        )
        .values(announced_percent=percent, announced_cap_micros=to_micros(spend.cap_usd))
    )


def spent_micros(
    conn: Connection, company_id: str, keys: Sequence[Key], month: str
) -> dict[Key, int]:
    """The month's spend of each scope (0 where nothing was spent), without locking."""
    rows = conn.execute(
        sa.select(S.scope, S.scope_id, S.spent_micros).where(
            S.company_id == company_id,
            S.month == month,
            S.scope_id.in_({ident for _, ident in keys}),
        )
    )
    found = {(BudgetScope(row.scope), row.scope_id): int(row.spent_micros) for row in rows}
    return {key: found.get(key, 0) for key in keys}


def exhausted_clause(
    agent_id: sa.ColumnElement[str] | sa.BindParameter[str],
    company_id: sa.ColumnElement[str] | sa.BindParameter[str],
    month: sa.BindParameter[str],
) -> sa.Exists:
    """Whether a cap of one of the agent's scopes is spent in ``month``, as SQL (the one
    definition claims, their pre-check and dispatch share)."""
    return sa.exists(_exhausted_caps(agent_id, company_id, month))


def _exhausted_caps(
    agent_id: sa.ColumnElement[str] | sa.BindParameter[str],
    company_id: sa.ColumnElement[str] | sa.BindParameter[str],
    month: sa.BindParameter[str],
) -> sa.Select[Any]:
    teams = sa.select(t.agent_teams.c.team_id).where(t.agent_teams.c.agent_id == agent_id)
    spent = sa.func.coalesce(
        sa.select(S.spent_micros)
        .where(
            S.company_id == B.company_id,
            S.scope == B.scope,
            S.scope_id == B.scope_id,
            S.month == month,
        )
        .scalar_subquery(),
        0,
    )
    return sa.select(B.scope, B.scope_id).where(
        B.company_id == company_id,
        sa.or_(
            (B.scope == BudgetScope.AGENT.value) & (B.scope_id == agent_id),
            (B.scope == BudgetScope.TEAM.value) & B.scope_id.in_(teams),
            (B.scope == BudgetScope.COMPANY.value) & (B.scope_id == company_id),
        ),
        spent >= B.monthly_micros,
    )


@functools.cache
def _exhausted_scope() -> sa.Select[Any]:
    rank = sa.case({str(scope): index for index, scope in enumerate(BudgetScope)}, value=B.scope)
    query = _exhausted_caps(sa.bindparam("b_agent"), sa.bindparam("b_cid"), sa.bindparam("b_month"))
    return query.order_by(rank, B.scope_id).limit(1)


def exhausted_scope(
    conn: Connection, company_id: str, agent_id: str, month: str
) -> tuple[str, str] | None:
    """The narrowest of the agent's scopes whose cap ``month`` has spent, if one is."""
    row = conn.execute(
        _exhausted_scope(), {"b_agent": agent_id, "b_cid": company_id, "b_month": month}
    ).first()
    return None if row is None else (str(row.scope), str(row.scope_id))


def exhausted_agents(
    conn: Connection, company_id: str, agent_ids: Sequence[str], month: str
) -> set[str]:
    """Which of ``agent_ids`` have a spent cap in ``month`` (one query for a team)."""
    if not agent_ids:
        return set()
    a = t.agents.c
    month_param: sa.BindParameter[str] = sa.bindparam("b_month", month)
    query = sa.select(a.id).where(
        a.company_id == company_id,
        a.id.in_(agent_ids),
        exhausted_clause(a.id, a.company_id, month_param),
    )
    return set(conn.execute(query).scalars())
