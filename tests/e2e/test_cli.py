"""The ``agentq`` command line: migrations with progress, and the operator's calls over HTTP."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path
from typing import Any

from tests.e2e.client import Api
from tests.procs import ROOT, Stack


def _agentq(*args: str, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    clean = {k: v for k, v in os.environ.items() if not k.startswith("AGENTQ_")}
    return subprocess.run(
        [sys.executable, "-m", "api.cli", *args],
        cwd=ROOT,
        env={**clean, **(env or {})},
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )


def _ok(stack: Stack, *args: str) -> str:
    """Run a call as the operator; its standard output."""
    done = _agentq(*args, "--url", stack.base_url, "--token", stack.admin_token)
    assert done.returncode == 0, done.stderr
    return done.stdout


def _json(stack: Stack, *args: str) -> Any:
    return json.loads(_ok(stack, *args))


def test_migrate_shows_each_step_then_says_there_is_nothing_left(tmp_path: Path) -> None:
    env = {"AGENTQ_DATA_DIR": str(tmp_path)}
    first = _agentq("migrate", env=env)
    assert first.returncode == 0, first.stderr
    steps = [line for line in first.stdout.splitlines() if line.startswith("agentq: migrating")]
    assert steps[0].startswith("agentq: migrating 0001") and len(steps) >= 6, first.stdout
    again = _agentq("migrate", env=env)
    assert "migrating" not in again.stdout
    assert "database is at the latest migration" in again.stdout


def test_the_operator_creates_a_company_and_tokens_and_lists_issues(stack: Stack, api: Api) -> None:
    company = _json(stack, "company", "create", "--name", "Cli Co")
    assert company["id"].startswith("cmp_") and company["name"] == "Cli Co"
    admin = _json(stack, "token", "create", "--company", company["id"], "--role", "admin")
    assert admin["token"] and admin["role"] == "admin"
    headers = {"Authorization": f"Bearer {admin['token']}"}
    prefix = f"/v1/companies/{company['id']}"
    agent = api.http.post(f"{prefix}/agents", json={"name": "cli-agent"}, headers=headers).json()
    agent_token = _json(
        stack, "token", "create", "--company", company["id"], "--role", "agent",
        "--agent", agent["id"],
    )  # fmt: skip
    assert agent_token["agentId"] == agent["id"]
    issue = api.http.post(f"{prefix}/issues", json={"title": "from the cli"}, headers=headers)
    listed = _ok(stack, "issues", "list", "--company", company["id"], "--status", "queued")
    assert issue.json()["id"] in listed and "from the cli" in listed


def test_a_bulk_from_a_file_shows_progress_and_the_outcome(
    stack: Stack, api: Api, tmp_path: Path
) -> None:
    acme = api.new_company()
    agent = acme.agent("bulk-target")
    ids = [acme.issue(f"bulk {i}")["id"] for i in range(5)]
    listing = tmp_path / "ids.txt"
    listing.write_text("\n".join([*ids, "iss_unknown"]) + "\n")
    done = _agentq(
        "issues", "bulk", "--company", acme.id, "--op", "assign",
        "--args", json.dumps({"agentId": agent["id"]}), "--file", str(listing),
        "--url", stack.base_url, "--token", acme.token,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "6/6, 5 succeeded, 1 failed" in done.stderr
    job = json.loads(done.stdout)
    assert [r["id"] for r in job["results"]] == [*ids, "iss_unknown"]
    assert [r["ok"] for r in job["results"]] == [True] * 5 + [False]


def test_a_refused_call_exits_non_zero_with_the_problem(stack: Stack) -> None:
    done = _agentq("company", "create", "--name", "x", "--url", stack.base_url, "--token", "bad")
    assert done.returncode != 0
    assert "401" in done.stderr and "unauthorized" in done.stderr


def test_issues_list_filters_and_follows_the_cursor_it_prints(stack: Stack, api: Api) -> None:
    acme = api.new_company("Cli pages")
    agent = acme.agent("pager")
    ids = [acme.issue(f"page {i}", labels=["cli"])["id"] for i in range(3)]
    acme.issue("other", assignedAgentId=agent["id"])
    args = ("issues", "list", "--company", acme.id, "--url", stack.base_url, "--token", acme.token)
    first = _agentq(*args, "--label", "cli", "--limit", "2")
    assert first.returncode == 0, first.stderr
    more = first.stderr.strip().removeprefix("… more: --cursor ")
    assert more != first.stderr.strip(), first.stderr
    second = _agentq(*args, "--label", "cli", "--limit", "2", "--cursor", more)
    assert second.returncode == 0, second.stderr
    listed = first.stdout + second.stdout
    assert all(issue_id in listed for issue_id in ids) and "other" not in listed
    mine = _agentq(*args, "--agent", agent["id"])
    assert "other" in mine.stdout and "page" not in mine.stdout


def test_a_call_without_a_token_says_which_variable_to_set(tmp_path: Path) -> None:
    done = _agentq("issues", "list", "--company", "cmp_x", env={"AGENTQ_DATA_DIR": str(tmp_path)})
    assert done.returncode != 0
    assert "AGENTQ_TOKEN" in done.stderr and "AGENTQ_ADMIN_TOKEN" in done.stderr, done.stderr
    assert not (tmp_path / "admin_token").exists()  # no token minted by a client
