"""Webhook subscriptions and deliveries over HTTP, on both stacks, to a real receiver."""

from __future__ import annotations

import time

from standardwebhooks import Webhook

from tests.e2e.client import Api, assert_problem
from tests.receiver import receiver


def test_a_subscription_receives_signed_events_of_its_types(api: Api) -> None:
    acme = api.new_company()
    with receiver() as hook:
        created = acme.ok("POST", "/webhooks", {"url": hook.url, "events": ["issue.*"]}, status=201)
        assert created["secret"].startswith("whsec_")
        assert "secret" not in acme.ok("GET", f"/webhooks/{created['id']}")
        agent = acme.agent()
        issue = acme.issue("hooked")
        acme.ok("POST", f"/issues/{issue['id']}/assign", {"agentId": agent["id"]})
        acme.ok("POST", f"/issues/{issue['id']}/cancel", {})
        got = hook.wait_for(3)
    verifier = Webhook(created["secret"])
    types = []
    for request in sorted(got, key=lambda r: r.payload["data"]["issue"]["version"]):
        verifier.verify(request.body, request.headers)
        assert request.headers["webhook-id"] == request.payload["id"]
        types.append(request.payload["type"])
    assert types == ["issue.created", "issue.assigned", "issue.cancelled"]
    deliveries = acme.ok("GET", f"/webhooks/{created['id']}/deliveries")["data"]
    assert {d["status"] for d in deliveries} == {"succeeded"}
    assert {d["eventType"] for d in deliveries} == set(types)
    assert all(d["responseStatus"] == 200 and d["attempt"] == 1 for d in deliveries)


def test_subscriptions_can_be_listed_changed_and_deleted(api: Api) -> None:
    acme = api.new_company()
    hook = acme.ok(
        "POST",
        "/webhooks",
        {"url": "http://127.0.0.1:9/x", "events": ["issue.done"], "description": "d"},
        status=201,
    )
    listed = acme.ok("GET", "/webhooks")["data"]
    assert [w["id"] for w in listed] == [hook["id"]]
    changed = acme.ok("PATCH", f"/webhooks/{hook['id']}", {"events": ["issue.*"], "disabled": True})
    assert changed["events"] == ["issue.*"] and changed["disabled"] is True
    assert acme.call("DELETE", f"/webhooks/{hook['id']}").status_code == 204
    assert_problem(acme.call("GET", f"/webhooks/{hook['id']}"), 404, "not_found")


def test_bad_subscriptions_are_refused(api: Api) -> None:
    acme = api.new_company()
    for body in [
        {"url": "ftp://example.com/x", "events": ["issue.*"]},
        {"url": "http://127.0.0.1:9/x", "events": ["issue.nope"]},
        {"url": "http://127.0.0.1:9/x", "events": []},
        {"url": "http://user:pw@127.0.0.1:9/x", "events": ["issue.*"]},
    ]:
        assert_problem(acme.call("POST", "/webhooks", body), 422, "invalid_request")


def test_a_delivery_can_be_sent_again(api: Api) -> None:
    acme = api.new_company()
    with receiver() as hook:
        created = acme.ok(
            "POST", "/webhooks", {"url": hook.url, "events": ["issue.created"]}, status=201
        )
        acme.issue("once")
        (first,) = hook.wait_for(1)
        (delivery,) = acme.ok("GET", f"/webhooks/{created['id']}/deliveries")["data"]
        again = acme.ok(
            "POST",
            f"/webhooks/{created['id']}/deliveries/{delivery['id']}/redeliver",
            status=201,
        )
        assert again["eventId"] == delivery["eventId"] and again["id"] != delivery["id"]
        end = time.monotonic() + 20
        while len(hook.requests) < 2 and time.monotonic() < end:
            time.sleep(0.05)
        assert len(hook.requests) == 2
        assert hook.requests[1].headers["webhook-id"] == first.headers["webhook-id"]


def test_webhooks_of_another_company_are_not_found(api: Api) -> None:
    acme, rival = api.new_company("Acme"), api.new_company("Rival")
    hook = acme.ok(
        "POST", "/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["issue.*"]}, status=201
    )
    for method, path in [
        ("GET", f"/webhooks/{hook['id']}"),
        ("PATCH", f"/webhooks/{hook['id']}"),
        ("DELETE", f"/webhooks/{hook['id']}"),
        ("GET", f"/webhooks/{hook['id']}/deliveries"),
    ]:
        assert_problem(
            rival.call(method, path, {} if method == "PATCH" else None), 404, "not_found"
        )
    assert acme.ok("GET", f"/webhooks/{hook['id']}")["id"] == hook["id"]


def test_an_endpoint_answering_410_gone_is_disabled(api: Api) -> None:
    acme = api.new_company()
    with receiver(lambda _n: (410, 0.0)) as hook:
        created = acme.ok("POST", "/webhooks", {"url": hook.url, "events": ["issue.*"]}, status=201)
        acme.issue("nobody home")
        end = time.monotonic() + 20
        state = created
        while time.monotonic() < end and not state["disabled"]:
            time.sleep(0.1)
            state = acme.ok("GET", f"/webhooks/{created['id']}")
    assert state["disabled"] is True and state["disabledReason"] == "410 Gone"
    (delivery,) = acme.ok("GET", f"/webhooks/{created['id']}/deliveries")["data"]
    assert delivery["status"] == "failed" and delivery["responseStatus"] == 410
    assert len(hook.requests) == 1  # not retried
