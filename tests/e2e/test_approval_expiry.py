"""Approvals that nobody decides expire; many approvals are decided in one request."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from tests.e2e.client import Api, Company, assert_invalid, assert_problem
from tests.e2e.test_approvals_and_activity import _ask, _checkpoint, _started


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


def _expired(acme: Company, approval_id: str, timeout_s: float = 15) -> dict[str, Any]:
    deadline = time.monotonic() + timeout_s
    while (approval := acme.ok("GET", f"/approvals/{approval_id}"))["status"] == "pending":
        assert time.monotonic() < deadline, approval
        time.sleep(0.1)
    return approval  # type: ignore[no-any-return]


def test_an_undecided_approval_expires_and_the_agent_hears_of_it_once(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    approval = _ask(acme, claimed, token, expiresInSeconds=1)
    assert _time(approval["expiresAt"]) - _time(approval["createdAt"]) == timedelta(seconds=1)
    expired = _expired(acme, approval["id"])
    assert expired["status"] == "expired" and expired["decidedBy"] == "system:sweeper"
    assert [a["status"] for a in _checkpoint(acme, claimed, token)["approvals"]] == ["expired"]
    assert _checkpoint(acme, claimed, token)["approvals"] == []  # shown once
    entries = acme.ok("GET", "/activity", params={"type": "approval.expired"})["data"]
    assert [e["issueId"] for e in entries] == [claimed["issue"]["id"]]
    late = acme.call("POST", f"/approvals/{approval['id']}/approve", {})
    assert assert_problem(late, 409, "invalid_transition")["currentStatus"] == "expired"


def test_an_approval_without_expires_in_seconds_gets_the_default_hour(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    approval = _ask(acme, claimed, token)
    assert _time(approval["expiresAt"]) - _time(approval["createdAt"]) == timedelta(hours=1)
    for bad in (0, -1, 30 * 24 * 3600 + 1, 1.5, "60", True):
        assert_invalid(acme.run_call(claimed, "approvals", token, action="x", expiresInSeconds=bad))


def test_many_approvals_are_decided_at_once_each_on_its_own_in_order(api: Api) -> None:
    acme = api.new_company()
    asked = []
    for title in ("one", "two", "three"):
        claimed, token = _started(acme, title)
        asked.append(_ask(acme, claimed, token)["id"])
    acme.ok("POST", f"/approvals/{asked[1]}/reject", {})  # decided already: refused alone
    ids = [asked[0], "apr_00000000000000000000000000", asked[1], asked[2]]
    body = {"ids": ids, "decision": "approve", "comment": "all fine"}
    headers = {"Idempotency-Key": "decide-1"}
    answer = acme.ok("POST", "/approvals/decide", body, headers=headers)
    results = answer["results"]
    assert [r["id"] for r in results] == ids
    assert [r["ok"] for r in results] == [True, False, False, True]
    assert results[0]["status"] == results[3]["status"] == "approved"
    assert results[1]["error"]["code"] == "not_found"
    assert results[2]["error"]["code"] == "invalid_transition"
    assert acme.ok("GET", f"/approvals/{asked[2]}")["comment"] == "all fine"
    # The same request again, with its key: the same answer, nothing decided twice.
    assert acme.ok("POST", "/approvals/decide", body, headers=headers) == answer
    again = acme.ok("POST", "/approvals/decide", body)  # without the key: now all decided
    assert [r["ok"] for r in again["results"]] == [False, False, False, False]


def test_a_bad_decide_request_is_refused_and_decides_nothing(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    approval = _ask(acme, claimed, token)["id"]
    for body in (
        {"ids": [], "decision": "approve"},
        {"ids": [approval, approval], "decision": "approve"},
        {"ids": [f"apr_{i}" for i in range(101)], "decision": "approve"},
        {"ids": [approval], "decision": "maybe"},
        {"ids": [approval]},
    ):
        assert_invalid(acme.call("POST", "/approvals/decide", body))
    agent_token = acme.agent_token(claimed["run"]["agentId"])
    refused = acme.call(
        "POST", "/approvals/decide", {"ids": [approval], "decision": "approve"}, token=agent_token
    )
    assert_problem(refused, 403, "forbidden")
    assert acme.ok("GET", f"/approvals/{approval}")["status"] == "pending"
