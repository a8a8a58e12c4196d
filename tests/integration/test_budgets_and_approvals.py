"""Costs, budgets and approvals under load, on the distributed stack (two commands workers).

Concurrent cost reports against one budget cap, an approval that holds an expired lease
open (and the sweep that resumes once it is decided), and cost roll-ups checked against
both the reports sent and the raw ``cost_events`` rows.
"""

from __future__ import annotations

import random
import threading
import time
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from decimal import Decimal
from typing import Any

import httpx
import sqlalchemy as sa
from sqlalchemy.engine import Engine

from service.store import tables as t
from tests.e2e.client import Api, Company, assert_problem, walk
from tests.procs import SWEEP_INTERVAL_S, Stack

#: The shortest lease a claim may ask for, in seconds (docs/api.md).
MIN_LEASE_S = 10
MICROS = Decimal(1_000_000)

#: Amounts per key: usd, input tokens, output tokens, reports.
Sums = tuple[Decimal, int, int, int]


def _agent_client(acme: Company, token: str) -> httpx.Client:
    return httpx.Client(
        base_url=acme.api.base_url + acme.prefix,
        timeout=60,
        headers={"Authorization": f"Bearer {token}"},
    )


def _usd(value: Any) -> Decimal:
    """A JSON money number as the exact decimal it spells."""
    return Decimal(str(value))


def _at(value: str) -> datetime:
    return datetime.fromisoformat(value.replace("Z", "+00:00"))


def _claim(http: httpx.Client, agent_id: str, **body: Any) -> dict[str, Any]:
    response = http.post(f"/agents/{agent_id}/claim", json=body)
    assert response.status_code == 200, response.text
    claimed: dict[str, Any] = response.json()
    return claimed


def _activity(acme: Company, issue_id: str) -> list[dict[str, Any]]:
    return walk(acme, "/activity", issueId=issue_id)


# --- 1. concurrent cost reports against one budget cap -------------------------------------

REPORT_USD = Decimal("0.15")
CAP_USD = Decimal("1.00")
THREADS = 10
REPORTS_PER_THREAD = 2


def _race_cost_reports(acme: Company, token: str, path: str, lease: str) -> list[httpx.Response]:
    """``THREADS`` clients released together, each sending ``REPORTS_PER_THREAD`` reports."""
    answers: list[httpx.Response] = []
    errors: list[BaseException] = []
    start = threading.Barrier(THREADS)
    body = {
        "leaseToken": lease,
        "usd": float(REPORT_USD),
        "inputTokens": 100,
        "outputTokens": 10,
        "model": "test-model",
    }

    def report() -> None:
        try:
            with _agent_client(acme, token) as http:
                start.wait(30)
                for _ in range(REPORTS_PER_THREAD):
                    answers.append(http.post(path, json=body))
        except BaseException as exc:
            errors.append(exc)

    threads = [threading.Thread(target=report) for _ in range(THREADS)]
    started = time.monotonic()
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    print(f"\n{len(answers)} concurrent cost reports in {time.monotonic() - started:.2f}s")
    assert not errors, errors
    assert len(answers) == THREADS * REPORTS_PER_THREAD
    return answers


def _check_accepted(accepted: list[dict[str, Any]], run_id: str) -> Decimal:
    """The 200 answers were applied one after another and the last one stopped the run;
    returns what they spent together."""
    n = len(accepted)
    spent = REPORT_USD * n
    assert CAP_USD <= spent < CAP_USD + REPORT_USD, (n, spent)  # overrun: one report at most
    spends = sorted(_usd(a["budget"]["spent"]["usd"]) for a in accepted)
    assert spends == [REPORT_USD * k for k in range(1, n + 1)]  # 0.15, 0.30, ... no gaps
    stopping = [a for a in accepted if a["stop"]]
    assert len(stopping) == 1, accepted
    assert stopping[0]["stopReason"] == "budget_exceeded"
    assert _usd(stopping[0]["budget"]["spent"]["usd"]) == spent
    last = stopping[0]["cost"]
    assert (_usd(last["usd"]), last["inputTokens"], last["outputTokens"]) == (
        spent,
        100 * n,
        10 * n,
    )
    for a in accepted:
        assert a["id"].startswith("cost_") and a["runId"] == run_id
        assert _usd(a["budget"]["perTaskUsd"]) == CAP_USD
        assert _usd(a["cost"]["usd"]) == _usd(a["budget"]["spent"]["usd"])  # one run only
        if not a["stop"]:
            assert "stopReason" not in a, a
            assert _usd(a["budget"]["spent"]["usd"]) < CAP_USD
    return spent


