"""The console's issue page and queues in a real browser: the issue's fields, budget, runs
and timeline; its actions as commands (a refused one shows the problem's text); comments;
and an approval decided from the queue that the agent's next checkpoint receives."""

from __future__ import annotations

import pytest

from tests.e2e.client import Api, Company
from tests.e2e.console_browser import Browser
from tests.procs import Stack


@pytest.fixture
def acme(api: Api, browser: Browser, stack: Stack) -> Company:
    return browser.signed_in_company(api, stack.base_url, "Console issue")


def test_the_issue_page_shows_fields_budget_runs_and_timeline(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    aid = acme.agent("writer")["id"]
    parent = acme.issue("Launch the site", budget={"perTaskUsd": "10.00", "includeSubtasks": True})
    dep = acme.issue("Buy the domain")
    issue = acme.issue(
        "Write the hero copy",
        assignedAgentId=aid,
        budget={"perTaskUsd": "2.00"},
        labels=["copy"],
        parentId=parent["id"],
        dependencies=[dep["id"]],
    )
    comment = {"text": "Mind the tone", "author": "user:ann"}
    acme.ok("POST", f"/issues/{issue['id']}/comments", comment, status=201)
    browser.open(f"/ui/issues/{issue['id']}")
    assert browser.find("h1").text == "Write the hero copy"
    assert browser.content("#issue-status") == "assigned"
    page = browser.text("main")
    assert (
        "Buy the domain" in page
        and "(blocking)" in page
        and "Mind the tone" in page
        and "issue.created" in page
    )
    assert "$0.00 spent of $2.00" in page
    assert browser.all("#budget-subtasks") == []  # its cap is its own spend's alone
    browser.open(f"/ui/issues/{parent['id']}")
    assert "Write the hero copy" in browser.text("section[aria-labelledby=h-deps]")
    assert "spend of its subtasks" in browser.text("#budget-subtasks")
    browser.screenshot(f"issue-parent-{stack.kind}")
    browser.assert_no_console_errors()


def test_an_issue_with_a_run_shows_its_lease_and_cost(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    aid, token = acme.agent_with_token("runner")
    issue = acme.issue("Translate the docs", assignedAgentId=aid, budget={"perTaskUsd": "1.00"})
    claimed = acme.claim(aid, token)
    assert acme.run_call(claimed, "costs", token, usd="0.25", model="small-1").status_code == 200
    assert acme.run_call(claimed, "checkpoint", token).status_code == 200
    browser.open(f"/ui/issues/{issue['id']}")
    assert browser.content("#issue-status") == "running"
    runs = browser.text("#h-runs + table")
    assert "runner" in runs and "renewals 1" in runs and "$0.25" in runs
    assert "$0.25 spent of $1.00 (25%)" in browser.text("main")
    assert browser.find("#budget-meter").get_attribute("value") == "0.25"
    browser.screenshot(f"issue-{stack.kind}")
    browser.assert_no_console_errors()


def test_assigning_from_the_page_is_the_assign_command(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    agent = acme.agent("picker")
    issue = acme.issue("Pick me")
    browser.open(f"/ui/issues/{issue['id']}")
    browser.find("#assign-agent").send_keys("picker")
    browser.find("#assign-button").click()
    browser.wait(lambda: browser.content("#issue-status") == "assigned", "assigned")
    assert acme.ok("GET", f"/issues/{issue['id']}")["assignedAgentId"] == agent["id"]
    assert browser.all("[role=alert]") == []
    browser.assert_no_console_errors()


def test_a_refused_action_shows_the_problems_text(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    agent = acme.agent("late")
    issue = acme.issue("Cancelled behind your back")
    browser.open(f"/ui/issues/{issue['id']}")
    acme.ok("POST", f"/issues/{issue['id']}/cancel", {"reason": "changed plans"})
    browser.find("#assign-button").click()
    alert = browser.wait_for("[role=alert]")
    # The API's own answer to the same command: the page shows its title and detail.
    problem = acme.call("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]}).json()
    assert problem["status"] == 409
    assert alert.text == f"{problem['title']}: {problem['detail']}"
    assert browser.content("#issue-status") == "cancelled"
    browser.screenshot(f"issue-refused-{stack.kind}")
    browser.assert_no_console_errors()


def test_posting_a_comment_and_reviewing_from_the_page(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    aid, token = acme.agent_with_token("reviewed")
    issue = acme.issue("Review me", assignedAgentId=aid)
    claimed = acme.claim(aid, token)
    assert acme.run_call(claimed, "complete", token).status_code == 200
    browser.open(f"/ui/issues/{issue['id']}")
    browser.find("#comment-text").send_keys("Looks <good>")
    browser.find("#comment-button").click()
    browser.wait(lambda: "Looks <good>" in browser.text("#comments"), "the comment")
    comments = acme.ok("GET", f"/issues/{issue['id']}/comments")["data"]
    assert comments[0]["text"] == "Looks <good>" and comments[0]["author"].startswith("user:")
    browser.find("#accept-button").click()
    browser.wait(lambda: browser.content("#issue-status") == "done", "done")
    browser.assert_no_console_errors()


def test_an_approval_decided_from_the_queue_reaches_the_agents_next_checkpoint(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    aid, token = acme.agent_with_token("asker")
    acme.issue("Deploy", assignedAgentId=aid)
    claimed = acme.claim(aid, token)
    asked = acme.run_call(claimed, "approvals", token, action="deploy to production")
    assert asked.status_code == 201, asked.text
    approval = asked.json()
    browser.open("/ui/queues")
    row = browser.wait_for(f"#approval-{approval['id']}")
    assert "deploy to production" in row.text and "Deploy" in row.text  # the issue's title
    assert browser.content(f"#approval-status-{approval['id']}") == "pending"
    browser.screenshot(f"queues-{stack.kind}")
    browser.driver.execute_script("window.__sameDocument = true;")
    browser.find(f"#comment-{approval['id']}").send_keys("go ahead")
    browser.find(f"#approve-{approval['id']}").click()
    browser.wait(
        lambda: browser.content(f"#approval-status-{approval['id']}") == "approved", "approved"
    )
    assert browser.driver.execute_script("return window.__sameDocument === true;")
    checkpoint = acme.run_call(claimed, "checkpoint", token)
    assert checkpoint.status_code == 200, checkpoint.text
    [seen] = checkpoint.json()["approvals"]
    assert (seen["id"], seen["status"], seen["comment"]) == (approval["id"], "approved", "go ahead")
    browser.assert_no_console_errors()
