"""The README's walk-through works as printed."""

from __future__ import annotations

import json
import os
import re
import subprocess

from tests.procs import ROOT, Stack


def _walkthrough() -> str:
    text = (ROOT / "README.md").read_text()
    block = re.search(r"<!-- walkthrough:start -->\s*```sh\n(.*?)```", text, re.S)
    assert block, "README has no walk-through block"
    return block.group(1)


def test_the_readme_walkthrough_runs_as_printed(stack: Stack) -> None:
    env = {**os.environ, "AQ": stack.base_url, "AGENTQ_ADMIN_TOKEN": stack.admin_token}
    done = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", _walkthrough()],
        env=env,
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    answers = [json.loads(line) for line in done.stdout.splitlines() if line.strip()]
    assigned, fetched, cancelled, listed, refused = answers
    assert assigned["status"] == "assigned" and assigned["version"] == 2
    assert fetched == assigned
    assert cancelled["status"] == "cancelled"
    assert [i["id"] for i in listed["data"]] == [cancelled["id"]]
    assert refused["code"] == "frozen" and refused["status"] == 409
