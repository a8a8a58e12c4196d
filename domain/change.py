"""Accumulating the transitions of one command on one issue: each step checked against the
table and given the next version."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import datetime

from domain.events import IssueEvent
from domain.model import Issue
from domain.statuses import IssueStatus, Trigger, check_transition

__all__ = ["Change", "Decision"]


@dataclass(frozen=True, slots=True)
class Decision:
    """The issue after a command, and what happened on the way there."""

    issue: Issue
    events: tuple[IssueEvent, ...]
    #: The issue as it was right after each event (for payloads ordered by version).
    states: tuple[Issue, ...] = ()


class Change:
    """Accumulates transitions on one issue, bumping ``version`` once per step."""

    def __init__(self, issue: Issue, now: datetime, actor: str, reason: str | None) -> None:
        self.issue = issue
        self.now = now
        self.actor = actor
        self.reason = reason
        self.events: list[IssueEvent] = []
        self.states: list[Issue] = []

    def move(
        self,
        to: IssueStatus,
        trigger: Trigger,
        event: type[IssueEvent],
        *,
        actor: str | None = None,
        **changes: object,
    ) -> None:
        check_transition(self.issue.status, to, trigger)
        self._step(event, to, actor, changes)

    def edit(self, event: type[IssueEvent], **changes: object) -> None:
        self._step(event, self.issue.status, None, changes)

    def _step(
        self,
        event: type[IssueEvent],
        to: IssueStatus,
        actor: str | None,
        changes: dict[str, object],
    ) -> None:
        before = self.issue.status
        version = self.issue.version + 1
        self.issue = self.issue.evolve(status=to, version=version, updated_at=self.now, **changes)
        not_before = self.issue.not_before if "not_before" in changes else None
        self.events.append(
            event(
                self.issue.id,
                before,
                to,
                version,
                actor or self.actor,
                self.reason,
                not_before=not_before,
            )
        )
        self.states.append(self.issue)

    def decision(self) -> Decision:
        return Decision(self.issue, tuple(self.events), tuple(self.states))
