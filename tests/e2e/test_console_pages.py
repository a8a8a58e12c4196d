"""The console's other pages in a real browser: agents and teams (pause/resume), costs (a
chart), webhooks (deliveries, failing first, redeliver), operations; a screenshot of each,
and no console error on any."""

from __future__ import annotations

import pytest

from tests.e2e.client import Api, Company
from tests.e2e.console_browser import Browser
from tests.procs import Stack


@pytest.fixture
def acme(api: Api, browser: Browser, stack: Stack) -> Company:
    return browser.signed_in_company(api, stack.base_url, "Console pages")


def test_the_agents_page_shows_capacity_and_work_and_pauses_an_agent(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    team = acme.team("writers")
    aid, token = acme.agent_with_token("busy", capacity=3, teamIds=[team["id"]])
    idle = acme.agent("idle")
    acme.issue("Keep me busy", assignedAgentId=aid)
    acme.claim(aid, token)
    browser.open("/ui/agents")
    row = browser.text(f"#agent-{aid}")
    assert "1 / 3" in row and "Keep me busy" in row and "writers" in row
    assert "never ran" in browser.text(f"#agent-{idle['id']}")
    assert "busy" in browser.text("section[aria-labelledby=h-teams]")
    browser.screenshot(f"agents-{stack.kind}")
    browser.find(f"#pause-{idle['id']}").click()
    browser.wait(lambda: browser.content(f"#agent-status-{idle['id']}") == "paused", "paused")
    assert acme.ok("GET", f"/agents/{idle['id']}")["status"] == "paused"
    browser.find(f"#resume-{idle['id']}").click()
    browser.wait(lambda: browser.content(f"#agent-status-{idle['id']}") == "active", "active")
    browser.assert_no_console_errors()


def test_the_costs_page_charts_spend_per_day_and_per_model(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    aid, token = acme.agent_with_token("spender")
    acme.issue("Spend a little", assignedAgentId=aid, labels=["research"])
    claimed = acme.claim(aid, token)
    for usd, model in (("0.40", "large-2"), ("0.10", "small-1")):
        response = acme.run_call(claimed, "costs", token, usd=usd, model=model)
        assert response.status_code == 200, response.text
    browser.open("/ui/costs")
    assert browser.text("#cost-total") == "$0.50"
    assert len(browser.all("#chart-daily text")) == 14  # a tick per day
    assert len(browser.all("#chart-daily rect.bar")) == 1  # today's, one agent's
    assert browser.text("#legend") == "spender"
    assert len(browser.all("#chart-group rect.bar")) == 1  # one agent
    browser.open("/ui/costs?group=model&days=7")
    table = browser.text("section[aria-labelledby=h-group] table")
    assert table.index("large-2") < table.index("small-1")
    assert len(browser.all("#chart-group rect.bar")) == 2
    assert len(browser.all("#chart-daily rect.bar")) == 2  # today's, stacked by model
    assert browser.text("#legend").split("\n") == ["large-2", "small-1"]
    browser.screenshot(f"costs-{stack.kind}")
    browser.open("/ui/costs?group=label")
    assert "research" in browser.text("section[aria-labelledby=h-group] table")
    browser.assert_no_console_errors()


def test_the_webhooks_page_lists_deliveries_and_redelivers(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    # Port 9 (discard): nothing listens, so each delivery fails and is retried.
    hook = acme.ok(
        "POST", "/webhooks", {"url": "http://127.0.0.1:9/hook", "events": ["issue.*"]}, status=201
    )
    acme.issue("Tell the hook")

    def delivered() -> list[dict[str, object]]:
        return list(acme.ok("GET", f"/webhooks/{hook['id']}/deliveries")["data"])

    browser.wait(lambda: any(d["attempt"] >= 1 and d["lastError"] for d in delivered()), "a try")
    browser.open("/ui/webhooks")
    section = browser.text(f"#webhook-{hook['id']}")
    assert "http://127.0.0.1:9/hook" in section and "issue.created" in section
    first = delivered()[0]
    browser.screenshot(f"webhooks-{stack.kind}")
    browser.find(f"#redeliver-{first['id']}").click()
    browser.wait(lambda: len(delivered()) == 2, "a second delivery")
    assert browser.all("[role=alert]") == []
    browser.assert_no_console_errors()


def test_the_operations_page_shows_queues_leader_leases_and_command_wait(
    browser: Browser, acme: Company, stack: Stack
) -> None:
    aid, token = acme.agent_with_token("leaser")
    acme.issue("Hold a lease", assignedAgentId=aid)
    acme.claim(aid, token)
    browser.open("/ui/ops")
    pools = browser.text("#pools")
    assert "commands" in pools and "webhooks" in pools
    assert browser.text("#leases-held") == "1"
    assert browser.text("#wait-p99").endswith("ms")
    leader = browser.text("#leader")
    assert leader.startswith("this process") if stack.kind == "embedded" else "pid" in leader
    browser.screenshot(f"ops-{stack.kind}")
    browser.assert_no_console_errors()


def test_signing_out_clears_the_session(browser: Browser, acme: Company, stack: Stack) -> None:
    browser.find(".logout button").click()
    browser.wait(lambda: browser.driver.current_url.endswith("/ui/login"), "the sign-in form")
    browser.screenshot(f"login-{stack.kind}")
    browser.open("/ui/board")
    assert browser.driver.current_url.endswith("/ui/login")
    assert browser.driver.get_cookie("aq_session") is None
    browser.assert_no_console_errors()
