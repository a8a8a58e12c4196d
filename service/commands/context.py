"""What every command handler gets: the open transaction, who asked, and ``now``."""

from __future__ import annotations

import functools
import hashlib
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.audit import AUDITED_FIELDS, AuditEntry, AuditType, audited, field_changes
from domain.commands import Command, ReactToDependency
from domain.errors import InvalidRequest, NotFound, PreconditionFailed
from domain.events import CommentPosted, IssueEvent
from domain.issues import Decision
from domain.model import Issue, RetryPolicy
from domain.retries import NO_BACKOFF
from domain.statuses import CLAIMABLE, TERMINAL, IssueStatus
from service.answers import issues as answers
from service.commands.jobs import Job, JobKind
from service.reads.issues import issue_answers, issues_json
from service.store import repo
from service.store import tables as t
from service.store.activity import activity_rows, audit_row
from service.webhooks import outbox
from service.webhooks.outbox import PendingEvent

__all__ = ["NOTHING_AFTER", "AfterCommit", "Context", "Reply", "jitter_of"]

#: ``idle_since`` is kept to this precision.
IDLE_GRANULARITY = timedelta(seconds=1)


# The statements of every command, built once with bind parameters (``service.store.repo``
# says why).
_MARK_GIVEN_WORK = t.agents.update().where(
    t.agents.c.id == sa.bindparam("b_id"),
    t.agents.c.idle_since.is_(None) | (t.agents.c.idle_since < sa.bindparam("b_before")),
)
_DEPENDENTS = sa.select(t.issue_dependencies.c.issue_id).where(
    t.issue_dependencies.c.depends_on_id == sa.bindparam("b_id")
)


@functools.cache
def _row_of(table: sa.Table) -> sa.Select[Any]:
    """The row of ``table`` with id ``b_id`` in company ``b_cid``."""
    return sa.select(table).where(
        table.c.id == sa.bindparam("b_id"), table.c.company_id == sa.bindparam("b_cid")
    )


def jitter_of(command_id: str) -> float:
    """A uniform draw in [0, 1) for a retry's backoff, taken from the command's id: spread
    like a random draw across issues, and the same when the command's transaction is tried
    again (so a retried transaction does not move ``notBefore``)."""
    digest = hashlib.sha256(command_id.encode()).digest()
    return int.from_bytes(digest[:7], "big") / float(1 << 56)


@dataclass(frozen=True, slots=True)
class Reply:
    """A handler's answer when it is not the command's usual success status."""

    status: int
    body: Any = None


@dataclass(frozen=True, slots=True)
class AfterCommit:
    """What a command sets going once it has committed, in this order: the follow-up commands
    to publish (dispatch freed capacity, cascade a cancel…), then the pool jobs to send."""

    commands: tuple[Command, ...] = ()
    jobs: tuple[Job, ...] = ()


#: A refused or replayed command sets nothing going.
NOTHING_AFTER = AfterCommit()


