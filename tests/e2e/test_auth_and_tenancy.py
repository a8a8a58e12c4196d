"""Who may call what: 401 without a valid token, 403 for agents on admin actions, and 404
(never a hint) for one company's token naming another company's resources."""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import pytest

from tests.e2e.client import Api, Company, assert_problem, poll_command

# (method, path under /v1/companies/{cid}, body); {tid} {aid} {iid} {qid} {tok} {cmd} filled in.
ENDPOINTS: list[tuple[str, str, Any]] = [
    ("GET", "", None),
    ("POST", "/tokens", {"role": "admin"}),
    ("DELETE", "/tokens/{tok}", None),
    ("POST", "/teams", {"name": "intruders"}),
    ("GET", "/teams", None),
    ("GET", "/teams/{tid}", None),
    ("POST", "/agents", {"name": "mole"}),
    ("GET", "/agents", None),
    ("GET", "/agents/{aid}", None),
    ("PATCH", "/agents/{aid}", {"status": "paused", "capacity": 9}),
    ("GET", "/issues", None),
    ("POST", "/issues", {"title": "planted"}),
    ("GET", "/issues/{iid}", None),
    ("PATCH", "/issues/{iid}", {"title": "defaced"}),
    ("POST", "/issues/{qid}/assign", {"agentId": "{aid}"}),
    ("POST", "/issues/{iid}/cancel", {"reason": "sabotage"}),
    ("POST", "/issues/{iid}/reassign", {"toTeamId": "{tid}"}),
    ("POST", "/issues/{iid}/comments", {"text": "hello", "author": "user:mallory"}),
    ("GET", "/issues/{iid}/comments", None),
    ("GET", "/issues/{iid}/runs", None),
    ("GET", "/issues/{iid}/runs/run_nope", None),
    ("GET", "/commands/{cmd}", None),
]
IDS = [f"{m} {p or '/'}" for m, p, _ in ENDPOINTS]
WITH_IDS = [e for e in ENDPOINTS if "{" in e[1]]


@dataclass
class Victim:
    """Company B with one of everything, and the ids to name them by."""

    company: Company
    refs: dict[str, str]
    agent_token: str

    def snapshot(self) -> dict[str, Any]:
        b = self.company
        return {
            "company": b.ok("GET", ""),
            "teams": b.ok("GET", "/teams")["data"],
            "agents": b.ok("GET", "/agents")["data"],
            "issues": b.ok("GET", "/issues")["data"],
            "comments": b.ok("GET", f"/issues/{self.refs['iid']}/comments")["data"],
            "agent token works": b.call("GET", "/issues", token=self.agent_token).status_code,
        }


def _victim(api: Api) -> Victim:
    b = api.new_company("Globex")
    # Async first, so the command has long been applied when it is polled at the end.
    accepted = b.call("POST", "/issues", {"title": "queued"}, headers={"Prefer": "respond-async"})
    team = b.team()
    agent = b.agent(teamIds=[team["id"]], capacity=3)
    token = b.ok("POST", "/tokens", {"role": "agent", "agentId": agent["id"]}, status=201)
    issue = b.issue("assigned", assignedAgentId=agent["id"])
    b.ok("POST", f"/issues/{issue['id']}/comments", {"text": "x", "author": "user:b"}, status=201)
    queued = poll_command(b, accepted.headers["location"])["result"]
    refs = {
        "cid": b.id,
        "tid": team["id"],
        "aid": agent["id"],
        "iid": issue["id"],
        "qid": queued["id"],
        "tok": token["id"],
        "cmd": accepted.json()["commandId"],
    }
    return Victim(b, refs, token["token"])


def _fake(refs: dict[str, str]) -> dict[str, str]:
    """Ids of the same kinds that exist nowhere."""
    return {k: v.split("_")[0] + "_" + "0" * 26 for k, v in refs.items()}


def _indistinguishable(real: Any, fake: Any, refs: dict[str, str]) -> None:
    """The 404 for a real foreign resource says no more than the 404 for a made-up one."""
    text = real.text
    for key, value in refs.items():
        text = text.replace(value, _fake(refs)[key])
    assert text == fake.text


def _fill(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**refs)
    if isinstance(value, dict):
        return {k: _fill(v, refs) for k, v in value.items()}
    return value


def _every(endpoints: list[tuple[str, str, Any]], check: Callable[[str, str, Any], None]) -> None:
    """Run ``check`` on every endpoint and report all the ones that fail, not just the first."""
    failures = []
    for method, path, body in endpoints:
        try:
            check(method, path, body)
        except AssertionError as error:
            failures.append(f"{method} {path or '/'}: {str(error).splitlines()[0]}")
    assert not failures, "\n".join(failures)


