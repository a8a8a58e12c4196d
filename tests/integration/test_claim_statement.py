"""The claim as one statement on PostgreSQL (``service.store.claims.claim_next``): what it
takes, in which order, and what it refuses, through the real pipeline."""

from __future__ import annotations

from typing import Any

from domain import commands as c
from service.commands.envelope import Outcome
from service.ids import new_id
from tests.integration.conftest import Apply


def _claim(apply: Apply, company: str, agent: str) -> Outcome:
    return apply(
        c.ClaimWork(agent, new_id("run"), lease_seconds=60, acting_agent_id=agent), company
    )


def _issue(apply: Apply, company: str, title: str, **fields: Any) -> str:
    issue = new_id("iss")
    assert apply(c.CreateIssue(issue, title, **fields), company, success_status=201).applied
    return issue


def test_an_agent_takes_its_own_issues_first_then_its_teams_queue_then_nothing(
    apply: Apply, company: str
) -> None:
    team, agent = new_id("tm"), new_id("agt")
    assert apply(c.CreateTeam(team, "writers"), company).applied
    # Queued for the team before it has an agent (this pipeline publishes no dispatch), older
    # and more urgent than the agent's own issue: the agent's own still comes first.
    queued = _issue(apply, company, "team's", assigned_team_id=team, labels=("priority:critical",))
    assert apply(c.CreateAgent(agent, "a1", team_ids=(team,), capacity=5), company).applied
    own = _issue(apply, company, "own", assigned_agent_id=agent)

    first, second, third = (_claim(apply, company, agent) for _ in range(3))

    assert first.http_status == 200 and first.body["issue"]["id"] == own
    assert second.http_status == 200 and second.body["issue"]["id"] == queued
    assert second.body["issue"]["assignedAgentId"] == agent
    assert second.body["issue"]["status"] == "running"
    assert second.body["lease"]["token"].endswith(".1")
    assert third.http_status == 204


def test_a_claim_is_refused_by_the_rules_whatever_work_waits(apply: Apply, company: str) -> None:
    agent = new_id("agt")
    assert apply(c.CreateAgent(agent, "a1", capacity=1), company).applied
    for title in ("one", "two"):
        _issue(apply, company, title, assigned_agent_id=agent)

    assert _claim(apply, company, agent).http_status == 200
    at_capacity = _claim(apply, company, agent)
    assert at_capacity.http_status == 409 and at_capacity.body["code"] == "at_capacity"

    paused = apply(c.UpdateAgent(agent, frozenset({"status"}), status="paused"), company)
    assert paused.applied
    unavailable = _claim(apply, company, agent)
    assert unavailable.http_status == 409 and unavailable.body["code"] == "agent_unavailable"

    missing = _claim(apply, company, new_id("agt"))
    assert missing.http_status == 404


def test_a_blocked_issue_is_skipped_for_the_next_one(apply: Apply, company: str) -> None:
    agent = new_id("agt")
    assert apply(c.CreateAgent(agent, "a1", capacity=5), company).applied
    upstream = _issue(apply, company, "upstream")
    _issue(apply, company, "blocked", assigned_agent_id=agent, dependencies=(upstream,))
    free = _issue(apply, company, "free", assigned_agent_id=agent)

    claimed = _claim(apply, company, agent)
    assert claimed.http_status == 200 and claimed.body["issue"]["id"] == free
    assert _claim(apply, company, agent).http_status == 204
