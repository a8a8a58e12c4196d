"""Faults under a mixed HTTP load on the distributed stack (two commands workers).

While agents and an admin create, edit, assign, reassign, cancel, claim, checkpoint, complete
and fail over HTTP, a commands worker is killed with SIGKILL and restarted, and the machine's
RabbitMQ, PostgreSQL and Redis are each stopped and started again. Then the history is checked:

- no answer is a 5xx other than 503, every 503 is problem+json with ``Retry-After``, and no
  answer takes longer than the command wait plus a margin (no hang);
- every write answered 2xx or 202 was applied or rejected exactly once (nothing lost, nothing
  twice), and every synchronous answer's issue version is in the activity trail;
- every issue's activity is a path through the transition table with contiguous versions;
- no issue is stuck: every ``running`` issue holds a live lease, the sweep having expired the rest;
- every process is still up, and ``/ready`` answers 200 after each outage.

``AGENTQ_SOAK=1`` (``make soak``) runs it five times longer, with five times the faults.
"""

from __future__ import annotations

import os
import random
import threading
import time
import uuid
from collections import Counter
from collections.abc import Iterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import httpx
import pytest
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.settings import Settings
from service.store import tables as t
from tests.conftest import stack_of_its_own
from tests.e2e.client import Api, Company
from tests.faults.outages import ensure_all_up, outage
from tests.history import check_history
from tests.procs import ServiceUrls, Stack

SCALE = 5 if os.environ.get("AGENTQ_SOAK") else 1
WORKER_KILLS = 10 * SCALE
OUTAGE_ROUNDS = SCALE
THREADS = 8
AGENTS = 6
#: How long the API waits for a command's outcome before it answers 202, in ms.
COMMAND_WAIT_MS = 4000
#: No answer may take longer than the command wait plus this, in seconds: the broker's
#: confirm may take up to its timeout before the wait starts (the margin is the one the
#: thread-pool publisher had: its timeout, a 1 s grace and 2 s).
HANG_MARGIN_S = Settings().publish_timeout_s + 3.0
#: How long each service stays down, in seconds (long enough for requests to meet it).
DOWN_S = 3.0
#: Leases short enough to expire, and be swept, before the test ends.
LEASE_S = 10
#: Attempts at one write that keeps meeting 503s (with its Idempotency-Key each time).
RETRIES = 30


@dataclass
class Answer:
    op: str
    phase: str
    status: int
    elapsed_s: float
    content_type: str = ""
    retry_after: str | None = None
    command_id: str | None = None
    body: Any = None


@dataclass
class World:
    acme: Company
    team_id: str
    agents: list[tuple[str, str]]
    issues: list[str]
    leases: dict[str, list[tuple[str, str, str]]] = field(default_factory=dict)  # by agent
    answers: list[Answer] = field(default_factory=list)
    phase: str = "load"
    stop: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)


def _send(
    world: World,
    http: httpx.Client,
    op: str,
    method: str,
    path: str,
    body: Any = None,
    attempts: int = RETRIES,
) -> Answer:
    """One request; a write carries an Idempotency-Key and is sent again with it after a 503
    (the one retry a client is told to make), every answer recorded."""
    headers = {"Idempotency-Key": uuid.uuid4().hex} if method != "GET" else {}
    if method != "GET" and random.random() < 0.25:
        headers["Prefer"] = "respond-async"
    for _ in range(attempts):
        phase, started = world.phase, time.monotonic()
        try:
            r = http.request(method, path, json=body, headers=headers)
        except httpx.TimeoutException:
            answer = Answer(op, phase, 0, time.monotonic() - started)
        else:
            answer = Answer(
                op,
                phase,
                r.status_code,
                time.monotonic() - started,
                r.headers.get("content-type", ""),
                r.headers.get("retry-after"),
                r.headers.get("command-id"),
                r.json() if r.content else None,
            )
        with world.lock:
            world.answers.append(answer)
        if answer.status != 503:
            return answer
        time.sleep(float(answer.retry_after or 1))
    return answer


