"""The SDK's generated files are what their generator writes: the models from the served
document (so none disagrees with the document's schema), the sync client from the async."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest

from api.sdk_models import PACKAGE, SYNC_FROM, unasync

ROOT = Path(__file__).resolve().parents[2]

_GENERATE = """
import sys
from api.reference import served_document
from api.sdk_models import generate
sys.stdout.write(generate(served_document()))
"""


def test_the_sdk_models_are_what_the_generator_writes_from_the_served_document() -> None:
    # In a process of its own: building the app configures this process's logging.
    written = subprocess.run(
        [sys.executable, "-c", _GENERATE],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
        timeout=120,
    ).stdout
    committed = (PACKAGE / "models.py").read_text()
    assert committed == written, (
        "sdk/agentq_client/models.py is out of date: python -m api.sdk_models"
    )


@pytest.mark.parametrize("name", SYNC_FROM)
def test_each_sync_module_is_its_async_twin_without_async(name: str) -> None:
    written = unasync(name, (PACKAGE / name).read_text())
    target = PACKAGE / name.replace("_async_", "_sync_")
    assert target.read_text() == written, f"{target.name} is out of date: python -m api.sdk_models"
