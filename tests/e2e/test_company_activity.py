"""The company's audit trail (issue 17, item 3): who created, changed or removed agents,
teams, tokens and webhook endpoints, with a before/after of each field, in GET …/activity
(``scope=company|issue|all``) and the company's event stream."""

from __future__ import annotations

import json
import time
from typing import Any

from tests.e2e.client import Api, Company, assert_invalid, assert_problem
from tests.receiver import receiver
from tests.sse import stream


def _company(acme: Company, **params: Any) -> list[dict[str, Any]]:
    """The company's own entries, newest first."""
    return acme.ok("GET", "/activity", params={"scope": "company", **params})["data"]  # type: ignore[no-any-return]


def _only(acme: Company, **params: Any) -> dict[str, Any]:
    (entry,) = _company(acme, **params)
    return entry


def _me_actor(acme: Company) -> str:
    me = acme.api.call("GET", "/v1/me", acme.token).json()
    return f"user:{me['tokenId']}"


def test_agents_created_paused_resumed_and_changed_are_in_the_company_trail(api: Api) -> None:
    acme = api.new_company()
    actor = _me_actor(acme)
    team = acme.team("core")
    agent = acme.agent("writer", capacity=2, teamIds=[team["id"]])
    aid = agent["id"]
    created = _only(acme, type="agent.created")
    assert created["subjectType"] == "agent" and created["subjectId"] == aid
    assert created["actor"] == actor and created["commandId"].startswith("cmd_")
    assert created["issueId"] is None and created["toStatus"] is None
    assert created["version"] is None
    assert created["changes"] == {
        "name": {"before": None, "after": "writer"},
        "status": {"before": None, "after": "active"},
        "capacity": {"before": None, "after": 2},
        "teamIds": {"before": None, "after": [team["id"]]},
    }
    acme.ok("PATCH", f"/agents/{aid}", {"status": "paused", "capacity": 3})
    paused = _only(acme, type="agent.paused")
    assert paused["changes"] == {
        "status": {"before": "active", "after": "paused"},
        "capacity": {"before": 2, "after": 3},
    }
    acme.ok("PATCH", f"/agents/{aid}", {"status": "active"})
    assert _only(acme, type="agent.resumed")["changes"] == {
        "status": {"before": "paused", "after": "active"}
    }
    acme.ok("PATCH", f"/agents/{aid}", {"name": "editor", "teamIds": []})
    assert _only(acme, type="agent.updated")["changes"] == {
        "name": {"before": "writer", "after": "editor"},
        "teamIds": {"before": [team["id"]], "after": []},
    }
    before = _company(acme)
    acme.ok("PATCH", f"/agents/{aid}", {"name": "editor"})  # changes nothing: no entry
    assert _company(acme) == before
    assert [e["type"] for e in before] == [
        "agent.updated",
        "agent.resumed",
        "agent.paused",
        "agent.created",
        "team.created",
        "token.created",  # the admin token the test company was given
    ]
    assert [e["type"] for e in _company(acme, subjectId=aid)] == [
        "agent.updated",
        "agent.resumed",
        "agent.paused",
        "agent.created",
    ]


def test_the_default_scope_is_the_issues_entries_as_before(api: Api) -> None:
    acme = api.new_company()
    acme.agent("writer")
    issue = acme.issue("Ship")
    default = acme.ok("GET", "/activity")["data"]
    assert [(e["type"], e["issueId"]) for e in default] == [("issue.created", issue["id"])]
    assert default[0]["subjectType"] == "issue" and default[0]["subjectId"] == issue["id"]
    assert default[0]["changes"] is None
    assert acme.ok("GET", "/activity", params={"scope": "issue"})["data"] == default
    both = acme.ok("GET", "/activity", params={"scope": "all"})["data"]
    assert [e["type"] for e in both] == ["issue.created", "agent.created", "token.created"]
    assert [e["type"] for e in _company(acme)] == ["agent.created", "token.created"]
    # ``subjectId`` of an issue: its entries.
    by_issue = acme.ok("GET", "/activity", params={"scope": "all", "subjectId": issue["id"]})
    assert by_issue["data"] == default


