"""The tenant isolation matrix: every company route, every kind of token that must not get
through, and the answer each must get (issue #8, point 5).

- Company A's admin and agent tokens naming company B, in the path or by B's resource ids
  under A's own path: 404 ``not_found``, no different from the answer for made-up ids.
- B's agent token on B's admin-only endpoints: 403 ``forbidden``.
- Another agent of B on the first agent's run (and claiming for it): 403 ``forbidden``.

Each refused request is a problem document and changes nothing: B is read back in full
after every sweep. The table is checked against the routes of ``api.app.create_app()``
and against the served OpenAPI document, so a new route cannot be left out."""

from __future__ import annotations

import json
import os
import re
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import httpx
import pytest

from tests.e2e.client import Api, Company, assert_problem, poll_command
from tests.procs import Stack
from tests.receiver import Receiver, receiver

ROOT = Path(__file__).resolve().parents[2]
COMPANY = "/v1/companies/{cid}"

# Who may call an endpoint: any token of the company, its admin (or the operator) only,
# only the run's own agent, or an agent claiming for itself (admins may claim too).
MEMBER, ADMIN, RUN, CLAIM = "member", "admin", "run", "claim"


@dataclass(frozen=True)
class Endpoint:
    """A route under ``/v1/companies/{cid}`` (path parameters named as in the code), who
    may call it, and a valid body. Placeholders in the path are B's ids; in the body,
    ``{body_aid}``/``{body_tid}`` are ids valid in the company named by the path's
    ``{cid}``, ``{author}`` is the caller's own author, ``{lease}`` B's current lease."""

    method: str
    path: str
    access: str
    body: Any = None
    #: Path parameters to fill with another of B's ids (assign needs a queued issue).
    use: tuple[tuple[str, str], ...] = ()
    #: The route's template when ``path`` fixes one of its parameters (a budget's scope).
    template: str = ""

    @property
    def route(self) -> tuple[str, str]:
        return self.method, COMPANY + (self.template or self.path)

    @property
    def names_resource(self) -> bool:
        return "{" in self.path

    def __str__(self) -> str:
        return f"{self.method} {COMPANY}{self.path}"


