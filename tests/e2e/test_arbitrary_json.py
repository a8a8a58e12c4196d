"""Arbitrary JSON to every write endpoint, on both stacks (a hypothesis property test).

Bodies hold any unicode (lone surrogates and NUL too, escaped or as raw bytes), any number
(past 64 bits, NaN, Infinity, ``1e309`` spliced in raw), deep nesting; many are valid bodies
carrying storable oddities (emoji, astral planes, RTL, huge ints, tiny floats, -0.0, empty
and long keys). Every answer is a 2xx or a 4xx problem, never a 5xx; a body that is not a
JSON object or holds what cannot be stored is a 422 whose ``loc`` names the value; after a
4xx what the write would change, and the activity trail, read back equal; at the end every
read endpoint of the company reads back all that was stored.

Nothing in the company moves on its own while it is read: every lease lasts 3600 s (a run
the fuzzer claimed is cancelled at once), no issue waits for a team, and of a webhook's
deliveries (which retry by themselves) only which exist is compared. A DELETE's body is not
read at all (DELETE takes none), so only its status is checked. A 202 (``Prefer:
respond-async`` on a quarter of the requests) is tallied as its command's outcome."""

from __future__ import annotations

import json
import math
import os
import re
import time
from collections import Counter
from dataclasses import dataclass, field
from typing import Any

import httpx
from hypothesis import HealthCheck, Phase, example, given, seed, settings
from hypothesis import strategies as st

from tests.e2e.client import Api, Company, walk
from tests.procs import Stack

#: Generated requests per endpoint (the explicit cases come on top). ``ARBITRARY_JSON_SEED=7``
#: explores further: a seed of its own instead of the fixed derandomized one.
MAX_EXAMPLES = int(os.environ.get("ARBITRARY_JSON_EXAMPLES", "40"))
SEED = os.environ.get("ARBITRARY_JSON_SEED")
LOCAL_HOOK = "http://127.0.0.1:9/hook"  # webhooks only ever point here (nothing listens)
#: A routine that does not tick while the test runs (paused, and due only on 1 January).
ROUTINE = {"name": "r", "cron": "0 0 1 1 *", "paused": True, "template": {"title": "t"}}
JSON_HEADERS = {"Content-Type": "application/json"}
MAX_DEPTH = 32  # docs/limits.md: the body is level 1; deeper objects and arrays are refused


class Raw(str):
    """A JSON literal spliced into the body as it is (``1e309``, ``NaN``, 5000 digits)."""


# Strategies: any JSON ("hostile"), and JSON every store can hold ("storable")

ANY_TEXT = st.text(st.characters(exclude_categories=()), max_size=12) | st.sampled_from(
    ["\ud800", "\udfff", "\x00", "a\x00b", "x\udc00", "\ud83d"]  # Cs and NUL included
)
ODD_TEXT = ["", "😀👍🏽", "\U0010fffd\U0001f9ea", "\u202eevil\u202c", "שלום", "\u200b\ufeff"]
STORABLE_TEXT = st.text(
    st.characters(codec="utf-8", exclude_characters="\x00"), max_size=12
) | st.sampled_from([*ODD_TEXT, "k" * 300, "\\ud800", " \t\n"])
INTS = st.integers() | st.integers(-(2**256), 2**256) | st.sampled_from([2**64, -(10**300)])
FINITE = st.floats(allow_nan=False, allow_infinity=False) | st.sampled_from(
    [-0.0, 5e-324, 2.2250738585072014e-308, 1.7976931348623157e308]
)
LITERALS = ["NaN", "Infinity", "-Infinity", "1e309", "-1e309", "1e-400", "-0", "1" * 5000]
RAWS = st.sampled_from([*LITERALS, "[" * 3000 + "]" * 3000]).map(Raw)
STORABLE_LEAF = st.none() | st.booleans() | INTS | FINITE | STORABLE_TEXT
HOSTILE_LEAF = st.none() | st.booleans() | INTS | st.floats() | ANY_TEXT | RAWS


def _nested(leaf: st.SearchStrategy[Any], keys: st.SearchStrategy[str], depth: int) -> Any:
    value = leaf
    for _ in range(depth):
        value = leaf | st.lists(value, max_size=3) | st.dictionaries(keys, value, max_size=3)
    return value


