"""The costs page: spend per day as a bar chart (inline SVG, drawn here: no chart library),
and spend per agent, team, label or model over the same window, charted and tabled.
The sums are the API's own roll-up (``GET /costs``'s ``cost_rollup``); per model, the cost
events (the roll-ups keep no model). Then the monthly budgets, as ``GET /budgets`` reads them
(``list_budgets``): each cap with this month's spend."""

from __future__ import annotations

from dataclasses import dataclass
from datetime import timedelta
from decimal import Decimal
from typing import Any

from litestar import Request, get
from litestar.response import Template

from api.console.render import choice, names_of, page
from api.console.session import signed_in_as
from api.services import services
from domain.errors import InvalidRequest
from domain.money import from_micros
from service.clock import utc_now
from service.reads.budgets import list_budgets
from service.reads.console import daily_spend_by, spend_by_model
from service.reads.costs import cost_rollup
from service.store.costs import whole_hour

__all__ = ["ROUTES", "bars", "budget_rows"]

Req = Request[Any, Any, Any]

#: The windows the page offers, in days.
WINDOWS = (7, 14, 30, 90)
GROUPS = ("agent", "team", "label", "model")
#: Keys shown per group, the most spent first.
SHOWN = 20
#: Monthly caps listed (a company has one per agent and team at most, and its own).
CAPS = 100


@dataclass(frozen=True, slots=True)
class Bar:
    label: str
    #: What the axis says under the bar (a day's ``MM-DD``, a key cut to fit).
    tick: str
    usd: Decimal
    x: float
    y: float
    width: float
    height: float


def _tick(label: str, room: int) -> str:
    if len(label) == 10 and label[4] == "-":  # a day, YYYY-MM-DD
        return label[5:]
    return label if len(label) <= room else label[: room - 1] + "…"


def bars(values: list[tuple[str, Decimal]], width: float, height: float) -> list[Bar]:
    """Vertical bars for ``values`` in a ``width`` x ``height`` plot (the tallest fills it)."""
    if not values:
        return []
    top = max((v for _, v in values), default=Decimal(0)) or Decimal(1)
    step = width / len(values)
    room = max(int(step / 7), 3)  # characters of 11 px text under a bar
    out = []
    for n, (label, value) in enumerate(values):
        h = float(value / top) * height
        x = n * step + step * 0.1
        out.append(Bar(label, _tick(label, room), value, x, height - h, step * 0.8, h))
    return out


@dataclass(frozen=True, slots=True)
class Segment:
    """One key's part of a day's bar; ``shade`` picks its colour (the legend names it)."""

    key: str
    usd: Decimal
    shade: int
    x: float
    y: float
    width: float
    height: float


#: Keys stacked in the daily chart (the most spent); the rest are one "others" segment.
STACKED = 5


def stacked(
    days: list[str],
    per_day: dict[str, dict[str, Decimal]],
    keys: list[str],
    width: float,
    height: float,
) -> list[tuple[str, float, list[Segment]]]:
    """Per day (its tick, its centre): the keys' segments, bottom up; a segment for the
    keys not among ``keys`` last. The tallest day fills the plot."""
    totals = [sum(per_day.get(d, {}).values(), Decimal(0)) for d in days]
    top = max(totals, default=Decimal(0)) or Decimal(1)
    step = width / max(len(days), 1)
    out = []
    for n, day in enumerate(days):
        spent = per_day.get(day, {})
        parts = [(k, spent.get(k, Decimal(0))) for k in keys]
        parts.append(("others", sum((v for k, v in spent.items() if k not in keys), Decimal(0))))
        y, segments = height, []
        for shade, (key, usd) in enumerate(parts):
            if not usd:
                continue
            h = float(usd / top) * height
            y -= h
            segments.append(Segment(key, usd, shade, n * step + step * 0.1, y, step * 0.8, h))
        out.append((day[5:], n * step + step / 2, segments))
    return out


