"""Costs and budgets over HTTP: cost reports, the per-task cap that stops a run, roll-ups."""

from __future__ import annotations

from concurrent.futures import ThreadPoolExecutor
from datetime import datetime, timedelta
from typing import Any

from tests.e2e.client import Api, Company, assert_invalid, assert_problem, walk

BUDGET = "system:budget"


def _started(
    acme: Company, title: str = "Write the hero copy", **fields: Any
) -> tuple[dict[str, Any], str]:
    """A new agent, an issue assigned to it, claimed: the claim and the agent's token."""
    aid, token = acme.agent_with_token()
    acme.issue(title, assignedAgentId=aid, **fields)
    return acme.claim(aid, token), token


def _report(acme: Company, claimed: dict[str, Any], token: str, **body: Any) -> dict[str, Any]:
    response = acme.run_call(claimed, "costs", token, **body)
    assert response.status_code == 200, response.text
    return response.json()  # type: ignore[no-any-return]


def _issue(acme: Company, claimed: dict[str, Any]) -> dict[str, Any]:
    return acme.ok("GET", f"/issues/{claimed['issue']['id']}")  # type: ignore[no-any-return]


def _run_of(acme: Company, claimed: dict[str, Any]) -> dict[str, Any]:
    path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}"
    return acme.ok("GET", path)  # type: ignore[no-any-return]


def _thresholds(acme: Company, issue_id: str) -> list[dict[str, Any]]:
    return walk(acme, "/activity", issueId=issue_id, type="budget.threshold")


def _hour_of(stamp: str) -> datetime:
    moment = datetime.fromisoformat(stamp.replace("Z", "+00:00"))
    return moment.replace(minute=0, second=0, microsecond=0)


def _hour(moment: datetime) -> str:
    return moment.strftime("%Y-%m-%dT%H:00:00Z")


def test_each_report_adds_exactly_to_the_run_cost_and_the_issue_spend(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 10})
    version = _issue(acme, claimed)["version"]

    first = _report(acme, claimed, token, usd=0.1, inputTokens=1000, outputTokens=200, model="m1")
    assert first["id"].startswith("cost_")
    assert first["issueId"] == claimed["issue"]["id"] and first["runId"] == claimed["run"]["id"]
    assert first["cost"] == {"usd": 0.1, "inputTokens": 1000, "outputTokens": 200}
    assert first["budget"] == {"perTaskUsd": 10, "includeSubtasks": False, "spent": {"usd": 0.1}}
    assert first["stop"] is False and "stopReason" not in first

    second = _report(acme, claimed, token, usd=0.2, inputTokens=500)
    assert second["id"] != first["id"]
    assert second["cost"] == {"usd": 0.3, "inputTokens": 1500, "outputTokens": 200}
    assert second["budget"]["spent"] == {"usd": 0.3}
    assert second["stop"] is False

    issue = _issue(acme, claimed)
    assert issue["budget"] == {"perTaskUsd": 10, "includeSubtasks": False, "spent": {"usd": 0.3}}
    assert issue["status"] == "running"
    assert issue["version"] == version  # a cost report is not a transition
    run = _run_of(acme, claimed)
    assert run["cost"] == {"usd": 0.3, "inputTokens": 1500, "outputTokens": 200}
    assert run["status"] == "active" and run["exitReason"] is None


def test_a_cost_report_without_tokens_counts_zero_tokens(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    assert _report(acme, claimed, token, usd=2)["cost"] == {
        "usd": 2,
        "inputTokens": 0,
        "outputTokens": 0,
    }
    assert _report(acme, claimed, token, usd=0, outputTokens=7)["cost"] == {
        "usd": 2,
        "inputTokens": 0,
        "outputTokens": 7,
    }


def test_the_report_that_reaches_the_budget_stops_the_run_and_hands_the_issue_off(
    api: Api,
) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 1})
    assert _report(acme, claimed, token, usd=0.4)["stop"] is False
    assert _report(acme, claimed, token, usd=0.4)["stop"] is False

    crossing = _report(acme, claimed, token, usd=0.5, inputTokens=10)
    assert crossing["stop"] is True and crossing["stopReason"] == "budget_exceeded"
    assert crossing["budget"] == {"perTaskUsd": 1, "includeSubtasks": False, "spent": {"usd": 1.3}}
    assert crossing["cost"] == {"usd": 1.3, "inputTokens": 10, "outputTokens": 0}

    issue = _issue(acme, claimed)
    assert issue["status"] == "handoff" and issue["currentRunId"] is None
    assert issue["budget"]["spent"] == {"usd": 1.3}  # the crossing report counts, in full
    run = _run_of(acme, claimed)
    assert run["status"] == "ended" and run["exitReason"] == "budget_exceeded"
    assert run["endedAt"] is not None
    assert run["cost"]["usd"] == 1.3
    (lease,) = run["leaseHistory"]
    assert lease["releaseReason"] == "budget_exceeded" and lease["releasedAt"] is not None

    (handoff,) = walk(acme, "/activity", issueId=issue["id"], type="issue.handoff")
    assert handoff["actor"] == BUDGET
    assert (handoff["fromStatus"], handoff["toStatus"]) == ("running", "handoff")
    assert handoff["version"] == issue["version"]