def _deep(depth: int, as_list: bool, leaf: Any) -> Any:
    for _ in range(depth):
        leaf = [leaf] if as_list else {"d": leaf}
    return leaf


DEEP = st.builds(_deep, st.integers(28, 100), st.booleans(), STORABLE_LEAF)
STORABLE = _nested(STORABLE_LEAF, STORABLE_TEXT, 8)
HOSTILE = _nested(HOSTILE_LEAF, ANY_TEXT, 4) | DEEP
STORABLE_OBJECT = st.dictionaries(STORABLE_TEXT, STORABLE, max_size=4)
HOSTILE_OBJECT = st.dictionaries(ANY_TEXT, HOSTILE, max_size=4) | DEEP.map(lambda v: {"v": v})
ASYNC = st.sampled_from([False, False, False, True])
UTF8 = st.booleans()


@dataclass(frozen=True)
class Plan:
    """How a body is made from the endpoint's valid one; ``expect``: the status it must get."""

    how: str  # whole, replace, unknown, text, free (a field picked by ``pick``), set, valid
    value: Any = None
    pick: int = 0
    key: str = ""
    expect: int | None = None
    respond_async: bool = False  # ``Prefer: respond-async``: a 202, then the command's fate
    utf8: bool = False  # text as raw UTF-8 (lone surrogates as their 3 bytes), not escapes


@dataclass(frozen=True)
class Spec:
    """A write endpoint: ``route`` (method and path), a valid body (``{name}``: the world's
    ids), the GETs showing what it would change, the kind of thing it acts on (``+``: each
    2xx uses it up, make another), its free-text and free-form fields (all space-separated),
    and explicit cases ``(field, value, the status it must get)``."""

    route: str
    body: dict[str, Any]
    reads: str = ""
    on: str = ""
    text: str = ""
    free: str = ""
    cases: tuple[tuple[str, Any, int], ...] = ()

    @property
    def method(self) -> str:
        return self.route.split()[0]

    @property
    def path(self) -> str:
        return self.route.split()[1]

    @property
    def target(self) -> str:
        return self.on.rstrip("+")

    @property
    def renew(self) -> bool:
        return self.on.endswith("+")

    @property
    def token(self) -> str:
        """The operator's, the claiming agent's, the runs' agent's, or the admin's."""
        if self.path.startswith("/v1/"):
            return "operator"
        if self.on.startswith("claimer"):
            return "claimer"
        return "worker" if "/runs/" in self.path else "admin"

    def __str__(self) -> str:
        return self.route


def plans(spec: Spec) -> st.SearchStrategy[Plan]:
    anything = HOSTILE | STORABLE
    values = [("whole", anything | HOSTILE_OBJECT | STORABLE_OBJECT), ("replace", anything)]
    values += [("text", t) for t in (ANY_TEXT, STORABLE_TEXT) if spec.text]
    values += [("free", o) for o in (STORABLE_OBJECT, STORABLE_OBJECT, HOSTILE_OBJECT) if spec.free]
    options = [
        st.builds(Plan, st.just(how), value, st.integers(0, 7), respond_async=ASYNC, utf8=UTF8)
        for how, value in values
    ]
    unknown = st.builds(Plan, st.just("unknown"), anything, key=STORABLE_TEXT)
    return st.one_of(*options, unknown)


def apply(plan: Plan, valid: dict[str, Any], spec: Spec) -> Any:
    if plan.how == "valid":
        return valid
    if plan.how == "whole" or not valid:
        return plan.value
    if plan.how in {"set", "unknown"}:
        return {**valid, plan.key: plan.value}
    fields = {"text": spec.text, "free": spec.free}.get(plan.how, "").split() or sorted(valid)
    return {**valid, fields[plan.pick % len(fields)]: plan.value}


