"""Routines: issues created on a schedule (a cron expression in a time zone).

A routine's ``next_run_at`` is its next tick, in UTC. When the scheduler finds it due, one
``FireRoutine`` command (its id derived from the routine and the tick, so it is applied once
however many times it is sent) decides what the tick creates:

- each due tick is **on time** when it is at most ``ON_TIME_S`` old, else **missed** (the
  scheduler was down, or the routine was paused over it);
- at most one issue per firing, for the latest due tick: created when that tick is on time;
  when it is missed, ``catchUp: "one"`` still creates it (one issue standing for every
  missed tick: ``ticks`` counts them) and ``catchUp: "skip"`` creates nothing;
- then ``next_run_at`` moves to the first tick after ``now``.

The cron expression has the five standard fields (minute, hour, day of month, month, day of
week), read by ``cronsim`` in the routine's time zone, so ``0 9 * * 1-5`` is 09:00 local on
weekdays across daylight-saving changes.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta, tzinfo
from enum import StrEnum
from itertools import islice

from cronsim import CronSim, CronSimError

from domain.actors import Actor
from domain.errors import InvalidRequest

__all__ = [
    "CRON_FIELDS",
    "MAX_COUNTED_TICKS",
    "ON_TIME_S",
    "ROUTINES",
    "CatchUp",
    "Firing",
    "check_cron",
    "fire",
    "next_tick",
    "render_title",
]

#: A cron expression's fields: minute, hour, day of month, month, day of week.
CRON_FIELDS = 5
#: How late a tick may be noticed and still count as on time, in seconds.
ON_TIME_S = 60
#: Who creates a routine's issues (their ``issue.created`` activity names it).
ROUTINES = str(Actor.system("routines"))
#: Missed ticks are counted up to this many (a minutely routine paused for a year stops
#: counting there rather than walking half a million ticks).
MAX_COUNTED_TICKS = 10_000


class CatchUp(StrEnum):
    """What a routine does about ticks it missed."""

    SKIP = "skip"  #: missed ticks create nothing
    ONE = "one"  #: one issue for all the missed ticks together


def check_cron(cron: str, zone: tzinfo, loc: list[str | int]) -> None:
    """Refuse what is not a five-field cron expression with at least one tick ahead."""
    if len(cron.split()) != CRON_FIELDS:
        raise InvalidRequest.at(
            loc, "a cron expression has 5 fields: minute hour day-of-month month day-of-week"
        )
    try:
        next(iter(CronSim(cron, datetime(2000, 1, 1, tzinfo=zone))))
    except (CronSimError, StopIteration, ValueError) as exc:
        raise InvalidRequest.at(loc, f"not a cron expression agentq can read: {exc}") from exc


def next_tick(cron: str, zone: tzinfo, after: datetime) -> datetime:
    """The first tick strictly after ``after``, in UTC."""
    return next(iter(CronSim(cron, after.astimezone(zone)))).astimezone(UTC)


def _ticks_until(cron: str, zone: tzinfo, first: datetime, now: datetime) -> tuple[int, datetime]:
    """How many ticks fall in ``[first, now]`` (``first`` is a tick; counted up to
    ``MAX_COUNTED_TICKS``) and the latest of them."""
    count, latest = 1, first
    for tick in islice(CronSim(cron, first.astimezone(zone)), MAX_COUNTED_TICKS - 1):
        if tick > now:
            break
        count, latest = count + 1, tick.astimezone(UTC)
    return count, latest


@dataclass(frozen=True, slots=True)
class Firing:
    """What one firing of a due routine does."""

    #: The tick the new issue is for (None: this firing creates nothing).
    tick: datetime | None
    #: How many due ticks the issue stands for (1 when on time; more after missed ticks).
    ticks: int
    #: The routine's next tick, after ``now``.
    next_run_at: datetime


def fire(cron: str, zone: tzinfo, catch_up: CatchUp, due: datetime, now: datetime) -> Firing:
    """A routine due at ``due`` (its ``next_run_at``, at or before ``now``), fired at ``now``."""
    count, latest = _ticks_until(cron, zone, due, now)
    following = next_tick(cron, zone, max(now, latest))
    on_time = now - latest <= timedelta(seconds=ON_TIME_S)
    if on_time or catch_up is CatchUp.ONE:
        return Firing(latest, count, following)
    return Firing(None, count, following)


def render_title(template: str, tick: datetime, zone: tzinfo) -> str:
    """``{date}``, ``{time}`` and ``{datetime}`` in a title become the tick's local date
    (``2026-04-13``), time (``09:00``) and both (``2026-04-13 09:00``); other text, braces
    included, stays as written."""
    local = tick.astimezone(zone)
    date, time = local.strftime("%Y-%m-%d"), local.strftime("%H:%M")
    return (
        template.replace("{datetime}", f"{date} {time}")
        .replace("{date}", date)
        .replace("{time}", time)
    )
