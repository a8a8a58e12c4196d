"""Approvals and the activity trail over HTTP: an agent asks, a human decides, all is logged."""

from __future__ import annotations

import time
from datetime import datetime, timedelta
from typing import Any

from tests.e2e.client import Api, Company, assert_invalid, assert_problem, walk

#: Activity types that move an issue to a new version (a transition or an edit).
TRANSITIONS = {
    "issue.created",
    "issue.assigned",
    "issue.reassigned",
    "issue.started",
    "issue.review",
    "issue.done",
    "issue.failed",
    "issue.handoff",
    "issue.requeued",
    "issue.rejected",
    "issue.cancelled",
    "issue.updated",
}


def _started(
    acme: Company, title: str = "Ship the release", **claim: Any
) -> tuple[dict[str, Any], str]:
    """A new agent, an issue assigned to it, claimed: the claim and the agent's token."""
    aid, token = acme.agent_with_token()
    acme.issue(title, assignedAgentId=aid)
    return acme.claim(aid, token, **claim), token


def _ask(acme: Company, claimed: dict[str, Any], token: str, **body: Any) -> dict[str, Any]:
    body.setdefault("action", "deploy to production")
    response = acme.run_call(claimed, "approvals", token, **body)
    assert response.status_code == 201, response.text
    return response.json()  # type: ignore[no-any-return]


def _checkpoint(acme: Company, claimed: dict[str, Any], token: str) -> dict[str, Any]:
    response = acme.run_call(claimed, "checkpoint", token)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _pending(acme: Company, issue_id: str) -> list[str]:
    return acme.ok("GET", f"/issues/{issue_id}")["pendingApprovals"]  # type: ignore[no-any-return]


def _ids(items: list[dict[str, Any]]) -> list[str]:
    return [item["id"] for item in items]


def _time(stamp: str) -> datetime:
    return datetime.fromisoformat(stamp.replace("Z", "+00:00"))


# Approvals