def encode(body: Any, utf8: bool = False) -> bytes:
    """JSON text as a client could send it: lone surrogates as ``\\udXXX`` escapes (or, in
    raw UTF-8, as the bytes Python's JSON reader decodes back), NaN and Infinity as their
    literals, each ``Raw`` spliced in."""
    literals: list[str] = []

    def swap(value: Any) -> Any:
        if isinstance(value, Raw):
            literals.append(str(value))
            return f"\ue000raw{len(literals) - 1}\ue000"
        if isinstance(value, dict):
            return {k: swap(v) for k, v in value.items()}
        return [swap(v) for v in value] if isinstance(value, list) else value

    text = json.dumps(swap(body), allow_nan=True, ensure_ascii=not utf8)
    for n, literal in enumerate(literals):
        text = text.replace(json.dumps(f"\ue000raw{n}\ue000", ensure_ascii=not utf8), literal, 1)
    return text.encode("utf-8", "surrogatepass")


# The oracle: what cannot be stored (NUL, a lone surrogate, a non-finite number, too deep)


def _bad_text(text: str) -> bool:
    return "\x00" in text or any(0xD800 <= ord(ch) <= 0xDFFF for ch in text)


def _unstorable(value: Any, depth: int = 1) -> bool:
    if isinstance(value, str):
        return _bad_text(value)
    if isinstance(value, float):
        return not math.isfinite(value)
    if isinstance(value, dict | list) and depth > MAX_DEPTH:
        return True
    if isinstance(value, dict):
        return any(_bad_text(k) or _unstorable(v, depth + 1) for k, v in value.items())
    return isinstance(value, list) and any(_unstorable(v, depth + 1) for v in value)


def _names_unstorable(body: Any, loc: list[Any]) -> bool:
    """``loc`` leads to an unstorable value itself, or ends at an unstorable key (a lone
    surrogate written as its escape), not just somewhere above one."""
    value = body
    for n, step in enumerate(loc):
        if isinstance(value, dict) and n == len(loc) - 1:
            bad = [k for k in value if _bad_text(k)]
            if step in bad or step in [k.encode("utf-8", "backslashreplace").decode() for k in bad]:
                return True
        dict_step = isinstance(value, dict) and isinstance(step, str) and step in value
        list_step = isinstance(value, list) and isinstance(step, int) and 0 <= step < len(value)
        if not (dict_step or list_step):
            return False
        value = value[step]
    if isinstance(value, dict | list):
        return len(loc) + 1 > MAX_DEPTH
    return _unstorable(value)


def check_refusal(raw: bytes, answer: httpx.Response, where: str) -> None:
    """A body that is not JSON, not an object, or holds something unstorable: a 422 whose
    errors name it (the body is read before any id in it is looked up)."""
    try:
        sent = json.loads(raw)
    except (ValueError, RecursionError):  # 5000 digits, 3000 levels: not JSON to Python
        sent = None
    if isinstance(sent, dict) and not _unstorable(sent):
        return
    assert answer.status_code == 422, f"{where}: {answer.status_code} {answer.text[:300]}"
    assert answer.json()["code"] == "invalid_request", f"{where}: {answer.text[:300]}"
    if isinstance(sent, dict):
        locs = [e["loc"] for e in answer.json()["errors"]]
        assert any(_names_unstorable(sent, loc) for loc in locs), f"{where}: {locs}"


def check_answer(answer: httpx.Response, where: str) -> None:
    """Below 500; a 4xx is a problem with its own status and code, a 422's locs lists."""
    assert answer.status_code < 500, f"{where}: {answer.status_code} {answer.text[:500]}"
    if answer.status_code < 400:
        if answer.content:
            answer.json()
        return
    assert answer.headers["content-type"].startswith("application/problem+json"), where
    problem = answer.json()
    assert problem["status"] == answer.status_code, f"{where}: {problem}"
    assert isinstance(problem["code"], str) and problem["type"].endswith("/" + problem["code"])
    assert problem["title"] and problem["detail"], f"{where}: {problem}"
    if answer.status_code == 422:
        assert problem["errors"] and all(isinstance(e["loc"], list) for e in problem["errors"])


# Every write endpoint. Run verbs name a run of the world's worker, with a 3600 s lease.