def _assert_told_to_stop(acme: Company, token: str, run_path: str, lease: str) -> None:
    """Any later call with the lease is a stale lease that says why the run stopped."""
    with _agent_client(acme, token) as http:
        for verb, body in (
            ("costs", {"leaseToken": lease, "usd": 0.01}),
            ("checkpoint", {"leaseToken": lease}),
            ("complete", {"leaseToken": lease}),
            ("approvals", {"leaseToken": lease, "action": "spend more"}),
        ):
            problem = assert_problem(http.post(f"{run_path}/{verb}", json=body), 409, "stale_lease")
            assert problem["stop"] is True, (verb, problem)
            assert problem["stopReason"] == "budget_exceeded", (verb, problem)


def _assert_database_agrees(
    engine: Engine, issue_id: str, run_id: str, lease: str, spent: Decimal, reports: int
) -> None:
    with engine.connect() as conn:
        spent_micros = conn.execute(
            sa.select(t.issues.c.spent_micros).where(t.issues.c.id == issue_id)
        ).scalar_one()
        run_row = conn.execute(
            sa.select(t.runs.c.cost_micros, t.runs.c.exit_reason).where(t.runs.c.id == run_id)
        ).one()
        events, event_micros = conn.execute(
            sa.select(
                sa.func.count(), sa.func.coalesce(sa.func.sum(t.cost_events.c.usd_micros), 0)
            ).where(t.cost_events.c.run_id == run_id)
        ).one()
        lease_row = conn.execute(
            sa.select(t.leases.c.released_at, t.leases.c.release_reason).where(
                t.leases.c.token == lease
            )
        ).one()
    micros = int(spent * MICROS)
    assert (spent_micros, run_row.cost_micros, event_micros) == (micros, micros, micros)
    assert run_row.exit_reason == "budget_exceeded"
    assert events == reports
    assert lease_row.released_at is not None
    assert lease_row.release_reason == "budget_exceeded"


def test_concurrent_cost_reports_stop_the_run_at_the_cap_and_count_only_accepted_reports(
    distributed: Stack, engine: Engine
) -> None:
    """Twenty reports of $0.15 race on one run with a $1.00 cap: the reports answered 200 are
    exactly the ones counted, the one that reaches the cap stops the run (overrun at most one
    report), every other one is a stale lease, and the database agrees to the micro-dollar."""
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        agent = acme.agent("spender")
        token = acme.agent_token(agent["id"])
        issue = acme.issue(
            "spend carefully", assignedAgentId=agent["id"], budget={"perTaskUsd": float(CAP_USD)}
        )
        with _agent_client(acme, token) as http:
            claimed = _claim(http, agent["id"], leaseSeconds=300)
        assert claimed["issue"]["id"] == issue["id"]
        run_id, lease = claimed["run"]["id"], claimed["lease"]["token"]
        run_path = f"/issues/{issue['id']}/runs/{run_id}"

        answers = _race_cost_reports(acme, token, run_path + "/costs", lease)
        for response in answers:
            if response.status_code != 200:
                problem = assert_problem(response, 409, "stale_lease")
                assert problem["stop"] is True, problem
                assert problem["stopReason"] == "budget_exceeded", problem
        accepted = [r.json() for r in answers if r.status_code == 200]
        spent = _check_accepted(accepted, run_id)
        _assert_told_to_stop(acme, token, run_path, lease)

        after = acme.ok("GET", f"/issues/{issue['id']}")
        assert after["status"] == "handoff"
        assert _usd(after["budget"]["spent"]["usd"]) == spent
        # One version for the handoff; the reports themselves add none.
        assert after["version"] == claimed["issue"]["version"] + 1
        run = acme.ok("GET", run_path)
        assert (run["status"], run["exitReason"]) == ("ended", "budget_exceeded")
        assert _usd(run["cost"]["usd"]) == spent
        assert run["leaseHistory"][-1]["releaseReason"] == "budget_exceeded"
        entries = _activity(acme, issue["id"])
        handoffs = [e for e in entries if e["type"] == "issue.handoff"]
        assert [(e["actor"], e["fromStatus"], e["toStatus"]) for e in handoffs] == [
            ("system:budget", "running", "handoff")
        ]
        thresholds = [e["actor"] for e in entries if e["type"] == "budget.threshold"]
        assert thresholds == ["system:budget"] * 3  # 50, 80 and 100 %, once each
    _assert_database_agrees(engine, issue["id"], run_id, lease, spent, len(accepted))