def _agent_step(world: World, rng: random.Random, clients: dict[str, httpx.Client]) -> None:
    agent_id, _ = rng.choice(world.agents)
    http = clients[agent_id]
    with world.lock:
        mine = list(world.leases.get(agent_id, []))
    if not mine or rng.random() < 0.35:
        a = _send(
            world, http, "claim", "POST", f"/agents/{agent_id}/claim", {"leaseSeconds": LEASE_S}
        )
        if a.status == 200:
            lease = (a.body["issue"]["id"], a.body["run"]["id"], a.body["lease"]["token"])
            with world.lock:
                world.leases.setdefault(agent_id, []).append(lease)
        return
    issue_id, run_id, token = rng.choice(mine[-4:])
    verb = rng.choice(["checkpoint", "checkpoint", "checkpoint", "complete", "fail"])
    body: dict[str, Any] = {"leaseToken": token}
    if verb == "fail":
        body.update(reason="fault test", retryable=rng.random() < 0.5)
    a = _send(world, http, verb, "POST", f"/issues/{issue_id}/runs/{run_id}/{verb}", body)
    if verb != "checkpoint" or a.status == 409:
        with world.lock:
            held = world.leases.get(agent_id, [])
            if (issue_id, run_id, token) in held:
                held.remove((issue_id, run_id, token))


def _admin_step(world: World, rng: random.Random, http: httpx.Client) -> None:
    with world.lock:
        issue_id = rng.choice(world.issues)
    agent_id = rng.choice(world.agents)[0]
    choice = rng.random()
    if choice < 0.25:
        fields = (
            {"assignedTeamId": world.team_id}
            if rng.random() < 0.5
            else {"assignedAgentId": agent_id}
        )
        a = _send(world, http, "create", "POST", "/issues", {"title": "fault load", **fields})
        if a.status == 201:
            with world.lock:
                world.issues.append(a.body["id"])
    elif choice < 0.4:
        _send(
            world, http, "patch", "PATCH", f"/issues/{issue_id}", {"title": f"edit {rng.random()}"}
        )
    elif choice < 0.55:
        _send(world, http, "assign", "POST", f"/issues/{issue_id}/assign", {"agentId": agent_id})
    elif choice < 0.7:
        _send(
            world, http, "reassign", "POST", f"/issues/{issue_id}/reassign", {"toAgentId": agent_id}
        )
    elif choice < 0.77:
        _send(world, http, "cancel", "POST", f"/issues/{issue_id}/cancel", {"reason": "fault test"})
    elif choice < 0.85:
        _send(world, http, "review", "POST", f"/issues/{issue_id}/review", {"decision": "accept"})
    elif choice < 0.93:
        _send(world, http, "get", "GET", f"/issues/{issue_id}")
    else:
        _send(world, http, "list", "GET", "/issues?limit=20")


def _client(acme: Company, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=acme.api.base_url + acme.prefix,
        timeout=COMMAND_WAIT_MS / 1000 + 30,
        headers={"Authorization": f"Bearer {token}"},
    )


def _drive(world: World, seed: int) -> None:
    rng = random.Random(seed)
    clients = {agent_id: _client(world.acme, token) for agent_id, token in world.agents}
    admin = _client(world.acme, world.acme.token)
    try:
        while not world.stop.is_set():
            if rng.random() < 0.6:
                _agent_step(world, rng, clients)
            else:
                _admin_step(world, rng, admin)
    finally:
        for client in [*clients.values(), admin]:
            client.close()


@pytest.fixture
def faulty_stack(service_urls: ServiceUrls, tmp_path: Path) -> Iterator[Stack]:
    overrides = {"AGENTQ_COMMAND_WAIT_MS": str(COMMAND_WAIT_MS)}
    with stack_of_its_own(service_urls, tmp_path, workers=2, overrides=overrides) as stack:
        try:
            yield stack
        finally:
            ensure_all_up()


def _ready_within(stack: Stack, timeout_s: float) -> float:
    """Seconds until ``/ready`` answers 200."""
    started = time.monotonic()
    while time.monotonic() - started < timeout_s:
        try:
            if httpx.get(stack.base_url + "/ready", timeout=2).status_code == 200:
                return time.monotonic() - started
        except httpx.HTTPError:
            pass
        time.sleep(0.2)
    raise AssertionError(f"not ready {timeout_s}s after the outage ended")


#: A request that needs the service, sent once in each of its outages: the load threads
#: may all be waiting on something else then (a write waits out the command wait while
#: PostgreSQL is down), and every outage must be met by a request all the same.
PROBES: dict[str, tuple[str, str, Any]] = {
    "rabbitmq": ("POST", "/teams", {"name": "probe"}),  # a command to publish
    "postgresql": ("GET", "/issues", None),  # a read
}


def _probe(world: World, service: str) -> None:
    if service in PROBES:
        method, path, body = PROBES[service]
        with _client(world.acme, world.acme.token) as http:
            _send(world, http, f"probe {service}", method, path, body, attempts=1)