LEASE = {"leaseToken": "{lease}"}
RUN = "/issues/{iid}/runs/{rid}"
RUN_READS = f"{RUN} /issues/{{iid}}"
SURROGATE = {"k": "\ud800"}
# fmt: off
SPECS: list[Spec] = [
    Spec("POST /v1/companies", {"name": "Initech"}, text="name"),  # no list of companies
    Spec("POST /tokens", {"role": "agent", "agentId": "{spare}"}, "/agents/{spare}"),
    Spec("DELETE /tokens/{tok}", {}, on="token+"),  # reads back by being used
    Spec("POST /teams", {"name": "ops"}, "/teams", text="name"),
    Spec("POST /agents", {"name": "bot", "teamIds": ["{team2}"]}, "/agents", text="name"),
    Spec("PATCH /agents/{aid}", {"name": "x", "status": "paused", "capacity": 9}, "/agents/{aid}",
         "agent", "name"),
    Spec("POST /agents/{aid}/claim", {"waitSeconds": 0, "leaseSeconds": 3600},
         "/agents/{aid} /issues/{iid}", "claimer+"),
    Spec("POST /issues", {"title": "t", "description": "d", "labels": ["l"],
                          "dueAt": "2030-01-01T00:00:00Z"}, "/issues", text="title description",
         cases=(("dueAt", 1e10, 422), ("dueAt", "10000000000", 422),
                ("labels", ["😀", "\u202e"], 201), ("budget", {"perTaskUsd": "1.50"}, 201),
                ("budget", {"perTaskUsd": "1e2"}, 422), ("budget", {"perTaskUsd": " 1"}, 422),
                ("budget", {"perTaskUsd": "1.1234567"}, 422),
                ("notBefore", "2030-01-01T00:00:00Z", 201), ("notBefore", 1e10, 422),
                ("retryPolicy", {"baseSeconds": 1, "maxSeconds": 2}, 201),
                ("retryPolicy", {"baseSeconds": Raw("1e309"), "maxSeconds": 2}, 422),
                ("retryPolicy", {"baseSeconds": Raw("NaN"), "maxSeconds": 2}, 422),
                ("retryPolicy", {"baseSeconds": "1", "maxSeconds": 2}, 422))),
    Spec("PATCH /issues/{iid}", {"title": "t2", "labels": ["x"], "budget": {"perTaskUsd": 2.5}},
         "/issues/{iid}", "issue", "title description",
         cases=(("dueAt", 1e10, 422), ("budget", {"perTaskUsd": Raw("NaN")}, 422),
                ("notBefore", "10000000000", 422))),
    Spec("POST /issues/{iid}/assign", {"agentId": "{spare}"}, "/issues/{iid}", "issue+"),
    Spec("POST /issues/{iid}/cancel", {"reason": "done"}, "/issues/{iid}", "issue+", "reason"),
    Spec("POST /issues/{iid}/reassign", {"toAgentId": "{spare2}", "reason": "x"}, "/issues/{iid}",
         "assigned+", "reason"),
    Spec("POST /issues/{iid}/review", {"decision": "accept", "comment": "ok"}, "/issues/{iid}",
         "review+", "comment"),
    Spec("POST /issues/{iid}/comments", {"text": "hi", "author": "user:fuzz"},
         "/issues/{iid}/comments", "issue", "text author"),
    Spec(f"POST {RUN}/checkpoint", {**LEASE, "progress": {"pct": 1}, "state": {"s": [1]}},
         RUN_READS, "run", free="progress state",
         cases=(("progress", SURROGATE, 422), ("progress", {"k": math.nan}, 422),
                ("progress", {"k": math.inf}, 422), ("progress", {"k": Raw("1e309")}, 422),
                ("state", {"k": "a\x00"}, 422),
                ("progress", {"": 10**40, "😀": -0.0, "t": 5e-324, "k" * 300: [{}]}, 200))),
    Spec(f"POST {RUN}/costs", {**LEASE, "usd": "0.25", "inputTokens": 3, "model": "m"},
         f"/costs {RUN_READS}", "run", "model",
         cases=(("usd", "1e2", 422), ("usd", " 1", 422), ("usd", Raw("1e309"), 422),
                ("usd", 0.5, 200))),
    Spec(f"POST {RUN}/complete", {**LEASE, "result": {"words": 280}}, RUN_READS, "run+",
         free="result", cases=(("result", SURROGATE, 422),)),
    Spec(f"POST {RUN}/fail", {**LEASE, "reason": "x", "details": {"d": 1}, "retryable": False},
         RUN_READS, "run+", "reason", "details", (("details", SURROGATE, 422),)),
    Spec(f"POST {RUN}/handoff", {**LEASE, "reason": "over to you"}, RUN_READS, "run+", "reason"),
    Spec(f"POST {RUN}/approvals", {**LEASE, "action": "deploy", "details": {"d": 1}},
         f"/approvals {RUN_READS}", "run", "action", "details", (("details", SURROGATE, 422),)),
    Spec("POST /approvals/{apid}/approve", {"comment": "ok"}, "/approvals/{apid} /issues/{iid}",
         "approval+", "comment"),
    Spec("POST /approvals/{apid}/reject", {"comment": "no"}, "/approvals/{apid} /issues/{iid}",
         "approval+", "comment"),
    Spec("POST /approvals/decide", {"ids": ["{apid}"], "decision": "approve", "comment": "ok"},
         "/approvals/{apid} /issues/{iid}", "approval+", "comment"),
    Spec("POST /webhooks", {"url": LOCAL_HOOK, "events": ["issue.rejected"], "description": "d"},
         "/webhooks", text="url description"),
    Spec("PATCH /webhooks/{wid}", {"events": ["issue.done"], "disabled": True, "description": ""},
         "/webhooks/{wid}", "webhook", "description"),
    Spec("DELETE /webhooks/{wid}", {}, "/webhooks/{wid}", "webhook+"),
    Spec("POST /webhooks/{wid}/deliveries/{did}/redeliver", {}, "/webhooks/{wid}/deliveries",
         "delivery"),
    Spec("POST /issues/bulk", {"ids": ["{iid}", "{iid2}"], "op": "cancel", "args": {"reason": "b"}},
         "/issues/{iid} /issues/{iid2}", "bulk+", free="args"),
    Spec("POST /routines", {**ROUTINE, "timezone": "Europe/Paris", "catchUp": "one"}, "/routines",
         text="name",
         cases=(("cron", "61 * * * *", 422), ("cron", "@daily", 422), ("timezone", "Nowhere", 422),
                ("template", {"title": "t", "priority": "high", "budget": {"perTaskUsd": "1.5"}},
                 201))),
    Spec("PATCH /routines/{rtid}", {"name": "r2", "cron": "0 0 1 7 *", "catchUp": "skip"},
         "/routines/{rtid}", "routine", "name"),
    Spec("DELETE /routines/{rtid}", {}, "/routines/{rtid}", "routine+"),
    # An agent of its own (a cap on the worker would stop the other specs' runs).
    Spec("PUT /budgets/{scope}/{bag}", {"monthlyUsd": "25.5"}, "/budgets", "budgeted",
         cases=(("monthlyUsd", -1, 422), ("monthlyUsd", None, 422), ("monthlyUsd", "1e2", 422),
                ("monthlyUsd", 10**10, 422), ("monthlyUsd", 0, 200))),
    Spec("DELETE /budgets/{scope}/{bag}", {}, "/budgets", "capped+"),
]
# fmt: on


