"""Applying a batch of a shard's commands in one transaction, with what ``Applier.apply``
guarantees for each.

``BatchApplier.apply_batch(envs)`` applies the envelopes in order in one transaction, each in
a savepoint of its own (a refusal rolls back only its own writes and stores its problem), and
commits once; then it publishes every outcome at once (one Redis pipeline) and sets each
command's follow-ups and jobs going, in order. The commands pool calls it with the messages
waiting in a shard (``workers.command_consumer``); a lone command goes through ``apply``.

What stays as it is for each command:

- exactly once: the batch's command ids are looked up in ``applied_commands`` in one query
  first, and a redelivered (or duplicated) command answers its stored outcome;
- its own time: each command's ``Context`` reads the clock when it starts (and again once its
  issue's lock is held); ``Context.db_now`` reads the statement's time, not ``now()``;
- retries in place: a lost race, a duplicate id or key, a deadlock or any statement error
  rolls the whole batch back, and its commands are then applied one at a time by ``apply``
  (each with its own retries), in order: a race costs one rolled-back batch, never the order
  or the once;
- an unreachable database: the batch is retried whole, with ``apply``'s backoff, however
  long it takes (the commit may have landed: the lookup then answers the stored outcomes);
- outcomes are published only after the commit, and the caller acks only after this returns.
"""

from __future__ import annotations

import logging
import time
from collections.abc import Sequence

from sqlalchemy.engine import Connection
from sqlalchemy.exc import OperationalError

from domain.commands import ApplyBulkSlice, ClaimWork, Command
from service.commands.context import NOTHING_AFTER, AfterCommit
from service.commands.envelope import Envelope, Outcome
from service.commands.pipeline import (
    TRANSIENT_BACKOFF_S,
    UNREACHABLE_BACKOFF_MAX_S,
    Applier,
)
from service.commands.refusals import Refused
from service.observability import metrics
from service.store import outcomes
from service.store.errors import database_unreachable

__all__ = ["ALONE", "BatchApplier", "Result"]

log = logging.getLogger("agentq.pipeline")

#: What one command of a batch came to: its outcome, or what it raised after its retries
#: (the broker dead-letters that message, as it would have alone).
Result = Outcome | Exception

#: Commands applied in a transaction of their own, between batches. A claim locks rows of
#: other shards (the issue it takes, its agent's row) and may wait for its agent's own
#: assigned issues while other commands hold them (up to ``LOCKED_WAIT_S``): in a batch it
#: would hold the batch's locks meanwhile, and the batch would hold the claim's until it
#: commits, so commands of other shards would wait on each other for the longest of both.
#: A bulk slice is a batch already (up to 32 items, a savepoint each): in a batch of 32 it
#: would make a transaction of a thousand subtransactions.
ALONE: tuple[type[Command], ...] = (ClaimWork, ApplyBulkSlice)

#: Every command of a batch runs inside this savepoint (set again for each).
_SAVEPOINT = "agentq_command"


