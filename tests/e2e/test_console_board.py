"""The console's board in a real browser, on both stacks: sign in, a card appears when an
issue is created through the API (no reload), and moves between columns as commands move it."""

from __future__ import annotations

import pytest

from tests.e2e.client import Api, Company
from tests.e2e.console_browser import Browser
from tests.procs import Stack


@pytest.fixture
def acme(api: Api, browser: Browser, stack: Stack) -> Company:
    return browser.signed_in_company(api, stack.base_url, "Console board")


def _column_of(browser: Browser, issue_id: str) -> str:
    card = browser.find(f"#card-{issue_id}")
    column = card.find_element("xpath", "ancestor::section[@data-status]")
    return str(column.get_attribute("data-status"))


def _wait_in_column(browser: Browser, issue_id: str, status: str) -> None:
    browser.wait(lambda: _column_of(browser, issue_id) == status, f"{issue_id} in {status}")


def test_signing_in_shows_the_board_with_a_column_per_status(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    headings = [h.text for h in browser.all(".column h2")]
    assert [h.split(" ")[0].lower() for h in headings] == [
        "queued", "assigned", "running", "review", "handoff", "done", "failed", "cancelled",
    ]  # fmt: skip
    assert browser.find("h1").text == "Board"
    browser.wait(lambda: browser.find("#live").get_attribute("data-state") == "on", "live")
    browser.assert_no_console_errors()


def test_an_issue_created_through_the_api_appears_on_the_board_without_a_reload(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    browser.wait(lambda: browser.find("#live").get_attribute("data-state") == "on", "live")
    browser.driver.execute_script("window.__sameDocument = true;")
    issue = acme.issue("Draft the <launch> notes", labels=["docs"])
    browser.wait_for(f"#card-{issue['id']}", "the new card")
    assert _column_of(browser, issue["id"]) == "queued"
    card = browser.text(f"#card-{issue['id']}")
    assert "Draft the <launch> notes" in card and "docs" in card and "medium" in card
    assert browser.driver.execute_script("return window.__sameDocument === true;")
    browser.screenshot(f"board-{stack.kind}")
    browser.assert_no_console_errors()


def test_commands_move_the_card_between_columns_live(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    aid, token = acme.agent_with_token("mover")
    issue = acme.issue("Move me along")
    browser.wait_for(f"#card-{issue['id']}")
    browser.driver.execute_script("window.__sameDocument = true;")
    acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": aid})
    _wait_in_column(browser, issue["id"], "assigned")
    claimed = acme.claim(aid, token)
    _wait_in_column(browser, issue["id"], "running")
    assert acme.run_call(claimed, "complete", token).status_code == 200
    _wait_in_column(browser, issue["id"], "review")
    acme.ok("POST", f"/issues/{issue['id']}/review", {"decision": "accept"})
    _wait_in_column(browser, issue["id"], "done")
    assert browser.driver.execute_script("return window.__sameDocument === true;")
    browser.assert_no_console_errors()


def test_the_board_filters_by_title_priority_and_overdue(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    urgent = acme.issue("Fix the login outage", priority="critical")
    acme.issue("Polish the footer", priority="low")
    late = acme.issue("Renew the certificate", dueAt="2020-01-01T00:00:00Z")
    browser.open("/ui/board?q=LOGIN")
    browser.wait_for(f"#card-{urgent['id']}")
    assert len(browser.all(".card")) == 1
    browser.open("/ui/board?priority=low")
    assert [c.text.split("\n")[0] for c in browser.all(".card")] == ["Polish the footer"]
    browser.open("/ui/board?overdue=1")
    assert [c.get_attribute("data-issue") for c in browser.all(".card")] == [late["id"]]
    assert "overdue" in browser.text(f"#card-{late['id']}")
    browser.assert_no_console_errors()


def test_a_busy_board_shows_every_column_at_a_glance(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    """The board of a working company (its screenshot is docs/console-board.png)."""
    team = acme.team("site")
    writer, writer_token = acme.agent_with_token("writer", capacity=2)
    editor, editor_token = acme.agent_with_token("editor")
    acme.issue("Plan the launch", priority="high", labels=["launch"])
    acme.issue("Renew the certificate", dueAt="2020-01-01T00:00:00Z", assignedTeamId=team["id"])
    acme.issue("Write the hero copy", assignedAgentId=writer, labels=["copy"])
    acme.claim(writer, writer_token)
    acme.issue("Draft the FAQ", assignedAgentId=writer, priority="critical")
    acme.issue("Proofread the pricing page", assignedAgentId=editor, labels=["copy"])
    review = acme.claim(editor, editor_token)
    assert acme.run_call(review, "complete", editor_token).status_code == 200
    gone = acme.issue("Translate to Klingon", priority="low")
    acme.ok("POST", f"/issues/{gone['id']}/cancel", {"reason": "no audience"})
    browser.open("/ui/board")
    browser.wait(lambda: len(browser.all(".card")) == 6, "six cards")
    assert "overdue" in browser.text("#col-queued")
    browser.screenshot(f"board-overview-{stack.kind}")
    browser.assert_no_console_errors()