# --- 2. a pending approval holds the lease ------------------------------------------------


def _assert_held(acme: Company, issue_id: str, run_path: str, lease: str, approval_id: str) -> None:
    """Past its expiry, the run and its lease are still there, and nothing was requeued."""
    run = acme.ok("GET", run_path)
    assert run["status"] == "active" and run["exitReason"] is None, run
    held = run["leaseHistory"][-1]
    assert held["token"] == lease and held["releasedAt"] is None, held
    assert _at(held["expiresAt"]) < datetime.now(UTC), held  # really past its expiry
    issue = acme.ok("GET", f"/issues/{issue_id}")
    assert issue["status"] == "running"
    assert issue["pendingApprovals"] == [approval_id]
    types = [e["type"] for e in _activity(acme, issue_id)]
    assert "issue.requeued" not in types
    assert "approval.requested" in types
    queue = acme.ok("GET", "/approvals", params={"status": "pending"})
    assert [a["id"] for a in queue["data"]] == [approval_id]


def _approve(acme: Company, issue_id: str, run_path: str, approval_id: str) -> None:
    """Approving extends the lease to a full lease from the decision."""
    decided = acme.ok("POST", f"/approvals/{approval_id}/approve", {"comment": "go ahead"})
    assert (decided["status"], decided["comment"]) == ("approved", "go ahead")
    assert decided["decidedBy"].startswith("user:")
    extended = acme.ok("GET", run_path)["leaseHistory"][-1]
    assert extended["releasedAt"] is None, extended
    assert _at(extended["expiresAt"]) >= _at(decided["decidedAt"]) + timedelta(
        seconds=MIN_LEASE_S
    ), (extended, decided)
    assert acme.ok("GET", f"/issues/{issue_id}")["pendingApprovals"] == []


def _wait_for_exit(acme: Company, run_path: str, deadline: float) -> dict[str, Any]:
    while True:
        run: dict[str, Any] = acme.ok("GET", run_path)
        if run["exitReason"] is not None or time.monotonic() >= deadline:
            return run
        time.sleep(0.2)


def test_a_pending_approval_keeps_an_expired_lease_alive_until_it_is_decided(
    distributed: Stack,
) -> None:
    """A run waiting on a human is not swept even well past its lease; approving extends the
    lease, the agent sees the decision at its next checkpoint, and once nothing is pending
    the lease expires as usual."""
    with Api(distributed.base_url, distributed.admin_token) as api:
        acme = api.new_company()
        agent = acme.agent("asker")
        issue = acme.issue("needs sign-off", assignedAgentId=agent["id"])
        with _agent_client(acme, acme.agent_token(agent["id"])) as http:
            granted = time.monotonic()
            claimed = _claim(http, agent["id"], leaseSeconds=MIN_LEASE_S)
            lease = claimed["lease"]["token"]
            run_path = f"/issues/{issue['id']}/runs/{claimed['run']['id']}"
            asked = http.post(
                run_path + "/approvals",
                json={"leaseToken": lease, "action": "deploy to prod", "details": {"env": "p"}},
            )
            assert asked.status_code == 201, asked.text
            approval = asked.json()
            assert approval["status"] == "pending" and approval["runId"] == claimed["run"]["id"]

            # No checkpoint: wait until well past expiry, a sweep and a margin.
            time.sleep(max(0.0, granted + MIN_LEASE_S + SWEEP_INTERVAL_S + 3 - time.monotonic()))
            _assert_held(acme, issue["id"], run_path, lease, approval["id"])
            _approve(acme, issue["id"], run_path, approval["id"])

            seen = http.post(run_path + "/checkpoint", json={"leaseToken": lease})
            assert seen.status_code == 200, seen.text
            assert seen.json()["stop"] is False
            assert [(a["id"], a["status"], a["comment"]) for a in seen.json()["approvals"]] == [
                (approval["id"], "approved", "go ahead")
            ]
            last_checkpoint = time.monotonic()
            again = http.post(run_path + "/checkpoint", json={"leaseToken": lease})
            assert again.status_code == 200, again.text
            assert again.json()["approvals"] == []  # a decision is shown once

            # Nothing pending now: silence ends the run like any other.
            run = _wait_for_exit(
                acme, run_path, last_checkpoint + MIN_LEASE_S + SWEEP_INTERVAL_S + 3
            )
            waited = time.monotonic() - last_checkpoint
            print(f"\nlease expired {waited:.2f}s after the last checkpoint")
            assert run["exitReason"] == "lease_expired", run
            assert run["leaseHistory"][-1]["releaseReason"] == "lease_expired"
            assert waited >= MIN_LEASE_S  # the checkpoint had renewed it
            stale = http.post(run_path + "/checkpoint", json={"leaseToken": lease})
            assert assert_problem(stale, 409, "stale_lease")["stopReason"] == "lease_expired"
        assert acme.ok("GET", f"/approvals/{approval['id']}")["status"] == "approved"
        requeued = [e for e in _activity(acme, issue["id"]) if e["type"] == "issue.requeued"]
        assert [e["actor"] for e in requeued] == ["system:sweeper"]