def test_every_later_call_with_the_stopped_lease_is_a_stale_lease_that_says_stop(
    api: Api,
) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 0.5})
    assert _report(acme, claimed, token, usd=0.6)["stop"] is True
    calls: list[tuple[str, dict[str, Any]]] = [
        ("costs", {"usd": 0.1}),
        ("checkpoint", {"progress": {"pct": 90}}),
        ("complete", {}),
        ("approvals", {"action": "spend more"}),
    ]
    for verb, body in calls:
        problem = assert_problem(acme.run_call(claimed, verb, token, **body), 409, "stale_lease")
        assert problem["stop"] is True, verb
        assert problem["stopReason"] == "budget_exceeded", verb
    issue = _issue(acme, claimed)
    assert issue["status"] == "handoff"
    assert issue["budget"]["spent"] == {"usd": 0.6}  # the refused report added nothing
    assert _run_of(acme, claimed)["cost"]["usd"] == 0.6


def test_concurrent_reports_overrun_the_budget_by_at_most_the_one_that_crossed_it(
    api: Api,
) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 1})
    with ThreadPoolExecutor(max_workers=10) as pool:
        answers = list(
            pool.map(lambda _: acme.run_call(claimed, "costs", token, usd=0.15), range(20))
        )
    accepted = [a.json() for a in answers if a.status_code == 200]
    refused = [a for a in answers if a.status_code != 200]
    assert len(accepted) == 7  # 6 x 0.15 = 0.90 < 1 <= 1.05 = 7 x 0.15
    assert [a["stop"] for a in accepted].count(True) == 1
    spent_seen = sorted(a["budget"]["spent"]["usd"] for a in accepted)
    assert spent_seen == [0.15, 0.3, 0.45, 0.6, 0.75, 0.9, 1.05]
    for response in refused:
        problem = assert_problem(response, 409, "stale_lease")
        assert problem["stopReason"] == "budget_exceeded"
    assert _issue(acme, claimed)["budget"]["spent"] == {"usd": 1.05}
    assert _run_of(acme, claimed)["cost"]["usd"] == 1.05
    assert acme.ok("GET", "/costs")["total"] == {
        "usd": 1.05,
        "inputTokens": 0,
        "outputTokens": 0,
        "reports": 7,
    }


def test_a_retried_report_with_the_same_idempotency_key_is_counted_once(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 1})
    path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}/costs"
    body = {"leaseToken": claimed["lease"]["token"], "usd": 0.4, "inputTokens": 9}
    headers = {"Idempotency-Key": "report-1"}
    first = acme.call("POST", path, body, token=token, headers=headers)
    again = acme.call("POST", path, body, token=token, headers=headers)
    assert first.status_code == again.status_code == 200, again.text
    assert again.json() == first.json()
    assert _issue(acme, claimed)["budget"]["spent"] == {"usd": 0.4}
    assert _run_of(acme, claimed)["cost"]["inputTokens"] == 9
    assert acme.ok("GET", "/costs")["total"]["reports"] == 1
    other = acme.call("POST", path, {**body, "usd": 0.5}, token=token, headers=headers)
    assert_problem(other, 422, "idempotency_conflict")
    assert _issue(acme, claimed)["budget"]["spent"] == {"usd": 0.4}


def test_a_report_that_lands_exactly_on_the_budget_stops_the_run(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 0.3})
    assert _report(acme, claimed, token, usd=0.1)["stop"] is False
    stopped = _report(acme, claimed, token, usd=0.2)
    assert stopped["stop"] is True and stopped["budget"]["spent"] == {"usd": 0.3}
    assert _issue(acme, claimed)["status"] == "handoff"