def _inject_faults(world: World, stack: Stack) -> dict[str, Any]:
    """Kill -9 and restart commands workers, then stop and start each service in turn."""
    figures: dict[str, Any] = {"worker_kills": 0, "outages": [], "recovery_s": {}}
    for kill in range(WORKER_KILLS):
        name = f"worker-commands-{kill % 2}"
        victim = next(p for p in stack.processes if p.name == name and p.popen.poll() is None)
        victim.popen.kill()
        victim.popen.wait(10)
        stack.processes.remove(victim)
        stack.start_worker(name)
        figures["worker_kills"] += 1
        time.sleep(1.5)
    for _ in range(OUTAGE_ROUNDS):
        for service in ("rabbitmq", "postgresql", "redis"):
            time.sleep(2.0)
            world.phase = f"{service} down"  # from the moment it starts stopping
            with outage(service):
                _probe(world, service)
                time.sleep(DOWN_S)
            world.phase = f"{service} back"
            figures["outages"].append(service)
            recovery = _ready_within(stack, 60)
            figures["recovery_s"][service] = max(figures["recovery_s"].get(service, 0), recovery)
            time.sleep(2.0)
            world.phase = "load"
    return figures


def _settle(engine: Engine, command_ids: set[str], timeout_s: float = 90) -> set[str]:
    """Wait until every command id has a stored outcome; the ids that never got one."""
    deadline = time.monotonic() + timeout_s
    while True:
        with engine.connect() as conn:
            stored = set(
                conn.execute(
                    sa.select(t.applied_commands.c.id).where(
                        t.applied_commands.c.id.in_(command_ids)
                    )
                ).scalars()
            )
        missing = command_ids - stored
        if not missing or time.monotonic() > deadline:
            return missing
        time.sleep(1)


def _wait_for_sweep(engine: Engine, company_id: str, timeout_s: float = LEASE_S + 30) -> None:
    """Until no lease of the company is past its expiry unreleased (the sweep caught up)."""
    deadline = time.monotonic() + timeout_s
    while time.monotonic() < deadline:
        with engine.connect() as conn:
            overdue = conn.execute(
                sa.select(sa.func.count())
                .select_from(t.leases.join(t.issues, t.issues.c.id == t.leases.c.issue_id))
                .where(
                    t.issues.c.company_id == company_id,
                    t.leases.c.released_at.is_(None),
                    t.leases.c.expires_at < sa.func.now(),
                )
            ).scalar_one()
        if overdue == 0:
            return
        time.sleep(1)
    raise AssertionError(f"{overdue} leases still unreleased past their expiry")


def seeded_world(acme: Company, label: str) -> World:
    """A team of ``AGENTS`` agents (each with its token) and 24 issues assigned round the
    agents: what the load threads drive (the soak's cluster test seeds the same)."""
    team = acme.team()
    agents = []
    for i in range(AGENTS):
        agent = acme.agent(f"{label} {i}", capacity=3, teamIds=[team["id"]])
        agents.append((agent["id"], acme.agent_token(agent["id"])))
    issues = [
        acme.issue(f"{label} {i}", assignedAgentId=agents[i % AGENTS][0])["id"] for i in range(24)
    ]
    return World(acme, team["id"], agents, issues)


def test_killed_workers_and_restarted_services_lose_nothing_and_apply_nothing_twice(
    faulty_stack: Stack, engine: Engine
) -> None:
    with Api(faulty_stack.base_url, faulty_stack.admin_token) as api:
        acme = api.new_company()
        world = seeded_world(acme, "fault")
        drivers = [threading.Thread(target=_drive, args=(world, seed)) for seed in range(THREADS)]
        for driver in drivers:
            driver.start()
        try:
            time.sleep(3)
            figures = _inject_faults(world, faulty_stack)
            time.sleep(3)
        finally:
            world.stop.set()
            for driver in drivers:
                driver.join(120)
        assert not any(driver.is_alive() for driver in drivers)

    transitions = _check_history_of(engine, acme.id, world.answers)
    for process in faulty_stack.processes:
        assert process.popen.poll() is None, f"{process.name} died:\n{process.tail()}"
    print(f"\nfaults: {figures}\n{transitions}")


#: The phases whose outage must have been met by a 503 (the soak's cluster test has its own).
OUTAGES_MET = ("rabbitmq down", "postgresql down")


