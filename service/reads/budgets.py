"""Reads of monthly budgets: one cap, or the company's, with the current month's spend."""

from __future__ import annotations

from collections.abc import Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.budgets import BudgetScope, month_of
from domain.errors import NotFound
from service.answers.budgets import budget_json
from service.clock import utc_now
from service.reads.pagination import page
from service.store import budgets as budgets_db
from service.store import tables as t

__all__ = ["get_budget", "list_budgets"]

B = t.budgets.c


def _render(conn: Connection, company_id: str, rows: Sequence[Any]) -> list[dict[str, Any]]:
    month = month_of(utc_now())
    keys = [(BudgetScope(row.scope), row.scope_id) for row in rows]
    spent = budgets_db.spent_micros(conn, company_id, keys, month) if keys else {}
    return [
        budget_json(row._mapping, month, spent[key]) for row, key in zip(rows, keys, strict=True)
    ]


def get_budget(
    conn: Connection, company_id: str, scope: BudgetScope, scope_id: str
) -> dict[str, Any]:
    """404 when the scope has no cap (or is not this company's)."""
    row = conn.execute(
        sa.select(t.budgets).where(
            B.company_id == company_id, B.scope == str(scope), B.scope_id == scope_id
        )
    ).first()
    if row is None:
        raise NotFound(f"{scope} budget", scope_id)
    return _render(conn, company_id, [row])[0]


def list_budgets(
    conn: Connection,
    company_id: str,
    scope: BudgetScope | None,
    cursor: str | None,
    limit: int,
) -> dict[str, Any]:
    """Newest first (a scope id is unique across scopes: its prefix names its kind)."""
    query = sa.select(t.budgets).where(B.company_id == company_id)
    if scope is not None:
        query = query.where(B.scope == str(scope))
    return page(
        conn,
        query,
        cursor=cursor,
        limit=limit,
        render=lambda rows: _render(conn, company_id, rows),
        order=(B.created_at, B.scope_id),
    )