class BatchApplier(Applier):
    """An ``Applier`` that can also apply a shard's waiting commands together."""

    def apply_batch(self, envs: Sequence[Envelope]) -> list[Result]:
        """Apply ``envs`` in order, once each; publish their outcomes after the commit. A
        command that must not hold a batch's locks (``ALONE``) is applied between batches."""
        results: list[Result] = []
        run: list[Envelope] = []
        for env in envs:
            if isinstance(env.command, ALONE):
                results.extend(self._together(run))
                results.extend(self._together([env]))
                run = []
            else:
                run.append(env)
        results.extend(self._together(run))
        return results

    def _together(self, envs: Sequence[Envelope]) -> list[Result]:
        if not envs:
            return []
        metrics.COMMAND_BATCH_SIZE.observe(len(envs))
        if len(envs) == 1:
            return self._one_at_a_time(envs)
        unreachable = 0
        while True:
            try:
                applied = self._apply_together(envs)
                break
            except OperationalError as error:
                if not database_unreachable(error):
                    return self._fall_back(envs, error)
                unreachable += 1
                if unreachable == 1 or unreachable % 10 == 0:
                    log.warning(
                        "a batch of %d commands met a database error (attempt %d); retrying: %s",
                        len(envs),
                        unreachable,
                        error.orig,
                        extra={"action": "retry", "batch": len(envs)},
                    )
                backoff_s = TRANSIENT_BACKOFF_S * 2 ** min(unreachable - 1, 8)
                time.sleep(min(backoff_s, UNREACHABLE_BACKOFF_MAX_S))
            except Exception as error:  # a race, a duplicate, a bug outside the handlers
                return self._fall_back(envs, error)
        for env, (outcome, _, replayed, seconds) in zip(envs, applied, strict=True):
            self._observe(env, outcome, seconds, replayed)
        self._publish_all(
            [(env.reply_to, done[0]) for env, done in zip(envs, applied, strict=True)]
        )
        for env, (_, after, _, _) in zip(envs, applied, strict=True):
            self._set_going(env, after)
        return [outcome for outcome, _, _, _ in applied]

    def _one_at_a_time(self, envs: Sequence[Envelope]) -> list[Result]:
        results: list[Result] = []
        for env in envs:
            try:
                results.append(self.apply(env))
            except Exception as error:  # logged and counted by ``apply``
                results.append(error)
        return results

    def _fall_back(self, envs: Sequence[Envelope], error: Exception) -> list[Result]:
        metrics.COMMAND_BATCHES_FALLEN_BACK.inc()
        log.info(
            "a batch of %d commands was rolled back (%s); applying them one at a time",
            len(envs),
            type(error).__name__,
            extra={"action": "batch_fallback", "batch": len(envs)},
        )
        return self._one_at_a_time(envs)

    def _publish_all(self, answers: list[tuple[str | None, Outcome]]) -> None:
        many = getattr(self.publish, "many", None)
        if many is not None:
            many(answers)
            return
        for reply_to, outcome in answers:
            self.publish(reply_to, outcome)

    def _apply_together(
        self, envs: Sequence[Envelope]
    ) -> list[tuple[Outcome, AfterCommit, bool, float]]:
        """Each command's outcome, what it sets going, whether it was replayed, and how long
        it took (its own part of the transaction), all committed in one transaction."""
        applied: list[tuple[Outcome, AfterCommit, bool, float]] = []
        with self.engine.begin() as conn:
            stored = outcomes.stored_outcomes(conn, [env.command_id for env in envs])
            savepoint = False
            for env in envs:
                started = time.perf_counter()
                earlier = stored.get(env.command_id)
                if earlier is not None:
                    applied.append((earlier, NOTHING_AFTER, True, 0.0))
                    continue
                _set_savepoint(conn, release=savepoint)
                savepoint = True
                outcome, after, replayed = self._apply_in_savepoint(conn, env)
                # A copy of this command later in the batch answers as its redelivery would.
                stored[env.command_id] = Outcome(
                    outcome.command_id, outcome.applied, outcome.http_status, outcome.body
                )
                applied.append((outcome, after, replayed, time.perf_counter() - started))
        return applied

    def _apply_in_savepoint(
        self, conn: Connection, env: Envelope
    ) -> tuple[Outcome, AfterCommit, bool]:
        """``Applier._apply_once`` inside the batch's transaction: a refusal rolls back to the
        command's savepoint, not the whole transaction, and is stored there."""
        try:
            if env.idempotency is not None:
                earlier = self._replay(conn, env)
                if earlier is not None:
                    return earlier, NOTHING_AFTER, True
            outcome, after = self._run_handler(conn, env)
            return outcome, after, False
        except Refused as refused:
            conn.exec_driver_sql(f"ROLLBACK TO SAVEPOINT {_SAVEPOINT}")
            if env.idempotency is not None:
                earlier = self._replay(conn, env)
                if earlier is not None:
                    return earlier, NOTHING_AFTER, True
            self._store(conn, env, refused.outcome)
            return refused.outcome, NOTHING_AFTER, False


def _set_savepoint(conn: Connection, *, release: bool) -> None:
    """The next command's savepoint; ``release``: the previous one's first, in the same round
    trip on PostgreSQL (a query without parameters may hold two statements). Released
    savepoints still count towards PostgreSQL's 64 cached subtransactions of a transaction:
    ``AGENTQ_COMMAND_BATCH`` stays at or below 64."""
    if not release:
        conn.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
    elif conn.dialect.name == "postgresql":
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}; SAVEPOINT {_SAVEPOINT}")
    else:
        conn.exec_driver_sql(f"RELEASE SAVEPOINT {_SAVEPOINT}")
        conn.exec_driver_sql(f"SAVEPOINT {_SAVEPOINT}")
