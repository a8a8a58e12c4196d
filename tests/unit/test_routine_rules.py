"""The routine rules: cron ticks in a time zone, what a firing creates, titles."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest

from domain.errors import InvalidRequest
from domain.routines import (
    MAX_COUNTED_TICKS,
    ON_TIME_S,
    CatchUp,
    check_cron,
    fire,
    next_tick,
    render_title,
)

PARIS = ZoneInfo("Europe/Paris")


def utc(*args: int) -> datetime:
    return datetime(*args, tzinfo=UTC)


def test_weekday_mornings_in_paris_are_nine_local_in_winter_and_in_summer() -> None:
    # Friday 27 March 2026, 12:00 Paris (CET, UTC+1); DST starts on Sunday 29 March.
    friday = utc(2026, 3, 27, 11, 0)
    monday = next_tick("0 9 * * 1-5", PARIS, friday)
    assert monday == utc(2026, 3, 30, 7, 0)  # 09:00 CEST is 07:00 UTC
    assert next_tick("0 9 * * 1-5", PARIS, utc(2026, 3, 26, 11, 0)) == utc(2026, 3, 27, 8, 0)


def test_the_next_tick_is_strictly_after_the_moment_given() -> None:
    on_a_tick = utc(2026, 4, 13, 9, 0)
    assert next_tick("0 9 * * *", ZoneInfo("UTC"), on_a_tick) == utc(2026, 4, 14, 9, 0)
    assert next_tick("* * * * *", ZoneInfo("UTC"), on_a_tick) == utc(2026, 4, 13, 9, 1)


@pytest.mark.parametrize(
    "cron",
    ["", "* * * *", "* * * * * *", "@daily", "61 * * * *", "* 25 * * *", "0 9 31 2 *", "x * * * *"],
)
def test_what_is_not_a_five_field_cron_with_a_tick_is_refused_naming_the_field(cron: str) -> None:
    with pytest.raises(InvalidRequest) as refused:
        check_cron(cron, PARIS, ["cron"])
    assert refused.value.errors[0].loc == ("cron",)


@pytest.mark.parametrize("cron", ["0 9 * * 1-5", "*/15 * * * *", "0 0 1 1 *", "30 8 1,15 * *"])
def test_ordinary_cron_expressions_are_taken(cron: str) -> None:
    check_cron(cron, PARIS, ["cron"])


def test_a_tick_noticed_on_time_creates_its_issue_and_moves_to_the_next_tick() -> None:
    due = utc(2026, 4, 13, 9, 0)
    for catch_up in CatchUp:
        firing = fire("0 9 * * *", ZoneInfo("UTC"), catch_up, due, due + timedelta(seconds=2))
        assert (firing.tick, firing.ticks) == (due, 1)
        assert firing.next_run_at == utc(2026, 4, 14, 9, 0)


def test_a_tick_noticed_late_is_missed_skip_creates_nothing_one_creates_one_for_all() -> None:
    due = utc(2026, 4, 13, 6, 0)
    now = utc(2026, 4, 13, 10, 30)  # hourly ticks 6:00..10:00 have come; 10:00 is 30 min late
    skipped = fire("0 * * * *", ZoneInfo("UTC"), CatchUp.SKIP, due, now)
    caught_up = fire("0 * * * *", ZoneInfo("UTC"), CatchUp.ONE, due, now)
    assert (skipped.tick, skipped.ticks) == (None, 5)
    assert (caught_up.tick, caught_up.ticks) == (utc(2026, 4, 13, 10, 0), 5)
    assert skipped.next_run_at == caught_up.next_run_at == utc(2026, 4, 13, 11, 0)


def test_the_latest_tick_still_on_time_is_created_even_after_missed_ones() -> None:
    due = utc(2026, 4, 13, 9, 0)
    now = utc(2026, 4, 13, 9, 5) + timedelta(seconds=ON_TIME_S - 1)  # 9:05 is on time
    firing = fire("* * * * *", ZoneInfo("UTC"), CatchUp.SKIP, due, now)
    assert (firing.tick, firing.ticks) == (utc(2026, 4, 13, 9, 5), 6)


def test_a_year_of_minutely_ticks_is_counted_only_up_to_the_cap() -> None:
    due = utc(2025, 4, 13, 9, 0)
    firing = fire("* * * * *", ZoneInfo("UTC"), CatchUp.ONE, due, utc(2026, 4, 13, 9, 0, 30))
    assert firing.ticks == MAX_COUNTED_TICKS
    assert firing.next_run_at == utc(2026, 4, 13, 9, 1)


def test_title_placeholders_become_the_ticks_local_date_and_time() -> None:
    tick = utc(2026, 4, 12, 22, 30)  # 00:30 on the 13th in Paris (CEST)
    assert render_title("Weekly report {date}", tick, PARIS) == "Weekly report 2026-04-13"
    assert render_title("{time} / {datetime}", tick, PARIS) == "00:30 / 2026-04-13 00:30"
    assert render_title("{other} {date", tick, PARIS) == "{other} {date"
