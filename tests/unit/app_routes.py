"""The routes the API serves, as a fresh interpreter lists them (no ``AGENTQ_*`` setting of
the test run leaks into the app it creates)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

ROOT = Path(__file__).resolve().parents[2]

_LIST_ROUTES = """
import json
from api.app import create_app
app = create_app()
print(json.dumps([[m, r.path] for r in app.routes for m in sorted(getattr(r, "methods", ()))]))
"""


def served_routes(data_dir: Path) -> list[tuple[str, str]]:
    """``(method, path template)`` of every route, the app keeping its data in ``data_dir``."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTQ_")}
    env["AGENTQ_DATA_DIR"] = str(data_dir)
    listed = subprocess.run(
        [sys.executable, "-c", _LIST_ROUTES],
        check=False,
        cwd=ROOT,
        env=env,
        capture_output=True,
        timeout=60,
    )
    assert listed.returncode == 0, listed.stderr.decode()
    return [(method, path) for method, path in json.loads(listed.stdout)]
