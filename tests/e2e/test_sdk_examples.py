"""examples/ run as printed against both stacks: the SDK agent completes an issue; the watch
script creates issues and sees each one done."""

from __future__ import annotations

import os
import re
import subprocess
import sys

from tests.procs import ROOT, Stack

#: A generous bound for a script that takes about a second, in seconds.
SCRIPT_TIMEOUT_SECONDS = 120


def _run(stack: Stack, script: str) -> subprocess.CompletedProcess[str]:
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTQ_")}
    env |= {"AGENTQ_URL": stack.base_url, "AGENTQ_ADMIN_TOKEN": stack.admin_token}
    return subprocess.run(
        [sys.executable, str(ROOT / "examples" / script)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=SCRIPT_TIMEOUT_SECONDS,
        check=False,
    )


def test_the_example_agent_claims_reports_and_completes_an_issue(stack: Stack) -> None:
    ran = _run(stack, "agent.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    assert "completed iss_" in ran.stdout and "now review" in ran.stdout, ran.stdout


def test_the_watch_script_sees_its_issues_done(stack: Stack) -> None:
    ran = _run(stack, "watch.py")
    assert ran.returncode == 0, ran.stdout + ran.stderr
    done = re.findall(r"^\S+ (iss_\w+) done$", ran.stdout, re.M)
    assert len(set(done)) == 3 and "all done" in ran.stdout, ran.stdout
