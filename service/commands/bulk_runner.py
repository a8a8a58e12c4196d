"""Bulk operations: recorded by one command, then applied issue by issue on the normal
serial command path, a chunk at a time so other commands interleave on the shards."""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain import commands as c
from domain.bulk import BulkOp, BulkStatus
from service.clock import utc_now
from service.commands.envelope import Envelope
from service.commands.handlers.bulk import item_command_id
from service.store import tables as t

__all__ = ["BulkRunner", "item_command_id"]

log = logging.getLogger("agentq.bulk")

#: Commands of one bulk in flight at once: small enough that another command waits behind
#: only a few of them on its shard (CHUNK / shards), large enough to keep the pool busy.
CHUNK = 64
#: How often the runner looks for its chunk's outcomes, in seconds.
POLL_S = 0.02
#: A chunk not applied within this long is given up on (the message is redelivered), in s.
CHUNK_TIMEOUT_S = 300


def item_command(op: str, issue_id: str, args: dict[str, Any]) -> Any:
    if op == BulkOp.ASSIGN:
        return c.AssignIssue(issue_id, args["agentId"])
    if op == BulkOp.CANCEL:
        return c.CancelIssue(issue_id, args.get("reason"), bool(args.get("cascade", False)))
    return c.ReassignIssue(
        issue_id, args.get("toAgentId"), args.get("toTeamId"), args.get("reason")
    )


class BulkRunner:
    """Applies a recorded bulk: publishes a chunk of per-issue commands, waits for their
    outcomes in ``applied_commands``, records them, then the next chunk."""

    def __init__(self, engine: Engine, publish: Callable[[Envelope], None]) -> None:
        self.engine = engine
        #: SQLite: writers take the write lock up front (BEGIN IMMEDIATE).
        self.writer = engine.execution_options(write=True)
        self.publish = publish

    def run(self, bulk_id: str) -> None:
        with self.engine.connect() as conn:
            job = conn.execute(sa.select(t.bulk_jobs).where(t.bulk_jobs.c.id == bulk_id)).first()
            if job is None or job.status == BulkStatus.DONE:
                return
            items = conn.execute(
                sa.select(t.bulk_items)
                .where(t.bulk_items.c.bulk_id == bulk_id, t.bulk_items.c.outcome.is_(None))
                .order_by(t.bulk_items.c.position)
            ).all()
        for start in range(0, len(items), CHUNK):
            self._chunk(job, items[start : start + CHUNK])
        with self.writer.begin() as conn:
            conn.execute(
                t.bulk_jobs.update()
                .where(t.bulk_jobs.c.id == bulk_id)
                .values(status=BulkStatus.DONE.value, finished_at=utc_now())
            )
        log.info("bulk %s done", bulk_id, extra={"action": "bulk_done", "bulk_id": bulk_id})

    def _chunk(self, job: Any, items: Sequence[Any]) -> None:
        for item in items:
            command = item_command(job.op, item.issue_id, job.args)
            self.publish(Envelope(item.command_id, job.company_id, job.actor, command))
        waiting = {item.command_id: item for item in items}
        deadline = time.monotonic() + CHUNK_TIMEOUT_S
        while waiting:
            if time.monotonic() > deadline:
                raise TimeoutError(f"bulk {job.id}: {len(waiting)} commands not applied")
            with self.engine.connect() as conn:
                done = conn.execute(
                    sa.select(
                        t.applied_commands.c.id,
                        t.applied_commands.c.status,
                        t.applied_commands.c.body,
                    ).where(t.applied_commands.c.id.in_(list(waiting)))
                ).all()
            if done:
                with self.writer.begin() as conn:
                    self._record(conn, job.id, [(waiting.pop(i), s, b) for i, s, b in done])
            if waiting:
                time.sleep(POLL_S)

    def _record(self, conn: Connection, bulk_id: str, done: list[tuple[Any, str, Any]]) -> None:
        if not done:
            return
        ok = failed = 0
        for item, status, body in done:
            outcome = (
                {"ok": True, "status": body["status"]}
                if status == c.CommandStatus.APPLIED
                else {"ok": False, "error": body}
            )
            # Only an item not recorded yet counts: a runner given the bulk back after a
            # stop may overlap for a moment with the one still finishing its chunk.
            recorded = conn.execute(
                t.bulk_items.update()
                .where(
                    t.bulk_items.c.bulk_id == bulk_id,
                    t.bulk_items.c.position == item.position,
                    t.bulk_items.c.outcome.is_(None),
                )
                .values(outcome=outcome)
            ).rowcount
            ok += recorded if outcome["ok"] else 0
            failed += 0 if outcome["ok"] else recorded
        if ok or failed:
            conn.execute(
                t.bulk_jobs.update()
                .where(t.bulk_jobs.c.id == bulk_id)
                .values(
                    succeeded=t.bulk_jobs.c.succeeded + ok,
                    failed=t.bulk_jobs.c.failed + failed,
                )
            )
