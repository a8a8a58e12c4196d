"""Routines over HTTP: create, read, pause and resume, change, delete, and what is refused.

The ticks themselves (issues created, missed ticks, two schedulers) are in
tests/integration/test_routine_ticks.py, which moves a routine's next tick into the past.
"""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

import pytest

from domain.routines import next_tick
from tests.e2e.client import Api, Company, assert_invalid, assert_problem

WEEKDAYS = "0 9 * * 1-5"


def _routine(**fields: Any) -> dict[str, Any]:
    return {
        "name": "weekly report",
        "cron": WEEKDAYS,
        "timezone": "Europe/Paris",
        "template": {"title": "Weekly report {date}", "labels": ["report"]},
        **fields,
    }


def _parse(text: str) -> datetime:
    return datetime.fromisoformat(text.replace("Z", "+00:00"))


@pytest.fixture
def acme(api: Api) -> Company:
    return api.new_company()


def test_a_routine_is_created_with_its_next_tick_and_read_back_where_location_says(
    acme: Company,
) -> None:
    before = datetime.now(UTC)
    response = acme.call("POST", "/routines", _routine(catchUp="one"))
    assert response.status_code == 201, response.text
    routine = response.json()
    assert routine["id"].startswith("rtn_")
    assert response.headers["location"] == f"{acme.prefix}/routines/{routine['id']}"
    assert routine["paused"] is False and routine["catchUp"] == "one"
    assert routine["template"] == {
        "title": "Weekly report {date}",
        "labels": ["report"],
        "maxAttempts": 3,
    }
    expected = next_tick(WEEKDAYS, ZoneInfo("Europe/Paris"), before)
    assert _parse(routine["nextRunAt"]) == expected
    assert expected.astimezone(ZoneInfo("Europe/Paris")).hour == 9
    assert acme.ok("GET", f"/routines/{routine['id']}") == routine
    assert [r["id"] for r in acme.ok("GET", "/routines")["data"]] == [routine["id"]]
    assert acme.ok("GET", f"/routines/{routine['id']}/runs") == {
        "data": [],
        "nextCursor": None,
        "hasMore": False,
    }


def test_pausing_keeps_the_tick_and_resuming_or_a_new_schedule_moves_it_past_now(
    acme: Company,
) -> None:
    routine = acme.ok("POST", "/routines", _routine(cron="0 0 1 1 *", timezone="UTC"), status=201)
    path = f"/routines/{routine['id']}"
    paused = acme.ok("PATCH", path, {"paused": True})
    assert paused["paused"] is True and paused["nextRunAt"] == routine["nextRunAt"]
    resumed = acme.ok("PATCH", path, {"paused": False, "name": "new year"})
    assert resumed["paused"] is False and resumed["name"] == "new year"
    assert _parse(resumed["nextRunAt"]).month == 1
    hourly = acme.ok("PATCH", path, {"cron": "0 * * * *"})
    next_hour = _parse(hourly["nextRunAt"])
    assert next_hour.minute == 0 and next_hour - datetime.now(UTC) <= timedelta(hours=1)
    assert acme.ok("GET", path) == hourly


def test_a_deleted_routine_is_gone_and_deleting_it_again_is_not_found(acme: Company) -> None:
    routine = acme.ok("POST", "/routines", _routine(), status=201)
    path = f"/routines/{routine['id']}"
    assert acme.call("DELETE", path).status_code == 204
    assert_problem(acme.call("GET", path), 404, "not_found")
    assert_problem(acme.call("DELETE", path), 404, "not_found")
    assert_problem(acme.call("GET", f"{path}/runs"), 404, "not_found")


@pytest.mark.parametrize(
    ("fields", "loc"),
    [
        ({"cron": "61 * * * *"}, "cron"),
        ({"cron": "@daily"}, "cron"),
        ({"cron": "0 9 31 2 *"}, "cron"),
        ({"timezone": "Mars/Olympus_Mons"}, "timezone"),
        ({"timezone": "../../etc/passwd"}, "timezone"),
        ({"catchUp": "all"}, "catchUp"),
        ({"template": {"title": ""}}, "title"),
        (
            {"template": {"title": "x", "assignedAgentId": "agt_1", "assignedTeamId": "tm_1"}},
            "template",
        ),
        ({"template": {"title": "x", "priority": "urgent"}}, "priority"),
        ({"template": {"title": "x", "assignedAgentId": "agt_nobody"}}, "assignedAgentId"),
        ({"template": {"title": "x", "assignedTeamId": "tm_nobody"}}, "assignedTeamId"),
        ({"paused": "yes"}, "paused"),
        ({"every": "day"}, "every"),
    ],
)
def test_a_bad_routine_is_refused_naming_what_is_wrong_and_nothing_is_created(
    acme: Company, fields: dict[str, Any], loc: str
) -> None:
    assert_invalid(acme.call("POST", "/routines", _routine(**fields)), loc)
    assert acme.ok("GET", "/routines")["data"] == []


def test_a_bad_change_is_refused_and_the_routine_stays_as_it_was(acme: Company) -> None:
    routine = acme.ok("POST", "/routines", _routine(), status=201)
    path = f"/routines/{routine['id']}"
    for body, loc in [
        ({"cron": "* * *"}, "cron"),
        ({"template": {"title": "x", "assignedAgentId": "agt_nobody"}}, "assignedAgentId"),
        ({"timezone": "Nowhere"}, "timezone"),
    ]:
        assert_invalid(acme.call("PATCH", path, body), loc)
    errors = assert_invalid(acme.call("PATCH", path, {"paused": None}))
    assert "paused may not be null" in errors[0]["msg"]
    assert acme.ok("GET", path) == routine


def test_an_agent_token_may_not_touch_routines(acme: Company) -> None:
    _, token = acme.agent_with_token()
    assert_problem(acme.call("GET", "/routines", token=token), 403, "forbidden")
    assert_problem(acme.call("POST", "/routines", _routine(), token=token), 403, "forbidden")
