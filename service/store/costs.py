"""Cost events and their hourly roll-ups: written with each report, read by ``GET /costs``.

A report inserts one ``cost_events`` row and adds itself to one ``cost_rollups`` row per
key it counts under (its issue, its agent, the issue's team, each of the issue's labels,
its model, and the company ``total``) for the hour it happened in. A roll-up query then reads
(keys x hours) index rows, however many events there are.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime
from typing import Any

from sqlalchemy.dialects import postgresql, sqlite
from sqlalchemy.engine import Connection

from domain.costs import CostDimension
from domain.model import Issue
from domain.runs import Run
from service.store import tables as t

__all__ = ["DIMENSIONS", "NONE_KEY", "CostRecord", "record_cost", "whole_hour"]

#: ``groupBy`` values and the dimension each reads (every dimension but the ``total``).
DIMENSIONS = tuple(d.value for d in CostDimension if d is not CostDimension.TOTAL)
#: The key of "no team" / "no label" in storage (shown as ``null``).
NONE_KEY = ""


@dataclass(frozen=True, slots=True)
class CostRecord:
    cost_id: str
    company_id: str
    issue: Issue
    run: Run
    usd_micros: int
    input_tokens: int
    output_tokens: int
    model: str | None
    at: datetime


def whole_hour(moment: datetime) -> datetime:
    return moment.replace(minute=0, second=0, microsecond=0)


def _upsert(conn: Connection) -> Any:
    return (postgresql.insert if conn.dialect.name == "postgresql" else sqlite.insert)(
        t.cost_rollups
    )


def record_cost(conn: Connection, record: CostRecord) -> None:
    """The event and its roll-ups, in the report's transaction."""
    issue = record.issue
    amounts = {
        "usd_micros": record.usd_micros,
        "input_tokens": record.input_tokens,
        "output_tokens": record.output_tokens,
    }
    conn.execute(
        t.cost_events.insert().values(
            id=record.cost_id,
            company_id=record.company_id,
            issue_id=issue.id,
            run_id=record.run.id,
            agent_id=record.run.agent_id,
            team_id=issue.assigned_team_id,
            labels=sorted(set(issue.labels)),
            model=record.model,
            at=record.at,
            **amounts,
        )
    )
    dim = CostDimension
    keys = {
        (dim.ISSUE.value, issue.id),
        (dim.AGENT.value, record.run.agent_id),
        (dim.TEAM.value, issue.assigned_team_id or NONE_KEY),
        (dim.TOTAL.value, NONE_KEY),
        (dim.MODEL.value, record.model or NONE_KEY),
        *((dim.LABEL.value, label) for label in issue.labels or (NONE_KEY,)),
    }
    hour = whole_hour(record.at)
    # One statement, rows in key order: concurrent reports lock shared rows (the total, a
    # team, a label) in the same order, so they queue instead of deadlocking.
    rows = [
        {"company_id": record.company_id, "dimension": d, "key": k, "hour": hour, **amounts}
        for d, k in sorted(keys)
    ]
    insert = _upsert(conn)
    excluded = insert.excluded
    c = t.cost_rollups.c
    conn.execute(
        insert.values([{**row, "reports": 1} for row in rows]).on_conflict_do_update(
            index_elements=[c.company_id, c.dimension, c.key, c.hour],
            set_={
                "usd_micros": c.usd_micros + excluded.usd_micros,
                "input_tokens": c.input_tokens + excluded.input_tokens,
                "output_tokens": c.output_tokens + excluded.output_tokens,
                "reports": c.reports + excluded.reports,
            },
        )
    )