# --- 3. roll-ups -----------------------------------------------------------------------------

LABELS = ("backend", "docs", "frontend", "marketing", "urgent")
DIMENSIONS = ("issue", "agent", "team", "label")


def _page_all(acme: Company, group_by: str, **params: Any) -> tuple[list[Any], dict[Any, Sums]]:
    """Every row of ``GET /costs`` (pages of 3) in order, and the total (same on each page)."""
    rows: list[dict[str, Any]] = []
    totals = []
    cursor: str | None = None
    for _ in range(100):
        query = {
            "groupBy": group_by,
            "limit": 3,
            **params,
            **({"cursor": cursor} if cursor else {}),
        }
        page = acme.ok("GET", "/costs", params=query)
        assert page["groupBy"] == group_by
        assert len(page["data"]) <= 3
        rows.extend(page["data"])
        totals.append(page["total"])
        if not page["hasMore"]:
            assert page["nextCursor"] is None
            break
        cursor = page["nextCursor"]
    else:
        raise AssertionError("GET /costs never stopped paginating")
    assert all(total == totals[0] for total in totals), totals
    total = totals[0]
    keys = [r["key"] for r in rows]
    sums = {
        r["key"]: (_usd(r["usd"]), r["inputTokens"], r["outputTokens"], r["reports"]) for r in rows
    }
    sums[("total",)] = (
        _usd(total["usd"]),
        total["inputTokens"],
        total["outputTokens"],
        total["reports"],
    )
    return keys, sums


def _db_sums(engine: Engine, company_id: str) -> dict[str, dict[Any, Sums]]:
    """``GROUP BY`` over the raw cost events, per dimension ("" = no team / no label)."""
    e = t.cost_events.c
    amounts = (
        sa.func.sum(e.usd_micros),
        sa.func.sum(e.input_tokens),
        sa.func.sum(e.output_tokens),
        sa.func.count(),
    )
    result: dict[str, dict[Any, Sums]] = {}

    def rows_to_sums(rows: Any) -> dict[Any, Sums]:
        return {
            (key or None): (Decimal(int(usd)) / MICROS, int(tin), int(tout), int(n))
            for key, usd, tin, tout, n in rows
        }

    with engine.connect() as conn:
        for dim, column in (("issue", e.issue_id), ("agent", e.agent_id), ("team", e.team_id)):
            rows = conn.execute(
                sa.select(column, *amounts).where(e.company_id == company_id).group_by(column)
            ).all()
            result[dim] = rows_to_sums(rows)
        labels = conn.execute(
            sa.text(
                "SELECT l.label, sum(e.usd_micros), sum(e.input_tokens), sum(e.output_tokens),"
                " count(*) FROM cost_events e"
                " LEFT JOIN LATERAL jsonb_array_elements_text(e.labels::jsonb) AS l(label)"
                " ON true WHERE e.company_id = :cid GROUP BY l.label"
            ),
            {"cid": company_id},
        ).all()
        result["label"] = rows_to_sums(labels)
        total = conn.execute(sa.select(*amounts).where(e.company_id == company_id)).one()
        result["total"] = rows_to_sums([(None, *total)])
    return result


