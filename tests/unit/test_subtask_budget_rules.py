"""``budget.includeSubtasks`` (``domain.costs``, ``domain.budgets.SubtreeSpend``): a parent's
cap counts its own spend plus its subtasks'; a subtask's report that brings it to the cap
stops the subtask's run naming the parent; the parent's own reports are judged on the total.
docs/api.md "Monthly budgets"."""

from __future__ import annotations

from decimal import Decimal

from unit_builders import NOW, make_agent, make_issue

from domain.budgets import BudgetScope, SubtreeSpend
from domain.costs import Usage, ancestor_stop, report_cost
from domain.model import Issue
from domain.runs import ExitReason, Lease, Run, claim_issue
from domain.statuses import IssueStatus


def _running(budget: str | None = None, include: bool = False) -> tuple[Issue, Run, Lease]:
    agent = make_agent("agt_1")
    issue = make_issue(
        IssueStatus.ASSIGNED,
        id="iss_sub",
        parent_id="iss_parent",
        assigned_agent_id=agent.id,
        budget_per_task_usd=None if budget is None else Decimal(budget),
        budget_include_subtasks=include,
    )
    started = claim_issue(
        issue, agent, running=0, blocked=False, run_id="run_1", lease_seconds=60, now=NOW
    )
    assert started.run is not None and started.lease is not None
    return started.decision.issue, started.run, started.lease


def _up(ident: str, own: str, subtasks: str, cap: str) -> SubtreeSpend:
    return SubtreeSpend(ident, Decimal(own), Decimal(subtasks), Decimal(cap))


def test_a_parents_total_is_its_own_spend_plus_its_subtasks_and_the_cap_is_reached_at_it() -> None:
    assert _up("iss_p", "0.4", "0.6", "1").spent_usd == Decimal("1.0")
    assert _up("iss_p", "0.4", "0.6", "1").exhausted
    assert not _up("iss_p", "0.4", "0.599999", "1").exhausted


def test_the_nearest_exhausted_ancestor_is_the_one_that_stops_the_run() -> None:
    parent, grandparent = _up("iss_p", "0", "0.5", "1"), _up("iss_g", "0", "3", "2")
    assert ancestor_stop([parent, grandparent]) == grandparent
    spent_parent = _up("iss_p", "0", "1.2", "1")
    assert ancestor_stop([spent_parent, grandparent]) == spent_parent
    assert ancestor_stop([parent]) is None
    assert ancestor_stop([]) is None


def test_a_subtasks_report_reaching_its_parents_cap_stops_the_run_naming_the_parent() -> None:
    issue, run, lease = _running()
    reached = _up("iss_parent", "0", "1.2", "1")
    reported = report_cost(issue, run, lease, Usage(Decimal("0.6")), now=NOW, ancestor=reached)
    assert reported.stopped and reported.stopped_by == (BudgetScope.ISSUE, "iss_parent")
    assert reported.run.exit_reason is ExitReason.BUDGET_EXCEEDED
    assert reported.decision.issue.status is IssueStatus.HANDOFF
    assert "parent issue iss_parent" in str(reported.decision.events[-1].reason)


def test_a_parent_under_its_cap_lets_the_subtasks_run_go_on() -> None:
    issue, run, lease = _running()
    under = _up("iss_parent", "0", "0.6", "1")
    reported = report_cost(issue, run, lease, Usage(Decimal("0.6")), now=NOW, ancestor=None)
    assert not reported.stopped
    assert ancestor_stop([under]) is None


def test_the_subtasks_own_cap_is_named_before_its_parents() -> None:
    issue, run, lease = _running("0.5")
    reached = _up("iss_parent", "0", "1.2", "1")
    reported = report_cost(issue, run, lease, Usage(Decimal("0.6")), now=NOW, ancestor=reached)
    assert reported.stopped_by == (BudgetScope.ISSUE, issue.id)


def test_a_parents_own_report_is_judged_on_its_spend_plus_its_subtasks_when_it_includes_them() -> (
    None
):
    issue, run, lease = _running("1", include=True)
    reported = report_cost(
        issue, run, lease, Usage(Decimal("0.3")), now=NOW, subtasks_usd=Decimal("0.7")
    )
    assert reported.stopped_by == (BudgetScope.ISSUE, issue.id)
    # $0.70 was spent before it (50 % already passed): it reaches 80 % and 100 %.
    assert reported.own_thresholds == (80, 100)
    assert reported.decision.issue.spent_usd == Decimal("0.3")  # its own spend stays its own


def test_without_include_subtasks_a_parents_own_report_ignores_what_its_subtasks_spent() -> None:
    issue, run, lease = _running("1", include=False)
    reported = report_cost(
        issue, run, lease, Usage(Decimal("0.3")), now=NOW, subtasks_usd=Decimal("0.7")
    )
    assert not reported.stopped and reported.own_thresholds == ()