def test_tokens_created_and_revoked_never_show_the_token(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent("worker")
    made = acme.ok("POST", "/tokens", {"role": "agent", "agentId": agent["id"]}, status=201)
    created = _company(acme, type="token.created")[0]
    assert created["subjectId"] == made["id"]
    assert created["changes"] == {
        "role": {"before": None, "after": "agent"},
        "agentId": {"before": None, "after": agent["id"]},
    }
    acme.call("DELETE", f"/tokens/{made['id']}")
    acme.call("DELETE", f"/tokens/{made['id']}")  # again: 204, and no second entry
    revoked = _only(acme, type="token.revoked")
    assert revoked["subjectId"] == made["id"]
    assert revoked["changes"]["revokedAt"]["before"] is None
    assert revoked["changes"]["revokedAt"]["after"]
    trail = json.dumps(acme.ok("GET", "/activity", params={"scope": "all"}))
    assert made["token"] not in trail and acme.token not in trail
    # The operator's own writes name the operator.
    by_operator = api.operator("POST", f"/v1/companies/{acme.id}/tokens", {"role": "admin"})
    assert by_operator.status_code == 201
    assert _company(acme, type="token.created")[0]["actor"] == "user:operator"


def test_webhook_endpoints_created_changed_disabled_and_deleted_never_show_the_secret(
    api: Api,
) -> None:
    acme = api.new_company()
    body = {"url": "http://127.0.0.1:9/a", "events": ["issue.done"], "description": "d"}
    hook = acme.ok("POST", "/webhooks", body, status=201)
    wid = hook["id"]
    assert _only(acme, type="webhook_endpoint.created")["changes"] == {
        "url": {"before": None, "after": "http://127.0.0.1:9/a"},
        "events": {"before": None, "after": ["issue.done"]},
        "description": {"before": None, "after": "d"},
        "disabled": {"before": None, "after": False},
    }
    acme.ok("PATCH", f"/webhooks/{wid}", {"events": ["issue.*"], "description": None})
    assert _only(acme, type="webhook_endpoint.updated")["changes"] == {
        "events": {"before": ["issue.done"], "after": ["issue.*"]},
        "description": {"before": "d", "after": None},
    }
    acme.ok("PATCH", f"/webhooks/{wid}", {"disabled": True})
    disabled = _only(acme, type="webhook_endpoint.disabled")
    assert disabled["changes"] == {
        "disabled": {"before": False, "after": True},
        "disabledReason": {"before": None, "after": "disabled by a user"},
    }
    assert disabled["actor"] == _me_actor(acme)
    acme.ok("PATCH", f"/webhooks/{wid}", {"disabled": False})
    assert _only(acme, type="webhook_endpoint.enabled")["changes"]["disabled"] == {
        "before": True,
        "after": False,
    }
    assert acme.call("DELETE", f"/webhooks/{wid}").status_code == 204
    deleted = _only(acme, type="webhook_endpoint.deleted")
    assert deleted["subjectId"] == wid
    assert deleted["changes"]["url"] == {"before": "http://127.0.0.1:9/a", "after": None}
    trail = json.dumps(_company(acme))
    assert hook["secret"] not in trail and "secret" not in trail
    assert [e["type"] for e in _company(acme, subjectId=wid)] == [
        "webhook_endpoint.deleted",
        "webhook_endpoint.enabled",
        "webhook_endpoint.disabled",
        "webhook_endpoint.updated",
        "webhook_endpoint.created",
    ]


def test_an_endpoint_agentq_disables_is_in_the_trail_by_the_system(api: Api) -> None:
    acme = api.new_company()
    with receiver(lambda _n: (410, 0.0)) as hook:
        created = acme.ok("POST", "/webhooks", {"url": hook.url, "events": ["issue.*"]}, status=201)
        acme.issue("nobody home")
        deadline = time.monotonic() + 20
        while not _company(acme, type="webhook_endpoint.disabled"):
            assert time.monotonic() < deadline
            time.sleep(0.1)
    entry = _only(acme, type="webhook_endpoint.disabled")
    assert entry["subjectId"] == created["id"]
    assert entry["actor"] == "system:webhooks" and entry["commandId"] is None
    assert entry["reason"] == "410 Gone"
    assert entry["changes"] == {
        "disabled": {"before": False, "after": True},
        "disabledReason": {"before": None, "after": "410 Gone"},
    }


def test_a_refused_write_leaves_no_entry_and_a_replayed_one_leaves_one(api: Api) -> None:
    acme = api.new_company()
    before = _company(acme)
    unknown_team = {"name": "x", "teamIds": ["tm_nope"]}
    assert_invalid(acme.call("POST", "/agents", unknown_team), "teamIds", 0)
    assert_invalid(acme.call("POST", "/agents", {"name": ""}), "name")
    agent = acme.agent("w")
    assert_invalid(acme.call("PATCH", f"/agents/{agent['id']}", {"status": "asleep"}), "status")
    assert_problem(acme.call("PATCH", "/agents/agt_nope", {"name": "y"}), 404, "not_found")
    assert [e["type"] for e in _company(acme)] == ["agent.created"] + [e["type"] for e in before]
    headers = {"Idempotency-Key": "team-once"}
    first = acme.ok("POST", "/teams", {"name": "ops"}, status=201, headers=headers)
    again = acme.ok("POST", "/teams", {"name": "ops"}, status=201, headers=headers)
    assert first == again
    assert [e["subjectId"] for e in _company(acme, type="team.created")] == [first["id"]]


def test_bad_scope_combinations_are_refused(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("x")
    for params, where in (
        ({"scope": "everything"}, "scope"),
        ({"scope": ""}, "scope"),
        ({"scope": "company", "issueId": issue["id"]}, "issueId"),
        ({"type": "agent.created"}, "type"),  # the default scope is an issue's entries
        ({"scope": "issue", "type": "token.revoked"}, "type"),
        ({"scope": "company", "type": "issue.created"}, "type"),
        ({"subjectId": ""}, "subjectId"),
    ):
        errors = assert_invalid(acme.call("GET", "/activity", params=params), "query", where)
        assert errors
    for params in ({"type": "agent.created"}, {"scope": "company", "issueId": issue["id"]}):
        response = stream(acme.api.base_url, acme.prefix + "/events", acme.token, params=params)
        assert response.status == 422, response.body
        response.close()
    on_issue = stream(
        acme.api.base_url,
        f"{acme.prefix}/issues/{issue['id']}/events",
        acme.token,
        params={"type": "agent.created"},
    )
    assert on_issue.status == 422
    on_issue.close()
    assert acme.ok("GET", "/activity", params={"scope": "all", "type": "agent.created"})


def test_the_company_trail_is_the_companys_own(api: Api) -> None:
    acme, rival = api.new_company(), api.new_company("Rival")
    agent = acme.agent("mine")
    assert _company(rival, subjectId=agent["id"]) == []
    assert all(e["subjectId"] != agent["id"] for e in _company(rival))
    other = api.call("GET", f"/v1/companies/{acme.id}/activity", rival.token)
    assert_problem(other, 404, "not_found")
    # An agent token reads no trail.
    token = acme.agent_token(agent["id"])
    refused = acme.call("GET", "/activity", params={"scope": "company"}, token=token)
    assert_problem(refused, 403, "forbidden")


def test_the_company_stream_sends_company_entries_with_scope_company_or_all(api: Api) -> None:
    acme = api.new_company()
    start = _company(acme)[0]["id"]  # the admin token's creation
    base, path = acme.api.base_url, acme.prefix + "/events"
    own = stream(base, path, acme.token, params={"after": start, "scope": "company"})
    every = stream(base, path, acme.token, params={"after": start, "scope": "all"})
    issues = stream(base, path, acme.token, params={"after": start})
    agent = acme.agent("streamed")
    issue = acme.issue("streamed too")
    got = own.take(1)[0]
    assert (got.event, got.entry["subjectId"]) == ("agent.created", agent["id"])
    assert got.entry == _only(acme, type="agent.created")
    assert [e.event for e in every.take(2)] == ["agent.created", "issue.created"]
    assert [(e.event, e.entry["issueId"]) for e in issues.take(1)] == [
        ("issue.created", issue["id"])
    ]
    for reader in (own, every, issues):
        assert reader.quiet(0.3) == []
        reader.close()


def test_a_budget_set_changed_and_removed_is_in_the_company_trail(api: Api) -> None:
    acme = api.new_company()
    actor = _me_actor(acme)
    agent = acme.agent("spender")
    path = f"/budgets/agent/{agent['id']}"
    subject = f"agent:{agent['id']}"
    acme.ok("PUT", path, {"monthlyUsd": 5})
    first = _only(acme, type="budget.set")
    assert first["subjectType"] == "budget" and first["subjectId"] == subject
    assert first["actor"] == actor
    assert first["changes"] == {"monthlyUsd": {"before": None, "after": 5}}
    acme.ok("PUT", path, {"monthlyUsd": "5.000"})  # the same cap: nothing changed, no entry
    assert len(_company(acme, type="budget.set")) == 1
    acme.ok("PUT", path, {"monthlyUsd": "7.5"})
    acme.ok("DELETE", path, status=204)
    removed, raised, _ = _company(acme, type="budget.set", subjectId=subject)
    assert raised["changes"] == {"monthlyUsd": {"before": 5, "after": 7.5}}
    assert removed["changes"] == {"monthlyUsd": {"before": 7.5, "after": None}}


def test_a_routine_created_changed_paused_resumed_and_deleted_is_in_the_company_trail(
    api: Api,
) -> None:
    acme = api.new_company()
    actor = _me_actor(acme)
    body = {"name": "weekly", "cron": "0 9 * * 1", "template": {"title": "Report {date}"}}
    routine = acme.ok("POST", "/routines", body, status=201)
    rid = routine["id"]
    created = _only(acme, type="routine.created")
    assert created["subjectType"] == "routine" and created["subjectId"] == rid
    assert created["actor"] == actor
    assert {name: change["after"] for name, change in created["changes"].items()} == {
        "name": "weekly",
        "cron": "0 9 * * 1",
        "timezone": "UTC",
        "template": routine["template"],  # as the routine's answer shows it
        "catchUp": "skip",
        "paused": False,
    }
    acme.ok("PATCH", f"/routines/{rid}", {"paused": True, "name": "weekly report"})
    assert _only(acme, type="routine.paused")["changes"] == {
        "name": {"before": "weekly", "after": "weekly report"},
        "paused": {"before": False, "after": True},
    }
    acme.ok("PATCH", f"/routines/{rid}", {"paused": True})  # as it was: no entry
    assert len(_company(acme, subjectId=rid)) == 2
    acme.ok("PATCH", f"/routines/{rid}", {"paused": False})
    acme.ok("PATCH", f"/routines/{rid}", {"cron": "0 10 * * 1"})
    acme.ok("DELETE", f"/routines/{rid}", status=204)
    deleted, updated, resumed, _, _ = _company(acme, subjectId=rid)
    assert resumed["type"] == "routine.resumed"
    assert resumed["changes"] == {"paused": {"before": True, "after": False}}
    assert updated["type"] == "routine.updated"
    assert updated["changes"] == {"cron": {"before": "0 9 * * 1", "after": "0 10 * * 1"}}
    assert deleted["type"] == "routine.deleted"
    assert deleted["changes"]["name"] == {"before": "weekly report", "after": None}
    assert all(change["after"] is None for change in deleted["changes"].values())