def _fill(value: Any, refs: dict[str, str]) -> Any:
    if isinstance(value, str) and not isinstance(value, Raw):
        return value.format(**refs)
    if isinstance(value, dict):
        return {k: _fill(v, refs) for k, v in value.items()}
    return [_fill(v, refs) for v in value] if isinstance(value, list) else value


@dataclass
class World:
    """The test company, the agents its writes name, and what the writes left to read."""

    api: Api
    c: Company
    worker: str  # holds every run the run verbs name
    worker_token: str
    shared: dict[str, str]
    tally: dict[str, Counter[int]] = field(default_factory=dict)
    companies: list[str] = field(default_factory=list)
    secrets: list[str] = field(default_factory=list)
    commands: set[str] = field(default_factory=set)
    bulks: list[str] = field(default_factory=list)

    @classmethod
    def build(cls, api: Api) -> World:
        c = api.new_company("Arbitrary JSON")
        worker, token = c.agent_with_token("worker", capacity=1000)
        shared = {  # no issue is ever queued for a team, so none is dispatched on its own
            "team2": c.team("new agents")["id"],
            "spare": c.agent("spare", capacity=1000)["id"],
            "spare2": c.agent("spare2", capacity=1000)["id"],
        }
        return cls(api, c, worker, token, shared)

    def new_run(self) -> dict[str, str]:
        """A fresh issue of the worker's, claimed with a lease outlasting the test (a run the
        fuzzer failed as retryable is back in the worker's queue, older: claimed too)."""
        issue = self.c.issue("run me", assignedAgentId=self.worker)
        for _ in range(20):
            claimed = self.c.claim(self.worker, self.worker_token, leaseSeconds=3600)
            if claimed["issue"]["id"] == issue["id"]:
                lease = claimed["lease"]["token"]
                return {"iid": issue["id"], "rid": claimed["run"]["id"], "lease": lease}
        raise AssertionError(f"the worker never claimed {issue['id']}")

    def target(self, kind: str) -> dict[str, str]:
        """What a spec's path names, made anew."""
        c, spare = self.c, self.shared["spare"]
        if kind in {"run", "review", "approval"}:
            run = self.new_run()
            body = {"leaseToken": run["lease"]} | ({"action": "go"} if kind == "approval" else {})
            verb, status = ("approvals", 201) if kind == "approval" else ("complete", 200)
            if kind != "run":
                path = f"/issues/{run['iid']}/runs/{run['rid']}/{verb}"
                run["apid"] = c.ok("POST", path, body, status, token=self.worker_token).get("id")
            return run
        if kind == "claimer":  # an agent with one issue to claim
            aid, token = c.agent_with_token("claimer")
            iid = c.issue("claim me", assignedAgentId=aid)["id"]
            return {"aid": aid, "agent_token": token, "iid": iid}
        if kind == "token":
            made = c.ok("POST", "/tokens", {"role": "admin"}, 201)
            self.secrets.append(made["token"])
            return {"tok": made["id"], "secret": made["token"]}
        if kind == "webhook":
            hook = {"url": LOCAL_HOOK, "events": ["issue.rejected"]}
            return {"wid": c.ok("POST", "/webhooks", hook, 201)["id"]}
        if kind == "delivery":
            return self.delivery()
        if kind == "routine":
            return {"rtid": c.ok("POST", "/routines", ROUTINE, 201)["id"]}
        if kind in {"budgeted", "capped"}:
            bag = c.agent("budgeted")["id"]
            if kind == "capped":
                c.ok("PUT", f"/budgets/agent/{bag}", {"monthlyUsd": 5})
            return {"scope": "agent", "bag": bag}
        made = {
            "issue": lambda: {"iid": c.issue("target")["id"]},
            "assigned": lambda: {"iid": c.issue("target", assignedAgentId=spare)["id"]},
            "bulk": lambda: {"iid": c.issue("bulk")["id"], "iid2": c.issue("bulk")["id"]},
            "agent": lambda: {"aid": c.agent("patched")["id"]},
        }
        return made[kind]() if kind in made else {}

    def delivery(self) -> dict[str, str]:
        """A webhook with one delivery (of an issue.created), then subscribed to a rare event."""
        c = self.c
        wid = c.ok("POST", "/webhooks", {"url": LOCAL_HOOK, "events": ["issue.created"]}, 201)["id"]
        c.issue("hooked")
        deadline = time.monotonic() + 20
        while not (found := c.ok("GET", f"/webhooks/{wid}/deliveries")["data"]):
            assert time.monotonic() < deadline, "no webhook delivery was recorded"
            time.sleep(0.05)
        c.ok("PATCH", f"/webhooks/{wid}", {"events": ["issue.rejected"]})
        return {"wid": wid, "did": found[0]["id"], "event": found[0]["eventId"]}

    def snapshot(self, spec: Spec, refs: dict[str, str]) -> dict[str, Any]:
        """What the write would change, and the activity trail (a refused write adds none)."""
        views: dict[str, Any] = {}
        for path in (*spec.reads.split(), "/activity"):
            read = self.c.ok("GET", path.format(**refs, **self.shared))
            if path.endswith("/deliveries"):
                # Deliveries retry on their own (status, attempt, times): compare which exist.
                read = [d["id"] for d in read["data"] if d["eventId"] == refs["event"]]
            views[path] = read
        if "secret" in refs:  # a token reads back by being used
            views["token works"] = self.c.call("GET", "", token=refs["secret"]).status_code
        return views

    def send(self, spec: Spec, refs: dict[str, str], plan: Plan, raw: bytes) -> httpx.Response:
        tokens = {"admin": self.c.token, "operator": self.api.operator_token}
        tokens |= {"worker": self.worker_token, "claimer": refs.get("agent_token", "")}
        token = tokens[spec.token]
        path = _fill(spec.path, {**self.shared, **refs})
        url = path if path.startswith("/v1/") else self.c.prefix + path
        headers = JSON_HEADERS | ({"Prefer": "respond-async"} if plan.respond_async else {})
        return self.api.call(spec.method, url, token, content=raw, headers=headers)

    def settle(self, answer: httpx.Response, where: str) -> int:
        """The answer's status; for a 202, that of the command once done."""
        check_answer(answer, where)
        if answer.headers.get("command-id") and answer.url.path.startswith(self.c.prefix):
            self.commands.add(answer.headers["command-id"])
        if answer.status_code != 202 or "location" not in answer.headers:
            return answer.status_code
        deadline = time.monotonic() + 20
        while True:
            polled = self.api.call("GET", answer.headers["location"], self.c.token)
            check_answer(polled, f"{where} (its command)")
            if (done := polled.json())["status"] not in {"accepted", "queued", "running"}:
                break
            assert time.monotonic() < deadline, f"{where}: never done: {done}"
            time.sleep(0.05)
        return int(done["error"]["status"]) if done["status"] == "rejected" else 200

    def keep(self, spec: Spec, answer: httpx.Response, refs: dict[str, str]) -> None:
        """After a 2xx: note what the final read must find; end a claimed run at once (its
        lease, of a generated length, must not expire and move things on its own)."""
        made = answer.json() if answer.content else {}
        if spec.path == "/v1/companies" and answer.status_code == 201:
            self.companies.append(made["id"])
        elif spec.path == "/tokens" and answer.status_code == 201:
            self.secrets.append(made["token"])
        elif spec.path == "/issues/bulk" and answer.status_code == 200:
            self.bulks.append(made["id"])
        elif spec.path.endswith("/claim"):  # the claimer's one issue
            self.c.ok("POST", f"/issues/{refs['iid']}/cancel", {})