LEASE_BODY = {"leaseToken": "{lease}"}
BUDGET = "/budgets/{budget_scope}/{sid}"
RUN_PATH = "/issues/{iid}/runs/{rid}"
TABLE: list[Endpoint] = [
    Endpoint("GET", "", MEMBER),
    Endpoint("POST", "/tokens", ADMIN, {"role": "agent", "agentId": "{body_aid}"}),
    Endpoint("DELETE", "/tokens/{tok_id}", ADMIN),
    Endpoint("POST", "/teams", ADMIN, {"name": "intruders"}),
    Endpoint("GET", "/teams", MEMBER),
    Endpoint("GET", "/teams/{tid}", MEMBER),
    Endpoint("POST", "/agents", ADMIN, {"name": "mole", "teamIds": ["{body_tid}"], "capacity": 2}),
    Endpoint("GET", "/agents", MEMBER),
    Endpoint("GET", "/agents/{aid}", MEMBER),
    Endpoint("PATCH", "/agents/{aid}", ADMIN, {"status": "paused", "capacity": 9}),
    Endpoint("POST", "/agents/{aid}/claim", CLAIM, {"waitSeconds": 0, "leaseSeconds": 60}),
    Endpoint("GET", "/commands/{cmd_id}", MEMBER),
    Endpoint("GET", "/issues", MEMBER),
    Endpoint(
        "POST",
        "/issues",
        ADMIN,
        {
            "title": "planted",
            "assignedAgentId": "{body_aid}",
            "notBefore": "2030-01-01T00:00:00Z",
            "retryPolicy": {"baseSeconds": 1, "maxSeconds": 2},
        },
    ),
    Endpoint(
        "POST",
        "/issues/bulk",
        ADMIN,
        {"ids": ["{qid}", "{iid}"], "op": "cancel", "args": {"reason": "sabotage"}},
    ),
    Endpoint("GET", "/bulk/{bid}", ADMIN),
    Endpoint("GET", "/issues/{iid}", MEMBER),
    Endpoint("PATCH", "/issues/{iid}", ADMIN, {"title": "defaced", "labels": ["pwned"]}),
    Endpoint("POST", "/issues/{iid}/assign", ADMIN, {"agentId": "{body_aid}"}, (("iid", "qid"),)),
    Endpoint("POST", "/issues/{iid}/cancel", ADMIN, {"reason": "sabotage"}),
    Endpoint("POST", "/issues/{iid}/reassign", ADMIN, {"toAgentId": "{body_aid}", "reason": "x"}),
    Endpoint("POST", "/issues/{iid}/review", ADMIN, {"decision": "accept"}, (("iid", "rvw"),)),
    Endpoint("POST", "/issues/{iid}/comments", MEMBER, {"text": "psst", "author": "{author}"}),
    Endpoint("GET", "/issues/{iid}/comments", MEMBER),
    Endpoint("GET", "/issues/{iid}/runs", MEMBER),
    Endpoint("GET", RUN_PATH, MEMBER),
    Endpoint("POST", RUN_PATH + "/checkpoint", RUN, {**LEASE_BODY, "progress": {"pct": 99}}),
    Endpoint(
        "POST",
        RUN_PATH + "/costs",
        RUN,
        {**LEASE_BODY, "usd": 0.25, "inputTokens": 10, "outputTokens": 5, "model": "m"},
    ),
    Endpoint("POST", RUN_PATH + "/complete", RUN, {**LEASE_BODY, "result": {"words": 280}}),
    Endpoint("POST", RUN_PATH + "/fail", RUN, {**LEASE_BODY, "reason": "x", "retryable": False}),
    Endpoint("POST", RUN_PATH + "/handoff", RUN, {**LEASE_BODY, "reason": "over to you"}),
    Endpoint("POST", RUN_PATH + "/approvals", RUN, {**LEASE_BODY, "action": "wire the money"}),
    Endpoint("GET", "/costs", ADMIN),
    Endpoint("GET", "/approvals", ADMIN),
    Endpoint("GET", "/approvals/{apid}", ADMIN),
    Endpoint("POST", "/approvals/{apid}/approve", ADMIN, {"comment": "fine by me"}),
    Endpoint("POST", "/approvals/{apid}/reject", ADMIN, {"comment": "no way"}),
    Endpoint("POST", "/approvals/decide", ADMIN, {"ids": ["{apid}"], "decision": "reject"}),
    Endpoint("GET", "/activity", ADMIN),
    Endpoint("GET", "/events", ADMIN),
    # An admin's, or the agent's of the issue's current run (as a run's endpoints are).
    Endpoint("GET", "/issues/{iid}/events", RUN),
    Endpoint("POST", "/webhooks", ADMIN, {"url": "{hook_url}", "events": ["issue.*"]}),
    Endpoint("GET", "/webhooks", ADMIN),
    Endpoint("GET", "/webhooks/{wid}", ADMIN),
    Endpoint("PATCH", "/webhooks/{wid}", ADMIN, {"events": ["issue.*"], "disabled": True}),
    Endpoint("DELETE", "/webhooks/{wid}", ADMIN),
    Endpoint("GET", "/webhooks/{wid}/deliveries", ADMIN),
    Endpoint("POST", "/webhooks/{wid}/deliveries/{did}/redeliver", ADMIN, {}),
    Endpoint(
        "POST",
        "/routines",
        ADMIN,
        {
            "name": "planted",
            "cron": "0 9 * * *",
            "template": {"title": "x", "assignedAgentId": "{body_aid}"},
        },
    ),
    Endpoint("GET", "/routines", ADMIN),
    Endpoint("GET", "/routines/{rtid}", ADMIN),
    Endpoint("PATCH", "/routines/{rtid}", ADMIN, {"paused": True, "name": "defaced"}),
    Endpoint("DELETE", "/routines/{rtid}", ADMIN),
    Endpoint("GET", "/routines/{rtid}/runs", ADMIN),
    # One scope per method: an agent's, a team's and the company's own id, each B's.
    Endpoint("PUT", "/budgets/agent/{aid}", ADMIN, {"monthlyUsd": 1}, template=BUDGET),
    Endpoint("GET", "/budgets/team/{tid}", ADMIN, template=BUDGET),
    Endpoint("DELETE", "/budgets/company/{cid}", ADMIN, template=BUDGET),
    Endpoint("GET", "/budgets", ADMIN),
]
WITH_BODY = [e for e in TABLE if e.method in {"POST", "PUT", "PATCH"}]


