"""The console's pure parts: its package data, the p99 estimate, the chart's bars, the
problem's text, the board's filters, the budgets' rows and the activity's changes."""

from __future__ import annotations

import tomllib
from decimal import Decimal
from fnmatch import fnmatch
from pathlib import Path

import pytest

from api.console.activity import Change, change_rows
from api.console.board import board_filters
from api.console.ops import quantile
from api.console.render import problem_text
from api.console.spend import bars, budget_rows
from domain.errors import InvalidRequest
from domain.priorities import Priority

ROOT = Path(__file__).resolve().parents[2]
CONSOLE = ROOT / "api" / "console"


def test_every_template_and_static_file_ships_as_package_data() -> None:
    pyproject = tomllib.loads((ROOT / "pyproject.toml").read_text())
    patterns = pyproject["tool"]["setuptools"]["package-data"]["api.console"]
    files = [p for d in ("templates", "static") for p in (CONSOLE / d).rglob("*") if p.is_file()]
    assert files
    unshipped = [
        str(f.relative_to(CONSOLE))
        for f in files
        if not any(fnmatch(str(f.relative_to(CONSOLE)), pattern) for pattern in patterns)
    ]
    assert unshipped == []


def test_the_p99_is_interpolated_within_its_bucket_as_prometheus_does() -> None:
    # 100 observations: 90 at most 10 ms, 9 more by 50 ms, the last by 100 ms.
    buckets = [(0.01, 90.0), (0.05, 99.0), (0.1, 100.0), (float("inf"), 100.0)]
    assert quantile(0.99, buckets) == pytest.approx(0.05)
    assert quantile(0.5, buckets) == pytest.approx(0.01 * 50 / 90)
    assert quantile(0.99, [(0.01, 0.0), (float("inf"), 0.0)]) is None
    assert quantile(0.99, [(0.01, 1.0), (float("inf"), 100.0)]) == 0.01  # past the last bound


def test_the_tallest_bar_fills_the_plot_and_each_is_to_scale() -> None:
    drawn = bars([("2026-12-01", Decimal("2")), ("2026-12-02", Decimal("1"))], 200, 100)
    assert [(b.tick, b.height, b.y) for b in drawn] == [("12-01", 100, 0), ("12-02", 50, 50)]
    assert bars([], 200, 100) == []
    assert [b.height for b in bars([("agent", Decimal(0))], 200, 100)] == [0]
    assert bars([("a-very-long-agent-name", Decimal(1))] * 20, 200, 100)[0].tick == "a-…"


def test_a_problem_reads_as_its_title_detail_and_field_errors() -> None:
    body = {
        "title": "Invalid request",
        "detail": "1 field is invalid",
        "errors": [{"loc": ["body", "agentId"], "msg": "Field required"}],
    }
    assert problem_text(body) == "Invalid request: 1 field is invalid (agentId Field required)"
    assert problem_text({"title": "Blocked", "detail": "waits on iss_1"}) == (
        "Blocked: waits on iss_1"
    )


def test_the_board_filters_ignore_empty_fields_and_refuse_an_unknown_priority() -> None:
    f = board_filters(
        {"team": "", "agent": "agt_1", "priority": "high", "overdue": "1", "q": " x "}
    )
    assert (f.team, f.agent, f.priority, f.overdue, f.search) == (
        None,
        "agt_1",
        Priority.HIGH,
        True,
        "x",
    )
    with pytest.raises(InvalidRequest):
        board_filters({"priority": "urgent"})


def _cap(scope: str, sid: str, cap: str, spent: str) -> dict[str, object]:
    exhausted = Decimal(spent) >= Decimal(cap)
    return {"scope": scope, "scopeId": sid, "monthlyUsd": cap, "month": "2026-12",
            "spent": {"usd": spent}, "exhausted": exhausted}  # fmt: skip


def test_budget_rows_put_the_company_first_name_their_scope_and_cap_the_share() -> None:
    caps = [
        _cap("team", "tm_1", "2.00", "0.50"),
        _cap("agent", "ag_1", "1.00", "1.50"),
        _cap("company", "co_1", "0", "0"),
    ]
    rows = budget_rows(caps, {"ag_1": "writer"})
    assert [(r.scope, r.name) for r in rows] == [
        ("company", "company"),
        ("agent", "writer"),
        ("team", "tm_1"),  # a name we do not know: its id
    ]
    assert [r.share for r in rows] == [1.0, 1.0, 0.25]  # a $0 cap reads as spent; over is full
    assert [r.exhausted for r in rows] == [True, True, False]


def test_activity_changes_read_as_text_before_and_after() -> None:
    changes = {
        "status": {"before": "active", "after": "paused"},
        "teamIds": {"before": None, "after": ["tm_1", "tm_2"]},
        "disabled": {"before": False, "after": True},
        "labels": {"before": ["a"], "after": []},
    }
    assert change_rows(changes) == [
        Change("status", "active", "paused"),
        Change("teamIds", "—", "tm_1, tm_2"),
        Change("disabled", "false", "true"),
        Change("labels", "a", "(none)"),
    ]
    assert change_rows(None) == []