@dataclass(frozen=True, slots=True)
class BudgetRow:
    scope: str
    scope_id: str
    #: The agent's or team's name (its id if it has none we know); "company" for the company.
    name: str
    cap: Decimal
    spent: Decimal
    #: Spent over cap, for the ``<meter>`` (0..1; a spent cap of $0 reads as full).
    share: float
    exhausted: bool
    month: str


def budget_rows(caps: list[dict[str, Any]], names: dict[str, str]) -> list[BudgetRow]:
    """The API's budget answers as rows: the company's first, then agents', then teams'."""
    order = {"company": 0, "agent": 1, "team": 2}
    out = []
    for b in sorted(caps, key=lambda b: order.get(b["scope"], 3)):
        cap, spent = Decimal(str(b["monthlyUsd"])), Decimal(str(b["spent"]["usd"]))
        share = min(float(spent / cap), 1.0) if cap else 1.0
        name = "company" if b["scope"] == "company" else names.get(b["scopeId"], b["scopeId"])
        scope, month, exhausted = b["scope"], b["month"], b["exhausted"]
        out.append(BudgetRow(scope, b["scopeId"], name, cap, spent, share, exhausted, month))
    return out


@get("/costs", include_in_schema=False)
async def show(request: Req) -> Template:
    who = signed_in_as(request)
    svc = services(request)
    params = dict(request.query_params.items())
    raw = choice(params, "days") or "14"
    days = int(raw) if raw.isdigit() and len(raw) < 4 else 0
    if days not in WINDOWS:
        raise InvalidRequest.at(["query", "days"], f"one of {', '.join(map(str, WINDOWS))}")
    group = choice(params, "group") or "agent"
    if group not in GROUPS:
        raise InvalidRequest.at(["query", "group"], f"one of {', '.join(GROUPS)}")
    now = utc_now()
    start_day = (now - timedelta(days=days - 1)).replace(hour=0, minute=0, second=0, microsecond=0)
    day_list = [(start_day + timedelta(days=n)).strftime("%Y-%m-%d") for n in range(days)]
    if group == "model":
        rows = await svc.read(spend_by_model, who.company_id, start_day)
        total = sum((Decimal(str(r["usd"])) for r in rows), Decimal(0))
    else:
        rollup = await svc.read(
            cost_rollup, who.company_id, group, whole_hour(start_day), None, None, 1000
        )
        rows = sorted(rollup["data"], key=lambda r: Decimal(str(r["usd"])), reverse=True)
        total = Decimal(str(rollup["total"]["usd"]))
    rows = rows[:SHOWN]
    names = await names_of(request)  # also for the budgets' agents and teams
    for r in rows:
        r["name"] = names.get(r["key"], r["key"]) if r["key"] else f"(no {group})"
    keyed = [(r["name"], Decimal(str(r["usd"]))) for r in rows]
    by_day = await svc.read(daily_spend_by, who.company_id, group, start_day)
    keys = [r["key"] or "" for r in rows[:STACKED]]
    legend = [(n, r["name"]) for n, r in enumerate(rows[:STACKED])]
    if len(rows) > STACKED or any(k not in keys for d in by_day.values() for k in d):
        legend.append((len(keys), "others"))
    day_keys = {d: {k: from_micros(v) for k, v in ks.items()} for d, ks in by_day.items()}
    # As the API's ``GET /budgets`` calls it: every scope, no cursor.
    caps = await svc.read(list_budgets, who.company_id, None, None, CAPS)
    return page(
        request,
        "costs.html",
        title="Costs",
        days=days,
        group=group,
        windows=WINDOWS,
        groups=GROUPS,
        total=total,
        daily=stacked(day_list, day_keys, keys, 700, 160),
        legend=legend,
        legend_names=dict(legend),
        by_key=bars(keyed, 700, 160),
        rows=rows,
        budgets=budget_rows(caps["data"], names),
    )


ROUTES = [show]
