"""Schemathesis against the served OpenAPI document: every operation, with valid tokens.

Every answer must keep the contract the document states: no 5xx, every error an
``application/problem+json`` problem, every status documented, every body matching its
schema. The ids in the paths are mostly real ones of the test company (each operation that
changes what it names gets its own), so that requests reach the handlers instead of stopping
at a 404; a fifth of them keep the generated id. Generation is derandomized (a fixed seed, no
example database), so a run in CI sends the same requests as a run here.
"""

from __future__ import annotations

import os
import time
import zlib
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import pytest
import schemathesis
from hypothesis import HealthCheck, Phase, given, seed, settings
from hypothesis import strategies as st
from schemathesis import APIOperation, BaseSchema, Case, CheckContext, GenerationMode, Response
from schemathesis.core.failures import Failure
from schemathesis.core.result import Ok

from tests.e2e.client import Api, Company
from tests.procs import Stack, start_embedded

#: Requests per operation, valid and invalid ones mixed. ``FUZZ_EXAMPLES=500 FUZZ_SEED=7``
#: explores further (a seed of its own instead of the fixed derandomized one).
MAX_EXAMPLES = int(os.environ.get("FUZZ_EXAMPLES", "40"))
FUZZ_SEED = os.environ.get("FUZZ_SEED")
#: Webhooks created by the fuzzer only ever point here (loopback, nothing listens).
LOCAL_HOOK = "http://127.0.0.1:9/hook"

CONFIG = {
    "request-timeout": 30,
    "checks": {
        "enabled": False,
        "not_a_server_error": {"enabled": True},
        "status_code_conformance": {"enabled": True},
        "content_type_conformance": {"enabled": True},
        "response_schema_conformance": {"enabled": True},
    },
}


class NotAProblem(Failure):
    """An error answer that is not an RFC 9457 problem with the answer's status."""

    code = "AQ001"
    checks = ("problem_json_errors",)
    kind_title = "Error answer is not application/problem+json"

    @property
    def _unique_key(self) -> str:
        return self.message


def problem_json_errors(ctx: CheckContext, response: Response, case: Case[Any]) -> bool | None:
    """Every 4xx and 5xx is ``application/problem+json`` naming its own status and code."""
    if response.status_code < 400:
        return None
    label = case.operation.label
    content_type = response.headers.get("content-type", [""])[0]
    if not content_type.startswith("application/problem+json"):
        raise NotAProblem(operation=label, message=f"content type {content_type!r}")
    try:
        body = response.json()
    except ValueError:
        raise NotAProblem(operation=label, message="the body is not JSON") from None
    if not isinstance(body, dict) or body.get("status") != response.status_code:
        raise NotAProblem(operation=label, message=f"status in the body: {body!r:.200}")
    if not isinstance(body.get("code"), str) or not str(body.get("type", "")).endswith(
        "/" + str(body.get("code"))
    ):
        raise NotAProblem(operation=label, message=f"code and type: {body!r:.200}")
    return True


def _keeps_generated(value: Any) -> bool:
    """One case in five keeps its generated path id (deterministically, by its value)."""
    return zlib.crc32(repr(value).encode()) % 5 == 0


