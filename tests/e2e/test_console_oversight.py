"""The console's oversight in a real browser: the Costs page's monthly budgets (each cap
with this month's spend, "exhausted" said in words) and the Activity page (the company's
audit trail, each entry's changed fields as before → after); a screenshot of each, and no
console error on either."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from tests.e2e.client import Api, Company
from tests.e2e.console_browser import Browser
from tests.procs import Stack


@pytest.fixture
def acme(api: Api, browser: Browser, stack: Stack) -> Company:
    return browser.signed_in_company(api, stack.base_url, "Console oversight")


def test_the_costs_page_shows_each_monthly_budget_with_its_spend(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    aid, token = acme.agent_with_token("spender")
    acme.ok("PUT", f"/budgets/company/{acme.id}", {"monthlyUsd": "5.00"})
    acme.ok("PUT", f"/budgets/agent/{aid}", {"monthlyUsd": "0.50"})
    acme.issue("Spend the agent's month", assignedAgentId=aid)
    claimed = acme.claim(aid, token)
    response = acme.run_call(claimed, "costs", token, usd="0.50", model="small-1")
    assert response.status_code == 200, response.text
    assert response.json()["stop"] is True  # the agent's cap is reached
    browser.open("/ui/costs")
    section = browser.text("section[aria-labelledby=h-budgets]")
    assert "Monthly budgets" in section
    month = datetime.now(UTC).strftime("%Y-%m")
    company = browser.text(f"#budget-{acme.id}")
    assert company.startswith("company company")
    assert "$0.50 spent of $5.00 (10%)" in company and "within cap" in company
    assert month in company
    agent = browser.text(f"#budget-{aid}")
    assert agent.startswith("agent spender")
    assert "$0.50 spent of $0.50 (100%)" in agent and "exhausted" in agent
    meters = browser.all("section[aria-labelledby=h-budgets] meter")
    assert [m.get_attribute("value") for m in meters] == ["0.1", "1"]
    assert all(m.get_attribute("aria-label") for m in meters)
    # The section is below the charts: bring it into the shot.
    browser.driver.execute_script("arguments[0].scrollIntoView()", browser.find("#budgets"))
    browser.screenshot(f"costs-budgets-{stack.kind}")
    browser.assert_no_console_errors()


def test_the_activity_page_lists_the_company_trail_with_its_changes(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    me = acme.api.call("GET", "/v1/me", acme.token).json()
    actor = f"user:{me['tokenId']}"
    agent = acme.agent("auditor")
    aid = agent["id"]
    acme.ok("PATCH", f"/agents/{aid}", {"status": "paused"})
    token = acme.ok("POST", "/tokens", {"role": "agent", "agentId": aid}, status=201)
    trail = acme.ok("GET", "/activity", params={"scope": "company"})["data"]
    by_type = {e["type"]: e for e in reversed(trail)}  # the newest of each type (not the admin's)
    browser.open("/ui/activity")
    assert browser.find("nav a[aria-current=page]").text == "Activity"
    assert browser.text("h1") == "Activity"
    heads = [th.text for th in browser.all("#activity thead th[scope=col]")]
    assert heads == ["Time", "Actor", "Type", "Subject", "Changes"]
    types = [td.text for td in browser.all("#activity tbody tr td:nth-child(3)")]
    assert types[:3] == ["token.created", "agent.paused", "agent.created"]
    created = browser.text(f"#entry-{by_type['agent.created']['id']}")
    assert actor in created and f"agent auditor {aid}" in created
    assert "name: — → auditor" in created and "status: — → active" in created
    paused = browser.text(f"#entry-{by_type['agent.paused']['id']}")
    assert actor in paused and "status: active → paused" in paused
    minted = browser.text(f"#entry-{by_type['token.created']['id']}")
    assert actor in minted and token["id"] in minted and f"agentId: — → {aid}" in minted
    assert token["token"] not in browser.text("main")  # never the secret
    browser.screenshot(f"activity-{stack.kind}")
    browser.assert_no_console_errors()