@dataclass
class Context:
    """One command's transaction. Handlers read and write through ``conn`` only."""

    conn: Connection
    company_id: str
    actor: str
    now: datetime
    command_id: str
    expected_version: int | None = None
    #: Commands to publish once this one has committed (e.g. dispatch freed capacity).
    follow_ups: list[Command] = field(default_factory=list)
    #: True when the command left an issue claimable: waiting claims are woken.
    work_appeared: bool = False
    #: What the command did, for the webhook outbox: decisions, and extra events (progress).
    decisions: list[Decision] = field(default_factory=list)
    extra_webhooks: list[PendingEvent] = field(default_factory=list)
    #: The run the webhook events concern, if any (``data.run`` in their payloads).
    webhook_run: dict[str, Any] | None = None
    #: Pool jobs to send after commit.
    jobs: list[Job] = field(default_factory=list)
    #: The activity entries of what the command did (rows of ``activity``), to be written.
    activity: list[dict[str, Any]] = field(default_factory=list)
    #: Reads the time again once an issue's lock is held (None: ``now`` stays as given).
    clock: Callable[[], datetime] | None = None
    #: The retry backoff of issues without their own (``AGENTQ_RETRY_BASE_S``, ``_MAX_S``).
    retry: RetryPolicy = NO_BACKOFF
    #: Issues whose row lock this transaction already holds, as read then (a bulk slice locks
    #: its issues at once): ``issue_for_update`` takes one from here instead of reading the
    #: row again, once (a later command on the issue reads what the earlier one wrote).
    locked_issues: dict[str, Issue] = field(default_factory=dict)

    def after_commit(self) -> AfterCommit:
        return AfterCommit(tuple(self.follow_ups), tuple(self.jobs))

    def locked(self, issue: Issue) -> Issue:
        """Move ``now`` on to when the issue's lock was granted, and never before the issue's
        last change. A command reads the clock before it waits for the lock: without this, a
        claim that waited while the previous lease was released would show its lease granted
        before the previous one was released, and an issue's history would run backward."""
        moment = self.clock() if self.clock is not None else self.now
        self.now = max(self.now, moment, issue.updated_at)
        return issue

    def add_comment(self, comment_id: str, issue: Issue, text: str, author: str) -> dict[str, Any]:
        """Insert a comment and its ``issue.commented`` activity entry (the version stays)."""
        row = {
            "id": comment_id,
            "company_id": self.company_id,
            "issue_id": issue.id,
            "text": text,
            "author": author,
            "created_at": self.now,
        }
        self.conn.execute(t.comments.insert().values(**row))
        self.record([CommentPosted(issue.id, issue.status, issue.status, issue.version, author)])
        return row

    def mark_given_work(self, agent_id: str) -> None:
        """Note when the agent was last given work (the dispatcher's tie-break).

        To the second only: a burst of assignments to one agent (a bulk) then writes its row
        about once a second instead of serializing every command on that row's lock."""
        self.conn.execute(
            _MARK_GIVEN_WORK,
            {"b_id": agent_id, "b_before": self.now - IDLE_GRANULARITY, "idle_since": self.now},
        )

    def db_now(self) -> datetime:
        """The database's clock (PostgreSQL), which decides lease expiry; ``now`` on SQLite.

        The time of this statement, not ``now()``: a transaction applies a batch of commands
        (``service.commands.batches``), and ``now()`` would be the batch's start for each."""
        if self.conn.dialect.name == "postgresql":
            moment: datetime = self.conn.execute(
                sa.select(sa.func.statement_timestamp())
            ).scalar_one()
            return moment
        return self.now

    def issue_for_update(self, issue_id: str) -> Issue:
        """Lock the issue row; 404 if it is not this company's, 412 on an ``If-Match`` miss."""
        issue = self.locked_issues.pop(issue_id, None)
        if issue is None:
            issue = repo.load_issue(self.conn, self.company_id, issue_id, for_update=True)
        if issue is None:
            raise NotFound("issue", issue_id)
        if self.expected_version is not None and issue.version != self.expected_version:
            raise PreconditionFailed(self.expected_version, issue.version)
        return self.locked(issue)

    def require(self, table: sa.Table, ident: str, loc: Sequence[str | int], kind: str) -> Any:
        """The row ``ident`` of ``table`` in this company, or 422 at ``loc``."""
        row = self.conn.execute(_row_of(table), {"b_id": ident, "b_cid": self.company_id}).first()
        if row is None:
            raise InvalidRequest.at(loc, f"{kind} {ident} does not exist in this company")
        return row

    def record(self, events: Sequence[IssueEvent]) -> None:
        """One activity entry per event, written with the command's outcome (nothing in a
        command reads activity back; on PostgreSQL they share the outcome's statement)."""
        self.activity.extend(
            activity_rows(self.company_id, events, at=self.now, command_id=self.command_id)
        )

    def audit(
        self,
        type: AuditType,
        subject_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
        *,
        reason: str | None = None,
    ) -> bool:
        """A company entry (``domain.audit``): who did ``type`` to ``subject_id``, with each
        field that differs between ``before`` and ``after`` (the subject as the wire has it,
        of which only ``AUDITED_FIELDS`` count; None: created or removed; secrets redacted).
        Written with the command's outcome, like ``record``'s. Nothing changed: no entry
        (False)."""
        subject = type.subject
        if subject in AUDITED_FIELDS:
            before, after = audited(subject, before), audited(subject, after)
        changes = field_changes(before, after)
        if not changes:
            return False
        entry = AuditEntry(type, subject_id, self.actor, changes, reason)
        self.activity.append(
            audit_row(self.company_id, entry, at=self.now, command_id=self.command_id)
        )
        return True

    def audit_budget_set(
        self,
        scope: str,
        scope_id: str,
        before: Mapping[str, Any] | None,
        after: Mapping[str, Any] | None,
    ) -> bool:
        """The ``budget.set`` entry of a scope's budget (``PUT /budgets/{scope}/{id}``): its
        subject is ``<scope>:<id>``; ``before``/``after`` the budget's fields as the wire has
        them (None: there was none, or it was removed)."""
        return self.audit(AuditType.BUDGET_SET, f"{scope}:{scope_id}", before, after)

    def commit_decision(self, before: Issue | None, decision: Decision) -> dict[str, Any]:
        """Persist a decision (insert or versioned update) and its activity; the issue's JSON
        (written without building its model: this is every write's answer)."""
        new_run = self._persist(before, decision)
        return self.issue_body(decision.issue, new_run=new_run)

    def commit(self, before: Issue | None, decision: Decision) -> answers.Issue:
        """``commit_decision``, answering the issue's model (for an answer that nests it)."""
        new_run = self._persist(before, decision)
        return issue_answers(self.conn, [decision.issue], new_run=new_run)[0]

    def _persist(self, before: Issue | None, decision: Decision) -> bool:
        """Store the decision and note what follows from it; whether a run has just started."""
        if before is None:
            repo.insert_issue(self.conn, decision.issue)
        else:
            repo.save_issue(self.conn, before, decision.issue)
        self.record(decision.events)
        self.decisions.append(decision)
        after = decision.issue
        if after.status in CLAIMABLE and decision.events:
            self.work_appeared = True
        if after.status in TERMINAL and (before is None or before.status not in TERMINAL):
            self._fan_out_to_dependents(after.id)
        given_to = after.assigned_agent_id
        if (
            given_to
            and after.status is IssueStatus.ASSIGNED
            and (
                before is None
                or before.assigned_agent_id != given_to
                or before.status != after.status
            )
        ):
            self.mark_given_work(given_to)
        return after.current_run_id is not None and (
            before is None or before.current_run_id != after.current_run_id
        )

    def heard_by_webhooks(self) -> bool:
        """Whether the command did anything a webhook subscriber hears of (if there is one)."""
        return bool(self.extra_webhooks) or any(d.events for d in self.decisions)

    def write_outbox(self) -> None:
        """The webhook events of everything this command did, in its transaction. The caller
        has found that the company has an enabled endpoint (``outbox.has_subscribers``: the
        pipeline reads it with the command's outcome, in the same round trip)."""
        pending: list[PendingEvent] = []
        for decision in self.decisions:
            pending.extend(outbox.pending_from(self.conn, decision.events, decision.states))
        pending.extend(self.extra_webhooks)
        ids = outbox.write_events(
            self.conn, self.company_id, pending, now=self.now, run=self.webhook_run
        )
        self.jobs.extend((JobKind.RELAY, event_id) for event_id in ids)

    def _fan_out_to_dependents(self, issue_id: str) -> None:
        """Each dependent hears through its own command (serial on its own shard)."""
        dependents = self.conn.execute(_DEPENDENTS, {"b_id": issue_id}).scalars()
        self.follow_ups.extend(ReactToDependency(d, issue_id) for d in dependents)

    def issue_body(self, issue: Issue, *, new_run: bool = False) -> dict[str, Any]:
        return issues_json(self.conn, [issue], new_run=new_run)[0]
