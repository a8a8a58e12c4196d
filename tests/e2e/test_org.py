"""Companies, tokens, teams and agents: the organisation an issue queue lives in."""

from __future__ import annotations

from tests.e2e.client import Api, assert_invalid, assert_problem, walk

# Companies


def test_the_operator_creates_a_company_and_its_admin_reads_it(api: Api) -> None:
    created = api.operator("POST", "/v1/companies", {"name": "Globex"})
    assert created.status_code == 201, created.text
    body = created.json()
    assert body["id"].startswith("cmp_")
    assert body["name"] == "Globex"
    assert body["createdAt"].endswith("Z")
    token = api.operator("POST", f"/v1/companies/{body['id']}/tokens", {"role": "admin"}).json()
    fetched = api.call("GET", f"/v1/companies/{body['id']}", token["token"])
    assert fetched.status_code == 200
    assert fetched.json() == body


def test_a_company_admin_token_may_not_create_companies(api: Api) -> None:
    acme = api.new_company()
    response = api.call("POST", "/v1/companies", acme.token, {"name": "Rival"})
    assert_problem(response, 403, "forbidden")


def test_creating_a_company_without_a_token_is_unauthorized(api: Api) -> None:
    response = api.call("POST", "/v1/companies", None, {"name": "Nobody"})
    assert_problem(response, 401, "unauthorized")


def test_creating_a_company_with_an_empty_name_is_invalid(api: Api) -> None:
    assert_invalid(api.operator("POST", "/v1/companies", {"name": ""}), "name")
    assert_invalid(api.operator("POST", "/v1/companies", {}), "name")


def test_getting_an_unknown_company_as_the_operator_is_not_found(api: Api) -> None:
    assert_problem(api.operator("GET", "/v1/companies/cmp_nope"), 404, "not_found")


# Tokens


def test_an_admin_token_is_returned_once_in_plaintext_and_works(api: Api) -> None:
    acme = api.new_company()
    body = acme.ok("POST", "/tokens", {"role": "admin"}, status=201)
    assert body["id"].startswith("tok_")
    assert body["role"] == "admin"
    assert body["agentId"] is None
    assert isinstance(body["token"], str) and len(body["token"]) >= 20
    assert acme.call("GET", "", token=body["token"]).status_code == 200


