"""Hostile input on both stacks (issue #13): values that cannot be stored or served, inputs
outside the published contract, cursors that are not ours, and clients that hang up.

Each refusal is a 422 ``invalid_request`` naming where the bad value is, and changes
nothing: what it would have written reads back as before."""

from __future__ import annotations

import json
import socket
import time
from typing import Any

import pytest

from tests.e2e.client import Api, Company, assert_invalid, assert_problem
from tests.e2e.test_observability import Scrape
from tests.procs import Stack

JSON = {"content-type": "application/json"}
#: A lone surrogate, as a hostile client writes it in JSON text (it has no UTF-8 form).
SURROGATE = "\\ud800"


@pytest.fixture
def acme(api: Api) -> Company:
    return api.new_company("Hostile")


def _claimed(acme: Company) -> tuple[dict[str, Any], str]:
    agent_id, token = acme.agent_with_token("hostile-worker")
    acme.issue("work", assignedAgentId=agent_id)
    return acme.claim(agent_id, token, leaseSeconds=3600), token


def _raw(acme: Company, method: str, path: str, text: str, token: str | None = "") -> Any:
    """Send ``text`` as the JSON body, as is (so it can hold what json.dumps never writes)."""
    return acme.call(method, path, token=token, content=text.encode(), headers=JSON)


def _run_path(claimed: dict[str, Any], verb: str = "") -> str:
    path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}"
    return f"{path}/{verb}" if verb else path


# Values that cannot be stored or served


def test_a_lone_surrogate_anywhere_in_a_run_call_is_refused_naming_it_and_changes_nothing(
    acme: Company,
) -> None:
    claimed, token = _claimed(acme)
    lease = claimed["lease"]["token"]
    run_before = acme.ok("GET", _run_path(claimed))
    cases = [
        ("approvals",
         f'{{"leaseToken": "{lease}", "action": "x", "details": {{"k": "{SURROGATE}"}}}}',
         ["details", "k"]),
        ("approvals", f'{{"leaseToken": "{lease}", "action": "a{SURROGATE}"}}', ["action"]),
        ("checkpoint", f'{{"leaseToken": "{lease}", "progress": {{"k": ["{SURROGATE}"]}}}}',
         ["progress", "k", 0]),
        ("checkpoint", f'{{"leaseToken": "{lease}", "state": {{"{SURROGATE}": 1}}}}',
         ["state", SURROGATE]),
        ("complete", f'{{"leaseToken": "{lease}", "result": {{"k": "{SURROGATE}"}}}}',
         ["result", "k"]),
        ("fail", f'{{"leaseToken": "{lease}", "reason": "r", "details": {{"k": "{SURROGATE}"}}}}',
         ["details", "k"]),
    ]  # fmt: skip
    for verb, text, loc in cases:
        response = _raw(acme, "POST", _run_path(claimed, verb), text, token=token)
        errors = assert_invalid(response)
        assert [e["loc"] for e in errors] == [loc], (verb, errors)
        assert "surrogate" in errors[0]["msg"]
    assert acme.ok("GET", _run_path(claimed)) == run_before
    assert acme.ok("GET", "/approvals")["data"] == []
    assert acme.ok("GET", f"/issues/{claimed['issue']['id']}")["status"] == "running"


def test_a_lone_surrogate_or_nul_in_any_text_field_is_refused_naming_it(acme: Company) -> None:
    issues_before = acme.ok("GET", "/issues")
    cases = [
        ("/issues", f'{{"title": "t{SURROGATE}"}}', ["title"]),
        ("/issues", f'{{"title": "t", "labels": ["ok", "{SURROGATE}"]}}', ["labels", 1]),
        ("/issues", '{"title": "t", "description": "a\\u0000b"}', ["description"]),
        ("/issues", '{"title": "t", "\\u0000": 1}', ["\x00"]),
        ("/teams", f'{{"name": "{SURROGATE}"}}', ["name"]),
        ("/agents", f'{{"name": "{SURROGATE}x"}}', ["name"]),
        ("/webhooks", f'{{"url": "http://127.0.0.1:9/x", "events": ["issue.*"], '
         f'"description": "{SURROGATE}"}}', ["description"]),
    ]  # fmt: skip
    for path, text, loc in cases:
        errors = assert_invalid(_raw(acme, "POST", path, text))
        assert [e["loc"] for e in errors] == [loc], (path, text, errors)
    assert acme.ok("GET", "/issues") == issues_before
    assert acme.ok("GET", "/teams")["data"] == []
    assert acme.ok("GET", "/webhooks")["data"] == []


def test_numbers_that_are_not_finite_are_refused_not_stored_as_null(acme: Company) -> None:
    claimed, token = _claimed(acme)
    lease = claimed["lease"]["token"]
    before = acme.ok("GET", _run_path(claimed))
    for literal in ["NaN", "Infinity", "-Infinity", "1e309", "-1e400"]:
        text = f'{{"leaseToken": "{lease}", "progress": {{"pct": [1, {literal}]}}}}'
        errors = assert_invalid(_raw(acme, "POST", _run_path(claimed, "checkpoint"), text, token))
        assert [e["loc"] for e in errors] == [["progress", "pct", 1]], (literal, errors)
        assert "finite" in errors[0]["msg"]
    assert acme.ok("GET", _run_path(claimed)) == before