def _diff(before: dict[str, Any], after: dict[str, Any]) -> str:
    return "\n".join(
        f"  {key}:\n    before {before.get(key)!r:.600}\n    after  {after.get(key)!r:.600}"
        for key in after
        if after[key] != before.get(key)
    )


def exercise(world: World, spec: Spec) -> None:
    """Generated bodies to one endpoint, each answer and its effect checked."""
    refs = world.target(spec.target)
    state = {"refs": refs, "before": world.snapshot(spec, refs)}
    tally = world.tally.setdefault(str(spec), Counter())

    @settings(
        max_examples=MAX_EXAMPLES,
        derandomize=SEED is None,
        database=None,
        deadline=None,
        phases=[Phase.explicit, Phase.generate],  # no shrinking: every request changes the stack
        suppress_health_check=list(HealthCheck),
    )
    @given(plan=plans(spec))
    def one(plan: Plan) -> None:
        refs = state["refs"]
        body = apply(plan, _fill(spec.body, {**world.shared, **refs}), spec)
        raw = encode(body, plan.utf8)
        answer = world.send(spec, refs, plan, raw)
        where = f"{spec} {raw[:300]!r}"
        status = world.settle(answer, where)
        tally[status] += 1
        if plan.expect is not None:
            assert status == plan.expect, f"{where}: {answer.status_code} {answer.text[:300]}"
        if spec.method != "DELETE":  # a DELETE takes no body: it is not read at all
            check_refusal(raw, answer, where)
        if status >= 400:
            after = world.snapshot(spec, refs)
            changed = _diff(state["before"], after)
            assert not changed, f"{where}: refused, yet changed:\n{changed}"
            return
        world.keep(spec, answer, refs)
        if spec.renew:
            state["refs"] = refs = world.target(spec.target)
        state["before"] = world.snapshot(spec, refs)

    cases = [Plan("valid"), *(Plan("set", v, key=k, expect=s) for k, v, s in spec.cases)]
    for plan in cases:
        one = example(plan=plan)(one)
    (seed(int(SEED))(one) if SEED is not None else one)()


