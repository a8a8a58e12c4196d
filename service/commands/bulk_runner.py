"""Bulk operations: recorded by one command (``StartBulk``), then applied one command per
item (the default) or, with ``AGENTQ_BULK_SLICES``, as per-shard slices.

The runner groups a bulk's open items by the shard of their issue and sends each group as
``ApplyBulkSlice`` commands of at most ``SLICE`` items on that shard's queue, so a slice is
applied in order with the single commands of its issues (serial per issue), the shards taking
turns and at most ``CHUNK`` items in flight, so other commands interleave on the shards. A
slice applies each item as its own command would be applied alone, in one transaction
(``service.commands.handlers.bulk``), and records the items and the job's counts with it;
the runner only waits for the slices' stored outcomes. A slice refused whole falls back to
the old path for its items: one command per item, each recorded as its outcome is stored.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from collections.abc import Callable, Sequence
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain import commands as c
from domain.bulk import BulkStatus
from service.clock import utc_now
from service.commands.envelope import Envelope, Outcome
from service.commands.handlers.bulk import item_command, item_command_id
from service.kinds import COMMAND
from service.store import bulk as bulk_db
from service.store import tables as t

__all__ = ["CHUNK", "SLICE", "BulkRunner", "item_command", "item_command_id"]

log = logging.getLogger("agentq.bulk")

#: Items of one bulk in flight at once: small enough that another command waits behind only
#: a few of them on its shard, large enough to keep the pool busy.
CHUNK = 64
#: Most items in one slice (one transaction, a savepoint each: at most 64 subtransactions
#: keep PostgreSQL's snapshots fast, with room to spare).
SLICE = 32
#: How often the runner looks for the outcomes of what it has in flight, in seconds.
POLL_S = 0.005
#: A chunk or slice not applied within this long is given up on (the bulk's message is
#: redelivered and resumes), in seconds.
CHUNK_TIMEOUT_S = 300

ShardOf = Callable[[str], int]


class BulkRunner:
    """Applies a recorded bulk: sends its open items as slices, one shard's at a time in
    turn, waits for their outcomes, then marks the bulk done."""

    def __init__(
        self,
        engine: Engine,
        publish: Callable[[Envelope], object],
        shard_of: ShardOf,
        *,
        slices: bool = True,
        slice_items: int = SLICE,
        chunk_items: int = CHUNK,
    ) -> None:
        self.engine = engine
        #: SQLite: writers take the write lock up front (BEGIN IMMEDIATE).
        self.writer = engine.execution_options(write=True)
        self.publish = publish
        #: The shard of an issue id (``CommandBus.shard_of``, never a guess: a slice is sent
        #: on its first issue's shard, so all its issues must be that shard's).
        self.shard_of = shard_of
        #: False: one command per item (the path a refused slice falls back to).
        self.slices = slices
        self.slice_items = slice_items
        self.chunk_items = chunk_items

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
        if self.slices:
            self._by_slices(job, items)
        else:
            for start in range(0, len(items), self.chunk_items):
                self._chunk(job, items[start : start + self.chunk_items])
        with self.writer.begin() as conn:
            # The last slice marked it done already (with its time): never written over.
            conn.execute(
                t.bulk_jobs.update()
                .where(
                    t.bulk_jobs.c.id == bulk_id,
                    t.bulk_jobs.c.status == BulkStatus.RUNNING.value,
                )
                .values(status=BulkStatus.DONE.value, finished_at=utc_now())
            )
        log.info("bulk %s done", bulk_id, extra={"action": "bulk_done", "bulk_id": bulk_id})

    def _by_slices(self, job: Any, items: Sequence[Any]) -> None:
        """Send the items as slices, the shards taking turns, at most ``chunk_items`` in
        flight; a slice refused whole is applied one command per item instead."""
        queues: dict[int, deque[Any]] = {}
        for item in items:  # in position order: each issue's items stay in order
            queues.setdefault(self.shard_of(item.issue_id), deque()).append(item)
        turns = deque(queues)
        in_flight: dict[str, list[Any]] = {}
        deadline = time.monotonic() + CHUNK_TIMEOUT_S
        while turns or in_flight:
            while turns and sum(map(len, in_flight.values())) < self.chunk_items:
                shard = turns.popleft()
                queue = queues[shard]
                room = self.chunk_items - sum(map(len, in_flight.values()))
                part = [queue.popleft() for _ in range(min(self.slice_items, room, len(queue)))]
                if queue:
                    turns.append(shard)
                in_flight[self._send(job, part)] = part
            answered = self._answered(list(in_flight))
            for slice_id, outcome in answered.items():
                part = in_flight.pop(slice_id)
                if not outcome.applied:
                    log.warning(
                        "bulk %s: a slice of %d items was refused (%s); one command each",
                        job.id,
                        len(part),
                        outcome.http_status,
                        extra={"action": "bulk_slice_refused", "bulk_id": job.id},
                    )
                    self._chunk(job, part)
            if answered:
                deadline = time.monotonic() + CHUNK_TIMEOUT_S
            elif in_flight:
                if time.monotonic() > deadline:
                    raise TimeoutError(f"bulk {job.id}: {len(in_flight)} slices not applied")
                time.sleep(POLL_S)

    def _send(self, job: Any, part: Sequence[Any]) -> str:
        """Publish one slice (on the shard of its first issue, which is all of theirs)."""
        command = c.ApplyBulkSlice(job.id, tuple(item.position for item in part), part[0].issue_id)
        slice_id = COMMAND.new_id()
        self.publish(Envelope(slice_id, job.company_id, job.actor, command))
        return slice_id

    def _answered(self, slice_ids: list[str]) -> dict[str, Outcome]:
        """The slices among ``slice_ids`` that have a stored outcome (their items were
        recorded in the same transaction)."""
        if not slice_ids:
            return {}
        a = t.applied_commands.c
        with self.engine.connect() as conn:
            rows = conn.execute(
                sa.select(a.id, a.status, a.http_status, a.body).where(a.id.in_(slice_ids))
            ).all()
        return {
            row.id: Outcome(
                row.id, row.status == c.CommandStatus.APPLIED, row.http_status, row.body
            )
            for row in rows
        }

    def _chunk(self, job: Any, items: Sequence[Any]) -> None:
        """One command per item: publish them, wait for their stored outcomes, record them."""
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
                        t.applied_commands.c.http_status,
                        t.applied_commands.c.body,
                    ).where(t.applied_commands.c.id.in_(list(waiting)))
                ).all()
            if done:
                with self.writer.begin() as conn:
                    self._record(
                        conn,
                        job.id,
                        [
                            (waiting.pop(i), Outcome(i, s == c.CommandStatus.APPLIED, h, b))
                            for i, s, h, b in done
                        ],
                    )
            if waiting:
                time.sleep(POLL_S)

    @staticmethod
    def _record(conn: Connection, bulk_id: str, done: list[tuple[Any, Outcome]]) -> None:
        """Record each item's outcome and count those newly recorded (only an item not
        recorded yet counts: a runner given the bulk back after a stop may overlap for a
        moment with the one still finishing)."""
        outcomes_of = {item.position: bulk_db.item_outcome(outcome) for item, outcome in done}
        recorded = bulk_db.record_items(conn, bulk_id, list(outcomes_of.items()))
        succeeded = sum(1 for position in recorded if outcomes_of[position]["ok"])
        bulk_db.count_recorded(conn, bulk_id, succeeded, len(recorded) - succeeded, utc_now())