@dataclass
class World:
    """The test company, its tokens, and the ids the paths name (per operation when the
    operation changes what it names)."""

    api: Api
    acme: Company
    team_id: str
    spare_agent: str
    worker: str
    worker_token: str
    claimer: str
    claimer_token: str
    shared: dict[str, str] = field(default_factory=dict)
    own: dict[str, dict[str, str]] = field(default_factory=dict)
    leases: dict[str, str] = field(default_factory=dict)
    #: Operation -> the status of each answer it gave.
    answers: dict[str, list[int]] = field(default_factory=dict)

    @classmethod
    def build(cls, api: Api) -> World:
        acme = api.new_company("Fuzz")
        team_id = acme.team()["id"]
        spare = acme.agent("spare", teamIds=[team_id])["id"]
        worker, worker_token = acme.agent_with_token("worker", capacity=1000)
        claimer, claimer_token = acme.agent_with_token("claimer", capacity=1000)
        world = cls(api, acme, team_id, spare, worker, worker_token, claimer, claimer_token)
        for _ in range(3):  # something for the claim operation to claim
            acme.issue("claim me", assignedAgentId=claimer)
        hook = acme.ok("POST", "/webhooks", {"url": LOCAL_HOOK, "events": ["issue.*"]}, 201)
        run = world.new_run()
        approval = world.new_approval(run)
        token = acme.ok("POST", "/tokens", {"role": "admin"}, 201)
        doomed = acme.issue("cancelled in bulk")["id"]
        bulk = acme.call("POST", "/issues/bulk", {"ids": [doomed], "op": "cancel"})
        command = acme.call(
            "POST", "/teams", {"name": "later"}, headers={"Prefer": "respond-async"}
        )
        assert bulk.status_code in {200, 202} and command.status_code == 202, bulk.text
        routine = acme.ok("POST", "/routines", world.paused_routine(), 201)
        world.shared = {
            # A budget on an agent of its own (a cap on the worker would stop its runs).
            "budget_scope": "agent",
            "sid": world.capped_agent(),
            "cid": acme.id,
            "iid": acme.issue("shared")["id"],
            "tid": team_id,
            "aid": spare,
            "wid": hook["id"],
            "did": world.first_delivery(hook["id"]),
            "apid": approval,
            "bid": bulk.json()["id"],
            "tok_id": token["id"],
            "cmd_id": command.json()["commandId"],
            "rid": run["rid"],
            "iid_of_rid": run["iid"],
            "rtid": routine["id"],
        }
        return world

    @staticmethod
    def paused_routine() -> dict[str, Any]:
        """A routine that never ticks while the fuzzer runs (it would create issues)."""
        return {"name": "r", "cron": "0 9 * * *", "paused": True, "template": {"title": "t"}}

    def capped_agent(self) -> str:
        """An agent with a monthly budget, that nothing claims for."""
        aid = str(self.acme.agent("budgeted")["id"])
        self.acme.ok("PUT", f"/budgets/agent/{aid}", {"monthlyUsd": 50})
        return aid

    def new_run(self) -> dict[str, str]:
        """A fresh issue of the worker's, claimed: its id, its run and the run's lease (long
        enough for the whole test). The worker claims its oldest issue first: one of its runs
        that the fuzzer failed with ``retryable`` may be back in its queue."""
        issue = self.acme.issue("run me", assignedAgentId=self.worker)
        for _ in range(20):
            claimed = self.acme.claim(self.worker, self.worker_token, leaseSeconds=3600)
            rid = claimed["run"]["id"]
            self.leases[rid] = claimed["lease"]["token"]
            if claimed["issue"]["id"] == issue["id"]:
                return {"iid": issue["id"], "rid": rid}
        raise AssertionError(f"the worker never claimed {issue['id']}")

    def new_approval(self, run: dict[str, str]) -> str:
        path = f"/issues/{run['iid']}/runs/{run['rid']}/approvals"
        body = {"leaseToken": self.leases[run["rid"]], "action": "deploy"}
        approval = self.acme.ok("POST", path, body, 201, token=self.worker_token)
        return str(approval["id"])

    def first_delivery(self, webhook_id: str) -> str:
        deadline = time.monotonic() + 10
        while time.monotonic() < deadline:
            page = self.acme.ok("GET", f"/webhooks/{webhook_id}/deliveries")
            if page["data"]:
                return str(page["data"][0]["id"])
            time.sleep(0.05)
        raise AssertionError("no webhook delivery was recorded")

    def ids_for(self, case: Case[Any]) -> dict[str, str]:
        """Real ids for the operation's path: its own for an operation that changes them."""
        label = case.operation.label
        if label not in self.own:
            self.own[label] = self._own_ids(case.operation.method.upper(), case.operation.path)
        return self.own[label]

    def _own_ids(self, method: str, path: str) -> dict[str, str]:
        ids = dict(self.shared)
        verb = path.rsplit("/", 1)[-1]
        if "/runs" in path:
            ids["iid"] = ids["iid_of_rid"]
            if "{rid}" in path and method == "POST":
                ids.update(self.new_run())
        elif path.endswith("/review"):  # an issue waiting for review
            run = self.new_run()
            body = {"leaseToken": self.leases[run["rid"]]}
            complete = f"/issues/{run['iid']}/runs/{run['rid']}/complete"
            self.acme.ok("POST", complete, body, token=self.worker_token)
            ids["iid"] = run["iid"]
        elif path.endswith("/bulk"):  # two issues of its own, for the bulk's ids
            ids["iid"] = self.acme.issue("bulk one")["id"]
            ids["iid2"] = self.acme.issue("bulk two")["id"]
        elif "{iid}" in path and method != "GET":  # reassign: an issue assigned already
            fields = {"assignedAgentId": self.spare_agent} if verb == "reassign" else {}
            ids["iid"] = self.acme.issue(f"for {method} {verb}", **fields)["id"]
        elif "{apid}" in path and method == "POST":
            ids["apid"] = self.new_approval(self.new_run())
        elif "{wid}" in path and method in {"DELETE", "PATCH"}:
            hook = {"url": LOCAL_HOOK, "events": ["issue.done"]}
            ids["wid"] = self.acme.ok("POST", "/webhooks", hook, 201)["id"]
        elif "{rtid}" in path and method in {"DELETE", "PATCH"}:
            ids["rtid"] = self.acme.ok("POST", "/routines", self.paused_routine(), 201)["id"]
        elif "{sid}" in path and method == "DELETE":
            ids["sid"] = self.capped_agent()
        elif "{tok_id}" in path:
            ids["tok_id"] = self.acme.ok("POST", "/tokens", {"role": "admin"}, 201)["id"]
        if path.endswith("/claim"):
            ids["aid"] = self.claimer
        return ids

    def prepare(self, case: Case[Any]) -> dict[str, str]:
        """Put real ids and a usable lease in the case; the headers to send it with."""
        ids = self.ids_for(case)
        params = case.path_parameters or {}
        for name in list(params):
            if name == "cid" or not _keeps_generated(params[name]):
                params[name] = ids[name]
        path = case.operation.path
        body: Any = case.body
        if isinstance(body, dict):
            self._real_body(body, params.get("rid"), ids, path.endswith("/reassign"))
            if isinstance(body.get("args"), dict):  # a bulk's: those of the verb
                self._real_body(body["args"], None, ids, body.get("op") == "reassign")
            if path.endswith("/approvals/decide") and not _keeps_generated(body.get("ids")):
                body["ids"] = [ids["apid"]]  # approvals, not the issues a bulk names
            if "/routines" in path and isinstance(body.get("template"), dict):
                self._real_body(body["template"], None, ids, False)
            if path.endswith("/claim") and isinstance(body.get("waitSeconds"), int):
                body["waitSeconds"] = 0  # a long poll with nothing to claim only waits
            url = body.get("url")
            local = "http" in str(url).lower() or not _keeps_generated(url)
            if "/webhooks" in path and isinstance(url, str) and local:
                body["url"] = LOCAL_HOOK  # webhooks are only ever sent to loopback
        return {"Authorization": f"Bearer {self.token_for(case)}"}

    def _real_body(
        self, body: dict[str, Any], rid: str | None, ids: dict[str, str], reassign: bool
    ) -> None:
        """Most ids in a body name real things, so the command gets past its lookups."""
        real: dict[str, Any] = {
            "agentId": self.spare_agent,
            "toAgentId": self.spare_agent,
            "assignedAgentId": self.spare_agent,
            "toTeamId": self.team_id,
            "assignedTeamId": self.team_id,
            "parentId": self.shared["iid"],
            "teamIds": [self.team_id],
            "dependencies": [self.shared["iid"]],
            "ids": [ids["iid"], ids.get("iid2", self.shared["iid"])],
            "leaseToken": self.leases.get(rid or ""),
            # A cron and a time zone zoneinfo knows (a generated string rarely is either).
            "cron": "0 9 * * 1-5",
            "timezone": "Europe/Paris",
        }
        for key, value in real.items():
            if key in body and value is not None and not _keeps_generated(body[key]):
                body[key] = value
        if reassign and not _keeps_generated(body):
            # One target, an agent: back to a team's queue, the issue could not move again.
            body.pop("toTeamId", None)
            body["toAgentId"] = self.spare_agent
        if isinstance(body.get("usd"), float) and not _keeps_generated(body["usd"]):
            body["usd"] = round(min(abs(body["usd"]), 100.0), 6)  # money has 6 places

    def token_for(self, case: Case[Any]) -> str:
        path = case.operation.path
        if path == "/v1/companies":
            return self.api.operator_token
        if path.endswith("/claim"):
            return self.claimer_token
        if "{rid}" in path and case.operation.method.upper() == "POST":
            return self.worker_token
        return self.acme.token