def reads_back(world: World) -> None:
    """Every read endpoint of the company, every list walked and every item by id: each
    answers 200 with JSON (``Company.ok``), whatever the fuzzer stored."""
    c = world.c
    c.ok("GET", "")
    for path in ("/teams", "/agents", "/webhooks", "/approvals", "/routines"):
        for item in walk(c, path, limit=200):
            c.ok("GET", f"{path}/{item['id']}")
            if path == "/webhooks":
                walk(c, f"/webhooks/{item['id']}/deliveries", limit=200)
            if path == "/routines":
                walk(c, f"/routines/{item['id']}/runs", limit=200)
    for issue in walk(c, "/issues", limit=200):
        c.ok("GET", f"/issues/{issue['id']}")
        walk(c, f"/issues/{issue['id']}/comments", limit=200)
        for run in walk(c, f"/issues/{issue['id']}/runs", limit=200):
            c.ok("GET", f"/issues/{issue['id']}/runs/{run['id']}")
    walk(c, "/activity", limit=200)
    for budget in walk(c, "/budgets", limit=200):
        c.ok("GET", f"/budgets/{budget['scope']}/{budget['scopeId']}")
    for dimension in ("issue", "agent", "team", "label", "model"):
        walk(c, "/costs", groupBy=dimension, limit=200)
    for path in [f"/commands/{i}" for i in sorted(world.commands)] + [
        f"/bulk/{i}" for i in world.bulks
    ]:
        c.ok("GET", path)
    for cid in world.companies:
        answer = world.api.operator("GET", f"/v1/companies/{cid}")
        assert answer.status_code == 200, f"company {cid}: {answer.status_code} {answer.text}"
    for secret in world.secrets:  # deleted ones are refused as unknown
        answer = c.call("GET", "", token=secret)
        check_answer(answer, "GET with a token made by the fuzzer")
        assert answer.status_code in {200, 401}, answer.text