def test_an_agent_asks_for_approval_and_the_issue_shows_it_pending(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    iid, rid = claimed["issue"]["id"], claimed["run"]["id"]
    approval = _ask(acme, claimed, token, action="delete the staging database", details={"db": 3})
    assert approval["id"].startswith("apr_")
    assert (approval["issueId"], approval["runId"]) == (iid, rid)
    assert approval["agentId"] == claimed["run"]["agentId"]
    assert approval["action"] == "delete the staging database"
    assert approval["details"] == {"db": 3}
    assert approval["status"] == "pending"
    assert approval["comment"] is None and approval["decidedBy"] is None
    assert approval["decidedAt"] is None and approval["createdAt"]
    assert _pending(acme, iid) == [approval["id"]]
    assert acme.ok("GET", f"/approvals/{approval['id']}") == approval
    listed = [i for i in acme.ok("GET", "/issues")["data"] if i["id"] == iid]
    assert [i["pendingApprovals"] for i in listed] == [[approval["id"]]]
    without_details = _ask(acme, claimed, token, action="send the newsletter")
    assert without_details["details"] is None
    assert _pending(acme, iid) == [approval["id"], without_details["id"]]


def test_the_approval_queue_lists_pending_approvals_newest_first_and_filters(api: Api) -> None:
    acme = api.new_company()
    mine, my_token = _started(acme, "first")
    theirs, their_token = _started(acme, "second")
    older = _ask(acme, mine, my_token, action="older")
    other = _ask(acme, theirs, their_token, action="other")
    newer = _ask(acme, mine, my_token, action="newer")

    queue = acme.ok("GET", "/approvals", params={"status": "pending"})
    assert _ids(queue["data"]) == [newer["id"], other["id"], older["id"]]
    assert queue["hasMore"] is False and queue["nextCursor"] is None
    by_issue = walk(acme, "/approvals", issueId=mine["issue"]["id"])
    assert _ids(by_issue) == [newer["id"], older["id"]]
    by_agent = walk(acme, "/approvals", agentId=theirs["run"]["agentId"])
    assert _ids(by_agent) == [other["id"]]
    both = walk(acme, "/approvals", agentId=mine["run"]["agentId"], issueId=theirs["issue"]["id"])
    assert both == []
    assert _ids(walk(acme, "/approvals", limit=1)) == _ids(queue["data"])

    acme.ok("POST", f"/approvals/{older['id']}/approve", {})
    assert _ids(walk(acme, "/approvals", status="pending")) == [newer["id"], other["id"]]
    assert _ids(walk(acme, "/approvals", status="approved")) == [older["id"]]
    assert walk(acme, "/approvals", status="rejected") == []
    assert len(walk(acme, "/approvals")) == 3


def test_the_approval_queue_is_for_admins_and_refuses_an_unknown_status(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    approval = _ask(acme, claimed, token)
    assert_problem(acme.call("GET", "/approvals", token=token), 403, "forbidden")
    assert_problem(acme.call("GET", f"/approvals/{approval['id']}", token=token), 403, "forbidden")
    for verb in ["approve", "reject"]:
        path = f"/approvals/{approval['id']}/{verb}"
        assert_problem(acme.call("POST", path, {}, token=token), 403, "forbidden")
    assert_invalid(acme.call("GET", "/approvals", params={"status": "waiting"}), "status")
    assert acme.ok("GET", f"/approvals/{approval['id']}")["status"] == "pending"


def test_an_approval_with_a_comment_reaches_the_agent_at_its_next_checkpoint_once(
    api: Api,
) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    approval = _ask(acme, claimed, token)
    waiting = _checkpoint(acme, claimed, token)
    assert waiting["stop"] is False
    assert [(a["id"], a["status"]) for a in waiting["approvals"]] == [(approval["id"], "pending")]
    assert _ids(_checkpoint(acme, claimed, token)["approvals"]) == [approval["id"]]

    decided = acme.ok("POST", f"/approvals/{approval['id']}/approve", {"comment": "go ahead"})
    assert decided["id"] == approval["id"] and decided["status"] == "approved"
    assert decided["comment"] == "go ahead"
    assert decided["decidedBy"].startswith("user:tok_")
    assert _time(decided["decidedAt"]) >= _time(approval["createdAt"])
    assert acme.ok("GET", f"/approvals/{approval['id']}") == decided
    assert _pending(acme, claimed["issue"]["id"]) == []

    shown = _checkpoint(acme, claimed, token)
    assert shown["approvals"] == [decided]
    assert _checkpoint(acme, claimed, token)["approvals"] == []


def test_a_rejection_reaches_the_agent_at_its_next_checkpoint_once(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    approval = _ask(acme, claimed, token, action="email every customer")
    decided = acme.ok("POST", f"/approvals/{approval['id']}/reject", {"comment": "too risky"})
    assert decided["status"] == "rejected" and decided["comment"] == "too risky"
    assert decided["decidedBy"].startswith("user:") and decided["decidedAt"]
    assert _pending(acme, claimed["issue"]["id"]) == []
    assert _checkpoint(acme, claimed, token)["approvals"] == [decided]
    assert _checkpoint(acme, claimed, token)["approvals"] == []
    without_comment = acme.ok("POST", f"/approvals/{_ask(acme, claimed, token)['id']}/reject", None)
    assert without_comment["status"] == "rejected" and without_comment["comment"] is None


def test_a_checkpoint_shows_pending_approvals_and_only_new_decisions(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    first, second = _ask(acme, claimed, token), _ask(acme, claimed, token, action="second")
    acme.ok("POST", f"/approvals/{first['id']}/approve", {})
    shown = _checkpoint(acme, claimed, token)["approvals"]
    assert [(a["id"], a["status"]) for a in shown] == [
        (first["id"], "approved"),
        (second["id"], "pending"),
    ]
    assert [(a["id"], a["status"]) for a in _checkpoint(acme, claimed, token)["approvals"]] == [
        (second["id"], "pending")
    ]


def test_deciding_an_approval_twice_is_an_invalid_transition(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    approved, rejected = _ask(acme, claimed, token), _ask(acme, claimed, token)
    acme.ok("POST", f"/approvals/{approved['id']}/approve", {"comment": "yes"})
    acme.ok("POST", f"/approvals/{rejected['id']}/reject", {})
    for approval, status in [(approved, "approved"), (rejected, "rejected")]:
        for verb in ["approve", "reject"]:
            response = acme.call("POST", f"/approvals/{approval['id']}/{verb}", {"comment": "x"})
            body = assert_problem(response, 409, "invalid_transition")
            assert body["currentStatus"] == status, (status, verb)
    kept = acme.ok("GET", f"/approvals/{approved['id']}")
    assert kept["status"] == "approved" and kept["comment"] == "yes"


def test_a_decision_gives_the_run_a_full_lease_from_the_moment_of_deciding(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, leaseSeconds=10)
    approval = _ask(acme, claimed, token)
    time.sleep(0.3)
    decided = acme.ok("POST", f"/approvals/{approval['id']}/approve", {})
    run = acme.ok("GET", f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}")
    expires = _time(run["leaseHistory"][-1]["expiresAt"])
    assert expires >= _time(decided["decidedAt"]) + timedelta(seconds=10)
    assert expires > _time(claimed["lease"]["expiresAt"])


def test_a_completed_run_expires_its_pending_approvals(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    decided = _ask(acme, claimed, token, action="decided in time")
    acme.ok("POST", f"/approvals/{decided['id']}/approve", {})
    approval = _ask(acme, claimed, token)
    assert acme.run_call(claimed, "complete", token).status_code == 200
    expired = acme.ok("GET", f"/approvals/{approval['id']}")
    assert expired["status"] == "expired" and expired["decidedAt"] is None
    assert acme.ok("GET", f"/approvals/{decided['id']}")["status"] == "approved"
    assert _pending(acme, claimed["issue"]["id"]) == []
    assert _ids(walk(acme, "/approvals", status="expired")) == [approval["id"]]
    assert walk(acme, "/approvals", status="pending") == []
    for verb in ["approve", "reject"]:
        response = acme.call("POST", f"/approvals/{approval['id']}/{verb}", {})
        assert assert_problem(response, 409, "invalid_transition")["currentStatus"] == "expired"
    assert acme.ok("GET", f"/approvals/{approval['id']}")["status"] == "expired"


def test_cancelling_the_issue_expires_the_runs_pending_approvals(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    approval = _ask(acme, claimed, token)
    acme.ok("POST", f"/issues/{claimed['issue']['id']}/cancel", {"reason": "not needed"})
    assert acme.ok("GET", f"/approvals/{approval['id']}")["status"] == "expired"
    response = acme.call("POST", f"/approvals/{approval['id']}/approve", {"comment": "late"})
    assert assert_problem(response, 409, "invalid_transition")["currentStatus"] == "expired"
    assert acme.ok("GET", f"/approvals/{approval['id']}")["comment"] is None


def test_a_handoff_a_failure_or_a_reassign_expires_the_runs_pending_approvals(
    api: Api,
) -> None:
    acme = api.new_company()
    new_agent, _ = acme.agent_with_token("fresh")
    endings: list[tuple[str, dict[str, Any]]] = [
        ("handoff", {"reason": "need a human"}),
        ("fail", {"reason": "broken"}),
        ("reassign", {"toAgentId": new_agent}),
    ]
    for verb, body in endings:
        claimed, token = _started(acme)
        approval = _ask(acme, claimed, token)
        if verb == "reassign":
            ended = acme.call("POST", f"/issues/{claimed['issue']['id']}/reassign", body)
        else:
            ended = acme.run_call(claimed, verb, token, **body)
        assert ended.status_code == 200, ended.text
        assert acme.ok("GET", f"/approvals/{approval['id']}")["status"] == "expired"
        assert _pending(acme, claimed["issue"]["id"]) == []
    assert walk(acme, "/approvals", status="pending") == []
    assert len(walk(acme, "/approvals", status="expired")) == 3


def test_a_budget_stop_expires_the_runs_pending_approvals(api: Api) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    acme.issue("pricey", assignedAgentId=aid, budget={"perTaskUsd": 1})
    claimed = acme.claim(aid, token)
    approval = _ask(acme, claimed, token)
    stopped = acme.run_call(claimed, "costs", token, usd=2)
    assert stopped.status_code == 200 and stopped.json()["stop"] is True
    assert acme.ok("GET", f"/approvals/{approval['id']}")["status"] == "expired"
    response = acme.call("POST", f"/approvals/{approval['id']}/reject", {})
    assert assert_problem(response, 409, "invalid_transition")["currentStatus"] == "expired"


def test_only_the_running_agent_with_its_current_lease_may_ask_for_approval(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    _, stranger = acme.agent_with_token("stranger")
    assert_problem(acme.run_call(claimed, "approvals", acme.token, action="x"), 403, "forbidden")
    assert_problem(acme.run_call(claimed, "approvals", stranger, action="x"), 403, "forbidden")
    forged = claimed["lease"]["token"].rsplit(".", 1)[0] + ".999"
    assert_problem(
        acme.run_call(claimed, "approvals", token, action="x", leaseToken=forged),
        409,
        "stale_lease",
    )
    assert walk(acme, "/approvals") == []
    assert _pending(acme, claimed["issue"]["id"]) == []


def test_an_ended_run_cannot_ask_for_approval(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    acme.ok("POST", f"/issues/{claimed['issue']['id']}/cancel", {"reason": "stop"})
    body = assert_problem(
        acme.run_call(claimed, "approvals", token, action="x"), 409, "stale_lease"
    )
    assert body["stop"] is True and body["stopReason"] == "cancelled"
    assert walk(acme, "/approvals") == []


def test_bad_approval_requests_and_decisions_are_refused_and_change_nothing(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    lease = claimed["lease"]["token"]
    path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}/approvals"
    for body, field in [
        ({"leaseToken": lease, "action": ""}, "action"),
        ({"leaseToken": lease, "action": "a" * 201}, "action"),
        ({"leaseToken": lease}, "action"),
        ({"leaseToken": lease, "action": 7}, "action"),
        ({"leaseToken": lease, "action": "x", "urgent": True}, "urgent"),
        ({"leaseToken": lease, "action": "x", "details": [1, 2]}, "details"),
        ({"action": "x"}, "leaseToken"),
    ]:
        assert_invalid(acme.call("POST", path, body, token=token), field)
    assert walk(acme, "/approvals") == []
    assert _ids(walk(acme, "/activity", type="approval.requested")) == []
    longest = _ask(acme, claimed, token, action="a" * 200)
    assert longest["action"] == "a" * 200

    for body, field in [({"comment": ""}, "comment"), ({"note": "hm"}, "note")]:
        response = acme.call("POST", f"/approvals/{longest['id']}/approve", body)
        assert_invalid(response, field)
    assert acme.ok("GET", f"/approvals/{longest['id']}")["status"] == "pending"


def test_a_retried_request_with_the_same_idempotency_key_asks_once(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    headers = {"Idempotency-Key": "ask-1"}
    first = acme.run_call(claimed, "approvals", token, action="deploy", headers=headers)
    again = acme.run_call(claimed, "approvals", token, action="deploy", headers=headers)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    assert _ids(walk(acme, "/approvals")) == [first.json()["id"]]
    assert _pending(acme, claimed["issue"]["id"]) == [first.json()["id"]]


def test_an_unknown_approval_is_not_found(api: Api) -> None:
    acme = api.new_company()
    assert_problem(acme.call("GET", "/approvals/apr_nope"), 404, "not_found")
    for verb in ["approve", "reject"]:
        assert_problem(acme.call("POST", f"/approvals/apr_nope/{verb}", {}), 404, "not_found")


def test_another_companys_admin_cannot_see_or_decide_an_approval(api: Api) -> None:
    acme, rival = api.new_company("Acme"), api.new_company("Rival")
    claimed, token = _started(acme)
    approval = _ask(acme, claimed, token)
    assert_problem(rival.call("GET", f"/approvals/{approval['id']}"), 404, "not_found")
    for verb in ["approve", "reject"]:
        response = rival.call("POST", f"/approvals/{approval['id']}/{verb}", {})
        assert_problem(response, 404, "not_found")
    cross = api.call("GET", f"{acme.prefix}/approvals/{approval['id']}", rival.token)
    assert_problem(cross, 404, "not_found")
    cross = api.call("POST", f"{acme.prefix}/approvals/{approval['id']}/approve", rival.token, {})
    assert_problem(cross, 404, "not_found")
    assert rival.ok("GET", "/approvals")["data"] == []
    assert acme.ok("GET", f"/approvals/{approval['id']}")["status"] == "pending"


def test_approvals_leave_activity_entries_that_do_not_change_the_version(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    iid = claimed["issue"]["id"]
    version = claimed["issue"]["version"]
    yes = _ask(acme, claimed, token, action="publish")
    no = _ask(acme, claimed, token, action="tweet")
    acme.ok("POST", f"/approvals/{yes['id']}/approve", {"comment": "fine"})
    decided = acme.ok("POST", f"/approvals/{no['id']}/reject", {})
    assert acme.ok("GET", f"/issues/{iid}")["version"] == version

    entries = walk(acme, "/activity", issueId=iid)
    kinds = [e["type"] for e in entries]
    assert kinds[:4] == [
        "approval.rejected",
        "approval.approved",
        "approval.requested",
        "approval.requested",
    ]
    for entry in entries[:4]:
        assert entry["version"] == version
        assert entry["fromStatus"] == entry["toStatus"] == "running"
    assert entries[0]["actor"] == entries[1]["actor"] == decided["decidedBy"]
    assert entries[2]["actor"] == entries[3]["actor"] == f"agent:{claimed['run']['agentId']}"


# Activity


def _full_loop(acme: Company) -> tuple[dict[str, Any], str]:
    """create, assign, claim, comment, checkpoint, complete, accept: the issue and its agent."""
    aid, token = acme.agent_with_token()
    issue = acme.issue("Write the launch post")
    acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": aid})
    claimed = acme.claim(aid, token)
    acme.ok(
        "POST",
        f"/issues/{issue['id']}/comments",
        {"text": "tone", "author": "user:ada"},
        status=201,
    )
    assert acme.run_call(claimed, "checkpoint", token, progress={"pct": 50}).status_code == 200
    assert acme.run_call(claimed, "complete", token).status_code == 200
    done = acme.ok("POST", f"/issues/{issue['id']}/review", {"decision": "accept"})
    assert done["status"] == "done"
    return done, aid


def test_the_activity_of_a_full_loop_lists_every_step_newest_first(api: Api) -> None:
    acme = api.new_company()
    issue, aid = _full_loop(acme)
    page = acme.ok("GET", "/activity", params={"issueId": issue["id"]})
    entries = page["data"]
    assert page["hasMore"] is False and page["nextCursor"] is None
    steps = [(e["type"], e["fromStatus"], e["toStatus"]) for e in entries]
    assert steps == [
        ("issue.done", "review", "done"),
        ("issue.review", "running", "review"),
        ("issue.commented", "running", "running"),
        ("issue.started", "assigned", "running"),
        ("issue.assigned", "queued", "assigned"),
        ("issue.created", None, "queued"),
    ]
    stamps = [e["at"] for e in entries]
    assert stamps == sorted(stamps, reverse=True)
    versions = [e["version"] for e in entries if e["type"] in TRANSITIONS]
    assert versions == list(range(issue["version"], 0, -1))
    assert issue["version"] == 5
    assert entries[2]["version"] == 3  # a comment keeps the version it found

    user = entries[0]["actor"]
    assert user.startswith("user:")
    actors = [e["actor"] for e in entries]
    assert actors == [user, f"agent:{aid}", "user:ada", f"agent:{aid}", user, user]
    for entry in entries:
        assert entry["id"].startswith("act_") and entry["issueId"] == issue["id"]
        assert entry["commandId"] and entry["commandId"].startswith("cmd_")
    assert len({e["commandId"] for e in entries}) == 6
    assert len({e["id"] for e in entries}) == 6


def test_the_activity_can_be_filtered_by_type(api: Api) -> None:
    acme = api.new_company()
    issue, aid = _full_loop(acme)
    (started,) = walk(acme, "/activity", issueId=issue["id"], type="issue.started")
    assert started["type"] == "issue.started" and started["actor"] == f"agent:{aid}"
    assert walk(acme, "/activity", issueId=issue["id"], type="issue.failed") == []
    other, _ = _full_loop(acme)
    created = walk(acme, "/activity", type="issue.created")
    assert [e["issueId"] for e in created] == [other["id"], issue["id"]]


def test_the_activity_can_be_cut_by_time_since_inclusive_until_exclusive(api: Api) -> None:
    acme = api.new_company()
    issue, _ = _full_loop(acme)
    entries = walk(acme, "/activity", issueId=issue["id"])
    pivot = entries[2]["at"]  # the comment
    later = [e for e in entries if e["at"] >= pivot]
    earlier = [e for e in entries if e["at"] < pivot]
    assert later and earlier

    assert walk(acme, "/activity", issueId=issue["id"], since=pivot) == later
    assert walk(acme, "/activity", issueId=issue["id"], until=pivot) == earlier
    shifted = (_time(pivot) + timedelta(hours=2)).isoformat(timespec="milliseconds")
    assert shifted.endswith("+00:00")
    in_berlin = shifted.replace("+00:00", "+02:00")  # the same moment, another zone
    assert walk(acme, "/activity", issueId=issue["id"], since=in_berlin) == later
    between = walk(acme, "/activity", issueId=issue["id"], since=entries[-1]["at"], until=pivot)
    assert between == earlier
    assert walk(acme, "/activity", since="2001-01-01T00:00:00Z", until="2001-01-02T00:00:00Z") == []


def test_the_activity_pages_through_every_entry_without_repeats(api: Api) -> None:
    acme = api.new_company()
    _full_loop(acme)
    _full_loop(acme)
    everything = acme.ok("GET", "/activity", params={"limit": 100})["data"]
    assert len(everything) == 12
    for limit in [1, 5]:
        walked = walk(acme, "/activity", limit=limit)
        assert len({e["id"] for e in walked}) == len(walked)
        assert walked == everything, limit
    first = acme.ok("GET", "/activity", params={"limit": 5})
    assert len(first["data"]) == 5 and first["hasMore"] is True and first["nextCursor"]


def test_bad_activity_queries_are_refused(api: Api) -> None:
    acme = api.new_company()
    for params, field in [
        ({"type": "issue.progress"}, "type"),
        ({"type": "bogus"}, "type"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-04-11T08:14:00"}, "since"),
        ({"until": "2026-13-01T00:00:00Z"}, "until"),
        ({"limit": "0"}, "limit"),
        ({"limit": "many"}, "limit"),
    ]:
        assert_invalid(acme.call("GET", "/activity", params=params), field)


def test_the_activity_is_for_admins_of_the_company_only(api: Api) -> None:
    acme, rival = api.new_company("Acme"), api.new_company("Rival")
    issue, aid = _full_loop(acme)
    token = acme.agent_token(aid)
    assert_problem(acme.call("GET", "/activity", token=token), 403, "forbidden")
    assert rival.ok("GET", "/activity", params={"issueId": issue["id"]})["data"] == []
    assert rival.ok("GET", "/activity")["data"] == []
    cross = api.call("GET", f"{acme.prefix}/activity", rival.token)
    assert_problem(cross, 404, "not_found")
    assert len(walk(acme, "/activity", issueId=issue["id"])) == 6


def test_a_budget_stop_is_in_the_activity_as_the_budgets_doing(api: Api) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    issue = acme.issue("pricey", assignedAgentId=aid, budget={"perTaskUsd": 1})
    claimed = acme.claim(aid, token)
    assert acme.run_call(claimed, "costs", token, usd=1).json()["stop"] is True
    entries = walk(acme, "/activity", issueId=issue["id"])
    assert [(e["type"], e["actor"]) for e in entries[:4]] == [
        ("issue.handoff", "system:budget"),
        ("budget.threshold", "system:budget"),
        ("budget.threshold", "system:budget"),
        ("budget.threshold", "system:budget"),
    ]
    assert entries[0]["version"] == acme.ok("GET", f"/issues/{issue['id']}")["version"]
    assert len({e["commandId"] for e in entries[:4]}) == 1
