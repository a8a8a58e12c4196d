"""The commands of a bulk operation: recording it (``StartBulk``; the bulk pool applies it
afterwards), and applying a slice of its items on their shard (``ApplyBulkSlice``)."""

from __future__ import annotations

from collections.abc import Sequence
from datetime import datetime
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain import commands as c
from domain.bulk import BulkOp, BulkStatus
from domain.errors import NotFound
from domain.model import Issue
from service.answers.bulk import BulkStarted
from service.answers.common import wire
from service.commands.context import Context, Reply
from service.commands.envelope import Envelope, Outcome
from service.commands.jobs import JobKind
from service.commands.refusals import Refused, refusals
from service.commands.registry import HANDLERS, handles
from service.store import bulk as bulk_db
from service.store import outcomes, repo
from service.store import tables as t
from service.store.activity import insert_activity
from service.webhooks import outbox

__all__ = ["apply_bulk_slice", "item_command", "item_command_id", "start_bulk"]

#: Each item of a slice runs inside this savepoint (set again for each), nested in the
#: slice's transaction (and in a batch's savepoint, if the slice is one command of a batch).
_SAVEPOINT = "agentq_bulk_item"

_JOB = sa.select(t.bulk_jobs).where(
    t.bulk_jobs.c.id == sa.bindparam("b_id"), t.bulk_jobs.c.company_id == sa.bindparam("b_cid")
)
_OPEN_ITEMS = (
    sa.select(t.bulk_items)
    .where(
        t.bulk_items.c.bulk_id == sa.bindparam("b_id"),
        t.bulk_items.c.position.in_(sa.bindparam("b_positions", expanding=True)),
        t.bulk_items.c.outcome.is_(None),
    )
    .order_by(t.bulk_items.c.position)
)


def item_command_id(bulk_id: str, position: int) -> str:
    """Deterministic, so a redelivered bulk never applies an item twice."""
    return f"cmd_{bulk_id.removeprefix('blk_')}{position:05d}"


def item_command(op: str, issue_id: str, args: dict[str, Any]) -> c.Command:
    """The single command a bulk item is: what ``op`` with ``args`` does to one issue."""
    if op == BulkOp.ASSIGN:
        return c.AssignIssue(issue_id, args["agentId"])
    if op == BulkOp.CANCEL:
        return c.CancelIssue(issue_id, args.get("reason"), bool(args.get("cascade", False)))
    return c.ReassignIssue(
        issue_id, args.get("toAgentId"), args.get("toTeamId"), args.get("reason")
    )


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


@handles(c.ApplyBulkSlice)
def apply_bulk_slice(cmd: c.ApplyBulkSlice, ctx: Context) -> Reply:
    """Apply the slice's open items in position order, each as its own command is applied
    alone (its handler, command id, time, activity, webhook events, follow-ups and jobs),
    each in a savepoint so that a refusal takes back only its own writes; then store every
    outcome, record every item and count them, one statement each."""
    conn = ctx.conn
    job = conn.execute(_JOB, {"b_id": cmd.bulk_id, "b_cid": ctx.company_id}).first()
    if job is None:
        raise NotFound("bulk", cmd.bulk_id)
    items = conn.execute(
        _OPEN_ITEMS, {"b_id": cmd.bulk_id, "b_positions": list(cmd.positions)}
    ).all()
    # An item applied already (one at a time after a refused slice, or by a slice whose
    # runner stopped before it was recorded) answers its stored outcome and is only recorded.
    stored = outcomes.stored_outcomes(conn, [item.command_id for item in items])
    # Every issue of the slice locked at once, in id order: a slice and another transaction
    # locking some of the same issues never wait on each other in a cycle.
    ids = {item.issue_id for item in items if item.command_id not in stored}
    locked = {issue.id: issue for issue in repo.lock_issues(conn, ctx.company_id, ids)}
    applied: list[bulk_db.StoredItem] = []
    done: list[tuple[int, Outcome]] = []
    subscribed: list[bool] = []  # whether the company has an endpoint, read once if needed
    for item in items:
        earlier = stored.get(item.command_id)
        if earlier is not None:
            done.append((item.position, earlier))
            continue
        command = item_command(job.op, item.issue_id, job.args)
        env = Envelope(item.command_id, ctx.company_id, job.actor, command)
        _set_savepoint(conn, release=bool(applied))
        try:
            outcome = _apply_item(ctx, env, locked, subscribed)
        except Refused as refused:
            conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            outcome = refused.outcome
        # Stored as its own command stores it: at the time it has been applied or refused.
        applied.append((outcome, type(command).__name__, _time(ctx)))
        done.append((item.position, outcome))
    if applied:
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")
    bulk_db.insert_outcomes(conn, ctx.company_id, applied)
    recorded = _record(conn, cmd.bulk_id, done, _time(ctx))
    return Reply(200, {"bulkId": cmd.bulk_id, "applied": len(applied), "recorded": recorded})


def _time(ctx: Context) -> datetime:
    """The time now (the applier's clock), not the slice's start: each item has its own."""
    return ctx.clock() if ctx.clock is not None else ctx.now


def _apply_item(
    ctx: Context, env: Envelope, locked: dict[str, Issue], subscribed: list[bool]
) -> Outcome:
    """Run the item's own handler in a child of the slice's context (its own command id, its
    own ``now`` read as it starts, the slice's issue locks) and write what its command writes
    with its outcome (activity; webhook events if the company has an endpoint). Its
    follow-ups and jobs go with the slice's, after the slice commits."""
    child = Context(
        conn=ctx.conn,
        company_id=ctx.company_id,
        actor=env.actor,
        now=_time(ctx),
        command_id=env.command_id,
        clock=ctx.clock,
        retry=ctx.retry,
        locked_issues=locked,
    )
    with refusals(env):
        body = HANDLERS[type(env.command)](env.command, child)
        status = env.success_status
        if isinstance(body, Reply):
            status, body = body.status, body.body
        # Before the savepoint is released: an entry the database refuses refuses the item,
        # as it refuses the command alone.
        insert_activity(ctx.conn, child.activity)
        if child.heard_by_webhooks():
            if not subscribed:
                subscribed.append(outbox.has_subscribers(ctx.conn, ctx.company_id))
            if subscribed[0]:
                child.write_outbox()
    # An issue this item changed is read again by a later item of the same issue.
    for decision in child.decisions:
        locked.pop(decision.issue.id, None)
    ctx.follow_ups.extend(child.follow_ups)
    ctx.jobs.extend(child.jobs)
    ctx.work_appeared = ctx.work_appeared or child.work_appeared
    work = ctx.company_id if child.work_appeared else None
    return Outcome(env.command_id, True, status, body, work)


def _record(
    conn: Connection, bulk_id: str, done: Sequence[tuple[int, Outcome]], now: datetime
) -> int:
    """Record the items' outcomes and add those newly recorded to the job's counts (done
    once every item is); how many were newly recorded."""
    outcomes_of = {position: bulk_db.item_outcome(outcome) for position, outcome in done}
    recorded = bulk_db.record_items(conn, bulk_id, list(outcomes_of.items()))
    succeeded = sum(1 for position in recorded if outcomes_of[position]["ok"])
    bulk_db.count_recorded(conn, bulk_id, succeeded, len(recorded) - succeeded, now)
    return len(recorded)


def _set_savepoint(conn: Connection, *, release: bool) -> None:
    """The next item's savepoint; ``release``: the previous item's first, in the same round
    trip on PostgreSQL (``service.commands.batches`` does the same for its commands)."""
    if not release:
        conn.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}; SAVEPOINT {_SAVEPOINT}")
    else:
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        conn.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
