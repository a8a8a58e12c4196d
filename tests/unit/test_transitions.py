"""The transition table (``domain.statuses``) and ``check_transition``.

Every (from, to, trigger) in IssueStatus x IssueStatus x Trigger is checked against the
table itself: the table is the single source of truth, so it is read, never re-typed.
A few facts of the docs/api.md state machine are then asserted against the table.
"""

from __future__ import annotations

from collections import deque
from itertools import product

import pytest

from domain.errors import DomainError, Frozen, InvalidTransition
from domain.statuses import (
    NON_TERMINAL,
    TERMINAL,
    TRANSITIONS,
    IssueStatus,
    Trigger,
    check_transition,
    is_allowed,
)

S = IssueStatus
T = Trigger

EVERY_MOVE = list(product(IssueStatus, IssueStatus, Trigger))
ALLOWED = [
    (f, t, trig)
    for f, t, trig in EVERY_MOVE
    if f not in TERMINAL and trig in TRANSITIONS.get((f, t), frozenset())
]
OFF_TABLE = [
    (f, t, trig)
    for f, t, trig in EVERY_MOVE
    if f not in TERMINAL and trig not in TRANSITIONS.get((f, t), frozenset())
]
FROM_TERMINAL = [(f, t, trig) for f, t, trig in EVERY_MOVE if f in TERMINAL]


def _move_id(move: tuple[IssueStatus, IssueStatus, Trigger]) -> str:
    f, t, trig = move
    return f"{f}->{t}-by-{trig}"


def _reachable_from(start: IssueStatus) -> set[IssueStatus]:
    seen = {start}
    todo = deque([start])
    while todo:
        here = todo.popleft()
        for (f, t), triggers in TRANSITIONS.items():
            if f is here and triggers and t not in seen:
                seen.add(t)
                todo.append(t)
    return seen


def test_the_generated_cases_cover_the_whole_product_of_statuses_and_triggers() -> None:
    assert len(EVERY_MOVE) == len(IssueStatus) ** 2 * len(Trigger)
    assert len(ALLOWED) + len(OFF_TABLE) + len(FROM_TERMINAL) == len(EVERY_MOVE)
    assert len(ALLOWED) == sum(len(triggers) for triggers in TRANSITIONS.values())


@pytest.mark.parametrize(
    ("from_status", "to_status", "trigger"), ALLOWED, ids=map(_move_id, ALLOWED)
)
def test_a_move_listed_in_the_table_is_allowed(
    from_status: IssueStatus, to_status: IssueStatus, trigger: Trigger
) -> None:
    assert is_allowed(from_status, to_status, trigger)
    check_transition(from_status, to_status, trigger)


@pytest.mark.parametrize(
    ("from_status", "to_status", "trigger"), OFF_TABLE, ids=map(_move_id, OFF_TABLE)
)
def test_a_move_off_the_table_is_an_invalid_transition_naming_the_current_status(
    from_status: IssueStatus, to_status: IssueStatus, trigger: Trigger
) -> None:
    assert not is_allowed(from_status, to_status, trigger)
    with pytest.raises(InvalidTransition) as caught:
        check_transition(from_status, to_status, trigger)
    assert caught.value.code == "invalid_transition"
    assert caught.value.extra == {"currentStatus": from_status.value}
    assert type(caught.value.extra["currentStatus"]) is str


@pytest.mark.parametrize(
    ("from_status", "to_status", "trigger"), FROM_TERMINAL, ids=map(_move_id, FROM_TERMINAL)
)
def test_a_terminal_issue_refuses_every_transition_as_frozen(
    from_status: IssueStatus, to_status: IssueStatus, trigger: Trigger
) -> None:
    assert not is_allowed(from_status, to_status, trigger)
    with pytest.raises(Frozen) as caught:
        check_transition(from_status, to_status, trigger)
    assert caught.value.code == "frozen"
    assert caught.value.extra == {"currentStatus": from_status.value}
    assert not isinstance(caught.value, InvalidTransition)


def test_both_refusals_are_domain_errors() -> None:
    assert issubclass(Frozen, DomainError)
    assert issubclass(InvalidTransition, DomainError)


# --- facts of the docs/api.md state machine, asserted against the table ---------------------


def test_done_failed_and_cancelled_are_the_terminal_statuses_and_the_rest_are_not() -> None:
    assert {S.DONE, S.FAILED, S.CANCELLED} == TERMINAL
    assert set(IssueStatus) - TERMINAL == NON_TERMINAL
    assert not TERMINAL & NON_TERMINAL


def test_every_entry_of_the_table_names_at_least_one_trigger() -> None:
    assert all(triggers for triggers in TRANSITIONS.values())


def test_nothing_leaves_a_terminal_status() -> None:
    assert not [pair for pair in TRANSITIONS if pair[0] in TERMINAL]