def test_an_agent_token_is_bound_to_its_agent(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    body = acme.ok("POST", "/tokens", {"role": "agent", "agentId": agent["id"]}, status=201)
    assert body["role"] == "agent"
    assert body["agentId"] == agent["id"]
    assert body["token"]
    assert acme.call("GET", "/issues", token=body["token"]).status_code == 200


def test_an_agent_token_needs_an_agent_id(api: Api) -> None:
    acme = api.new_company()
    assert_invalid(acme.call("POST", "/tokens", {"role": "agent"}))


def test_an_agent_token_for_an_unknown_agent_is_invalid(api: Api) -> None:
    acme = api.new_company()
    response = acme.call("POST", "/tokens", {"role": "agent", "agentId": "agt_nope"})
    assert_invalid(response, "agentId")


def test_a_token_role_must_be_admin_or_agent(api: Api) -> None:
    acme = api.new_company()
    assert_invalid(acme.call("POST", "/tokens", {"role": "owner"}), "role")


def test_a_revoked_token_is_unauthorized_from_then_on(api: Api) -> None:
    acme = api.new_company()
    extra = acme.ok("POST", "/tokens", {"role": "admin"}, status=201)
    assert acme.call("GET", "/issues", token=extra["token"]).status_code == 200
    revoked = acme.call("DELETE", f"/tokens/{extra['id']}")
    assert revoked.status_code == 204, revoked.text
    assert revoked.content == b""
    assert_problem(acme.call("GET", "/issues", token=extra["token"]), 401, "unauthorized")
    assert acme.call("GET", "/issues").status_code == 200  # the other token still works


def test_revoking_an_unknown_token_is_not_found(api: Api) -> None:
    acme = api.new_company()
    assert_problem(acme.call("DELETE", "/tokens/tok_nope"), 404, "not_found")


# Teams


def test_teams_are_created_listed_and_fetched(api: Api) -> None:
    acme = api.new_company()
    core = acme.team("core")
    growth = acme.team("growth")
    assert core["id"].startswith("tm_")
    assert core["name"] == "core"
    assert core["companyId"] == acme.id
    assert acme.ok("GET", f"/teams/{core['id']}") == core
    listed = acme.ok("GET", "/teams")
    assert [t["id"] for t in listed["data"]] == [growth["id"], core["id"]]
    assert listed["hasMore"] is False
    assert listed["nextCursor"] is None


def test_teams_paginate(api: Api) -> None:
    acme = api.new_company()
    ids = {acme.team(f"t{i}")["id"] for i in range(3)}
    first = acme.ok("GET", "/teams", params={"limit": 2})
    assert len(first["data"]) == 2
    assert first["hasMore"] is True
    assert {t["id"] for t in walk(acme, "/teams", limit=2)} == ids


def test_an_unknown_team_is_not_found(api: Api) -> None:
    acme = api.new_company()
    assert_problem(acme.call("GET", "/teams/tm_nope"), 404, "not_found")


def test_a_team_needs_a_name(api: Api) -> None:
    acme = api.new_company()
    assert_invalid(acme.call("POST", "/teams", {"name": ""}), "name")
    assert_invalid(acme.call("POST", "/teams", {"name": "x", "colour": "red"}), "colour")


# Agents


def test_a_new_agent_is_active_with_capacity_one_and_no_runs(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent("writer")
    assert agent["id"].startswith("agt_")
    assert agent["name"] == "writer"
    assert agent["status"] == "active"
    assert agent["capacity"] == 1
    assert agent["activeRuns"] == 0
    assert agent["teamIds"] == []
    assert acme.ok("GET", f"/agents/{agent['id']}") == agent


def test_an_agent_is_created_with_teams_and_a_capacity(api: Api) -> None:
    acme = api.new_company()
    core, growth = acme.team("core"), acme.team("growth")
    agent = acme.agent("writer", teamIds=[core["id"], growth["id"]], capacity=4)
    assert sorted(agent["teamIds"]) == sorted([core["id"], growth["id"]])
    assert agent["capacity"] == 4
    listed = acme.ok("GET", "/agents")["data"]
    assert [a["id"] for a in listed] == [agent["id"]]
    assert listed[0]["teamIds"] == agent["teamIds"]


def test_an_agent_in_an_unknown_team_is_invalid(api: Api) -> None:
    acme = api.new_company()
    assert_invalid(acme.call("POST", "/agents", {"name": "w", "teamIds": ["tm_nope"]}), "teamIds")
    assert acme.ok("GET", "/agents")["data"] == []


def test_an_agent_capacity_must_be_a_positive_integer(api: Api) -> None:
    acme = api.new_company()
    for capacity in (0, -1, 1.5, "2", None):
        response = acme.call("POST", "/agents", {"name": "w", "capacity": capacity})
        assert_invalid(response, "capacity")


def test_an_agent_is_paused_and_resumed(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    paused = acme.ok("PATCH", f"/agents/{agent['id']}", {"status": "paused"})
    assert paused["status"] == "paused"
    assert acme.ok("GET", f"/agents/{agent['id']}")["status"] == "paused"
    resumed = acme.ok("PATCH", f"/agents/{agent['id']}", {"status": "active"})
    assert resumed["status"] == "active"


def test_an_agent_capacity_name_and_teams_are_patched(api: Api) -> None:
    acme = api.new_company()
    core, growth = acme.team("core"), acme.team("growth")
    agent = acme.agent("writer", teamIds=[core["id"]])
    patched = acme.ok(
        "PATCH",
        f"/agents/{agent['id']}",
        {"name": "editor", "capacity": 3, "teamIds": [growth["id"]]},
    )
    assert patched["name"] == "editor"
    assert patched["capacity"] == 3
    assert patched["teamIds"] == [growth["id"]]
    assert patched["status"] == "active"
    assert "activeRuns" in patched
    assert acme.ok("GET", f"/agents/{agent['id']}") == patched
    cleared = acme.ok("PATCH", f"/agents/{agent['id']}", {"teamIds": []})
    assert cleared["teamIds"] == []


def test_patching_an_agent_into_an_unknown_team_is_invalid_and_changes_nothing(api: Api) -> None:
    acme = api.new_company()
    core = acme.team()
    agent = acme.agent(teamIds=[core["id"]])
    response = acme.call("PATCH", f"/agents/{agent['id']}", {"teamIds": ["tm_nope"]})
    assert_invalid(response, "teamIds")
    assert acme.ok("GET", f"/agents/{agent['id']}")["teamIds"] == [core["id"]]


def test_patching_an_agent_with_a_bad_status_or_capacity_is_invalid(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    path = f"/agents/{agent['id']}"
    assert_invalid(acme.call("PATCH", path, {"status": "sleeping"}), "status")
    assert_invalid(acme.call("PATCH", path, {"capacity": 0}), "capacity")
    assert_invalid(acme.call("PATCH", path, {"activeRuns": 5}), "activeRuns")
    assert acme.ok("GET", path) == agent


def test_an_unknown_agent_is_not_found(api: Api) -> None:
    acme = api.new_company()
    assert_problem(acme.call("GET", "/agents/agt_nope"), 404, "not_found")
    assert_problem(acme.call("PATCH", "/agents/agt_nope", {"capacity": 2}), 404, "not_found")
