"""The conventions every endpoint shares: bodies, async commands, idempotency, ids, times."""

from __future__ import annotations

import re
import uuid
from datetime import datetime

import pytest

from tests.e2e.client import Api, Company, assert_invalid, assert_problem, poll_command

MIB = 1024 * 1024
JSON = {"content-type": "application/json"}


def _count(acme: Company) -> int:
    return len(acme.ok("GET", "/issues", params={"limit": 200})["data"])


# Bodies


def test_a_body_over_one_mebibyte_is_refused_with_413(api: Api) -> None:
    acme = api.new_company()
    body = b'{"title": "t", "description": "' + b"x" * MIB + b'"}'
    assert_problem(
        acme.call("POST", "/issues", content=body, headers=JSON), 413, "payload_too_large"
    )
    assert _count(acme) == 0


def test_a_body_just_under_the_limit_is_read(api: Api) -> None:
    acme = api.new_company()
    body = b'{"title": "t", "description": "' + b"x" * (MIB - 100) + b'"}'
    assert_invalid(acme.call("POST", "/issues", content=body, headers=JSON), "description")


@pytest.mark.parametrize(
    "raw", [b"{", b'{"title": }', b"{'title': 'x'}", b'{"title": "t"} extra', b"\xff\xfe"]
)
def test_malformed_json_is_invalid(api: Api, raw: bytes) -> None:
    acme = api.new_company()
    assert_invalid(acme.call("POST", "/issues", content=raw, headers=JSON))
    assert _count(acme) == 0


@pytest.mark.parametrize("raw", [b'[{"title": "t"}]', b'"title"', b"42", b"null", b"true"])
def test_a_json_body_that_is_not_an_object_is_invalid(api: Api, raw: bytes) -> None:
    acme = api.new_company()
    assert_invalid(acme.call("POST", "/issues", content=raw, headers=JSON))
    issue = acme.issue()
    assert_invalid(acme.call("PATCH", f"/issues/{issue['id']}", content=raw, headers=JSON))


def test_an_unknown_route_is_a_not_found_problem(api: Api) -> None:
    acme = api.new_company()
    assert_problem(acme.call("GET", "/widgets"), 404, "not_found")


# Prefer: respond-async and the command resource


def test_respond_async_answers_202_and_the_command_shows_the_result(api: Api) -> None:
    acme = api.new_company()
    response = acme.call("POST", "/issues", {"title": "later"}, headers={"Prefer": "respond-async"})
    assert response.status_code == 202, response.text
    body = response.json()
    assert body["status"] == "accepted"
    assert body["commandId"].startswith("cmd_")
    assert set(body) == {"commandId", "status"}
    location = response.headers["location"]
    assert location == f"/v1/companies/{acme.id}/commands/{body['commandId']}"
    command = poll_command(acme, location)
    assert command["status"] == "applied", command
    assert command["id"] == body["commandId"]
    issue = command["result"]
    assert issue["title"] == "later"
    assert acme.ok("GET", f"/issues/{issue['id']}") == issue


