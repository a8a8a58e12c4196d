"""The command that records a bulk operation (the bulk pool applies it afterwards)."""

from __future__ import annotations

from typing import Any

from domain import commands as c
from domain.bulk import BulkStatus
from service.answers.bulk import BulkStarted
from service.answers.common import wire
from service.commands.context import Context
from service.commands.jobs import JobKind
from service.commands.registry import handles
from service.store import tables as t

__all__ = ["item_command_id", "start_bulk"]


def item_command_id(bulk_id: str, position: int) -> str:
    """Deterministic, so a redelivered bulk never applies an item twice."""
    return f"cmd_{bulk_id.removeprefix('blk_')}{position:05d}"


@handles(c.StartBulk)
def start_bulk(cmd: c.StartBulk, ctx: Context) -> Any:
    ctx.conn.execute(
        t.bulk_jobs.insert().values(
            id=cmd.bulk_id,
            company_id=ctx.company_id,
            op=cmd.op,
            args=cmd.args,
            actor=ctx.actor,
            status=BulkStatus.RUNNING.value,
            total=len(cmd.ids),
            succeeded=0,
            failed=0,
            created_at=ctx.now,
        )
    )
    ctx.conn.execute(
        t.bulk_items.insert(),
        [
            {
                "bulk_id": cmd.bulk_id,
                "position": i,
                "issue_id": issue_id,
                "command_id": item_command_id(cmd.bulk_id, i),
            }
            for i, issue_id in enumerate(cmd.ids)
        ],
    )
    ctx.jobs.append((JobKind.BULK, cmd.bulk_id))
    return wire(BulkStarted(id=cmd.bulk_id, status="running", total=len(cmd.ids)))
