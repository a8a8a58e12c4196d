"""What every command handler gets: the open transaction, who asked, and ``now``."""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Connection

from domain.commands import Command, ReactToDependency
from domain.errors import InvalidRequest, NotFound, PreconditionFailed
from domain.events import CommentPosted, IssueEvent
from domain.issues import Decision
from domain.model import Issue
from domain.statuses import CLAIMABLE, TERMINAL, IssueStatus
from service.db import repo
from service.db import tables as t
from service.jobs import Job, JobKind
from service.queries import issues_json
from service.webhooks import outbox
from service.webhooks.outbox import PendingEvent

__all__ = ["NOTHING_AFTER", "AfterCommit", "Context", "Reply"]

#: ``idle_since`` is kept to this precision.
IDLE_GRANULARITY = timedelta(seconds=1)


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
    #: Reads the time again once an issue's lock is held (None: ``now`` stays as given).
    clock: Callable[[], datetime] | None = None

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
        agents = t.agents.c
        self.conn.execute(
            t.agents.update()
            .where(
                agents.id == agent_id,
                agents.idle_since.is_(None) | (agents.idle_since < self.now - IDLE_GRANULARITY),
            )
            .values(idle_since=self.now)
        )

    def db_now(self) -> datetime:
        """The database's clock (PostgreSQL), which decides lease expiry; ``now`` on SQLite."""
        if self.conn.dialect.name == "postgresql":
            moment: datetime = self.conn.execute(sa.select(sa.func.now())).scalar_one()
            return moment
        return self.now

    def issue_for_update(self, issue_id: str) -> Issue:
        """Lock the issue row; 404 if it is not this company's, 412 on an ``If-Match`` miss."""
        issue = repo.load_issue(self.conn, self.company_id, issue_id, for_update=True)
        if issue is None:
            raise NotFound("issue", issue_id)
        if self.expected_version is not None and issue.version != self.expected_version:
            raise PreconditionFailed(self.expected_version, issue.version)
        return self.locked(issue)

    def require(self, table: sa.Table, ident: str, loc: Sequence[str | int], kind: str) -> Any:
        """The row ``ident`` of ``table`` in this company, or 422 at ``loc``."""
        row = self.conn.execute(
            sa.select(table).where(table.c.id == ident, table.c.company_id == self.company_id)
        ).first()
        if row is None:
            raise InvalidRequest.at(loc, f"{kind} {ident} does not exist in this company")
        return row

    def record(self, events: Sequence[IssueEvent]) -> None:
        repo.record_events(
            self.conn, self.company_id, events, at=self.now, command_id=self.command_id
        )

    def commit_decision(self, before: Issue | None, decision: Decision) -> dict[str, Any]:
        """Persist a decision (insert or versioned update) and its activity; the issue's JSON."""
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
        new_run = after.current_run_id is not None and (
            before is None or before.current_run_id != after.current_run_id
        )
        return self.issue_body(after, new_run=new_run)

    def write_outbox(self) -> None:
        """The webhook events of everything this command did, in its transaction."""
        if not (self.extra_webhooks or any(d.events for d in self.decisions)):
            return  # nothing happened that a subscriber hears of: no subscriber lookup
        if not outbox.has_subscribers(self.conn, self.company_id):
            return
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
        dependents = self.conn.execute(
            sa.select(t.issue_dependencies.c.issue_id).where(
                t.issue_dependencies.c.depends_on_id == issue_id
            )
        ).scalars()
        self.follow_ups.extend(ReactToDependency(d, issue_id) for d in dependents)

    def issue_body(self, issue: Issue, *, new_run: bool = False) -> dict[str, Any]:
        return issues_json(self.conn, [issue], new_run=new_run)[0]