def _nested(levels: int) -> Any:
    value: Any = "bottom"
    for _ in range(levels):
        value = {"k": value}
    return value


def test_free_form_objects_nest_at_most_32_levels_and_what_is_stored_reads_back(
    acme: Company,
) -> None:
    claimed, token = _claimed(acme)
    # The body is level 1; progress's 31 nested objects are levels 2 to 32.
    ok = acme.run_call(claimed, "checkpoint", token, progress=_nested(31))
    assert ok.status_code == 200, ok.text
    too_deep = acme.run_call(claimed, "checkpoint", token, progress=_nested(32))
    errors = assert_invalid(too_deep, "progress")
    assert "32 levels" in errors[0]["msg"]
    oddities = {
        "emoji": "\U0001f600",
        "rtl": "\u202e",
        "": "empty key",
        "big": 2**80,
        "tiny": 5e-324,
    }
    done = acme.run_call(claimed, "complete", token, result=oddities)
    assert done.status_code == 200, done.text
    run = acme.ok("GET", _run_path(claimed))
    assert run["exitDetails"] == {"result": oddities}
    assert acme.ok("GET", f"/issues/{claimed['issue']['id']}/runs")["data"][0]["id"] == run["id"]


# Inputs outside the published contract


def test_money_is_a_decimal_number_or_a_plain_decimal_string_of_at_most_6_places(
    acme: Company,
) -> None:
    claimed, token = _claimed(acme)
    for usd in ["1e2", " 1", "1 ", "-1", "+1", "1.1234567", "0x10", "", "1,5", True, None, [1]]:
        response = acme.run_call(claimed, "costs", token, usd=usd)
        assert_invalid(response, "usd")
    issue = acme.ok("GET", f"/issues/{claimed['issue']['id']}")
    assert issue["budget"]["spent"]["usd"] == 0
    for usd, total in [(0.25, 0.25), ("1.5", 1.75), (100, 101.75)]:
        response = acme.run_call(claimed, "costs", token, usd=usd)
        assert response.status_code == 200, response.text
        assert response.json()["budget"]["spent"]["usd"] == total
    assert_invalid(acme.call("POST", "/issues", {"title": "t", "budget": {"perTaskUsd": "1e2"}}))


def test_due_at_is_an_rfc_3339_time_with_a_zone_and_nothing_else(acme: Company) -> None:
    before = acme.ok("GET", "/issues")
    for due in [1e10, 10_000_000_000, "10000000000", "2026-04-11", "2026-04-11T08:14:00",
                "2026-04-11 08:14:00Z", "20260411T081400Z", "2026-W15-6", True]:  # fmt: skip
        assert_invalid(acme.call("POST", "/issues", {"title": "t", "dueAt": due}), "dueAt")
    assert acme.ok("GET", "/issues") == before
    issue = acme.issue(dueAt="2026-04-11T08:14:00.5+02:00")
    assert issue["dueAt"] == "2026-04-11T06:14:00.500Z"
    patched = acme.call("PATCH", f"/issues/{issue['id']}", {"dueAt": 1e10})
    assert_invalid(patched, "dueAt")
    for since in ["1700000000", "2026-04-11", "2026-04-11T08:14:00"]:
        assert_invalid(acme.call("GET", "/issues", params={"since": since}), "since")


# Cursors


