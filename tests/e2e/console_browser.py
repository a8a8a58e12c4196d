"""Driving the web console in a real browser: Debian's headless Chromium through its own
chromedriver, both named by path (Selenium Manager would otherwise look for, and download,
a browser of its own). The project's test setup installs them (``make browser``); under
CI=true a missing browser fails the tests, elsewhere they are skipped with the reason."""

from __future__ import annotations

import os
import re
import shutil
from collections.abc import Callable, Iterator
from pathlib import Path
from typing import Any

import pytest

# Selenium Manager stays off: it would reach the network for a driver it does not need.
os.environ.setdefault("SE_OFFLINE", "true")

from selenium import webdriver
from selenium.webdriver.chrome.service import Service
from selenium.webdriver.common.by import By
from selenium.webdriver.remote.webelement import WebElement
from selenium.webdriver.support.ui import WebDriverWait

from tests.e2e.client import Api, Company

CHROMIUM = Path("/usr/bin/chromium")
CHROMEDRIVER = Path("/usr/bin/chromedriver")
#: Screenshots of every page a run visits.
ARTIFACTS = Path(__file__).resolve().parents[1] / "artifacts"
#: Seconds a browser test waits for what the page should come to show.
WAIT_S = 20

__all__ = [
    "ARTIFACTS",
    "Browser",
    "By",
    "browser_session",
]


def _missing() -> str | None:
    for path in (CHROMIUM, CHROMEDRIVER):
        if not path.exists() and shutil.which(path.name) is None:
            return (
                f"{path} is missing: `make browser` installs Debian's chromium and chromium-driver"
            )
    return None


class Browser:
    """One headless Chromium, with the console's few gestures."""

    def __init__(self, driver: webdriver.Chrome) -> None:
        self.driver = driver
        self.base_url = ""

    def open(self, path: str) -> None:
        self.driver.get(self.base_url + path)

    def sign_in(self, base_url: str, token: str) -> None:
        # What the page before logged is not this test's: a module's browser may still have
        # the last test's board open, whose stream errs once that test's stack has stopped.
        self.driver.get("about:blank")
        self.console_errors()
        self.base_url = base_url
        self.open("/ui/login")
        self.find("#token").send_keys(token)
        self.find("form button[type=submit]").click()
        self.wait(lambda: self.driver.current_url.endswith("/ui/board"), "the board after sign-in")

    def signed_in_company(self, api: Api, base_url: str, name: str) -> Company:
        """A new company (``api.new_company``), this browser signed in to its console."""
        company = api.new_company(name)
        self.sign_in(base_url, company.token)
        return company

    def find(self, css: str) -> WebElement:
        return self.driver.find_element(By.CSS_SELECTOR, css)

    def all(self, css: str) -> list[WebElement]:
        return self.driver.find_elements(By.CSS_SELECTOR, css)

    def text(self, css: str) -> str:
        """The element's text as shown (CSS may change its case)."""
        return self.find(css).text

    def content(self, css: str) -> str:
        """The element's text as the page has it (``textContent``, stripped)."""
        return str(self.find(css).get_attribute("textContent")).strip()

    def wait(self, until: Callable[[], Any], what: str, timeout_s: float = WAIT_S) -> Any:
        """Wait for ``until()`` to be truthy (a missing element counts as not yet)."""

        def check(_: Any) -> Any:
            try:
                return until()
            except Exception:
                return False

        return WebDriverWait(self.driver, timeout_s, poll_frequency=0.1).until(
            check, f"waited {timeout_s}s for {what}"
        )

    def wait_for(self, css: str, what: str | None = None) -> WebElement:
        element: WebElement = self.wait(lambda: self.find(css), what or css)
        return element

    def console_errors(self) -> list[dict[str, Any]]:
        """The page's console entries at SEVERE since the last call (the log is drained)."""
        return [e for e in self.driver.get_log("browser") if e.get("level") == "SEVERE"]

    def assert_no_console_errors(self) -> None:
        errors = self.console_errors()
        assert errors == [], errors

    def screenshot(self, name: str) -> Path:
        ARTIFACTS.mkdir(parents=True, exist_ok=True)
        path = ARTIFACTS / f"console-{re.sub(r'[^a-z0-9-]', '-', name)}.png"
        self.driver.save_screenshot(str(path))
        return path


def browser_session() -> Iterator[Browser]:
    """A module's browser (the body of a module-scoped fixture)."""
    missing = _missing()
    if missing is not None:
        if os.environ.get("CI") == "true":
            pytest.fail(missing)
        pytest.skip(missing)
    options = webdriver.ChromeOptions()
    options.binary_location = str(CHROMIUM)
    for arg in (
        "--headless=new",
        "--no-sandbox",  # as root in a container: Chromium's sandbox needs user namespaces
        "--disable-dev-shm-usage",
        "--disable-gpu",
        "--window-size=1400,1000",
        "--no-first-run",
        "--disable-extensions",
        "--disable-background-networking",
        "--disable-component-update",
        "--disable-sync",
    ):
        options.add_argument(arg)
    options.set_capability("goog:loggingPrefs", {"browser": "ALL"})
    driver = webdriver.Chrome(options=options, service=Service(str(CHROMEDRIVER)))
    driver.set_page_load_timeout(WAIT_S)
    try:
        yield Browser(driver)
    finally:
        driver.quit()