def test_without_a_budget_no_amount_stops_the_run(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    assert claimed["issue"]["budget"]["perTaskUsd"] is None
    for _ in range(3):
        answer = _report(acme, claimed, token, usd=400000)
        assert answer["stop"] is False and answer["budget"]["perTaskUsd"] is None
    issue = _issue(acme, claimed)
    assert issue["status"] == "running"
    assert issue["budget"] == {
        "perTaskUsd": None,
        "includeSubtasks": False,
        "spent": {"usd": 1200000},
    }
    assert _thresholds(acme, issue["id"]) == []
    assert acme.run_call(claimed, "checkpoint", token).json()["stop"] is False


def test_a_zero_budget_stops_the_run_at_the_first_report(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 0})
    first = _report(acme, claimed, token, usd=0.000001)
    assert first["stop"] is True and first["stopReason"] == "budget_exceeded"
    assert first["budget"] == {
        "perTaskUsd": 0,
        "includeSubtasks": False,
        "spent": {"usd": 0.000001},
    }
    assert _issue(acme, claimed)["status"] == "handoff"
    assert _run_of(acme, claimed)["exitReason"] == "budget_exceeded"


def test_budget_thresholds_leave_one_activity_entry_each_at_50_80_and_100_percent(
    api: Api,
) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 1})
    iid = claimed["issue"]["id"]
    _report(acme, claimed, token, usd=0.49)
    assert _thresholds(acme, iid) == []
    _report(acme, claimed, token, usd=0.01)  # 0.50: 50 %
    assert len(_thresholds(acme, iid)) == 1
    _report(acme, claimed, token, usd=0.29)  # 0.79
    assert len(_thresholds(acme, iid)) == 1
    _report(acme, claimed, token, usd=0.01)  # 0.80: 80 %
    assert len(_thresholds(acme, iid)) == 2
    _report(acme, claimed, token, usd=0.1)  # 0.90
    assert len(_thresholds(acme, iid)) == 2
    assert _report(acme, claimed, token, usd=0.1)["stop"] is True  # 1.00: 100 %
    entries = _thresholds(acme, iid)
    assert len(entries) == 3
    for entry in entries:
        assert entry["type"] == "budget.threshold" and entry["actor"] == BUDGET
        assert entry["issueId"] == iid and entry["id"].startswith("act_")
        assert entry["fromStatus"] == entry["toStatus"] == "running"
        assert entry["commandId"]
    assert len({entry["commandId"] for entry in entries}) == 3  # one per report


def test_one_report_past_several_thresholds_leaves_an_entry_for_each(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 2})
    assert _report(acme, claimed, token, usd=1.7)["stop"] is False  # 85 %: 50 and 80
    entries = _thresholds(acme, claimed["issue"]["id"])
    assert len(entries) == 2
    assert len({entry["commandId"] for entry in entries}) == 1


def test_the_budget_can_change_while_assigned_but_not_once_running(api: Api) -> None:
    acme = api.new_company()
    aid, token = acme.agent_with_token()
    issue = acme.issue("paid", assignedAgentId=aid, budget={"perTaskUsd": 0.1})
    raised = acme.ok("PATCH", f"/issues/{issue['id']}", {"budget": {"perTaskUsd": 5}})
    assert raised["status"] == "assigned"
    assert raised["budget"] == {"perTaskUsd": 5, "includeSubtasks": False, "spent": {"usd": 0}}

    claimed = acme.claim(aid, token)
    assert claimed["issue"]["budget"]["perTaskUsd"] == 5
    assert _report(acme, claimed, token, usd=1)["stop"] is False  # the raised budget holds
    body = assert_problem(
        acme.call("PATCH", f"/issues/{issue['id']}", {"budget": {"perTaskUsd": 100}}),
        409,
        "not_editable",
    )
    assert body["currentStatus"] == "running"
    assert _issue(acme, claimed)["budget"] == {
        "perTaskUsd": 5,
        "includeSubtasks": False,
        "spent": {"usd": 1},
    }

    assert _report(acme, claimed, token, usd=4)["stop"] is True
    body = assert_problem(
        acme.call("PATCH", f"/issues/{issue['id']}", {"budget": {"perTaskUsd": 100}}),
        409,
        "not_editable",
    )
    assert body["currentStatus"] == "handoff"
    assert _issue(acme, claimed)["budget"]["perTaskUsd"] == 5