# The routes the application serves


def _template(path: str) -> str:
    """``/v1/companies/{cid:str}/x`` -> ``/v1/companies/{cid}/x``."""
    return re.sub(r"\{(\w+)(?::\w+)?\}", r"{\1}", path)


def _company_routes(routes: set[tuple[str, str]]) -> set[tuple[str, str]]:
    return {
        (m, p)
        for m, p in routes
        if m in {"GET", "POST", "PUT", "PATCH", "DELETE"}
        and (p == COMPANY or p.startswith(COMPANY + "/"))
    }


def _missing_from_table(served: set[tuple[str, str]]) -> list[str]:
    table = {e.route for e in TABLE}
    return sorted(f"{m} {p}" for m, p in _company_routes(served) - table)


APP_ROUTES = """
import json
from api.app import create_app
app = create_app()
print(json.dumps([[m, r.path] for r in app.routes for m in sorted(getattr(r, "methods", ()))]))
"""


def test_the_table_has_every_company_route_of_the_app_once() -> None:
    """Built in a child process: ``create_app`` sets up process-wide state (logging, the
    broker), which has no place in the test runner."""
    assert len({e.route for e in TABLE}) == len(TABLE), "an endpoint is in the table twice"
    with tempfile.TemporaryDirectory() as data_dir:
        env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTQ_")}
        env |= {
            "PYTHONPATH": str(ROOT),
            "AGENTQ_DATA_DIR": data_dir,
            "AGENTQ_ADMIN_TOKEN": "aq_op_route_listing",
            "AGENTQ_LOG_LEVEL": "WARNING",
        }
        done = subprocess.run(
            [sys.executable, "-c", APP_ROUTES],
            cwd=data_dir,  # no .env of the checkout
            env=env,
            capture_output=True,
            text=True,
            timeout=60,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    served = {(m, _template(p)) for m, p in json.loads(done.stdout.splitlines()[-1])}
    assert len(_company_routes(served)) >= len(TABLE)  # the listing really is the app's
    missing = _missing_from_table(served)
    assert not missing, "company routes missing from the isolation table:\n" + "\n".join(missing)
    stale = sorted(str(e) for e in TABLE if e.route not in served)
    assert not stale, "routes in the table the app does not serve:\n" + "\n".join(stale)


# The two companies


@dataclass
class World:
    """Company B with one of everything, company A with its own tokens, B's ids."""

    api: Api
    a: Company
    a_agent_token: str
    a_refs: dict[str, str]
    b: Company
    b_agent_token: str  # agent ``aid``: holds the run ``rid`` of issue ``iid``
    b_agent2_token: str  # agent ``aid2``: another agent of B, with no run
    refs: dict[str, str]
    lease: str  # B's current lease on ``rid``
    hook: Receiver
    before: dict[str, Any] | None = None

    def snapshot(self) -> dict[str, Any]:
        """Everything of B a refused request could have touched, read by B's admin."""
        r, b = self.refs, self.b
        run = f"/issues/{r['iid']}/runs/{r['rid']}"
        return {
            "company": b.ok("GET", ""),
            "teams": b.ok("GET", "/teams")["data"],
            "agents": b.ok("GET", "/agents")["data"],
            "issues": b.ok("GET", "/issues")["data"],
            "issue": b.ok("GET", f"/issues/{r['iid']}"),
            "comments": b.ok("GET", f"/issues/{r['iid']}/comments")["data"],
            "runs": b.ok("GET", f"/issues/{r['iid']}/runs")["data"],
            "run": b.ok("GET", run),
            "review run": b.ok("GET", f"/issues/{r['rvw']}/runs")["data"],
            "approvals": b.ok("GET", "/approvals")["data"],
            "costs": b.ok("GET", "/costs"),
            "activity": b.ok("GET", "/activity")["data"],
            "webhooks": b.ok("GET", "/webhooks")["data"],
            "deliveries": b.ok("GET", f"/webhooks/{r['wid']}/deliveries")["data"],
            "bulk": b.ok("GET", f"/bulk/{r['bid']}"),
            "routines": b.ok("GET", "/routines")["data"],
            "routine runs": b.ok("GET", f"/routines/{r['rtid']}/runs")["data"],
            "budgets": b.ok("GET", "/budgets")["data"],
            "command": b.ok("GET", f"/commands/{r['cmd_id']}"),
            "agent tokens work": [
                b.call("GET", "/issues", token=tok).status_code
                for tok in (self.b_agent_token, self.b_agent2_token)
            ],
            "webhooks received": len(self.hook.requests),
        }

    def unchanged(self) -> list[str]:
        """What differs in B from before the sweep (empty: nothing)."""
        after = self.snapshot()
        assert self.before is not None
        return [
            f"B's {key} changed:\n  before {self.before[key]}\n  after  {after[key]}"
            for key in after
            if after[key] != self.before[key]
        ]


def _claim(company: Company, agent_id: str, token: str) -> dict[str, Any]:
    body = {"waitSeconds": 5, "leaseSeconds": 3600}
    return company.ok("POST", f"/agents/{agent_id}/claim", body, token=token)  # type: ignore[no-any-return]


def _run_call(company: Company, claim: dict[str, Any], verb: str, token: str, **body: Any) -> Any:
    path = f"/issues/{claim['issue']['id']}/runs/{claim['run']['id']}/{verb}"
    body = {"leaseToken": claim["lease"]["token"], **body}
    return company.ok("POST", path, body, status=201 if verb == "approvals" else 200, token=token)


def _settled(b: Company, webhook_id: str, timeout_s: float = 20) -> dict[str, Any]:
    """The endpoint's one delivery, once it has succeeded (so B stops changing)."""
    deadline = time.monotonic() + timeout_s
    while True:
        deliveries = b.ok("GET", f"/webhooks/{webhook_id}/deliveries")["data"]
        if len(deliveries) == 1 and deliveries[0]["status"] == "succeeded":
            return deliveries[0]  # type: ignore[no-any-return]
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.05)