def test_arbitrary_json_to_every_write_gets_2xx_or_a_4xx_changing_nothing_and_all_stored_reads_back(
    stack: Stack,
) -> None:
    """Each write endpoint in turn (its own company, its own targets), then the whole company
    read back; the tally of statuses per endpoint is printed (``-s``)."""
    started = time.monotonic()
    with Api(stack.base_url, stack.admin_token) as api:
        world = World.build(api)
        for spec in SPECS:
            exercise(world, spec)
        reads_back(world)
    tally = {name: sorted(seen.items()) for name, seen in world.tally.items()}
    print(f"\n{stack.kind}: {time.monotonic() - started:.1f} s")
    print("\n".join(f"  {name}: {seen}" for name, seen in tally.items()))
    # Each endpoint succeeded at least once (its valid body is an explicit case, so every one
    # can): the generated bodies reach the handlers, not a 404 or a lease refusal.
    unreached = {name: seen for name, seen in tally.items() if not any(s < 300 for s, _ in seen)}
    assert not unreached, f"endpoints that never answered 2xx: {unreached}"


def _shape(path: str) -> str:
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_the_table_has_every_write_operation_of_the_served_document(stack: Stack) -> None:
    document = httpx.get(f"{stack.base_url}/schema/openapi.json", timeout=30)
    assert document.status_code == 200, document.text
    served = {
        (method.upper(), _shape(path))
        for path, item in document.json()["paths"].items()
        for method in item
        if method.upper() in {"POST", "PUT", "PATCH", "DELETE"}
    }
    table = {
        (s.method, _shape(s.path if s.path.startswith("/v1/") else "/v1/companies/{cid}" + s.path))
        for s in SPECS
    }
    assert len(table) == len(SPECS), "an endpoint is in the table twice"
    assert served - table == set(), f"write operations the table lacks: {sorted(served - table)}"
    assert table - served == set(), (
        f"endpoints the document does not list: {sorted(table - served)}"
    )
