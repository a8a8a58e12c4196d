"""Issue statuses and the transition table, as data.

The table is the single source of truth for which status may follow which, and
which trigger may cause it. Everything else (the rules in ``domain.issue``, the
unit tests, the database CHECK) reads from here.
"""

from __future__ import annotations

from collections.abc import Mapping
from enum import StrEnum

from domain.errors import Frozen, InvalidTransition

__all__ = [
    "CLAIMABLE",
    "LOAD_STATUSES",
    "NON_TERMINAL",
    "RUN_STATUSES",
    "TERMINAL",
    "TERMINAL_NOT_DONE",
    "TRANSITIONS",
    "IssueStatus",
    "Trigger",
    "check_transition",
    "is_allowed",
]


class IssueStatus(StrEnum):
    """Where an issue is in its life."""

    QUEUED = "queued"  #: created, waiting for an agent
    ASSIGNED = "assigned"  #: an agent has been picked but work has not started
    RUNNING = "running"  #: an agent holds a run and its lease
    REVIEW = "review"  #: the agent called complete; waiting for a reviewer
    DONE = "done"  #: the reviewer accepted (terminal)
    FAILED = "failed"  #: the agent gave up or was killed (terminal)
    CANCELLED = "cancelled"  #: a human stopped it (terminal)
    HANDOFF = "handoff"  #: waiting for a human to pick it up


class Trigger(StrEnum):
    """What causes a transition."""

    ASSIGN = "assign"  #: a human assigns an agent
    DISPATCH = "dispatch"  #: the dispatcher picks an agent of the issue's team
    REASSIGN = "reassign"  #: a human moves the issue to another agent or team
    CLAIM = "claim"  #: the agent claims it and a run starts
    COMPLETE = "complete"  #: the agent marks its run complete
    FAIL = "fail"  #: the agent fails its run
    LEASE_EXPIRED = "lease_expired"  #: the sweep found the lease expired
    HANDOFF = "handoff"  #: the agent hands the issue to a human
    BUDGET_EXCEEDED = "budget_exceeded"  #: spent reached the per-task budget
    DEPENDENCY_FAILED = "dependency_failed"  #: a dependency ended failed or cancelled
    ACCEPT = "accept"  #: review accepted
    REJECT = "reject"  #: review rejected: rework by the same agent
    CANCEL = "cancel"  #: a human cancels it


S = IssueStatus
T = Trigger

TERMINAL: frozenset[IssueStatus] = frozenset({S.DONE, S.FAILED, S.CANCELLED})
NON_TERMINAL: frozenset[IssueStatus] = frozenset(set(S) - TERMINAL)
#: A dependency that ends in one of these hands its dependents off to a human.
TERMINAL_NOT_DONE: frozenset[IssueStatus] = TERMINAL - {S.DONE}
#: Where an issue may be claimed: an agent's own inbox (``assigned``), a team's ``queued``.
CLAIMABLE: frozenset[IssueStatus] = frozenset({S.ASSIGNED, S.QUEUED})
#: An agent's issues in these count as its load, which the dispatcher weighs.
LOAD_STATUSES: frozenset[IssueStatus] = frozenset({S.ASSIGNED, S.RUNNING})
#: An agent's issues in these are what its ``capacity`` caps (what it runs).
RUN_STATUSES: frozenset[IssueStatus] = frozenset({S.RUNNING})

#: (from, to) -> the triggers that may cause that transition (docs/api.md "The state machine").
TRANSITIONS: Mapping[tuple[IssueStatus, IssueStatus], frozenset[Trigger]] = {
    (S.QUEUED, S.ASSIGNED): frozenset({T.ASSIGN, T.DISPATCH}),
    (S.ASSIGNED, S.ASSIGNED): frozenset({T.REASSIGN}),
    (S.ASSIGNED, S.QUEUED): frozenset({T.REASSIGN}),
    (S.ASSIGNED, S.RUNNING): frozenset({T.CLAIM}),
    (S.RUNNING, S.REVIEW): frozenset({T.COMPLETE}),
    (S.RUNNING, S.FAILED): frozenset({T.FAIL, T.LEASE_EXPIRED}),
    (S.RUNNING, S.QUEUED): frozenset({T.REASSIGN, T.LEASE_EXPIRED, T.FAIL}),
    (S.RUNNING, S.HANDOFF): frozenset({T.HANDOFF, T.BUDGET_EXCEEDED, T.DEPENDENCY_FAILED}),
    (S.REVIEW, S.DONE): frozenset({T.ACCEPT}),
    (S.REVIEW, S.ASSIGNED): frozenset({T.REJECT}),
    (S.HANDOFF, S.ASSIGNED): frozenset({T.ASSIGN, T.REASSIGN}),
    (S.HANDOFF, S.QUEUED): frozenset({T.REASSIGN}),
    (S.QUEUED, S.HANDOFF): frozenset({T.DEPENDENCY_FAILED}),
    (S.ASSIGNED, S.HANDOFF): frozenset({T.DEPENDENCY_FAILED}),
    (S.REVIEW, S.HANDOFF): frozenset({T.DEPENDENCY_FAILED}),
    (S.HANDOFF, S.HANDOFF): frozenset({T.DEPENDENCY_FAILED}),
    **{(s, S.CANCELLED): frozenset({T.CANCEL}) for s in NON_TERMINAL},
}


def is_allowed(from_status: IssueStatus, to_status: IssueStatus, trigger: Trigger) -> bool:
    """True when the table lets ``trigger`` move an issue from ``from_status`` to ``to_status``."""
    return trigger in TRANSITIONS.get((from_status, to_status), frozenset())


def check_transition(from_status: IssueStatus, to_status: IssueStatus, trigger: Trigger) -> None:
    """Raise ``Frozen`` for a terminal issue, ``InvalidTransition`` for anything off the table."""
    if from_status in TERMINAL:
        raise Frozen(current_status=from_status)
    if not is_allowed(from_status, to_status, trigger):
        raise InvalidTransition(current_status=from_status, trigger=trigger)
