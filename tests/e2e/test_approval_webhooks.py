"""Approvals as webhook events (issue 17, item 1): requested, approved, rejected and expired
reach the endpoints subscribed to them, each with the approval as it is after the change."""

from __future__ import annotations

import time
from typing import Any

from tests.e2e.client import Api, Company, assert_invalid
from tests.e2e.test_approvals_and_activity import _ask, _started
from tests.receiver import Receiver, receiver


def _events(hook: Receiver, count: int, timeout_s: float = 20) -> list[dict[str, Any]]:
    """The first ``count`` payloads the receiver got, in the order the approvals moved."""
    got = hook.wait_for(count, timeout_s)
    return sorted((r.payload for r in got), key=lambda p: (p["createdAt"], p["type"]))


def _subscribe(acme: Company, url: str, events: list[str]) -> dict[str, Any]:
    return acme.ok("POST", "/webhooks", {"url": url, "events": events}, status=201)  # type: ignore[no-any-return]


def test_approval_events_reach_an_approval_subscription_with_the_approval(api: Api) -> None:
    acme = api.new_company()
    with receiver() as hook:
        _subscribe(acme, hook.url, ["approval.*"])
        claimed, token = _started(acme)
        iid = claimed["issue"]["id"]
        asked = _ask(acme, claimed, token, action="deploy")
        approved = acme.ok("POST", f"/approvals/{asked['id']}/approve", {"comment": "go"})
        other = _ask(acme, claimed, token, action="drop the table")
        acme.ok("POST", "/approvals/decide", {"ids": [other["id"]], "decision": "reject"})
        events = _events(hook, 4)
        time.sleep(0.3)
        assert len(hook.requests) == 4  # the issue's own events are not this endpoint's
    requested, decided = events[0], events[1]
    assert requested["type"] == "approval.requested"
    assert requested["data"]["approval"] == asked
    assert requested["data"]["issue"]["id"] == iid
    assert requested["data"]["issue"]["status"] == requested["data"]["previousStatus"]
    assert requested["data"]["actor"] == f"agent:{claimed['run']['agentId']}"
    assert decided["type"] == "approval.approved"
    assert decided["data"]["approval"] == approved
    assert decided["data"]["approval"]["comment"] == "go"
    assert [e["type"] for e in events[2:]] == ["approval.requested", "approval.rejected"]
    assert events[3]["data"]["approval"]["id"] == other["id"]
    assert events[3]["data"]["approval"]["status"] == "rejected"


def test_an_expired_approval_is_an_event_by_the_sweeper(api: Api) -> None:
    acme = api.new_company()
    with receiver() as hook:
        _subscribe(acme, hook.url, ["approval.expired"])
        claimed, token = _started(acme)
        asked = _ask(acme, claimed, token, expiresInSeconds=1)
        (event,) = _events(hook, 1)
    assert event["type"] == "approval.expired"
    assert event["data"]["actor"] == "system:sweeper"
    assert event["data"]["approval"]["id"] == asked["id"]
    assert event["data"]["approval"]["status"] == "expired"


def test_an_issue_subscription_hears_no_approval_and_no_company_change(api: Api) -> None:
    acme = api.new_company()
    with receiver() as hook:
        _subscribe(acme, hook.url, ["issue.*"])
        claimed, token = _started(acme)  # created, assigned, started
        asked = _ask(acme, claimed, token)
        acme.ok("POST", f"/approvals/{asked['id']}/reject", {})
        acme.agent("another")  # a company entry: not a webhook event
        got = _events(hook, 3)
        time.sleep(0.5)
        assert len(hook.requests) == 3
    by_version = sorted(got, key=lambda e: e["data"]["issue"]["version"])
    assert [e["type"] for e in by_version] == ["issue.created", "issue.assigned", "issue.started"]


def test_subscriptions_name_approval_types_or_families_and_nothing_else(api: Api) -> None:
    acme = api.new_company()
    url = "http://127.0.0.1:9/hook"
    for events in (["approval.requested", "issue.done"], ["approval.*", "issue.*", "budget.*"]):
        assert _subscribe(acme, url, events)["events"] == events
    for events in (["approval"], ["approval.*.*"], ["agent.created"], ["*"], ["agent.*"]):
        assert_invalid(acme.call("POST", "/webhooks", {"url": url, "events": events}), "events")