def _build(api: Api, hook: Receiver) -> World:
    b = api.new_company("Globex")
    # Async, so it leaves a command id to look up (applied long before it is read).
    accepted = b.call("POST", "/issues", {"title": "queued"}, headers={"Prefer": "respond-async"})
    assert accepted.status_code == 202, accepted.text
    team = b.team("core")
    agent = b.agent("worker", teamIds=[team["id"]], capacity=3)
    agent2 = b.agent("other worker")
    token = b.ok("POST", "/tokens", {"role": "agent", "agentId": agent["id"]}, status=201)
    agent2_token = b.agent_token(agent2["id"])
    # An issue in review: claimed and completed.
    in_review = b.issue("Draft the post", assignedAgentId=agent["id"])
    first = _claim(b, agent["id"], token["token"])
    assert first["issue"]["id"] == in_review["id"], first
    _run_call(b, first, "complete", token["token"], result={"words": 280})
    # The issue under attack: running, with a lease, a cost, a comment, a pending approval.
    issue = b.issue("Rewrite the hero section", assignedAgentId=agent["id"])
    claim = _claim(b, agent["id"], token["token"])
    assert claim["issue"]["id"] == issue["id"], claim
    _run_call(b, claim, "costs", token["token"], usd=0.01)
    comment = {"text": "Keep it short.", "author": "user:boss"}
    b.ok("POST", f"/issues/{issue['id']}/comments", comment, status=201)
    approval = _run_call(b, claim, "approvals", token["token"], action="publish")
    # A bulk job.
    spare = b.issue("to be cancelled in bulk")
    job = b.ok("POST", "/issues/bulk", {"ids": [spare["id"]], "op": "cancel"})
    assert job["status"] == "done" and job["succeeded"] == 1, job
    queued = poll_command(b, accepted.headers["location"])["result"]
    # Last, a webhook endpoint with one delivery (only issue.created: nothing else is sent).
    webhook = b.ok("POST", "/webhooks", {"url": hook.url, "events": ["issue.created"]}, status=201)
    b.issue("hooked")
    hook.wait_for(1)
    delivery = _settled(b, webhook["id"])
    # Paused: it must not tick (and change B) while the matrix runs.
    routine = {"name": "daily", "cron": "0 9 * * *", "paused": True, "template": {"title": "Daily"}}
    routine = b.ok("POST", "/routines", routine, status=201)
    for scope, ident in (("agent", agent["id"]), ("team", team["id"]), ("company", b.id)):
        b.ok("PUT", f"/budgets/{scope}/{ident}", {"monthlyUsd": 1000})

    a = api.new_company("Acme")
    a_team = a.team("red team")
    a_agent = a.agent("mallory", teamIds=[a_team["id"]])
    a.issue("Acme's own", assignedAgentId=a_agent["id"])
    return World(
        api=api,
        a=a,
        a_agent_token=a.agent_token(a_agent["id"]),
        a_refs={"body_aid": a_agent["id"], "body_tid": a_team["id"], "own_aid": a_agent["id"]},
        b=b,
        b_agent_token=token["token"],
        b_agent2_token=agent2_token,
        lease=claim["lease"]["token"],
        hook=hook,
        refs={
            "cid": b.id,
            "tok_id": token["id"],
            "tid": team["id"],
            "aid": agent["id"],
            "aid2": agent2["id"],
            "iid": issue["id"],
            "rid": claim["run"]["id"],
            "qid": queued["id"],
            "rvw": in_review["id"],
            "cmd_id": accepted.json()["commandId"],
            "apid": approval["id"],
            "bid": job["id"],
            "wid": webhook["id"],
            "did": delivery["id"],
            "rtid": routine["id"],
        },
    )