def test_bad_cost_reports_are_refused_and_change_nothing(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 1})
    _report(acme, claimed, token, usd=0.25, inputTokens=3)
    lease = claimed["lease"]["token"]
    path = f"/issues/{claimed['issue']['id']}/runs/{claimed['run']['id']}/costs"
    for body, field in [
        ({"leaseToken": lease, "usd": -0.01}, "usd"),
        ({"leaseToken": lease, "usd": 0.1234567}, "usd"),
        ({"leaseToken": lease, "usd": 1000001}, "usd"),
        ({"leaseToken": lease, "usd": True}, "usd"),
        ({"leaseToken": lease, "usd": "lots"}, "usd"),
        ({"leaseToken": lease}, "usd"),
        ({"leaseToken": lease, "usd": 0.1, "currency": "EUR"}, "currency"),
        ({"usd": 0.1}, "leaseToken"),
        ({"leaseToken": lease, "usd": 0.1, "inputTokens": "12"}, "inputTokens"),
        ({"leaseToken": lease, "usd": 0.1, "outputTokens": -1}, "outputTokens"),
        ({"leaseToken": lease, "usd": 0.1, "inputTokens": 1.5}, "inputTokens"),
        ({"leaseToken": lease, "usd": 0.1, "model": ""}, "model"),
        ({"leaseToken": lease, "usd": 0.1, "model": "m" * 101}, "model"),
    ]:
        assert_invalid(acme.call("POST", path, body, token=token), field)
    assert _issue(acme, claimed)["budget"]["spent"] == {"usd": 0.25}
    assert _run_of(acme, claimed)["cost"] == {"usd": 0.25, "inputTokens": 3, "outputTokens": 0}
    rollup = acme.ok("GET", "/costs")
    assert rollup["total"] == {"usd": 0.25, "inputTokens": 3, "outputTokens": 0, "reports": 1}


def test_only_the_runs_own_agent_may_report_its_cost(api: Api) -> None:
    acme = api.new_company()
    claimed, _ = _started(acme, budget={"perTaskUsd": 1})
    _, stranger = acme.agent_with_token("stranger")
    assert_problem(acme.run_call(claimed, "costs", acme.token, usd=0.5), 403, "forbidden")
    assert_problem(acme.run_call(claimed, "costs", stranger, usd=0.5), 403, "forbidden")
    assert _issue(acme, claimed)["budget"]["spent"] == {"usd": 0}
    assert _run_of(acme, claimed)["cost"]["usd"] == 0
    assert acme.ok("GET", "/costs")["total"]["reports"] == 0


def test_a_report_with_a_stale_or_wrong_lease_token_changes_nothing(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 1})
    _report(acme, claimed, token, usd=0.1)
    forged = claimed["lease"]["token"].rsplit(".", 1)[0] + ".999"
    for lease in [forged, "not-a-lease"]:
        problem = assert_problem(
            acme.run_call(claimed, "costs", token, usd=0.9, leaseToken=lease), 409, "stale_lease"
        )
        assert "stopReason" not in problem
    issue = _issue(acme, claimed)
    assert issue["status"] == "running"
    assert issue["budget"]["spent"] == {"usd": 0.1}
    assert _run_of(acme, claimed)["cost"]["usd"] == 0.1
    assert acme.ok("GET", "/costs")["total"]["reports"] == 1


def test_money_stays_exact_over_many_small_reports(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, budget={"perTaskUsd": 1})
    for _ in range(30):
        assert _report(acme, claimed, token, usd=0.0001)["stop"] is False
    assert _issue(acme, claimed)["budget"]["spent"] == {"usd": 0.003}
    assert _run_of(acme, claimed)["cost"]["usd"] == 0.003
    rollup = acme.ok("GET", "/costs")
    assert rollup["total"]["usd"] == 0.003 and rollup["total"]["reports"] == 30
    assert [row["usd"] for row in rollup["data"]] == [0.003]


def _spend(
    acme: Company, claimed: dict[str, Any], token: str, *amounts: tuple[float, int, int]
) -> None:
    for usd, tokens_in, tokens_out in amounts:
        _report(acme, claimed, token, usd=usd, inputTokens=tokens_in, outputTokens=tokens_out)


def _by_key(rollup: dict[str, Any]) -> dict[str | None, tuple[Any, ...]]:
    return {
        row["key"]: (row["usd"], row["inputTokens"], row["outputTokens"], row["reports"])
        for row in rollup["data"]
    }


