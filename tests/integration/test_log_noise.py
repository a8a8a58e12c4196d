"""At INFO, the distributed processes' lines are agentq's: no pika connection chatter, and no
Dramatiq warning about a middleware added twice (the commands pool runs a worker per shard).
Before: 862 lines for this run, 753 of them pika's INFO lines and 28 of those warnings."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import httpx

from tests.conftest import stack_of_its_own
from tests.procs import ServiceUrls


def _entries(log_dir: Path) -> dict[str, list[dict[str, Any]]]:
    """Each process's log lines; the API's two start-up ``print`` lines are not log lines."""
    found: dict[str, list[dict[str, Any]]] = {}
    for path in sorted(log_dir.glob("*.log")):
        lines = path.read_text(errors="replace").splitlines()
        # Written to a file, not a terminal: ``AGENTQ_LOG_FORMAT=auto`` means JSON.
        found[path.stem] = [json.loads(line) for line in lines if not line.startswith("agentq: ")]
    return found


def test_a_distributed_run_at_info_logs_no_pika_chatter_and_no_duplicate_middleware(
    service_urls: ServiceUrls, tmp_path: Path
) -> None:
    with stack_of_its_own(service_urls, tmp_path, overrides={"AGENTQ_LOG_LEVEL": "INFO"}) as stack:
        admin = {"Authorization": f"Bearer {stack.admin_token}"}
        companies = f"{stack.base_url}/v1/companies"
        company = httpx.post(companies, json={"name": "Quiet"}, headers=admin)
        assert company.status_code == 201, company.text
        issues = f"{stack.base_url}/v1/companies/{company.json()['id']}/issues"
        for i in range(5):
            created = httpx.post(issues, json={"title": f"quiet {i}"}, headers=admin)
            assert created.status_code == 201, created.text
    entries = _entries(tmp_path)
    assert set(entries) >= {"web", "worker-commands-0", "worker-webhooks", "worker-bulk"}
    everything = [e for lines in entries.values() for e in lines]
    twice = [e for e in everything if "same type twice" in e["msg"]]
    assert twice == []
    chatter = [e for e in everything if e["logger"].startswith("pika") and e["level"] == "INFO"]
    assert chatter == []
    # agentq's own INFO lines are all still there.
    actions = {e["action"] for e in everything}
    assert {"http_request", "command_applied", "pool_started", "shard_taken"} <= actions
    assert len(entries["worker-commands-0"]) < 60, entries["worker-commands-0"]