def test_a_rejected_async_command_shows_its_problem(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    response = acme.call(
        "POST",
        f"/issues/{issue['id']}/assign",
        {"agentId": "agt_nope"},
        headers={"Prefer": "respond-async"},
    )
    assert response.status_code == 202, response.text
    command = poll_command(acme, response.headers["location"])
    assert command["status"] == "rejected", command
    assert "result" not in command
    error = command["error"]
    assert error["status"] == 422
    assert error["code"] == "invalid_request"
    assert error["type"] == "https://agentq.dev/problems/invalid_request"
    assert acme.ok("GET", f"/issues/{issue['id']}")["status"] == "queued"


def test_an_async_verb_applies_like_a_synchronous_one(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    response = acme.call(
        "POST", f"/issues/{issue['id']}/cancel", {}, headers={"Prefer": "respond-async"}
    )
    assert response.status_code == 202
    command = poll_command(acme, response.headers["location"])
    assert command["status"] == "applied"
    assert command["result"]["status"] == "cancelled"


def test_every_write_answer_names_its_command(api: Api) -> None:
    acme = api.new_company()
    created = acme.call("POST", "/issues", {"title": "named"})
    assert created.status_code == 201, created.text
    command = acme.ok("GET", f"/commands/{created.headers['command-id']}")
    assert command["status"] == "applied" and command["result"] == created.json()
    refused = acme.call("POST", f"/issues/{created.json()['id']}/assign", {"agentId": "agt_no"})
    assert refused.status_code == 422
    assert acme.ok("GET", f"/commands/{refused.headers['command-id']}")["status"] == "rejected"
    later = acme.call(
        "PATCH",
        f"/issues/{created.json()['id']}",
        {"title": "renamed"},
        headers={"Prefer": "respond-async"},
    )
    assert later.status_code == 202
    assert later.headers["command-id"] == later.json()["commandId"]
    assert acme.call("GET", f"/issues/{created.json()['id']}").headers.get("command-id") is None


def test_an_unknown_command_is_not_found(api: Api) -> None:
    acme = api.new_company()
    assert_problem(acme.call("GET", "/commands/cmd_nope"), 404, "not_found")


def test_a_command_of_another_company_is_not_found(api: Api) -> None:
    acme, globex = api.new_company("Acme"), api.new_company("Globex")
    response = globex.call("POST", "/issues", {"title": "x"}, headers={"Prefer": "respond-async"})
    acme.issue()  # time for the command to apply (a 202's Location at once: tested above)
    assert poll_command(globex, response.headers["location"])["status"] == "applied"
    assert_problem(acme.call("GET", f"/commands/{response.json()['commandId']}"), 404, "not_found")


# Idempotency-Key


def test_the_same_idempotency_key_and_body_replay_the_first_answer(api: Api) -> None:
    acme = api.new_company()
    key = {"Idempotency-Key": "create-hero-1"}
    first = acme.call("POST", "/issues", {"title": "Hero"}, headers=key)
    second = acme.call("POST", "/issues", {"title": "Hero"}, headers=key)
    assert first.status_code == second.status_code == 201
    assert second.json() == first.json()
    assert [i["id"] for i in acme.ok("GET", "/issues")["data"]] == [first.json()["id"]]


def test_the_same_idempotency_key_with_another_body_is_a_conflict(api: Api) -> None:
    acme = api.new_company()
    key = {"Idempotency-Key": "create-hero-2"}
    assert acme.call("POST", "/issues", {"title": "Hero"}, headers=key).status_code == 201
    conflict = acme.call("POST", "/issues", {"title": "Villain"}, headers=key)
    assert_problem(conflict, 422, "idempotency_conflict")
    assert [i["title"] for i in acme.ok("GET", "/issues")["data"]] == ["Hero"]


def test_a_replayed_patch_is_not_applied_twice(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue("v1")
    path = f"/issues/{issue['id']}"
    key = {"Idempotency-Key": "rename-1"}
    first = acme.ok("PATCH", path, {"title": "v2"}, headers=key)
    acme.ok("PATCH", path, {"title": "v3"})
    replay = acme.ok("PATCH", path, {"title": "v2"}, headers=key)
    assert replay == first
    current = acme.ok("GET", path)
    assert current["title"] == "v3"
    assert current["version"] == 3


def test_a_replayed_error_is_the_same_error(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    acme.ok("POST", f"/issues/{issue['id']}/cancel", {})
    key = {"Idempotency-Key": "late-cancel"}
    first = acme.call("POST", f"/issues/{issue['id']}/cancel", {}, headers=key)
    second = acme.call("POST", f"/issues/{issue['id']}/cancel", {}, headers=key)
    assert_problem(first, 409, "frozen")
    assert second.status_code == 409
    assert second.json() == first.json()


def test_creating_a_company_twice_with_one_idempotency_key_creates_it_once(api: Api) -> None:
    key = {"Idempotency-Key": f"new-company-{uuid.uuid4().hex}"}
    first = api.operator("POST", "/v1/companies", {"name": "Once"}, headers=key)
    again = api.operator("POST", "/v1/companies", {"name": "Once"}, headers=key)
    assert first.status_code == again.status_code == 201, again.text
    assert again.json() == first.json()
    other = api.operator("POST", "/v1/companies", {"name": "Twice?"}, headers=key)
    assert_problem(other, 422, "idempotency_conflict")


def test_idempotency_keys_are_scoped_to_a_company(api: Api) -> None:
    acme, globex = api.new_company("Acme"), api.new_company("Globex")
    key = {"Idempotency-Key": "shared-key"}
    mine = acme.call("POST", "/issues", {"title": "Same"}, headers=key)
    theirs = globex.call("POST", "/issues", {"title": "Same"}, headers=key)
    assert mine.status_code == theirs.status_code == 201
    assert mine.json()["id"] != theirs.json()["id"]
    assert theirs.json()["companyId"] == globex.id


@pytest.mark.parametrize("key", ["", "k" * 256])
def test_an_idempotency_key_must_be_1_to_255_chars(api: Api, key: str) -> None:
    acme = api.new_company()
    response = acme.call("POST", "/issues", {"title": "x"}, headers={"Idempotency-Key": key})
    assert_invalid(response, "Idempotency-Key")
    assert _count(acme) == 0


# Ids and timestamps

PREFIXED = re.compile(r"^(cmp|agt|tm|iss|cmt|tok|cmd)_[0-9a-z]+$")


def _utc(text: str) -> datetime:
    assert text.endswith("Z"), text
    parsed = datetime.fromisoformat(text.replace("Z", "+00:00"))
    assert parsed.utcoffset() is not None
    return parsed


def test_ids_carry_their_type_prefix_and_timestamps_are_utc_with_z(api: Api) -> None:
    acme = api.new_company()
    company = acme.ok("GET", "")
    team = acme.team()
    agent = acme.agent(teamIds=[team["id"]])
    token = acme.ok("POST", "/tokens", {"role": "agent", "agentId": agent["id"]}, status=201)
    issue = acme.issue(dueAt="2026-04-12T19:00:00+02:00", assignedTeamId=team["id"])
    body = {"text": "hello", "author": "user:alice"}
    comment = acme.ok("POST", f"/issues/{issue['id']}/comments", body, status=201)
    accepted = acme.call("POST", "/teams", {"name": "x"}, headers={"Prefer": "respond-async"})
    for prefix, value in [
        ("cmp_", company["id"]), ("tm_", team["id"]), ("agt_", agent["id"]),
        ("tok_", token["id"]), ("iss_", issue["id"]), ("cmt_", comment["id"]),
        ("cmd_", accepted.json()["commandId"]),
    ]:  # fmt: skip
        assert value.startswith(prefix) and PREFIXED.match(value), value
    for stamp in [
        company["createdAt"], team["createdAt"], agent["createdAt"], agent["updatedAt"],
        token["createdAt"], issue["createdAt"], issue["updatedAt"], issue["dueAt"],
        comment["createdAt"],
    ]:  # fmt: skip
        _utc(stamp)
    assert _utc(issue["dueAt"]).isoformat() == "2026-04-12T17:00:00+00:00"


def test_ids_sort_by_creation_time(api: Api) -> None:
    acme = api.new_company()
    ids = [acme.issue(f"issue {i}")["id"] for i in range(4)]
    assert ids == sorted(ids)


def test_a_command_location_answers_at_once_after_202(api: Api) -> None:
    """The Location of a 202 is readable at once (``accepted`` until applied), never a 404
    in the moment between the worker's commit and the API's read."""
    acme = api.new_company()
    answers = []
    for i in range(60):
        response = acme.call(
            "POST", "/teams", {"name": f"t{i}"}, headers={"Prefer": "respond-async"}
        )
        answers.append(acme.api.call("GET", response.headers["location"], acme.token).status_code)
    assert answers.count(200) == len(answers), f"{len(answers) - answers.count(200)} not 200"