def _check_answers(answers: list[Answer], outages_met: tuple[str, ...] = OUTAGES_MET) -> float:
    """503 problem+json with Retry-After while a service is down, never a 500, no hang; the
    slowest answer, in seconds."""
    statuses = Counter(a.status for a in answers)
    by_phase = Counter((a.phase, a.status) for a in answers if a.status == 503)
    print(f"\nanswers by status: {dict(statuses)}\n503s by phase: {dict(by_phase)}")
    for a in answers:  # outside an outage: which call, and what it said (for diagnosis)
        if a.status == 503 and a.phase == "load":
            print(f"503 outside an outage: {a.op}: {a.body.get('detail')}")
    server_errors = [a for a in answers if a.status >= 500 and a.status != 503]
    assert server_errors == [], server_errors[:5]
    assert statuses[0] == 0, "requests timed out"
    for a in answers:
        if a.status == 503:
            assert a.content_type == "application/problem+json", a
            assert a.retry_after is not None and int(a.retry_after) >= 1, a
            assert a.body["code"] == "unavailable", a
    slowest = max(a.elapsed_s for a in answers)
    assert slowest <= COMMAND_WAIT_MS / 1000 + HANG_MARGIN_S, slowest
    unexpected = [a for a in answers if a.status not in (200, 201, 202, 204, 409, 503)]
    assert unexpected == [], unexpected[:5]
    for phase in outages_met:
        assert by_phase[(phase, 503)] > 0, f"no request met the outage: {phase}"
    return slowest


def _check_history_of(
    engine: Engine,
    company_id: str,
    answers: list[Answer],
    outages_met: tuple[str, ...] = OUTAGES_MET,
) -> str:
    """Nothing lost, nothing twice, a valid trail, nothing stuck; the figures, as a line."""
    slowest = _check_answers(answers, outages_met)
    # Nothing lost: every write answered 2xx/202 has a stored outcome, applied when it was 2xx.
    writes = [a for a in answers if a.command_id is not None and a.status in (200, 201, 202)]
    assert len(writes) > 200
    missing = _settle(engine, {a.command_id for a in writes if a.command_id})
    assert missing == set(), f"{len(missing)} accepted commands were lost"
    with engine.connect() as conn:
        outcome = dict(
            conn.execute(
                sa.select(t.applied_commands.c.id, t.applied_commands.c.status).where(
                    t.applied_commands.c.id.in_([a.command_id for a in writes])
                )
            ).all()
        )
        activity = conn.execute(
            sa.select(
                t.activity.c.command_id,
                t.activity.c.issue_id,
                t.activity.c.type,
                t.activity.c.from_status,
                t.activity.c.to_status,
                t.activity.c.version,
            ).where(t.activity.c.company_id == company_id, t.activity.c.issue_id.is_not(None))
        ).all()
    assert all(outcome[a.command_id] == "applied" for a in writes if a.status != 202)

    # Nothing twice: no command wrote the same transition twice.
    twice = Counter((row[0], row[1], row[2], row[3], row[4]) for row in activity if row[0])
    duplicated = {key: n for key, n in twice.items() if n > 1}
    assert duplicated == {}, duplicated

    # Every synchronous answer's issue and version are in the trail.
    trail = {(row.issue_id, row.version): row.to_status for row in activity}
    for a in writes:
        if a.status == 202 or a.op == "checkpoint":
            continue
        issue = a.body["issue"] if a.op == "claim" else a.body
        assert trail.get((issue["id"], issue["version"])) == issue["status"], a

    transitions = check_history(engine, company_id)
    _wait_for_sweep(engine, company_id)
    with engine.connect() as conn:
        running = conn.execute(
            sa.select(t.issues.c.id, sa.func.count(t.leases.c.token))
            .select_from(
                t.issues.outerjoin(
                    t.leases,
                    (t.leases.c.issue_id == t.issues.c.id) & t.leases.c.released_at.is_(None),
                )
            )
            .where(t.issues.c.company_id == company_id, t.issues.c.status == "running")
            .group_by(t.issues.c.id)
        ).all()
    stuck = [issue_id for issue_id, live in running if live != 1]
    assert stuck == [], f"running issues without a live lease: {stuck}"
    return (
        f"commands driven: {len(writes)} (of {len(answers)} requests), transitions checked: "
        f"{transitions}, lost: 0, duplicated: 0, 5xx other than 503: 0, "
        f"slowest answer: {slowest:.2f}s"
    )