def _lists(acme: Company, claimed: dict[str, Any]) -> list[str]:
    iid = claimed["issue"]["id"]
    hook = acme.ok("POST", "/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["issue.*"]}, 201)
    return [
        "/issues", "/activity", "/agents", "/teams", "/webhooks", "/approvals", "/costs",
        f"/issues/{iid}/comments", f"/issues/{iid}/runs", f"/webhooks/{hook['id']}/deliveries",
    ]  # fmt: skip


def test_a_cursor_that_is_not_ours_is_a_422_on_every_list(acme: Company) -> None:
    claimed, _ = _claimed(acme)
    surrogate = "WyIyMDk5LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwgIlx1ZDgwMCJd"
    forged = "WyIyMDk5LTAxLTAxVDAwOjAwOjAwKzAwOjAwIiwiaXNzX3giXQ"  # a valid unsigned position
    for path in _lists(acme, claimed):
        for cursor in [surrogate, "AA", forged, forged + ".AAAAAAAAAAAAAAAAAAAAAA", "%", "ü."]:
            response = acme.call("GET", path, params={"cursor": cursor})
            errors = assert_invalid(response, "cursor")
            assert errors[0]["loc"] == ["query", "cursor"], (path, cursor, errors)


def test_a_cursor_is_good_only_for_its_own_list_filters_and_company(api: Api) -> None:
    acme, other = api.new_company("Cursor A"), api.new_company("Cursor B")
    for company in (acme, other):
        for i in range(3):
            company.team(f"t{i}")
            company.agent(f"a{i}")
            company.issue(f"i{i}")
    page = acme.ok("GET", "/teams", params={"limit": 1})
    cursor = page["nextCursor"]
    assert page["hasMore"] and cursor
    # The cursor walks its own list, with another limit even.
    rest = acme.ok("GET", "/teams", params={"cursor": cursor, "limit": 5})
    assert [t["name"] for t in rest["data"]] == ["t1", "t0"]
    assert_invalid(acme.call("GET", "/agents", params={"cursor": cursor}), "cursor")
    operator = api.operator("GET", f"{other.prefix}/teams", params={"cursor": cursor})
    assert_invalid(operator, "cursor")
    queued = acme.ok("GET", "/issues", params={"status": "queued", "limit": 1})["nextCursor"]
    assert acme.call("GET", "/issues", params={"status": "queued", "cursor": queued}).is_success
    assert_invalid(acme.call("GET", "/issues", params={"status": "done", "cursor": queued}))
    assert_invalid(acme.call("GET", "/issues", params={"cursor": queued}), "cursor")
    tampered = queued[:-1] + ("A" if queued[-1] != "A" else "B")
    assert_invalid(acme.call("GET", "/issues", params={"status": "queued", "cursor": tampered}))


# Clients that hang up, and errors that are not the server's


def _errors_logged(stack: Stack) -> list[str]:
    log = stack.processes[0].log.read_text(errors="replace")
    return [line for line in log.splitlines() if '"ERROR"' in line or "Traceback" in line]


def test_a_client_that_hangs_up_mid_body_is_not_a_server_error(
    api: Api, acme: Company, stack: Stack
) -> None:
    route = "/v1/companies/{cid}/teams"
    before = Scrape(api)
    errors_before = len(_errors_logged(stack))
    host, port = stack.base_url.removeprefix("http://").split(":")
    for _ in range(3):
        with socket.create_connection((host, int(port)), timeout=10) as sock:
            head = (
                f"POST {acme.prefix}/teams HTTP/1.1\r\nHost: x\r\n"
                f"Authorization: Bearer {acme.token}\r\nContent-Type: application/json\r\n"
                "Content-Length: 100\r\nExpect: 100-continue\r\n\r\n"
            )
            sock.sendall(head.encode())
            # The server says "100 Continue" once the handler reads the body: it is waiting.
            interim = b""
            while not interim.endswith(b"\r\n\r\n"):
                chunk = sock.recv(100)
                assert chunk, f"closed after {interim!r}"
                interim += chunk
            assert interim.startswith(b"HTTP/1.1 100 Continue"), interim
            sock.sendall(b'{"na')
    deadline = time.monotonic() + 10
    while True:  # the server notices each hang-up when it next reads
        after = Scrape(api)
        gone = after.value("agentq_requests_total", path=route, status_code="499")
        if gone - before.value("agentq_requests_total", path=route, status_code="499") >= 3:
            break
        assert time.monotonic() < deadline, after.all("agentq_requests_total", path=route)
        time.sleep(0.1)
    assert after.all("agentq_requests_error_total", path=route) == before.all(
        "agentq_requests_error_total", path=route
    )
    assert len(_errors_logged(stack)) == errors_before, _errors_logged(stack)[-3:]
    assert acme.ok("GET", "/teams")["data"] == []


def test_a_problem_naming_a_bad_key_can_itself_be_read(acme: Company) -> None:
    """The refusal shows the key it names with the surrogate escaped, so the answer is JSON."""
    response = _raw(acme, "POST", "/issues", f'{{"title": "t", "x{SURROGATE}": 1}}')
    errors = assert_invalid(response)
    assert errors[0]["loc"] == ["x\\ud800"]
    bad_query = acme.call("GET", "/issues?%ED%A0%80=1")
    assert bad_query.status_code == 422, bad_query.text
    json.loads(bad_query.text)


def test_query_values_that_are_not_utf_8_or_hold_a_nul_are_refused(acme: Company) -> None:
    for query in ["label=%00", "label=%ED%A0%80", "agent=%F0%9F", "label=%FF", "%C3=1"]:
        response = acme.call("GET", f"/issues?{query}")
        assert_invalid(response, "query")
    assert acme.call("GET", "/issues?label=%EF%BF%BD").status_code == 200  # U+FFFD itself


def test_a_body_over_1_mib_is_413_and_the_connection_is_closed(acme: Company) -> None:
    response = acme.call("POST", "/teams", content=b'{"name": "' + b"x" * (1 << 20) + b'"}')
    body = assert_problem(response, 413, "payload_too_large")
    assert "1 MiB" in body["detail"]
    assert response.headers["connection"] == "close"
    assert acme.ok("GET", "/teams")["data"] == []
