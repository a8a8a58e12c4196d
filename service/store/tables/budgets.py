"""Monthly budgets: the caps set per scope, and each scope's spend per UTC month.

``budget_spend`` is the row a cost report adds itself to, with ``UPDATE … RETURNING`` (an
upsert) inside the report's transaction: the row lock makes concurrent reports of one
scope (two issues of one agent, on two shards) take turns, each deciding on the spend of
every report committed before it (``service.store.budgets``)."""

from __future__ import annotations

import sqlalchemy as sa

from domain.budgets import BudgetScope
from service.store.tables.base import ID, in_values, metadata
from service.store.types import UTCDateTime

__all__ = ["budget_spend", "budgets"]

budgets = sa.Table(
    "budgets",
    metadata,
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), primary_key=True),
    sa.Column("scope", sa.String(10), primary_key=True),
    #: The agent's, the team's or (scope ``company``) the company's id.
    sa.Column("scope_id", ID, primary_key=True),
    sa.Column("monthly_micros", sa.BigInteger, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(in_values("scope", BudgetScope), name="scope"),
    sa.CheckConstraint("monthly_micros >= 0", name="monthly"),
    sa.Index("ix_budgets_company_created", "company_id", "created_at", "scope", "scope_id"),
)

budget_spend = sa.Table(
    "budget_spend",
    metadata,
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), primary_key=True),
    sa.Column("scope", sa.String(10), primary_key=True),
    sa.Column("scope_id", ID, primary_key=True),
    #: The UTC calendar month, ``YYYY-MM``.
    sa.Column("month", sa.String(7), primary_key=True),
    sa.Column("spent_micros", sa.BigInteger, nullable=False),
    #: The highest threshold (percent) announced this month, and the cap it was for.
    sa.Column("announced_percent", sa.SmallInteger, nullable=False, server_default="0"),
    sa.Column("announced_cap_micros", sa.BigInteger, nullable=True),
    sa.CheckConstraint(in_values("scope", BudgetScope), name="scope"),
    sa.CheckConstraint("spent_micros >= 0", name="spent"),
)
