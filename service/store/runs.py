"""Reads and writes of runs and their leases."""

from __future__ import annotations

from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.money import from_micros, to_micros
from domain.runs import ExitReason, Lease, Run
from service.store import tables as t

__all__ = ["active_lease", "insert_lease", "insert_run", "load_run", "save_lease", "save_run"]


# Built once with bind parameters (``service.store.repo`` says why): an INSERT or UPDATE
# given no ``.values()`` takes its columns from the parameters it is executed with.
_LOAD_RUN = sa.select(t.runs).where(
    t.runs.c.id == sa.bindparam("b_id"), t.runs.c.issue_id == sa.bindparam("b_issue")
)
_INSERT_RUN = t.runs.insert()
_UPDATE_RUN = t.runs.update().where(t.runs.c.id == sa.bindparam("b_id"))
_ACTIVE_LEASE = sa.select(t.leases).where(
    t.leases.c.issue_id == sa.bindparam("b_issue"), t.leases.c.released_at.is_(None)
)
_INSERT_LEASE = t.leases.insert()
_UPDATE_LEASE = t.leases.update().where(t.leases.c.token == sa.bindparam("b_token"))


def run_from_row(row: Any) -> Run:
    return Run(
        id=row.id,
        issue_id=row.issue_id,
        agent_id=row.agent_id,
        attempt=row.attempt,
        started_at=row.started_at,
        ended_at=row.ended_at,
        exit_reason=None if row.exit_reason is None else ExitReason(row.exit_reason),
        exit_details=row.exit_details,
        workspace_url=row.workspace_url,
        cost_usd=from_micros(row.cost_micros),
        input_tokens=row.input_tokens,
        output_tokens=row.output_tokens,
    )


def load_run(conn: Connection, issue_id: str, run_id: str) -> Any:
    """The run row (with its checkpoint columns), or None if it is not this issue's."""
    return conn.execute(_LOAD_RUN, {"b_id": run_id, "b_issue": issue_id}).first()


def insert_run(conn: Connection, run: Run, company_id: str) -> None:
    conn.execute(
        _INSERT_RUN,
        {
            "id": run.id,
            "company_id": company_id,
            "issue_id": run.issue_id,
            "agent_id": run.agent_id,
            "attempt": run.attempt,
            "status": run.status.value,
            "started_at": run.started_at,
        },
    )


def save_run(conn: Connection, run: Run, **extra: Any) -> None:
    """Write the run. (A run that has ended takes its pending approvals with it: the
    command's handler expires them, each with its ``approval.expired`` entry and event:
    ``service.commands.approval_events``.)"""
    conn.execute(
        _UPDATE_RUN,
        {
            "b_id": run.id,
            "status": run.status.value,
            "ended_at": run.ended_at,
            "exit_reason": None if run.exit_reason is None else str(run.exit_reason),
            "exit_details": run.exit_details,
            "workspace_url": run.workspace_url,
            "cost_micros": to_micros(run.cost_usd),
            "input_tokens": run.input_tokens,
            "output_tokens": run.output_tokens,
            **extra,
        },
    )


def _lease_from_row(row: Any) -> Lease:
    return Lease(
        token=row.token,
        run_id=row.run_id,
        issue_id=row.issue_id,
        fence=row.fence,
        lease_seconds=row.lease_seconds,
        granted_at=row.granted_at,
        expires_at=row.expires_at,
        renewals=row.renewals,
        released_at=row.released_at,
        release_reason=row.release_reason,
    )


def active_lease(conn: Connection, issue_id: str) -> Lease | None:
    row = conn.execute(_ACTIVE_LEASE, {"b_issue": issue_id}).first()
    return None if row is None else _lease_from_row(row)


def insert_lease(conn: Connection, lease: Lease) -> None:
    conn.execute(
        _INSERT_LEASE,
        {
            "token": lease.token,
            "run_id": lease.run_id,
            "issue_id": lease.issue_id,
            "fence": lease.fence,
            "lease_seconds": lease.lease_seconds,
            "granted_at": lease.granted_at,
            "expires_at": lease.expires_at,
            "renewals": lease.renewals,
        },
    )


def save_lease(conn: Connection, lease: Lease) -> None:
    conn.execute(
        _UPDATE_LEASE,
        {
            "b_token": lease.token,
            "expires_at": lease.expires_at,
            "renewals": lease.renewals,
            "released_at": lease.released_at,
            "release_reason": lease.release_reason,
        },
    )


def lease_history(conn: Connection, run_ids: list[str]) -> dict[str, list[Any]]:
    result: dict[str, list[Any]] = {r: [] for r in run_ids}
    if run_ids:
        rows = conn.execute(
            sa.select(t.leases)
            .where(t.leases.c.run_id.in_(run_ids))
            .order_by(t.leases.c.granted_at, t.leases.c.fence)
        )
        for row in rows:
            result[row.run_id].append(row)
    return result
