"""Routines (issues created on a cron schedule) and the issues each tick created."""

from __future__ import annotations

import sqlalchemy as sa

from domain.routines import CatchUp
from service.store.tables.base import ID, in_values, metadata
from service.store.types import JSONType, UTCDateTime

__all__ = ["routine_runs", "routines"]

routines = sa.Table(
    "routines",
    metadata,
    sa.Column("id", ID, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("name", sa.String(200), nullable=False),
    sa.Column("cron", sa.String(200), nullable=False),
    #: An IANA time zone name (``Europe/Paris``): the cron's ticks are local times there.
    sa.Column("timezone", sa.String(64), nullable=False),
    #: The issue each tick creates, as the API took it (camelCase JSON).
    sa.Column("template", JSONType, nullable=False),
    sa.Column("catch_up", sa.String(10), nullable=False),
    sa.Column("paused", sa.Boolean, nullable=False, server_default=sa.false()),
    #: The next tick, in UTC (kept while paused: resuming moves it past now).
    sa.Column("next_run_at", UTCDateTime, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Column("updated_at", UTCDateTime, nullable=False),
    sa.CheckConstraint(in_values("catch_up", CatchUp), name="catch_up"),
    sa.Index("ix_routines_company", "company_id", "created_at", "id"),
    # The scheduler's sweep: active routines by their next tick.
    sa.Index("ix_routines_due", "paused", "next_run_at"),
)

routine_runs = sa.Table(
    "routine_runs",
    metadata,
    sa.Column("routine_id", ID, sa.ForeignKey("routines.id", ondelete="CASCADE"), primary_key=True),
    #: The tick the issue was created for, in UTC.
    sa.Column("tick_at", UTCDateTime, primary_key=True),
    sa.Column("company_id", ID, sa.ForeignKey("companies.id"), nullable=False),
    sa.Column("issue_id", ID, sa.ForeignKey("issues.id"), nullable=False),
    #: How many due ticks the issue stands for (more than 1 after missed ticks).
    sa.Column("ticks", sa.Integer, nullable=False),
    sa.Column("created_at", UTCDateTime, nullable=False),
    sa.Index("ix_routine_runs_routine", "routine_id", "created_at", "issue_id"),
)
