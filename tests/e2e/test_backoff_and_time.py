"""Retries that wait for their backoff, work that starts later, and issues that run late:
``retryPolicy``, ``notBefore`` and ``dueAt`` over HTTP, on both stacks."""

from __future__ import annotations

import time
from datetime import UTC, datetime, timedelta
from typing import Any

from tests.e2e.client import Api, Company, assert_invalid, assert_problem
from tests.receiver import receiver


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _not_before(issue: dict[str, Any]) -> datetime:
    """When the issue may be claimed again (a draw of nothing leaves ``notBefore`` null)."""
    return _time(issue["notBefore"] or issue["updatedAt"])


def _stamp(moment: datetime) -> str:
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


def _claim_when_due(
    acme: Company, agent_id: str, token: str, timeout_s: float = 20
) -> tuple[dict[str, Any], int]:
    """Claim every 0.1 s until a run starts: the claim and how many answered 204 first."""
    deadline = time.monotonic() + timeout_s
    empty = 0
    while True:
        response = acme.call("POST", f"/agents/{agent_id}/claim", {}, token=token)
        if response.status_code == 200:
            return response.json(), empty
        assert response.status_code == 204, response.text
        empty += 1
        assert time.monotonic() < deadline, "the issue was never claimed"
        time.sleep(0.1)


def _entries(acme: Company, issue_id: str, kind: str) -> list[dict[str, Any]]:
    params = {"issueId": issue_id, "type": kind}
    return acme.ok("GET", "/activity", params=params)["data"]  # type: ignore[no-any-return]


def test_a_retryable_failure_waits_for_its_backoff_before_it_is_claimed_again(
    api: Api,
) -> None:
    acme = api.new_company()
    team = acme.team()
    aid, token = acme.agent_with_token(teamIds=[team["id"]])
    policy = {"baseSeconds": 3, "maxSeconds": 3}
    issue = acme.issue("flaky", assignedTeamId=team["id"], retryPolicy=policy)
    assert issue["retryPolicy"] == policy and issue["notBefore"] is None
    first = acme.claim(aid, token)
    failed = acme.run_call(first, "fail", token, reason="rate limited", retryable=True)
    assert failed.status_code == 200, failed.text
    requeued = failed.json()
    not_before = _not_before(requeued)
    waited = not_before - _time(requeued["updatedAt"])
    # The first retry waits a uniform draw in [0, min(max, base)] = [0, 3 s].
    assert requeued["status"] == "queued" and timedelta(0) <= waited <= timedelta(seconds=3)
    [entry] = _entries(acme, issue["id"], "issue.requeued")
    assert entry["notBefore"] == requeued["notBefore"]
    second, empty = _claim_when_due(acme, aid, token)
    # Every claim before notBefore found nothing; the one that got it started after it.
    assert second["issue"]["id"] == issue["id"] and second["run"]["attempt"] == 2
    assert _time(second["run"]["startedAt"]) >= not_before
    if waited > timedelta(seconds=1):
        assert empty > 0


def test_an_agents_own_issue_waits_queued_for_its_backoff_then_goes_back_to_it(
    api: Api,
) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    policy = {"baseSeconds": 2, "maxSeconds": 2}
    issue = acme.issue("own", assignedAgentId=aid, retryPolicy=policy)
    first = acme.claim(aid, token)
    requeued = acme.run_call(first, "fail", token, reason="x", retryable=True).json()
    not_before = _not_before(requeued)
    if requeued["notBefore"] is not None:
        assert requeued["status"] == "queued" and requeued["assignedAgentId"] == aid
    second, _ = _claim_when_due(acme, aid, token)
    assert second["issue"]["id"] == issue["id"]
    assert _time(second["run"]["startedAt"]) >= not_before
    [assigned] = [
        e
        for e in _entries(acme, issue["id"], "issue.assigned")
        if e["version"] > first["issue"]["version"]
    ]
    assert _time(assigned["at"]) >= not_before


def test_an_issue_created_to_start_later_is_neither_dispatched_nor_claimed_before_then(
    api: Api,
) -> None:
    acme = api.new_company()
    team = acme.team()
    aid, token = acme.agent_with_token(teamIds=[team["id"]])
    other, other_token = acme.agent_with_token("other")
    start = datetime.now(UTC) + timedelta(seconds=3)
    for_team = acme.issue("team later", assignedTeamId=team["id"], notBefore=_stamp(start))
    for_agent = acme.issue("agent later", assignedAgentId=other, notBefore=_stamp(start))
    assert for_team["notBefore"] == _stamp(start)
    assert for_team["status"] == for_agent["status"] == "queued"
    assert for_agent["assignedAgentId"] == other
    [created] = _entries(acme, for_team["id"], "issue.created")
    assert created["notBefore"] == _stamp(start)
    claimed, _ = _claim_when_due(acme, aid, token)
    assert claimed["issue"]["id"] == for_team["id"]
    assert _time(claimed["run"]["startedAt"]) >= start
    # The agent's own issue is given to it by the dispatcher once due, then claimed.
    mine, _ = _claim_when_due(acme, other, other_token)
    assert mine["issue"]["id"] == for_agent["id"]
    [assigned] = _entries(acme, for_agent["id"], "issue.assigned")
    assert _time(assigned["at"]) >= start


