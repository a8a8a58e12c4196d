"""The scheduler: one leader at a time enqueues lease expiries, dispatches, routine ticks,
approval expiries and overdue notices.

It decides nothing itself: it finds candidates and sends commands down the same serial
command path as every other change, where each is checked again under the issue's lock.
Two schedulers running is safe twice over: only the advisory-lock holder sweeps, and an
expiry's command id is derived from the lease it expires, so a duplicate is a no-op.
"""

from __future__ import annotations

import contextlib
import hashlib
import logging
import threading
import time
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine

from domain.approvals import ApprovalStatus
from domain.commands import DispatchIssue, ExpireApproval, ExpireLease, FireRoutine, MarkOverdue
from domain.events import IssueOverdue
from domain.issues import DISPATCHER
from domain.routines import ROUTINES
from domain.runs import SWEEPER
from domain.statuses import NON_TERMINAL
from domain.timing import TIMEKEEPER
from domain.webhooks import DeliveryStatus
from service.clock import utc_now
from service.commands.envelope import Envelope
from service.commands.jobs import Job, JobKind
from service.ids import derived_id
from service.kinds import COMMAND
from service.observability import metrics
from service.store import tables as t
from workers.dispatches import BATCH, PendingDispatches, dispatchable

__all__ = ["LeaderLock", "Scheduler"]

log = logging.getLogger("agentq.scheduler")

#: PostgreSQL advisory lock key held by the active scheduler ("agentq" in ASCII).
LEADER_KEY = 0x61_67_65_6E_74_71
#: An outbox event not relayed this long after commit is relayed by the sweep.
OUTBOX_GRACE = timedelta(seconds=2)
#: A delivery enqueued this long ago and still due is enqueued again (a lost message).
REENQUEUE_AFTER = timedelta(seconds=60)


