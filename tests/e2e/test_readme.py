"""The README's walk-through works as printed."""

from __future__ import annotations

import json
import os
import re
import subprocess
from typing import Any

from tests.procs import ROOT, Stack


def _block(name: str) -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(rf"<!-- {name}:start -->\s*```sh\n(.*?)```", text, re.S)
    assert block, f"README has no {name} block"
    return block.group(1)


def _run(stack: Stack, script: str) -> list[dict[str, Any]]:
    env = {**os.environ, "AQ": stack.base_url, "AGENTQ_ADMIN_TOKEN": stack.admin_token}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    return [json.loads(line) for line in done.stdout.splitlines() if line.strip()]


def test_the_readme_walkthrough_runs_as_printed(stack: Stack) -> None:
    answers = _run(stack, _block("walkthrough"))
    assigned, fetched, cancelled, listed, refused = answers
    assert assigned["status"] == "assigned" and assigned["version"] == 2
    assert fetched == assigned
    assert cancelled["status"] == "cancelled"
    assert [i["id"] for i in listed["data"]] == [cancelled["id"]]
    assert refused["code"] == "frozen" and refused["status"] == 409


def test_the_readme_agent_loop_runs_as_printed(stack: Stack) -> None:
    answers = _run(stack, _block("walkthrough") + _block("agentloop"))
    comment, checkpoint, completed, accepted, stopped = answers[5:]
    assert comment["text"] == "Keep it under 300 words."
    assert [c["text"] for c in checkpoint["comments"]] == ["Keep it under 300 words."]
    assert completed["status"] == "review"
    assert accepted["status"] == "done"
    assert stopped["code"] == "stale_lease" and stopped["stop"] is True
