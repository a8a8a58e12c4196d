"""The end-to-end suite runs over HTTP against both stacks: embedded and distributed."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.e2e.client import Api
from tests.e2e.console_browser import Browser, browser_session
from tests.procs import ServiceUrls, Stack, start_distributed, start_embedded


@pytest.fixture(scope="session", params=["embedded", "distributed"])
def stack(
    request: pytest.FixtureRequest, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Stack]:
    log_dir: Path = tmp_path_factory.mktemp(request.param)
    if request.param == "embedded":
        running = start_embedded(log_dir)
    else:
        urls: ServiceUrls = request.getfixturevalue("service_urls")
        running = start_distributed(urls.env(), log_dir)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture
def api(stack: Stack) -> Iterator[Api]:
    with Api(stack.base_url, stack.admin_token) as client:
        yield client


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """A headless Chromium for a console test module (tests/e2e/test_console_*.py)."""
    yield from browser_session()