@pytest.fixture(scope="module")
def world(stack: Stack) -> Iterator[World]:
    """One setup per stack for the whole module, with its own client."""
    with Api(stack.base_url, stack.admin_token) as api, receiver() as hook:
        built = _build(api, hook)
        built.before = built.snapshot()
        yield built


# Filling in the table


def _fake(refs: dict[str, str]) -> dict[str, str]:
    """Ids of the same kinds and lengths that exist nowhere."""
    fakes = {}
    for n, (key, value) in enumerate(refs.items()):
        prefix, _, body = value.partition("_")
        fakes[key] = f"{prefix}_{str(n).zfill(len(body))}"
    return fakes


def _fill(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, str):
        return value.format(**refs)
    if isinstance(value, dict):
        return {k: _fill(v, refs) for k, v in value.items()}
    if isinstance(value, list):
        return [_fill(v, refs) for v in value]
    return value


def _url(endpoint: Endpoint, cid: str, refs: dict[str, str]) -> str:
    path_refs = {**refs, **{name: refs[other] for name, other in endpoint.use}}
    return f"/v1/companies/{cid}" + endpoint.path.format(**path_refs)


@dataclass(frozen=True)
class Caller:
    kind: str  # how the report names it
    token: str
    author: str  # what it writes as in a comment


def _callers(world: World) -> list[Caller]:
    return [
        Caller("A admin", world.a.token, "user:mallory"),
        Caller("A agent", world.a_agent_token, f"agent:{world.a_refs['own_aid']}"),
    ]


def _body_refs(world: World, caller: Caller, in_b: bool) -> dict[str, str]:
    """What a valid body names: ids of the company in the path, the caller itself."""
    ids = {"body_aid": world.refs["aid2"], "body_tid": world.refs["tid"]} if in_b else world.a_refs
    return {
        **world.refs,
        **ids,
        "author": caller.author,
        "lease": world.lease,
        "hook_url": world.hook.url,
    }


def _check(
    response: httpx.Response, status: int, code: str, what: str, same_as_fake: Any = None
) -> str | None:
    """None when the answer is the expected problem; else one line for the report."""
    try:
        assert_problem(response, status, code)
    except (AssertionError, KeyError, ValueError):
        line = f"{what}: expected {status} {code}, got {response.status_code} {response.text[:300]}"
        if same_as_fake is not None:
            line += f" (the same for made-up ids: {'yes' if same_as_fake() else 'NO'})"
        return line
    return None


def _same(real: httpx.Response, fake: httpx.Response, refs: dict[str, str]) -> bool:
    """The answer for real foreign ids says no more than the answer for made-up ones."""
    text = real.text
    for key, value in refs.items():
        text = text.replace(value, _fake(refs)[key])
    return real.status_code == fake.status_code and text == fake.text


def _report(world: World, failures: list[str]) -> None:
    failures = failures + world.unchanged()
    assert not failures, f"{len(failures)} problem(s):\n" + "\n".join(failures)


# The matrix


