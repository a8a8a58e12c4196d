"""Routine ticks on the distributed stack with two schedulers: each tick creates its issue
once, missed ticks follow ``catchUp``, and the routine moves on to its next tick.

A test cannot wait for a real schedule, so it moves routines' ``next_run_at`` into the past
in the database (what a scheduler that was down, or a tick that has just come, looks like).
"""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.e2e.client import Api, Company
from tests.procs import SWEEP_INTERVAL_S, Stack


def _create(acme: Company, name: str, cron: str, catch_up: str, **template: Any) -> str:
    body = {
        "name": name,
        "cron": cron,
        "catchUp": catch_up,
        "template": {"title": f"{name} {{date}}", **template},
    }
    return str(acme.ok("POST", "/routines", body, status=201)["id"])


def _due_at(engine: Engine, routine_id: str, when: datetime) -> None:
    with engine.begin() as conn:
        conn.execute(
            t.routines.update().where(t.routines.c.id == routine_id).values(next_run_at=when)
        )


def _all_moved_on(acme: Company, ids: list[str], now: datetime, timeout_s: float = 20) -> None:
    deadline = time.monotonic() + timeout_s
    while True:
        nexts = [acme.ok("GET", f"/routines/{r}")["nextRunAt"] for r in ids]
        if all(datetime.fromisoformat(n.replace("Z", "+00:00")) > now for n in nexts):
            return
        assert time.monotonic() < deadline, nexts
        time.sleep(0.2)


def test_each_due_tick_creates_its_issue_once_and_missed_ticks_follow_catch_up(
    distributed: Stack, engine: Engine
) -> None:
    second = distributed.start_scheduler("scheduler-2")
    try:
        with Api(distributed.base_url, distributed.admin_token) as api:
            acme = api.new_company()
            agent = acme.agent("reporter")
            # Yearly: it comes due here (10 s ago, on time) and not again during the test.
            on_time = _create(acme, "on time", "0 0 1 1 *", "skip", assignedAgentId=agent["id"])
            # Every minute of one hour two hours ago: 60 ticks, all missed.
            now = datetime.now(UTC)
            hour = (now - timedelta(hours=2)).replace(minute=0, second=0, microsecond=0)
            cron = f"* {hour.hour} * * *"
            skipped = _create(acme, "skipped", cron, "skip")
            caught_up = _create(
                acme,
                "caught up",
                cron,
                "one",
                priority="high",
                description="every field of the template reaches the issue",
                labels=["weekly", "report"],
                budget={"perTaskUsd": 0.25, "includeSubtasks": True},
                maxAttempts=5,
            )
            _due_at(engine, on_time, now - timedelta(seconds=10))
            _due_at(engine, skipped, hour)
            _due_at(engine, caught_up, hour)
            _all_moved_on(acme, [on_time, skipped, caught_up], now)
            time.sleep(4 * SWEEP_INTERVAL_S)  # both schedulers sweep a few more times

            runs = {
                r: acme.ok("GET", f"/routines/{r}/runs")["data"]
                for r in (on_time, skipped, caught_up)
            }
            assert runs[skipped] == []
            (first,) = runs[on_time]
            (all_missed,) = runs[caught_up]
            assert first["ticks"] == 1 and all_missed["ticks"] == 60
            assert all_missed["tickAt"] == (hour + timedelta(minutes=59)).isoformat(
                timespec="milliseconds"
            ).replace("+00:00", "Z")
            issue = acme.ok("GET", f"/issues/{first['issueId']}")
            assert issue["title"] == f"on time {first['tickAt'][:10]}"
            assert issue["assignedAgentId"] == agent["id"] and issue["status"] == "assigned"
            late = acme.ok("GET", f"/issues/{all_missed['issueId']}")
            assert late["title"] == f"caught up {hour.date().isoformat()}"
            assert late["priority"] == "high" and late["maxAttempts"] == 5
            assert late["description"] == "every field of the template reaches the issue"
            assert sorted(late["labels"]) == ["report", "weekly"]
            assert late["budget"]["perTaskUsd"] == 0.25 and late["budget"]["includeSubtasks"]
            tomorrow = acme.ok("GET", f"/routines/{caught_up}")["nextRunAt"]
            assert tomorrow.startswith((hour + timedelta(days=1)).date().isoformat())
            created = acme.ok("GET", "/activity", params={"type": "issue.created"})["data"]
            assert sorted(e["issueId"] for e in created) == sorted(
                [first["issueId"], all_missed["issueId"]]
            )
            assert {e["actor"] for e in created} == {"system:routines"}
    finally:
        second.stop()
    with engine.connect() as conn:
        issues = conn.execute(
            sa.select(sa.func.count()).where(t.issues.c.company_id == acme.id)
        ).scalar_one()
    assert issues == 2


def test_a_paused_routine_does_not_fire_when_due(distributed: Stack, engine: Engine) -> None:
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        routine = _create(acme, "paused", "0 0 1 1 *", "one")
        acme.ok("PATCH", f"/routines/{routine}", {"paused": True})
        _due_at(engine, routine, datetime.now(UTC) - timedelta(seconds=5))
        time.sleep(4 * SWEEP_INTERVAL_S)
        assert acme.ok("GET", f"/routines/{routine}/runs")["data"] == []
        assert acme.ok("GET", "/issues")["data"] == []