@dataclass
class Spending:
    """A company with twelve claimed issues, and what the test reported on them so far."""

    acme: Company
    rng: random.Random
    tokens: dict[str, str] = field(default_factory=dict)  # agent -> token
    agent_of: dict[str, str] = field(default_factory=dict)  # issue -> agent
    team_of: dict[str, str | None] = field(default_factory=dict)  # issue -> team
    labels_of: dict[str, list[str]] = field(default_factory=dict)  # issue -> labels now
    leases: dict[str, tuple[str, str]] = field(default_factory=dict)  # issue -> run, lease
    #: dimension -> key -> [usd, input tokens, output tokens, reports]; "total" under None.
    expected: dict[str, dict[Any, list[Any]]] = field(
        default_factory=lambda: {
            d: defaultdict(lambda: [Decimal(0), 0, 0, 0]) for d in (*DIMENSIONS, "total")
        }
    )
    #: run -> [usd, input tokens, output tokens] reported so far.
    run_totals: dict[str, list[Any]] = field(
        default_factory=lambda: defaultdict(lambda: [Decimal(0), 0, 0])
    )

    def want(self, dim: str) -> dict[Any, Sums]:
        return {key: (s[0], s[1], s[2], s[3]) for key, s in self.expected[dim].items()}


def _set_up(acme: Company, rng: random.Random) -> Spending:
    """Two teams, four agents (capacity 4), twelve issues with varied teams and labels, each
    assigned to an agent of its team (or to any agent when it has none), all claimed."""
    world = Spending(acme, rng)
    team_a, team_b = acme.team("alpha"), acme.team("beta")
    memberships = [[team_a["id"]], [team_a["id"]], [team_b["id"]], []]
    agents = [acme.agent(f"a{i}", teamIds=ts, capacity=4) for i, ts in enumerate(memberships)]
    world.tokens = {a["id"]: acme.agent_token(a["id"]) for a in agents}
    for i in range(12):
        agent = agents[i % 4]
        team = None if i == 1 else rng.choice([*agent["teamIds"], None])
        labels = [] if i in (0, 5) else rng.sample(LABELS, rng.randint(0, 3))
        fields: dict[str, Any] = {"assignedAgentId": agent["id"], "labels": labels}
        if team is not None:
            fields["assignedTeamId"] = team
        issue = acme.issue(f"costly {i}", **fields)
        assert issue["status"] == "assigned" and issue["assignedAgentId"] == agent["id"]
        world.agent_of[issue["id"]] = agent["id"]
        world.team_of[issue["id"]] = team
        world.labels_of[issue["id"]] = labels
    for agent in agents:
        with _agent_client(acme, world.tokens[agent["id"]]) as http:
            for _ in range(3):
                claimed = _claim(http, agent["id"], leaseSeconds=600)
                assert world.agent_of[claimed["issue"]["id"]] == agent["id"]
                world.leases[claimed["issue"]["id"]] = (
                    claimed["run"]["id"],
                    claimed["lease"]["token"],
                )
    assert set(world.leases) == set(world.agent_of)
    return world


Planned = list[tuple[str, dict[str, Any], tuple[Decimal, int, int]]]


def _plan(world: Spending, count: int) -> dict[str, Planned]:
    """``count`` random reports per agent, in order, each with the run totals it should
    answer; the expected roll-ups count them by the issue's team and labels now."""
    planned: dict[str, Planned] = defaultdict(list)
    issue_ids = sorted(world.agent_of)
    for _ in range(count):
        issue_id = world.rng.choice(issue_ids)
        usd = Decimal(world.rng.randint(0, 2_500_000)) / MICROS
        tin, tout = world.rng.randint(0, 5000), world.rng.randint(0, 2000)
        assert _usd(float(usd)) == usd  # the JSON number spells the exact amount
        run_id, lease = world.leases[issue_id]
        body = {
            "leaseToken": lease,
            "usd": float(usd),
            "inputTokens": tin,
            "outputTokens": tout,
            "model": world.rng.choice(["small", "large"]),
        }
        totals = world.run_totals[run_id]
        for i, amount in enumerate((usd, tin, tout)):
            totals[i] += amount
        planned[world.agent_of[issue_id]].append(
            (issue_id, body, (totals[0], totals[1], totals[2]))
        )
        keys: dict[str, list[Any]] = {
            "issue": [issue_id],
            "agent": [world.agent_of[issue_id]],
            "team": [world.team_of[issue_id]],
            "label": sorted(set(world.labels_of[issue_id])) or [None],
            "total": [None],
        }
        for dim, dim_keys in keys.items():
            for key in dim_keys:
                sums = world.expected[dim][key]
                for i, amount in enumerate((usd, tin, tout, 1)):
                    sums[i] += amount
    return planned


