"""Approvals expired because their run ended are ``approval.expired`` activity entries and
webhook events, once each, like those the sweep expires (docs/api.md "Webhooks")."""

from __future__ import annotations

import time
from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any

import pytest

from tests.e2e.client import Api, Company, walk
from tests.e2e.test_approval_webhooks import _events, _subscribe
from tests.e2e.test_approvals_and_activity import _ask, _started
from tests.receiver import Receiver, receiver


@contextmanager
def receiver_for(acme: Company) -> Iterator[Receiver]:
    """A receiver subscribed to ``approval.expired``."""
    with receiver() as hook:
        _subscribe(acme, hook.url, ["approval.expired"])
        yield hook


def _expired_entries(acme: Company, issue_id: str) -> list[dict[str, Any]]:
    entries = walk(acme, "/activity", issueId=issue_id)
    return [e for e in entries if e["type"] == "approval.expired"]


@pytest.mark.parametrize("verb", ["complete", "fail"])
def test_a_run_that_ends_with_a_pending_approval_sends_one_approval_expired_event(
    api: Api, verb: str
) -> None:
    acme = api.new_company()
    with receiver_for(acme) as hook:
        claimed, token = _started(acme)
        asked = _ask(acme, claimed, token, action="deploy")
        body = {"reason": "gave up"} if verb == "fail" else {}
        response = acme.run_call(claimed, verb, token, **body)
        assert response.status_code == 200, response.text
        (event,) = _events(hook, 1)
        time.sleep(0.5)
        assert len(hook.requests) == 1  # once
    assert event["type"] == "approval.expired"
    assert event["data"]["approval"]["id"] == asked["id"]
    assert event["data"]["approval"]["status"] == "expired"
    assert event["data"]["approval"]["decidedBy"] is None
    assert event["data"]["actor"] == f"agent:{claimed['run']['agentId']}"
    # The issue as the run's end left it.
    issue = acme.ok("GET", f"/issues/{claimed['issue']['id']}")
    assert event["data"]["issue"]["status"] == issue["status"]
    assert event["data"]["issue"]["version"] == issue["version"]
    assert acme.ok("GET", f"/approvals/{asked['id']}")["status"] == "expired"
    (entry,) = _expired_entries(acme, claimed["issue"]["id"])
    assert "deploy" in entry["reason"] and "run ended" in entry["reason"]


def test_cancelling_a_running_issue_sends_approval_expired_for_its_pending_approvals(
    api: Api,
) -> None:
    acme = api.new_company()
    with receiver_for(acme) as hook:
        claimed, token = _started(acme)
        first = _ask(acme, claimed, token, action="one")
        second = _ask(acme, claimed, token, action="two")
        acme.ok("POST", f"/issues/{claimed['issue']['id']}/cancel", {"reason": "not needed"})
        events = _events(hook, 2)
        time.sleep(0.5)
        assert len(hook.requests) == 2
    assert sorted(e["data"]["approval"]["id"] for e in events) == sorted(
        [first["id"], second["id"]]
    )
    assert {e["data"]["issue"]["status"] for e in events} == {"cancelled"}
    assert len(_expired_entries(acme, claimed["issue"]["id"])) == 2
