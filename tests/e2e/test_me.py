"""``GET /v1/me``: a token says who it is, so a client is given a URL and a token only."""

from __future__ import annotations

from tests.e2e.client import Api, assert_problem


def test_an_admin_token_names_its_company_and_role(api: Api) -> None:
    acme = api.new_company()
    me = api.call("GET", "/v1/me", acme.token)
    assert me.status_code == 200, me.text
    body = me.json()
    assert body["role"] == "admin"
    assert body["companyId"] == acme.id
    assert body["agentId"] is None
    assert body["tokenId"].startswith("tok_")


def test_an_agent_token_names_its_company_and_its_agent(api: Api) -> None:
    acme = api.new_company()
    agent_id, token = acme.agent_with_token()
    body = api.call("GET", "/v1/me", token).json()
    assert body["role"] == "agent"
    assert (body["companyId"], body["agentId"]) == (acme.id, agent_id)
    assert body["tokenId"].startswith("tok_")


def test_the_operator_token_belongs_to_no_company(api: Api) -> None:
    body = api.operator("GET", "/v1/me").json()
    assert body == {"role": "operator", "companyId": None, "agentId": None, "tokenId": None}


def test_a_bad_missing_or_revoked_token_is_unauthorized(api: Api) -> None:
    assert_problem(api.call("GET", "/v1/me", "aq_not_a_token"), 401, "unauthorized")
    assert_problem(api.call("GET", "/v1/me", None), 401, "unauthorized")
    acme = api.new_company()
    token_id = api.call("GET", "/v1/me", acme.token).json()["tokenId"]
    other = acme.ok("POST", "/tokens", {"role": "admin"}, status=201)["token"]
    revoked = api.call("DELETE", f"{acme.prefix}/tokens/{token_id}", other)
    assert revoked.status_code == 204, revoked.text
    assert_problem(api.call("GET", "/v1/me", acme.token), 401, "unauthorized")