def test_concurrent_reports_on_many_issues_add_up_exactly_in_the_roll_ups(api: Api) -> None:
    acme = api.new_company()
    team = acme.team("core")
    runs = [
        _started(acme, f"issue {n}", assignedTeamId=team["id"], labels=["shared", f"own{n}"])
        for n in range(4)
    ]
    jobs = [(claimed, token) for claimed, token in runs for _ in range(6)]
    with ThreadPoolExecutor(max_workers=12) as pool:
        answers = list(
            pool.map(
                lambda job: acme.run_call(job[0], "costs", job[1], usd=0.000125, inputTokens=1),
                jobs,
            )
        )
    assert [a.status_code for a in answers] == [200] * 24, [a.text for a in answers]
    by_team = acme.ok("GET", "/costs", params={"groupBy": "team"})
    assert _by_key(by_team) == {team["id"]: (0.003, 24, 0, 24)}
    assert by_team["total"] == {"usd": 0.003, "inputTokens": 24, "outputTokens": 0, "reports": 24}
    by_label = _by_key(acme.ok("GET", "/costs", params={"groupBy": "label"}))
    assert by_label["shared"] == (0.003, 24, 0, 24)
    assert all(by_label[f"own{n}"] == (0.00075, 6, 0, 6) for n in range(4))
    for claimed, _ in runs:
        assert _issue(acme, claimed)["budget"]["spent"] == {"usd": 0.00075}


def _company_with_spending(acme: Company) -> dict[str, Any]:
    """Two agents, a team, labels, and an issue without a team; each report made here."""
    team = acme.team("core")
    ada, ada_token = acme.agent_with_token("ada")
    bob, bob_token = acme.agent_with_token("bob", capacity=2)
    first = acme.issue("teamed", assignedAgentId=ada, assignedTeamId=team["id"], labels=["x", "y"])
    second = acme.issue("loose", assignedAgentId=bob, labels=["y"])
    third = acme.issue("bare", assignedAgentId=bob, assignedTeamId=team["id"])
    claims = {c["issue"]["id"]: c for c in [acme.claim(ada, ada_token)]}
    for _ in range(2):
        claim = acme.claim(bob, bob_token)
        claims[claim["issue"]["id"]] = claim
    _spend(acme, claims[first["id"]], ada_token, (0.25, 100, 10), (0.5, 200, 20))
    _spend(acme, claims[second["id"]], bob_token, (1.125, 1000, 1))
    _spend(acme, claims[third["id"]], bob_token, (0.3, 0, 5))
    return {"team": team["id"], "ada": ada, "bob": bob, "issues": (first, second, third)}


def test_cost_roll_ups_by_issue_agent_team_and_label_match_what_was_reported(api: Api) -> None:
    acme = api.new_company()
    made = _company_with_spending(acme)
    first, second, third = (issue["id"] for issue in made["issues"])
    expected: dict[str, dict[str | None, tuple[Any, ...]]] = {
        "issue": {
            first: (0.75, 300, 30, 2),
            second: (1.125, 1000, 1, 1),
            third: (0.3, 0, 5, 1),
        },
        "agent": {made["ada"]: (0.75, 300, 30, 2), made["bob"]: (1.425, 1000, 6, 2)},
        "team": {None: (1.125, 1000, 1, 1), made["team"]: (1.05, 300, 35, 3)},
        "label": {
            None: (0.3, 0, 5, 1),
            "x": (0.75, 300, 30, 2),
            "y": (1.875, 1300, 31, 3),
        },
    }
    for group_by, rows in expected.items():
        rollup = acme.ok("GET", "/costs", params={"groupBy": group_by})
        assert rollup["groupBy"] == group_by
        assert rollup["since"] is None and rollup["until"] is None
        assert rollup["total"] == {
            "usd": 2.175,
            "inputTokens": 1300,
            "outputTokens": 36,
            "reports": 4,
        }
        assert _by_key(rollup) == rows, group_by
        keys = [row["key"] for row in rollup["data"]]
        assert keys == sorted(rows, key=lambda k: (k is not None, k or "")), group_by
        assert rollup["hasMore"] is False and rollup["nextCursor"] is None
    assert acme.ok("GET", "/costs")["groupBy"] == "issue"