def test_another_companys_id_in_the_path_is_not_found_on_every_endpoint(world: World) -> None:
    """A's admin and agent tokens, B's company id and B's ids: 404, as for made-up ids."""
    b_ids = {k: v for k, v in world.refs.items() if k != "aid2"}
    fakes = _fake(b_ids)
    failures = []
    for endpoint in TABLE:
        for caller in _callers(world):
            body_refs = _body_refs(world, caller, in_b=True)
            body = _fill(endpoint.body, body_refs)
            url = _url(endpoint, world.b.id, world.refs)
            response = world.api.call(endpoint.method, url, caller.token, body)
            fake_url = _url(endpoint, fakes["cid"], fakes)
            fake = world.api.call(endpoint.method, fake_url, caller.token, body)
            what = f"{endpoint} [{caller.kind}, B's cid]"
            failures.append(_check(response, 404, "not_found", what))
            if failures[-1] is None and not _same(response, fake, b_ids):
                failures[-1] = f"{what}: the 404 differs from a made-up id's: {response.text}"
    _report(world, [f for f in failures if f])


def test_another_companys_ids_under_ones_own_company_are_not_found(world: World) -> None:
    """A's admin and agent tokens, A's company id, B's resource ids in the path: 404, even
    where the endpoint is run-only (docs/api.md: naming B's resources is 404). An agent token on
    an admin-only endpoint is refused before any id is looked up: 403, as for made-up ids."""
    b_ids = {k: v for k, v in world.refs.items() if k not in {"cid", "aid2"}}
    failures = []
    for endpoint in [e for e in TABLE if e.names_resource]:
        for caller in _callers(world):
            body = _fill(endpoint.body, _body_refs(world, caller, in_b=False))
            response = world.api.call(
                endpoint.method, _url(endpoint, world.a.id, world.refs), caller.token, body
            )

            def made_up(
                endpoint: Endpoint = endpoint, caller: Caller = caller, body: Any = body
            ) -> httpx.Response:
                url = _url(endpoint, world.a.id, {**world.refs, **_fake(b_ids)})
                return world.api.call(endpoint.method, url, caller.token, body)

            def same(real: httpx.Response = response, fake: Any = made_up) -> bool:
                return _same(real, fake(), b_ids)

            what = f"{endpoint} [{caller.kind}, A's cid, B's ids]"
            status, code = _refusal_naming_unknown_ids(endpoint, caller)
            failure = _check(response, status, code, what, same)
            if failure is None and not same():
                failure = f"{what}: the 404 differs from a made-up id's: {response.text}"
            failures.append(failure)
    _report(world, [f for f in failures if f])


def _refusal_naming_unknown_ids(endpoint: Endpoint, caller: Caller) -> tuple[int, str]:
    """What naming ids that are not the company's gets: 404, but an agent token on an
    admin-only endpoint is refused for its role first (403)."""
    if endpoint.access == ADMIN and caller.kind.endswith("agent"):
        return 403, "forbidden"
    return 404, "not_found"


def test_an_agent_token_gets_the_same_answer_for_its_companys_ids_and_made_up_ones(
    world: World,
) -> None:
    """No oracle: on every admin-only endpoint, B's agent token naming B's own resources
    (a token, a webhook, a delivery, a bulk, ...) is answered exactly as for made-up ids."""
    b_ids = {k: v for k, v in world.refs.items() if k not in {"cid", "aid2"}}
    caller = Caller("B agent", world.b_agent_token, f"agent:{world.refs['aid']}")
    failures = []
    for endpoint in [e for e in TABLE if e.access == ADMIN and e.names_resource]:
        body = _fill(endpoint.body, _body_refs(world, caller, in_b=True))
        real = world.api.call(
            endpoint.method, _url(endpoint, world.b.id, world.refs), caller.token, body
        )
        fake_url = _url(endpoint, world.b.id, {**world.refs, **_fake(b_ids)})
        fake = world.api.call(endpoint.method, fake_url, caller.token, body)
        what = f"{endpoint} [B agent, B's own ids]"
        failure = _check(real, 403, "forbidden", what)
        if failure is None and not _same(real, fake, b_ids):
            failure = f"{what}: {real.status_code} differs from made-up ids' {fake.status_code}"
        failures.append(failure)
    assert len(failures) > 10
    _report(world, [f for f in failures if f])