def _send(world: Spending, agent_id: str, reports: Planned, failures: list[str]) -> None:
    try:
        with _agent_client(world.acme, world.tokens[agent_id]) as http:
            for issue_id, body, run_totals in reports:
                run_id = world.leases[issue_id][0]
                r = http.post(f"/issues/{issue_id}/runs/{run_id}/costs", json=body)
                if r.status_code != 200:
                    failures.append(f"{r.status_code} {r.text}")
                    continue
                cost = r.json()["cost"]
                seen = (_usd(cost["usd"]), cost["inputTokens"], cost["outputTokens"])
                if seen != run_totals or r.json()["stop"] is not False:
                    failures.append(f"{issue_id}: {r.json()} != {run_totals}")
    except BaseException as exc:
        failures.append(repr(exc))


def _report(world: Spending, count: int) -> None:
    """``count`` random reports, sent concurrently: one thread per agent, each in order."""
    planned = _plan(world, count)
    failures: list[str] = []
    threads = [
        threading.Thread(target=_send, args=(world, agent_id, reports, failures))
        for agent_id, reports in planned.items()
    ]
    for th in threads:
        th.start()
    for th in threads:
        th.join(120)
    assert not failures, failures


def _relabel(world: Spending) -> None:
    """New labels on four running issues: one gets its first, one loses all, two change."""
    issue_ids = sorted(world.agent_of)
    unlabelled = next(i for i in issue_ids if not world.labels_of[i])
    labelled = next(i for i in issue_ids if world.labels_of[i])
    others = world.rng.sample([i for i in issue_ids if i not in (unlabelled, labelled)], 2)
    new_labels = {unlabelled: ["docs"], labelled: []}
    new_labels.update({i: world.rng.sample(LABELS, world.rng.randint(1, 3)) for i in others})
    for issue_id, labels in new_labels.items():
        patched = world.acme.ok("PATCH", f"/issues/{issue_id}", {"labels": labels})
        assert patched["labels"] == labels
        world.labels_of[issue_id] = labels


def _hour(moment: datetime) -> str:
    return moment.astimezone(UTC).strftime("%Y-%m-%dT%H:00:00Z")


def _check_windows(world: Spending, engine: Engine) -> None:
    """Whole hours around every event see them all; the hour before the first sees none."""
    with engine.connect() as conn:
        first, last = conn.execute(
            sa.select(sa.func.min(t.cost_events.c.at), sa.func.max(t.cost_events.c.at)).where(
                t.cost_events.c.company_id == world.acme.id
            )
        ).one()
    since = first.replace(minute=0, second=0, microsecond=0)
    until = last.replace(minute=0, second=0, microsecond=0) + timedelta(hours=1)
    _, windowed = _page_all(world.acme, "agent", since=_hour(since), until=_hour(until))
    assert windowed.pop(("total",)) == world.want("total")[None]
    assert windowed == world.want("agent")
    before = world.acme.ok(
        "GET",
        "/costs",
        params={
            "groupBy": "label",
            "since": _hour(since - timedelta(hours=1)),
            "until": _hour(since),
        },
    )
    assert before["data"] == [] and before["hasMore"] is False
    assert _usd(before["total"]["usd"]) == 0 and before["total"]["reports"] == 0


def test_cost_rollups_equal_the_sums_of_the_reported_costs_per_group(
    distributed: Stack, engine: Engine
) -> None:
    """Sixty random reports over twelve issues (some without team or labels, labels changed
    half-way): every ``groupBy`` of ``GET /costs``, walked in pages of 3, equals the sums of
    what was reported (by team and labels at report time) and a ``GROUP BY`` of the events."""
    with Api(distributed.base_url, distributed.admin_token) as api:
        world = _set_up(api.new_company(), random.Random(20260411))
        assert None in world.team_of.values() and [] in world.labels_of.values()
        started = time.monotonic()
        _report(world, 30)
        # Labels change half-way: later reports count under the new labels, earlier ones stay.
        _relabel(world)
        _report(world, 30)
        print(f"\n60 cost reports in {time.monotonic() - started:.2f}s")

        db = _db_sums(engine, world.acme.id)
        total = world.want("total")[None]
        assert db["total"][None] == total
        for dim in DIMENSIONS:
            keys, got = _page_all(world.acme, dim)
            assert keys == sorted(keys, key=lambda k: (k is not None, k or "")), keys
            assert len(keys) == len(set(keys)), keys
            assert got.pop(("total",)) == total, dim
            assert got == world.want(dim), dim
            assert db[dim] == world.want(dim), dim
        assert None in world.want("team") and None in world.want("label")
        _check_windows(world, engine)