def test_cost_roll_ups_paginate_one_key_at_a_time_through_every_key(api: Api) -> None:
    acme = api.new_company()
    _company_with_spending(acme)
    for group_by, count in [("issue", 3), ("agent", 2), ("team", 2), ("label", 3)]:
        whole = acme.ok("GET", "/costs", params={"groupBy": group_by})["data"]
        first_page = acme.ok("GET", "/costs", params={"groupBy": group_by, "limit": 1})
        assert len(first_page["data"]) == 1 and first_page["hasMore"] is True
        walked = walk(acme, "/costs", groupBy=group_by, limit=1)
        assert len(walked) == count
        assert walked == whole, group_by


def test_cost_roll_ups_count_an_issue_under_its_labels_at_the_time_of_each_report(
    api: Api,
) -> None:
    acme = api.new_company()
    claimed, token = _started(acme, labels=["before"])
    _report(acme, claimed, token, usd=0.1)
    acme.ok("PATCH", f"/issues/{claimed['issue']['id']}", {"labels": ["after"]})
    _report(acme, claimed, token, usd=0.2)
    rollup = acme.ok("GET", "/costs", params={"groupBy": "label"})
    assert {row["key"]: row["usd"] for row in rollup["data"]} == {"after": 0.2, "before": 0.1}
    assert rollup["total"]["usd"] == 0.3


def test_cost_roll_ups_of_a_window_count_only_the_hours_inside_it(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    hour = _hour_of(claimed["run"]["startedAt"])  # no report is older than this hour
    _report(acme, claimed, token, usd=0.7, inputTokens=7)

    inside = acme.ok(
        "GET",
        "/costs",
        params={"since": _hour(hour), "until": _hour(hour + timedelta(hours=3))},
    )
    assert inside["since"] == hour.strftime("%Y-%m-%dT%H:00:00.000Z")
    assert inside["until"] == (hour + timedelta(hours=3)).strftime("%Y-%m-%dT%H:00:00.000Z")
    assert inside["total"] == {"usd": 0.7, "inputTokens": 7, "outputTokens": 0, "reports": 1}
    assert [row["usd"] for row in inside["data"]] == [0.7]

    in_paris = (hour + timedelta(hours=1)).strftime("%Y-%m-%dT%H:00:00+01:00")  # == hour
    assert acme.ok("GET", "/costs", params={"since": in_paris})["total"]["reports"] == 1
    before = acme.ok("GET", "/costs", params={"until": _hour(hour)})  # until is exclusive
    assert before["data"] == []
    assert before["total"] == {"usd": 0, "inputTokens": 0, "outputTokens": 0, "reports": 0}

    past = acme.ok(
        "GET",
        "/costs",
        params={
            "groupBy": "agent",
            "since": "2001-01-01T00:00:00Z",
            "until": "2001-01-02T00:00:00Z",
        },
    )
    assert past["data"] == [] and past["hasMore"] is False
    assert past["total"] == {"usd": 0, "inputTokens": 0, "outputTokens": 0, "reports": 0}


def test_cost_roll_ups_refuse_bad_queries(api: Api) -> None:
    acme = api.new_company()
    claimed, token = _started(acme)
    _report(acme, claimed, token, usd=1)
    for params, field in [
        ({"since": "2026-04-11T08:30:00Z"}, "since"),
        ({"until": "2026-04-11T08:00:01Z"}, "until"),
        ({"since": "2026-04-11T08:00:00"}, "since"),
        ({"since": "yesterday"}, "since"),
        ({"since": "2026-04-11T10:00:00+05:30"}, "since"),  # 04:30 UTC
        ({"since": "2026-04-11T08:00:00Z", "until": "2026-04-11T08:00:00Z"}, "until"),
        ({"since": "2026-04-11T09:00:00Z", "until": "2026-04-11T08:00:00Z"}, "until"),
        ({"groupBy": "bogus"}, "groupBy"),
        ({"groupBy": "total"}, "groupBy"),
        ({"limit": "0"}, "limit"),
    ]:
        assert_invalid(acme.call("GET", "/costs", params=params), field)


def test_cost_roll_ups_are_for_admins_of_the_company_only(api: Api) -> None:
    acme, rival = api.new_company("Acme"), api.new_company("Rival")
    claimed, token = _started(acme)
    _report(acme, claimed, token, usd=3)
    assert_problem(acme.call("GET", "/costs", token=token), 403, "forbidden")
    assert_problem(api.call("GET", f"{acme.prefix}/costs", rival.token), 404, "not_found")
    theirs = rival.ok("GET", "/costs")
    assert theirs["data"] == [] and theirs["total"]["reports"] == 0
    assert acme.ok("GET", "/costs")["total"]["usd"] == 3