class LeaderLock:
    """Leadership through a session-level PostgreSQL advisory lock on a connection kept open.

    If the connection drops, PostgreSQL releases the lock and another scheduler takes over.
    On SQLite (the embedded mode, one process) this process is always the leader."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine
        self.conn: Connection | None = None

    def held(self) -> bool:
        if self.engine.dialect.name != "postgresql":
            return True
        try:
            if self.conn is not None:
                self.conn.execute(sa.text("SELECT 1"))
                return True
            # Autocommit: the lock is the session's, and a transaction left open on this
            # connection (one per "SELECT 1") would hold back VACUUM in the whole database.
            conn = self.engine.connect().execution_options(isolation_level="AUTOCOMMIT")
            got = conn.execute(sa.select(sa.func.pg_try_advisory_lock(LEADER_KEY))).scalar()
            if got:
                self.conn = conn
                log.info("this scheduler is the leader", extra={"action": "leader_elected"})
                return True
            conn.close()
        except sa.exc.DBAPIError:
            self.release()
        return False

    def release(self) -> None:
        if self.conn is not None:
            with contextlib.suppress(sa.exc.DBAPIError):
                self.conn.close()
            self.conn = None


def expiry_command_id(token: str, expires_at: datetime) -> str:
    """The same lease expiring at the same moment always gets the same command id."""
    digest = hashlib.sha256(f"{token}|{expires_at.isoformat()}".encode()).hexdigest()
    return f"{COMMAND.prefix}_x{digest[:30]}"


def fire_command_id(routine_id: str, due: datetime) -> str:
    """A routine due at ``due`` is fired by one command id, however many sweeps send it."""
    return derived_id(COMMAND.prefix, due, routine_id, "fire", due.isoformat())


def overdue_command_id(issue_id: str, due_at: datetime) -> str:
    """An issue past ``due_at`` is marked overdue by one command id, however many sweeps,
    scheduler restarts or schedulers send it."""
    return derived_id(COMMAND.prefix, due_at, issue_id, "overdue", due_at.isoformat())


def approval_expiry_command_id(approval_id: str, expires_at: datetime) -> str:
    """An approval past ``expires_at`` is expired by one command id, however many sweeps."""
    return derived_id(COMMAND.prefix, expires_at, approval_id, "expire")


class Scheduler:
    """Every ``interval_s``: enqueue an ``ExpireLease`` per lease past its expiry (by the
    database clock), a ``DispatchIssue`` per queued issue an agent could take now (its
    ``not_before`` passed), and a ``MarkOverdue`` per live issue past its ``due_at``."""

    def __init__(
        self,
        engine: Engine,
        enqueue: Callable[[Envelope], None],
        interval_s: float,
        leader: LeaderLock | None = None,
        jobs: Callable[[JobKind, str], None] | None = None,
        pending: PendingDispatches | None = None,
    ) -> None:
        self.engine = engine
        self.enqueue = enqueue
        self.interval_s = interval_s
        self.leader = leader or LeaderLock(engine)
        #: Sends relays (event ids) and deliveries (delivery ids) to the webhooks pool.
        self.jobs = jobs
        self.pending = PendingDispatches() if pending is None else pending

    def _now(self, conn: Connection) -> Any:
        return sa.func.now() if conn.dialect.name == "postgresql" else utc_now()

    def expired_leases(self, conn: Connection) -> list[Any]:
        lease = t.leases
        return list(
            conn.execute(
                sa.select(
                    lease.c.issue_id, lease.c.token, lease.c.expires_at, t.issues.c.company_id
                )
                .join(t.issues, t.issues.c.id == lease.c.issue_id)
                .where(
                    lease.c.released_at.is_(None),
                    lease.c.expires_at < self._now(conn),
                    # A run waiting on a human's approval keeps its lease.
                    ~sa.exists().where(
                        t.approvals.c.run_id == lease.c.run_id,
                        t.approvals.c.status == ApprovalStatus.PENDING.value,
                    ),
                )
                .order_by(lease.c.expires_at)
                .limit(BATCH)
            )
        )

    def dispatchable(self, conn: Connection) -> list[Any]:
        return dispatchable(conn, self._now(conn), self.pending)

    def expired_approvals(self, conn: Connection) -> list[Any]:
        """Pending approvals past their ``expires_at`` (by the database clock)."""
        a = t.approvals.c
        return list(
            conn.execute(
                sa.select(a.id, a.issue_id, a.company_id, a.expires_at)
                .where(a.status == ApprovalStatus.PENDING, a.expires_at <= self._now(conn))
                .order_by(a.expires_at)
                .limit(BATCH)
            )
        )

    def overdue_issues(self, conn: Connection) -> list[Any]:
        """Live issues past their ``due_at`` (by the database clock) that have no
        ``issue.overdue`` entry since that time (one per due time; a ``due_at`` moved later
        is watched again)."""
        c, a = t.issues.c, t.activity.c
        live = sorted(s.value for s in NON_TERMINAL)
        noted = sa.exists().where(a.issue_id == c.id, a.at >= c.due_at, a.type == IssueOverdue.type)
        return list(
            conn.execute(
                sa.select(c.id, c.company_id, c.due_at)
                # The partial index's own predicate, so the sweep reads only live issues.
                .where(c.due_at.is_not(None), c.status.in_(live))
                .where(c.due_at <= self._now(conn), ~noted)
                .order_by(c.due_at)
                .limit(BATCH)
            )
        )

    def mark_overdue(self, conn: Connection) -> int:
        """Enqueue a ``MarkOverdue`` per overdue issue not yet noted; how many. Each one's
        command id is derived from the issue and its due time, so however many sweeps,
        restarts or schedulers send it, it is applied once."""
        found = self.overdue_issues(conn)
        for row in found:
            command_id = overdue_command_id(row.id, row.due_at)
            mark = MarkOverdue(row.id, row.due_at)
            self.enqueue(Envelope(command_id, row.company_id, TIMEKEEPER, mark))
        return len(found)

    def due_routines(self, conn: Connection) -> list[Any]:
        """Active routines whose next tick has come (by the database clock)."""
        r = t.routines.c
        return list(
            conn.execute(
                sa.select(r.id, r.company_id, r.next_run_at)
                .where(r.paused.is_(sa.false()), r.next_run_at <= self._now(conn))
                .order_by(r.next_run_at)
                .limit(BATCH)
            )
        )

    def webhook_jobs(self) -> list[Job]:
        """Outbox events nobody relayed (a crash between commit and publish), and deliveries
        whose next attempt is due or whose worker's hold lapsed: each enqueued once."""
        now = utc_now()
        e, d = t.webhook_events, t.webhook_deliveries
        jobs: list[Job] = []
        with self.engine.execution_options(write=True).begin() as conn:
            stragglers = conn.execute(
                sa.select(e.c.id)
                .where(e.c.relayed_at.is_(None), e.c.created_at < now - OUTBOX_GRACE)
                .order_by(e.c.created_at)
                .limit(BATCH)
            ).scalars()
            jobs.extend((JobKind.RELAY, event_id) for event_id in stragglers)
            stale = now - REENQUEUE_AFTER
            due = sa.or_(
                (d.c.status == DeliveryStatus.PENDING)
                & (d.c.next_attempt_at <= now)
                & (
                    d.c.enqueued_at.is_(None)
                    | (d.c.enqueued_at < d.c.next_attempt_at)
                    | (d.c.enqueued_at < stale)
                ),
                (d.c.status == DeliveryStatus.DELIVERING)
                & (d.c.locked_until <= now)
                & (
                    d.c.enqueued_at.is_(None)
                    | (d.c.enqueued_at < d.c.locked_until)
                    | (d.c.enqueued_at < stale)
                ),
            )
            ids = list(
                conn.execute(
                    sa.select(d.c.id)
                    .where(due)
                    .order_by(d.c.next_attempt_at)
                    .limit(BATCH)
                    .with_for_update(skip_locked=True)
                ).scalars()
            )
            if ids:
                conn.execute(d.update().where(d.c.id.in_(ids)).values(enqueued_at=now))
            jobs.extend((JobKind.DELIVER, delivery_id) for delivery_id in ids)
        return jobs

    def tick(self) -> tuple[int, int]:
        """One sweep if this process leads: (expiries, dispatches) enqueued."""
        if not self.leader.held():
            return 0, 0
        started = time.perf_counter()
        with self.engine.connect() as conn:
            expired = self.expired_leases(conn)
            queued = self.dispatchable(conn)
            due = self.due_routines(conn)
            unanswered = self.expired_approvals(conn)
            overdue = self.mark_overdue(conn)
        for row in expired:
            command = ExpireLease(row.issue_id, row.token)
            self.enqueue(
                Envelope(
                    expiry_command_id(row.token, row.expires_at),
                    row.company_id,
                    SWEEPER,
                    command,
                )
            )
        for row in queued:
            command_id = COMMAND.new_id()
            self.enqueue(Envelope(command_id, row.company_id, DISPATCHER, DispatchIssue(row.id)))
            # Only a team's queued issue takes one of the team's free slots.
            team = None if row.assigned_agent_id else row.assigned_team_id
            self.pending.sent(row.id, command_id, team)
        for row in due:
            self.enqueue(
                Envelope(
                    fire_command_id(row.id, row.next_run_at),
                    row.company_id,
                    ROUTINES,
                    FireRoutine(row.id, row.next_run_at),
                )
            )
        for row in unanswered:
            expire = ExpireApproval(row.issue_id, row.id)
            command_id = approval_expiry_command_id(row.id, row.expires_at)
            self.enqueue(Envelope(command_id, row.company_id, SWEEPER, expire))
        webhook_jobs = 0
        if self.jobs is not None:
            for kind, ident in self.webhook_jobs():
                self.jobs(kind, ident)
                webhook_jobs += 1
        seconds = time.perf_counter() - started
        metrics.SWEEP_DURATION.observe(seconds)
        for swept, count in (
            ("lease_expiry", len(expired)),
            ("dispatch", len(queued)),
            ("routine", len(due)),
            ("approval_expiry", len(unanswered)),
            ("overdue", overdue),
            ("webhook", webhook_jobs),
        ):
            if count:
                metrics.SWEEP_ENQUEUED.labels(swept).inc(count)
        if expired or queued:
            log.info(
                "swept: %d expired leases, %d dispatches",
                len(expired),
                len(queued),
                extra={
                    "action": "sweep",
                    "expired": len(expired),
                    "dispatched": len(queued),
                    "webhook_jobs": webhook_jobs,
                    "duration_ms": round(seconds * 1000, 2),
                },
            )
        return len(expired), len(queued)

    def run(self, stop: threading.Event) -> None:
        """Tick every ``interval_s`` until ``stop`` is set; errors are logged, never fatal."""
        while not stop.is_set():
            try:
                self.tick()
            except Exception:
                metrics.SWEEP_FAILURES.inc()
                log.exception(
                    "sweep failed; trying again next interval", extra={"action": "sweep_failed"}
                )
                self.leader.release()
            stop.wait(self.interval_s)
        self.leader.release()