def test_a_patch_moves_not_before_while_queued_and_null_makes_the_issue_due_at_once(
    api: Api,
) -> None:
    acme = api.new_company()
    team = acme.team()
    aid, token = acme.agent_with_token(teamIds=[team["id"]])
    later = _stamp(datetime.now(UTC) + timedelta(hours=1))
    issue = acme.issue("later", assignedTeamId=team["id"], notBefore=later)
    assert acme.call("POST", f"/agents/{aid}/claim", {}, token=token).status_code == 204
    patched = acme.ok("PATCH", f"/issues/{issue['id']}", {"notBefore": None})
    assert patched["notBefore"] is None and patched["version"] == issue["version"] + 1
    [updated] = _entries(acme, issue["id"], "issue.updated")
    assert updated["notBefore"] is None
    claimed, _ = _claim_when_due(acme, aid, token, timeout_s=10)
    assert claimed["issue"]["id"] == issue["id"]
    refused = acme.call("PATCH", f"/issues/{issue['id']}", {"notBefore": later})
    assert assert_problem(refused, 409, "not_editable")["currentStatus"] == "running"
    assert acme.ok("GET", f"/issues/{issue['id']}")["notBefore"] is None


def test_bad_not_before_and_retry_policies_are_refused_and_create_nothing(api: Api) -> None:
    acme = api.new_company()
    for body, field in (
        ({"notBefore": "tomorrow"}, "notBefore"),
        ({"notBefore": "2026-04-11T08:00:00"}, "notBefore"),
        ({"retryPolicy": {"baseSeconds": 10}}, "retryPolicy"),
        ({"retryPolicy": {"baseSeconds": -1, "maxSeconds": 5}}, "retryPolicy"),
        ({"retryPolicy": {"baseSeconds": 10, "maxSeconds": 5}}, "retryPolicy"),
        ({"retryPolicy": {"baseSeconds": 1.5, "maxSeconds": 5}}, "retryPolicy"),
        ({"retryPolicy": {"baseSeconds": 1, "maxSeconds": 7 * 86400 + 1}}, "retryPolicy"),
        ({"retryPolicy": {"baseSeconds": 1, "maxSeconds": 5, "factor": 3}}, "retryPolicy"),
        ({"retryPolicy": "fast"}, "retryPolicy"),
    ):
        assert_invalid(acme.call("POST", "/issues", {"title": "t", **body}), field)
    assert acme.ok("GET", "/issues")["data"] == []
    issue = acme.issue()
    for body in ({"notBefore": "soon"}, {"retryPolicy": {"baseSeconds": 1, "maxSeconds": 1}}):
        assert_invalid(acme.call("PATCH", f"/issues/{issue['id']}", body))
    assert acme.ok("GET", f"/issues/{issue['id']}")["version"] == issue["version"]
    for bad in ("yes", "1", "TRUE", ""):
        assert_invalid(acme.call("GET", "/issues", params={"overdue": bad}), "query", "overdue")


def test_an_issue_past_due_gets_one_overdue_entry_and_event_and_is_listed_overdue(
    api: Api,
) -> None:
    acme, rival = api.new_company(), api.new_company("Rival")
    with receiver() as hook:
        acme.ok("POST", "/webhooks", {"url": hook.url, "events": ["issue.overdue"]}, status=201)
        due = datetime.now(UTC) + timedelta(seconds=1)
        rivals = rival.issue("theirs", dueAt=_stamp(due))
        late = acme.issue("late", dueAt=_stamp(due))
        on_time = acme.issue("on time", dueAt=_stamp(due + timedelta(hours=1)))
        finished = acme.issue("finished", dueAt=_stamp(due))
        acme.ok("POST", f"/issues/{finished['id']}/cancel", {})
        [event] = hook.wait_for(1)
        # Three more sweeps (a second each on the test stacks): still one of each.
        time.sleep(3.5)
        assert len(hook.requests) == 1
    assert event.payload["type"] == "issue.overdue"
    assert event.payload["data"]["issue"]["id"] == late["id"]
    [entry] = acme.ok("GET", "/activity", params={"type": "issue.overdue"})["data"]
    assert entry["issueId"] == late["id"] and entry["actor"] == "system:timekeeper"
    assert entry["version"] == late["version"] and _time(entry["at"]) >= due
    assert entry["fromStatus"] == entry["toStatus"] == "queued"
    assert acme.ok("GET", f"/issues/{late['id']}")["version"] == late["version"]
    overdue = acme.ok("GET", "/issues", params={"overdue": "true"})["data"]
    assert [i["id"] for i in overdue] == [late["id"]]
    others = acme.ok("GET", "/issues", params={"overdue": "false"})["data"]
    assert {i["id"] for i in others} == {on_time["id"], finished["id"]}
    # Each company hears of and lists its own only.
    theirs = rival.ok("GET", "/issues", params={"overdue": "true"})["data"]
    assert [i["id"] for i in theirs] == [rivals["id"]]
    assert_problem(acme.call("GET", f"/issues/{rivals['id']}"), 404, "not_found")


def test_a_due_time_moved_later_is_watched_again(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("late twice", dueAt=_stamp(datetime.now(UTC) + timedelta(seconds=1)))
    deadline = time.monotonic() + 15
    while not _entries(acme, issue["id"], "issue.overdue"):
        assert time.monotonic() < deadline
        time.sleep(0.2)
    again = datetime.now(UTC) + timedelta(seconds=1)
    acme.ok("PATCH", f"/issues/{issue['id']}", {"dueAt": _stamp(again)})
    while len(_entries(acme, issue["id"], "issue.overdue")) < 2:
        assert time.monotonic() < deadline + 15
        time.sleep(0.2)
    time.sleep(2.5)
    entries = _entries(acme, issue["id"], "issue.overdue")
    assert len(entries) == 2 and _time(entries[0]["at"]) >= again