def _expect_forbidden(world: World, caller: Caller, endpoints: list[Endpoint]) -> None:
    """Each endpoint, called in B by ``caller`` with B's own ids: 403 ``forbidden``."""
    body_refs = _body_refs(world, caller, in_b=True)
    failures = []
    for endpoint in endpoints:
        body = _fill(endpoint.body, body_refs)
        response = world.api.call(
            endpoint.method, _url(endpoint, world.b.id, world.refs), caller.token, body
        )
        failures.append(_check(response, 403, "forbidden", f"{endpoint} [{caller.kind}]"))
    _report(world, [f for f in failures if f])


def test_an_agent_token_is_forbidden_every_admin_only_endpoint_of_its_own_company(
    world: World,
) -> None:
    admin_only = [e for e in TABLE if e.access == ADMIN]
    assert len(admin_only) > 20
    caller = Caller("B agent", world.b_agent_token, f"agent:{world.refs['aid']}")
    _expect_forbidden(world, caller, admin_only)


def test_another_agents_token_is_forbidden_the_runs_endpoints_and_its_claim(world: World) -> None:
    """Agent 2 of B, with agent 1's current lease token even: 403 on agent 1's run."""
    caller = Caller("B other agent", world.b_agent2_token, f"agent:{world.refs['aid2']}")
    endpoints = [e for e in TABLE if e.access in {RUN, CLAIM}]
    assert len(endpoints) == 8
    _expect_forbidden(world, caller, endpoints)


BAD_BODIES: list[tuple[str, dict[str, Any]]] = [
    ("not JSON", {"content": b'{"title": ', "headers": {"Content-Type": "application/json"}}),
    ("unknown field", {"json": {"notAField": True}}),
    ("a JSON array", {"json": [1, 2]}),
]


def test_a_bad_body_does_not_turn_a_cross_company_404_into_a_422(world: World) -> None:
    """The company is checked before the body is read: B stays invisible either way."""
    failures = []
    for endpoint in WITH_BODY:
        for caller in _callers(world):
            for name, kwargs in BAD_BODIES:
                url = _url(endpoint, world.b.id, world.refs)
                response = world.api.call(endpoint.method, url, caller.token, **kwargs)
                what = f"{endpoint} [{caller.kind}, B's cid, body {name}]"
                failures.append(_check(response, 404, "not_found", what))
    _report(world, [f for f in failures if f])


def test_a_bulk_naming_another_companys_issues_fails_each_as_not_found(world: World) -> None:
    """A bulk names its issues in the body: B's fail one by one as made-up ids do."""
    fake = _fake({"iid": world.refs["iid"]})["iid"]
    ids = [world.refs["qid"], world.refs["iid"], world.refs["rvw"], fake]
    failures = []
    for op, args in [
        ("cancel", {"reason": "sabotage"}),
        ("assign", {"agentId": world.a_refs["body_aid"]}),
        ("reassign", {"toAgentId": world.a_refs["body_aid"]}),
    ]:
        response = world.a.call("POST", "/issues/bulk", {"ids": ids, "op": op, "args": args})
        if response.status_code != 200:
            failures.append(
                f"bulk {op} of B's ids [A admin]: {response.status_code} {response.text}"
            )
            continue
        results = response.json()["results"]
        errors = [r.get("error", {}) for r in results]
        if [r["ok"] for r in results] != [False] * 4 or {e.get("code") for e in errors} != {
            "not_found"
        }:
            failures.append(f"bulk {op} of B's ids [A admin]: {results}")
            continue
        made_up = json.dumps(errors[-1]).replace(fake, "<id>")
        for real_id, error in zip(ids[:3], errors[:3], strict=True):
            if json.dumps(error).replace(real_id, "<id>") != made_up:
                failures.append(f"bulk {op}: B's {real_id} fails unlike a made-up id: {error}")
    _report(world, failures)


def test_the_served_openapi_document_has_no_company_route_the_table_lacks(world: World) -> None:
    document = world.api.http.get("/schema/openapi.json")
    assert document.status_code == 200, document.text
    served = {
        (method.upper(), _template(path))
        for path, item in document.json()["paths"].items()
        for method in item
        if method.upper() in {"GET", "POST", "PUT", "PATCH", "DELETE"}
    }
    missing = _missing_from_table(served)
    assert not missing, "company routes missing from the isolation table:\n" + "\n".join(missing)
    assert {e.route for e in TABLE} <= served