def test_a_token_naming_another_company_in_the_path_gets_404_everywhere_and_changes_nothing(
    api: Api,
) -> None:
    acme = api.new_company("Acme")
    victim = _victim(api)
    before = victim.snapshot()
    fake_refs = _fake(victim.refs)

    def check(method: str, path: str, body: Any) -> None:
        url = f"/v1/companies/{victim.company.id}" + _fill(path, victim.refs)
        response = api.call(method, url, acme.token, _fill(body, victim.refs))
        assert_problem(response, 404, "not_found")
        fake_url = f"/v1/companies/{fake_refs['cid']}" + _fill(path, fake_refs)
        fake = api.call(method, fake_url, acme.token, _fill(body, fake_refs))
        _indistinguishable(response, fake, victim.refs)

    _every(ENDPOINTS, check)
    assert victim.snapshot() == before


def test_another_companys_ids_under_ones_own_path_get_404_everywhere_and_change_nothing(
    api: Api,
) -> None:
    acme = api.new_company("Acme")
    acme.issue(assignedAgentId=acme.agent()["id"])  # Acme has resources of its own
    victim = _victim(api)
    before = victim.snapshot()
    fake_refs = _fake(victim.refs)

    def check(method: str, path: str, body: Any) -> None:
        response = acme.call(method, _fill(path, victim.refs), _fill(body, victim.refs))
        assert_problem(response, 404, "not_found")
        fake = acme.call(method, _fill(path, fake_refs), _fill(body, fake_refs))
        _indistinguishable(response, fake, victim.refs)

    _every(WITH_IDS, check)
    assert victim.snapshot() == before


def test_an_agent_token_of_another_company_gets_404(api: Api) -> None:
    acme = api.new_company("Acme")
    agent_token = acme.agent_token(acme.agent()["id"])
    victim = _victim(api)
    for path in ("", "/issues", f"/issues/{victim.refs['iid']}", "/agents"):
        response = api.call("GET", f"/v1/companies/{victim.company.id}{path}", agent_token)
        assert_problem(response, 404, "not_found")


def test_referencing_another_companys_agent_or_team_in_a_body_is_invalid(api: Api) -> None:
    acme = api.new_company("Acme")
    victim = _victim(api)
    before = victim.snapshot()
    mine = acme.issue()
    aid, tid = victim.refs["aid"], victim.refs["tid"]
    for path, body in [
        (f"/issues/{mine['id']}/assign", {"agentId": aid}),
        ("/agents", {"name": "x", "teamIds": [tid]}),
        ("/tokens", {"role": "agent", "agentId": aid}),
    ]:
        response = acme.call("POST", path, body)
        assert response.status_code == 422, (path, response.text)
    assert acme.ok("GET", f"/issues/{mine['id']}") == mine
    assert victim.snapshot() == before


# 401


@pytest.mark.parametrize(("method", "path", "body"), ENDPOINTS, ids=IDS)
def test_a_missing_or_invalid_token_is_unauthorized(
    api: Api, method: str, path: str, body: Any
) -> None:
    refs = {k: f"{k}_x" for k in ("tid", "aid", "iid", "qid", "tok", "cmd")}
    url = "/v1/companies/cmp_x" + _fill(path, refs)
    for header in (None, "Bearer", "Bearer not-a-token", "Basic YTpi", "bearer aq_op_guess"):
        headers = {} if header is None else {"Authorization": header}
        response = api.call(method, url, None, _fill(body, refs), headers=headers)
        assert_problem(response, 401, "unauthorized")


# 403 for agent tokens

AGENT_FORBIDDEN = [e for e in ENDPOINTS if e[0] != "GET" and e[1] != "/issues/{iid}/comments"]


def test_an_agent_token_may_not_do_any_admin_write(api: Api) -> None:
    own = _victim(api)  # the agent's own company this time
    before = own.snapshot()

    def check(method: str, path: str, body: Any) -> None:
        response = own.company.call(
            method, _fill(path, own.refs), _fill(body, own.refs), token=own.agent_token
        )
        assert_problem(response, 403, "forbidden")

    _every(AGENT_FORBIDDEN, check)
    assert own.snapshot() == before


AGENT_READS = ["", "/issues", "/issues/{iid}", "/issues/{iid}/comments", "/issues/{iid}/runs",
               "/agents", "/agents/{aid}", "/teams", "/teams/{tid}"]  # fmt: skip


def test_an_agent_token_may_read_its_company(api: Api) -> None:
    own = _victim(api)

    def check(method: str, path: str, body: Any) -> None:
        response = own.company.call(method, _fill(path, own.refs), token=own.agent_token)
        assert response.status_code == 200, response.text
        assert response.json() == own.company.ok(method, _fill(path, own.refs))

    _every([("GET", path, None) for path in AGENT_READS], check)