@pytest.fixture(scope="module")
def fuzzed_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir: Path = tmp_path_factory.mktemp("schemathesis")
    # Event streams end after 0.2 s here, so that each answer has an end to check.
    running = start_embedded(log_dir, {"AGENTQ_EVENTS_MAX_S": "0.2"})
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def world(fuzzed_stack: Stack) -> Iterator[World]:
    with Api(fuzzed_stack.base_url, fuzzed_stack.admin_token) as api:
        yield World.build(api)


@pytest.fixture(scope="module")
def openapi(fuzzed_stack: Stack) -> BaseSchema:
    """The document as the stack serves it, checked to be valid OpenAPI 3.1."""
    config = schemathesis.Config.from_dict(CONFIG)
    url = f"{fuzzed_stack.base_url}/schema/openapi.json"
    schema = schemathesis.openapi.from_url(url, config=config)
    schema.validate()
    return schema


def _fuzz(operation: APIOperation[Any, Any, Any, Any], world: World) -> None:
    """Valid and invalid requests to one operation, each answer checked against the document."""
    cases = st.one_of(
        operation.as_strategy(GenerationMode.POSITIVE),
        operation.as_strategy(GenerationMode.NEGATIVE),
    )

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=FUZZ_SEED is None,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every request changes the stack
        suppress_health_check=list(HealthCheck),
    )
    @given(case=cases)
    def run(case: Case[Any]) -> None:
        headers = world.prepare(case)
        response = case.call_and_validate(headers=headers, additional_checks=[problem_json_errors])
        world.answers.setdefault(operation.label, []).append(response.status_code)

    if FUZZ_SEED is not None:
        run = seed(int(FUZZ_SEED))(run)
    run()


def test_every_operation_keeps_its_contract(
    openapi: BaseSchema, world: World, subtests: pytest.Subtests
) -> None:
    operations = []
    for result in openapi.get_all_operations():
        assert isinstance(result, Ok), result.err()  # every operation is well defined
        operations.append(result.ok())
    assert len(operations) >= 45, [op.label for op in operations]
    for operation in operations:
        with subtests.test(operation.label):
            _fuzz(operation, world)
    # Each operation answered at least once with success: the requests reach the handlers.
    tally = {label: sorted(Counter(statuses).items()) for label, statuses in world.answers.items()}
    unreached = {label: seen for label, seen in tally.items() if not any(s < 300 for s, _ in seen)}
    assert not unreached, f"operations that never succeeded: {unreached}"
    print("\n".join(f"{label}: {seen}" for label, seen in tally.items()))
