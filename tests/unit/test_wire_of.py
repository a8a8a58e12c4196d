"""``wire_of(Model)(fields)`` is ``wire(Model(**fields))``: the issues of a page and of a
webhook payload are written without building their models, and must not differ by a byte."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st
from pydantic import BaseModel

from domain.model import Issue
from domain.statuses import IssueStatus
from service.answers import issues as answers
from service.answers.common import Answer, Time, wire, wire_of

IDS = st.text("abcdefghjkmnpqrstvwxyz0123456789", min_size=1, max_size=8).map("iss_".__add__)
TEXT = st.text(max_size=40)
MOMENT = st.datetimes(
    min_value=datetime(2000, 1, 1), max_value=datetime(2100, 1, 1), timezones=st.just(UTC)
)
#: Money as the store gives it back (``from_micros``: normalized), or as a request gave it.
USD = st.integers(min_value=0, max_value=10**12).map(
    lambda micros: (Decimal(micros) / 1_000_000).normalize() if micros else Decimal(0)
) | st.decimals(min_value=0, max_value=10**6, places=6, allow_nan=False, allow_infinity=False)


@st.composite
def issues(draw: st.DrawFn) -> Issue:
    created = draw(MOMENT)
    return Issue(
        id=draw(IDS),
        company_id="cmp_1",
        title=draw(TEXT),
        description=draw(st.none() | TEXT),
        status=draw(st.sampled_from(IssueStatus)),
        parent_id=draw(st.none() | IDS),
        assigned_agent_id=draw(st.none() | st.just("agt_1")),
        assigned_team_id=draw(st.none() | st.just("tm_1")),
        budget_per_task_usd=draw(st.none() | USD),
        spent_usd=draw(USD),
        due_at=draw(st.none() | MOMENT),
        labels=tuple(draw(st.lists(TEXT, max_size=3))),
        dependencies=tuple(draw(st.lists(IDS, max_size=3))),
        current_run_id=draw(st.none() | st.just("run_1")),
        created_at=created,
        updated_at=created + timedelta(microseconds=draw(st.integers(0, 10**9))),
        version=draw(st.integers(1, 10**6)),
        attempts=draw(st.integers(0, 5)),
        max_attempts=draw(st.integers(1, 5)),
    )


@settings(max_examples=300, deadline=None)
@given(issues(), st.lists(IDS, max_size=3), st.lists(IDS, max_size=2))
def test_an_issue_on_the_wire_is_its_answer_dumped(
    issue: Issue, blocked: list[str], pending: list[str]
) -> None:
    assert answers.issue_json(issue, blocked, pending) == wire(
        answers.issue_answer(issue, blocked, pending)
    )


def test_a_field_left_out_stays_out_and_one_given_as_none_is_null() -> None:
    class Child(Answer):
        at: Time | None = None
        note: str | None = None

    class Parent(Answer):
        child_items: list[Child]
        maybe: Child | None = None
        status: IssueStatus | None = None

    moment = datetime(2026, 4, 11, 8, 14, 0, 123456, tzinfo=UTC)
    cases: list[dict[str, Any]] = [
        {"child_items": []},
        {"child_items": [{"at": moment}, {"note": None}], "maybe": None},
        {"child_items": [], "maybe": {"at": None, "note": "x"}, "status": IssueStatus.DONE},
    ]
    for fields in cases:
        assert wire_of(Parent)(fields) == wire(Parent(**fields))
    assert wire_of(Parent)(cases[1])["childItems"] == [
        {"at": "2026-04-11T08:14:00.123Z"},
        {"note": None},
    ]


def test_a_field_type_it_does_not_know_is_refused_when_asked_for() -> None:
    class Loose(BaseModel):
        anything: dict[str, Any]

    with pytest.raises(TypeError, match="wire_of cannot dump"):
        wire_of(Loose)
