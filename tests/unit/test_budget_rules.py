"""Monthly budgets' rules (``domain.budgets``) and the per-task cap naming itself
(``domain.costs``): the UTC month of a time, thresholds announced once each per cap, the
narrowest exhausted scope stops the run. docs/api.md "Monthly budgets"."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta, timezone
from decimal import Decimal

import pytest
from unit_builders import NOW, make_agent, make_issue

from domain.budgets import BudgetScope, ScopeSpend, judge, month_of, thresholds_to_announce
from domain.costs import Usage, report_cost
from domain.runs import ExitReason, claim_issue
from domain.statuses import IssueStatus

A, T, C = BudgetScope.AGENT, BudgetScope.TEAM, BudgetScope.COMPANY


def _spend(scope: BudgetScope, spent: str, cap: str | None, **kw: object) -> ScopeSpend:
    ident = {A: "agt_1", T: "tm_1", C: "cmp_1"}.get(scope, "iss_1")
    return ScopeSpend(scope, ident, Decimal(spent), None if cap is None else Decimal(cap), **kw)  # type: ignore[arg-type]


def test_the_month_is_the_utc_calendar_month_of_the_time() -> None:
    assert month_of(datetime(2026, 12, 31, 23, 59, 59, 999999, tzinfo=UTC)) == "2026-12"
    assert month_of(datetime(2027, 1, 1, 0, 0, tzinfo=UTC)) == "2027-01"
    # 00:30 on 1 January in Paris is still December in UTC.
    paris = timezone(timedelta(hours=1))
    assert month_of(datetime(2027, 1, 1, 0, 30, tzinfo=paris)) == "2026-12"
    with pytest.raises(ValueError):
        month_of(datetime(2026, 1, 1))


def test_the_month_turns_at_midnight_utc_on_the_first() -> None:
    last = datetime(2026, 11, 30, 23, 59, 59, tzinfo=UTC)
    assert [month_of(last + timedelta(seconds=s)) for s in (0, 1)] == ["2026-11", "2026-12"]


def test_each_threshold_is_announced_once_however_the_spend_climbs() -> None:
    announced = 0
    heard: list[int] = []
    for spent in ("1", "4.99", "5", "5.5", "7.99", "8", "12", "20"):
        news = thresholds_to_announce(
            _spend(A, spent, "10", announced_percent=announced, announced_cap_usd=Decimal(10))
        )
        heard.extend(news)
        announced = max([announced, *news])
    assert heard == [50, 80, 100]


def test_one_report_past_several_thresholds_announces_each_of_them() -> None:
    assert thresholds_to_announce(_spend(A, "9", "10")) == [50, 80]
    assert thresholds_to_announce(_spend(A, "15", "10")) == [50, 80, 100]


def test_a_new_cap_starts_the_thresholds_afresh() -> None:
    # 100 % of $10 was announced; the cap is raised to $20 and the spend is $12.
    raised = _spend(A, "12", "20", announced_percent=100, announced_cap_usd=Decimal(10))
    assert thresholds_to_announce(raised) == [50]
    same = _spend(A, "12", "10", announced_percent=100, announced_cap_usd=Decimal(10))
    assert thresholds_to_announce(same) == []


def test_a_zero_cap_is_reached_by_any_report_and_no_cap_announces_nothing() -> None:
    assert thresholds_to_announce(_spend(A, "0", "0")) == [50, 80, 100]
    assert _spend(A, "0", "0").exhausted
    assert thresholds_to_announce(_spend(A, "1000", None)) == []
    assert not _spend(A, "1000", None).exhausted


def test_the_narrowest_exhausted_scope_stops_the_run() -> None:
    verdict = judge([_spend(C, "100", "100"), _spend(T, "5", "5"), _spend(A, "5", "50")])
    assert verdict.stopped_by is not None and verdict.stopped_by.scope is T
    assert judge([_spend(C, "99", "100"), _spend(A, "5", None)]).stopped_by is None
    assert judge([_spend(C, "100", "100"), _spend(A, "5", None)]).stopped_by == _spend(
        C, "100", "100"
    )


def test_a_cap_is_exhausted_at_the_cap_not_only_past_it() -> None:
    assert _spend(A, "10", "10").exhausted
    assert not _spend(A, "9.999999", "10").exhausted


def _running(budget: str | None = None) -> tuple[object, ...]:
    agent = make_agent("agt_1")
    issue = make_issue(
        IssueStatus.ASSIGNED,
        assigned_agent_id=agent.id,
        budget_per_task_usd=None if budget is None else Decimal(budget),
    )
    started = claim_issue(
        issue, agent, running=0, blocked=False, run_id="run_1", lease_seconds=60, now=NOW
    )
    return started.decision.issue, started.run, started.lease


def test_a_monthly_cap_reached_stops_the_run_naming_its_scope() -> None:
    issue, run, lease = _running()
    reported = report_cost(
        issue,
        run,
        lease,
        Usage(Decimal("1")),
        now=NOW,
        monthly=_spend(T, "5", "5"),  # type: ignore[arg-type]
    )
    assert reported.stopped and reported.stopped_by == (T, "tm_1")
    assert reported.run.exit_reason is ExitReason.BUDGET_EXCEEDED
    assert reported.decision.issue.status is IssueStatus.HANDOFF
    assert "monthly budget of team tm_1" in str(reported.decision.events[-1].reason)


def test_the_issues_own_cap_is_named_first_when_both_are_reached() -> None:
    issue, run, lease = _running("1")
    reported = report_cost(
        issue,
        run,
        lease,
        Usage(Decimal("1")),
        now=NOW,
        monthly=_spend(A, "5", "5"),  # type: ignore[arg-type]
    )
    assert reported.stopped_by == (BudgetScope.ISSUE, reported.decision.issue.id)
    assert reported.own_thresholds == (50, 80, 100)


def test_a_monthly_cap_not_reached_lets_the_run_go_on() -> None:
    issue, run, lease = _running()
    reported = report_cost(
        issue,
        run,
        lease,
        Usage(Decimal("1")),
        now=NOW,
        monthly=None,  # type: ignore[arg-type]
    )
    assert not reported.stopped and reported.stopped_by is None
