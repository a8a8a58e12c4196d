"""Applying a command: one transaction, exactly once, with its result stored and published.

``Applier.apply`` is what the commands pool runs for every message, and what tests call.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Callable, Sequence
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection, Engine
from sqlalchemy.exc import IntegrityError, OperationalError

from domain.commands import Command, CommandStatus
from domain.errors import IdempotencyConflict, NotFound
from domain.issues import DISPATCHER
from domain.model import RetryPolicy
from domain.retries import NO_BACKOFF
from service.clock import utc_now
from service.commands.context import NOTHING_AFTER, AfterCommit, Context, Reply
from service.commands.envelope import Envelope, Outcome

# Each handler module registers its handlers (``@handles``) as it loads.
from service.commands.handlers import (  # noqa: F401
    approvals,
    budgets,
    bulk,
    costs,
    issues,
    org,
    routines,
    runs,
    webhooks,
)
from service.commands.jobs import JobKind
from service.commands.refusals import Refused, log_ids, refusals
from service.commands.registry import HANDLERS
from service.kinds import COMMAND
from service.observability import metrics
from service.problems import problem_from_error
from service.store import outcomes
from service.store import tables as t
from service.store.errors import database_unreachable
from service.store.repo import ConcurrentUpdate

__all__ = ["HANDLERS", "Applier"]

log = logging.getLogger("agentq.pipeline")


#: How long an ``Idempotency-Key`` is remembered.
IDEMPOTENCY_TTL = timedelta(hours=24)
#: Attempts at one command when it loses a race (version moved, duplicate idempotency key).
RACE_ATTEMPTS = 5
#: Attempts after a statement-level database error (a deadlock, a serialization failure), with
#: backoff; then the message is dead-lettered.
TRANSIENT_ATTEMPTS = 6
#: First backoff after a database error, in seconds (doubles each time).
TRANSIENT_BACKOFF_S = 0.2
#: Longest backoff while the database is unreachable, in seconds. Such a command is retried
#: in place until the database answers again, however long that takes: dead-lettering it
#: would lose a command the API accepted, and the shard's later commands must wait for it.
UNREACHABLE_BACKOFF_MAX_S = 2.0


Publish = Callable[[str | None, Outcome], None]


class Applier:
    """Applies envelopes against the database and hands each outcome to ``publish``."""

    def __init__(
        self,
        engine: Engine,
        publish: Publish,
        clock: Callable[[], datetime] = utc_now,
        enqueue: Callable[[Envelope], None] | None = None,
        jobs: Callable[[JobKind, str], None] | None = None,
        retry: RetryPolicy = NO_BACKOFF,
    ) -> None:
        self.engine = engine.execution_options(write=True)
        self.publish = publish
        self.clock = clock
        #: Publishes follow-up commands after commit (None: the scheduler's sweeps catch up).
        self.enqueue = enqueue
        #: Sends the commit's jobs on (relays and deliveries to the webhooks pool, bulks to the
        #: bulk pool) after commit (None: the scheduler's outbox relay picks webhooks up).
        self.jobs = jobs
        #: The retry backoff of issues that name none (``AGENTQ_RETRY_BASE_S``, ``_MAX_S``).
        self.retry = retry

    def apply(self, env: Envelope) -> Outcome:
        """Apply ``env`` once (a redelivery returns the stored outcome) and publish the result.

        Lost races and database errors are retried here, in place, so a shard's order never
        changes. An unreachable database is waited for however long it takes; a race or a
        statement error still failing after its attempts raises, and the broker dead-letters
        the message.
        Each command is counted (``service.observability.metrics``) and logged on one line.
        """
        started = time.perf_counter()
        races = transients = unreachable = 0
        while True:
            try:
                # The first try assumes a new command: a redelivered one fails on the unique
                # ``applied_commands`` insert, and the retry then finds its stored outcome.
                # After a cut connection the commit may have landed: the retry looks first.
                outcome, after, replayed = self._apply_once(
                    env, check_applied=races + transients + unreachable > 0
                )
                break
            except (ConcurrentUpdate, IntegrityError, OperationalError) as error:
                if isinstance(error, OperationalError) and database_unreachable(error):
                    unreachable += 1
                    exhausted = False
                elif isinstance(error, OperationalError):
                    transients += 1
                    exhausted = transients >= TRANSIENT_ATTEMPTS
                else:
                    races += 1
                    exhausted = races >= RACE_ATTEMPTS
                if exhausted:
                    self._failed(env, started, error)
                    raise
                if isinstance(error, OperationalError):
                    attempt = max(unreachable, transients)
                    if attempt == 1 or attempt % 10 == 0:
                        log.warning(
                            "command met a database error (attempt %d); retrying: %s",
                            attempt,
                            error.orig,
                            extra={"action": "retry", **log_ids(env)},
                        )
                    backoff_s = TRANSIENT_BACKOFF_S * 2 ** min(attempt - 1, 8)
                    time.sleep(
                        min(backoff_s, UNREACHABLE_BACKOFF_MAX_S) if unreachable else backoff_s
                    )
                else:
                    log.info(
                        "command lost a race; retrying",
                        extra={"action": "retry", **log_ids(env)},
                    )
            except Exception as error:
                self._failed(env, started, error)
                raise
        self._observe(env, outcome, time.perf_counter() - started, replayed)
        self.publish(env.reply_to, outcome)
        self._set_going(env, after)
        return outcome

    def _set_going(self, env: Envelope, after: AfterCommit) -> None:
        """What ``env`` sets going once committed and answered: follow-ups, then jobs."""
        if self.enqueue is not None:
            for command in after.commands:
                self._follow_up(env, command)
        for job in after.jobs:
            self._job(*job)

    @staticmethod
    def _observe(env: Envelope, outcome: Outcome, seconds: float, replayed: bool) -> None:
        """Count the outcome and log the command's one line (``command_applied`` or
        ``command_rejected``; ``replayed`` when answered from a stored outcome)."""
        kind = type(env.command).__name__
        metrics.count_command(kind, outcome, seconds, replayed=replayed)
        if not log.isEnabledFor(logging.INFO):
            return
        applied = outcome.applied
        extra = {
            "action": "command_applied" if applied else "command_rejected",
            **log_ids(env, outcome),
            "type": kind,
            "actor": env.actor,
            "http_status": outcome.http_status,
            "duration_ms": round(seconds * 1000, 2),
        }
        if replayed:
            extra["replayed"] = True
        if not applied and isinstance(outcome.body, dict):
            extra["code"] = outcome.body.get("code")
        log.info(
            "%s %s %s: %d",
            kind,
            env.command_id,
            CommandStatus.of(applied),
            outcome.http_status,
            extra=extra,
        )

    @staticmethod
    def _failed(env: Envelope, started: float, error: Exception) -> None:
        metrics.COMMANDS_FAILED.labels(type(env.command).__name__).inc()
        log.error(
            "%s %s failed after its retries: %r",
            type(env.command).__name__,
            env.command_id,
            error,
            extra={
                "action": "command_failed",
                **log_ids(env),
                "type": type(env.command).__name__,
                "duration_ms": round((time.perf_counter() - started) * 1000, 2),
            },
        )

    def _job(self, kind: JobKind, ident: str) -> None:
        if self.jobs is None:
            return
        try:
            self.jobs(kind, ident)
        except Exception:  # committed already; the scheduler's relay sweep sends it
            log.warning("could not enqueue %s %s", kind, ident)

    def _follow_up(self, env: Envelope, command: Command) -> None:
        follow = Envelope(COMMAND.new_id(), env.company_id, DISPATCHER, command)
        try:
            assert self.enqueue is not None
            self.enqueue(follow)
        except Exception:  # committed already; the next sweep does it instead
            log.warning("could not enqueue follow-up %s", type(command).__name__)

    def _apply_once(
        self, env: Envelope, *, check_applied: bool
    ) -> tuple[Outcome, AfterCommit, bool]:
        """The outcome, the follow-ups to send after commit, and whether the outcome is a
        stored one (a redelivery, a reused ``Idempotency-Key``) rather than the handler's."""
        try:
            with self.engine.begin() as conn:
                if check_applied:
                    stored = outcomes.stored_outcome(conn, env.command_id)
                    if stored is not None:
                        return stored, NOTHING_AFTER, True
                if env.idempotency is not None:
                    earlier = self._replay(conn, env)
                    if earlier is not None:
                        return earlier, NOTHING_AFTER, True
                outcome, after = self._run_handler(conn, env)
                return outcome, after, False
        except Refused as refused:
            # The handler's writes were rolled back with its transaction; the refusal is
            # stored in a transaction of its own (refusals are rare; no savepoint per command).
            with self.engine.begin() as conn:
                if env.idempotency is not None:
                    earlier = self._replay(conn, env)
                    if earlier is not None:
                        return earlier, NOTHING_AFTER, True
                self._store(conn, env, refused.outcome)
            return refused.outcome, NOTHING_AFTER, False

    def _replay(self, conn: Connection, env: Envelope) -> Outcome | None:
        """The stored answer for a reused ``Idempotency-Key``; a conflict if the request differs."""
        idem = env.idempotency
        assert idem is not None
        row = outcomes.stored_key(conn, idem)
        if row is None:
            return None
        if row.created_at < self.clock() - IDEMPOTENCY_TTL:
            outcomes.forget_key(conn, idem)
            return None
        if row.request_hash != idem.request_hash:
            status, body = problem_from_error(
                IdempotencyConflict("this Idempotency-Key was used with a different request")
            )
            outcome = Outcome(env.command_id, False, status, body)
        else:
            outcome = Outcome(env.command_id, row.http_status < 400, row.http_status, row.body)
        self._store(conn, env, outcome, with_key=False)
        return outcome

    def _run_handler(self, conn: Connection, env: Envelope) -> tuple[Outcome, AfterCommit]:
        """Run the handler, store its outcome, then write the outbox (only for a company with
        an enabled endpoint: the outcome's insert says whether it has one)."""
        ctx = Context(
            conn=conn,
            company_id=env.company_id or "",
            actor=env.actor,
            now=self.clock(),
            command_id=env.command_id,
            expected_version=env.expected_version,
            clock=self.clock,
            retry=self.retry,
        )
        with refusals(env):
            if (
                env.check_company
                and not conn.execute(_COMPANY_EXISTS, {"b_id": env.company_id}).first()
            ):
                raise NotFound("company", env.company_id or "")
            body = HANDLERS[type(env.command)](env.command, ctx)
        status = env.success_status
        if isinstance(body, Reply):
            status, body = body.status, body.body
        work = env.company_id if ctx.work_appeared else None
        outcome = Outcome(env.command_id, True, status, body, work)
        heard = ctx.heard_by_webhooks()
        with refusals(env):  # the activity entries are written here: they may be refused
            subscribed = self._store(
                conn,
                env,
                outcome,
                subscribers_of=ctx.company_id if heard else None,
                activity=ctx.activity,
            )
            if subscribed:
                ctx.write_outbox()
        return outcome, ctx.after_commit()

    def _store(
        self,
        conn: Connection,
        env: Envelope,
        outcome: Outcome,
        with_key: bool = True,
        subscribers_of: str | None = None,
        activity: Sequence[dict[str, Any]] = (),
    ) -> bool:
        return outcomes.store_outcome(
            conn,
            env,
            outcome,
            now=self.clock(),
            with_key=with_key,
            subscribers_of=subscribers_of,
            activity=activity,
        )


_COMPANY_EXISTS = sa.select(t.companies.c.id).where(t.companies.c.id == sa.bindparam("b_id"))