@pytest.mark.parametrize("status", sorted(NON_TERMINAL))
def test_every_non_terminal_status_can_be_cancelled(status: IssueStatus) -> None:
    assert is_allowed(status, S.CANCELLED, T.CANCEL)


def test_cancel_only_ever_leads_to_cancelled_and_only_cancel_leads_there() -> None:
    for (_, to), triggers in TRANSITIONS.items():
        assert (T.CANCEL in triggers) == (to is S.CANCELLED)
        if to is S.CANCELLED:
            assert triggers == {T.CANCEL}


def test_a_running_issue_goes_back_to_the_queue_when_reassigned() -> None:
    assert is_allowed(S.RUNNING, S.QUEUED, T.REASSIGN)


def test_a_running_issue_goes_back_to_the_queue_when_its_lease_expires_or_it_fails_retryably() -> (
    None
):
    assert is_allowed(S.RUNNING, S.QUEUED, T.LEASE_EXPIRED)
    assert is_allowed(S.RUNNING, S.QUEUED, T.FAIL)


def test_a_running_issue_cannot_be_reassigned_straight_to_another_agent() -> None:
    # docs/api.md: reassign while running goes through ``queued`` (then assign), never directly.
    assert not is_allowed(S.RUNNING, S.ASSIGNED, T.REASSIGN)


def test_the_seed_happy_path_queued_assigned_running_review_done_is_on_the_table() -> None:
    path = [
        (S.QUEUED, S.ASSIGNED, T.ASSIGN),
        (S.ASSIGNED, S.RUNNING, T.CLAIM),
        (S.RUNNING, S.REVIEW, T.COMPLETE),
        (S.REVIEW, S.DONE, T.ACCEPT),
    ]
    assert all(is_allowed(*step) for step in path)


def test_only_a_claim_starts_a_run_and_only_from_assigned() -> None:
    into_running = {
        pair: triggers for pair, triggers in TRANSITIONS.items() if pair[1] is S.RUNNING
    }
    assert into_running == {(S.ASSIGNED, S.RUNNING): {T.CLAIM}}


def test_the_dispatcher_only_ever_moves_a_queued_issue_to_assigned() -> None:
    dispatched = [pair for pair, triggers in TRANSITIONS.items() if T.DISPATCH in triggers]
    assert dispatched == [(S.QUEUED, S.ASSIGNED)]
    assert is_allowed(S.QUEUED, S.ASSIGNED, T.ASSIGN)


def test_assign_moves_only_queued_or_handoff_issues_to_assigned() -> None:
    assigned_from = {f for (f, t), triggers in TRANSITIONS.items() if T.ASSIGN in triggers}
    assert assigned_from == {S.QUEUED, S.HANDOFF}
    assert all(t is S.ASSIGNED for (_, t), tr in TRANSITIONS.items() if T.ASSIGN in tr)


def test_a_rejected_review_goes_back_to_assigned_and_an_accepted_one_is_done() -> None:
    assert is_allowed(S.REVIEW, S.ASSIGNED, T.REJECT)
    assert is_allowed(S.REVIEW, S.DONE, T.ACCEPT)
    done_by = {pair: triggers for pair, triggers in TRANSITIONS.items() if pair[1] is S.DONE}
    assert done_by == {(S.REVIEW, S.DONE): {T.ACCEPT}}


def test_a_failed_dependency_hands_off_every_live_status_and_leads_nowhere_else() -> None:
    sources = {f for (f, t), tr in TRANSITIONS.items() if T.DEPENDENCY_FAILED in tr}
    targets = {t for (f, t), tr in TRANSITIONS.items() if T.DEPENDENCY_FAILED in tr}
    assert sources == NON_TERMINAL
    assert targets == {S.HANDOFF}


def test_a_handoff_is_picked_up_by_a_human_assign_or_reassign() -> None:
    assert is_allowed(S.HANDOFF, S.ASSIGNED, T.ASSIGN)
    assert is_allowed(S.HANDOFF, S.ASSIGNED, T.REASSIGN)
    assert is_allowed(S.HANDOFF, S.QUEUED, T.REASSIGN)
    assert not is_allowed(S.HANDOFF, S.ASSIGNED, T.DISPATCH)


def test_only_a_running_issue_can_fail() -> None:
    into_failed = {pair[0] for pair in TRANSITIONS if pair[1] is S.FAILED}
    assert into_failed == {S.RUNNING}


def test_every_status_is_reachable_from_queued() -> None:
    assert _reachable_from(S.QUEUED) == set(IssueStatus)


@pytest.mark.parametrize("status", sorted(NON_TERMINAL))
def test_every_live_status_can_still_reach_done(status: IssueStatus) -> None:
    assert S.DONE in _reachable_from(status)
