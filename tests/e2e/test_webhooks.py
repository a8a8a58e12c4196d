"""Webhook subscriptions and deliveries over HTTP, on both stacks, to a real receiver."""

from __future__ import annotations

import time
from typing import Any

from standardwebhooks import Webhook

from tests.e2e.client import Api, Company, assert_invalid, assert_problem
from tests.receiver import receiver


def _settled(acme: Company, webhook_id: str, count: int, timeout_s: float = 20) -> list[Any]:
    """The endpoint's ``count`` deliveries once none is pending or under way: a receiver has a
    request before the worker has its answer and records it."""
    deadline = time.monotonic() + timeout_s
    while True:
        deliveries: list[Any] = acme.ok("GET", f"/webhooks/{webhook_id}/deliveries")["data"]
        if len(deliveries) == count and all(
            d["status"] in {"succeeded", "failed"} for d in deliveries
        ):
            return deliveries
        assert time.monotonic() < deadline, deliveries
        time.sleep(0.05)


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
        deliveries = _settled(acme, created["id"], 3)  # while the receiver still answers
    verifier = Webhook(created["secret"])
    types = []
    for request in sorted(got, key=lambda r: r.payload["data"]["issue"]["version"]):
        verifier.verify(request.body, request.headers)
        assert request.headers["webhook-id"] == request.payload["id"]
        types.append(request.payload["type"])
    assert types == ["issue.created", "issue.assigned", "issue.cancelled"]
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


#: URLs refused whatever the stack allows: a port it does not allow (the test stacks allow
#: 80, 443, 8080, 8443, 9 and 32768-60999), a fragment, userinfo; with what the refusal says.
REFUSED_URLS = [
    ("http://93.184.215.14:22/", "port 22 is not allowed; use one of 80, 443, 8080, 8443, 9,"),
    ("http://93.184.215.14:6379/", "port 6379 is not allowed; use one of 80, 443,"),
    ("https://93.184.215.14:5432/hook", "port 5432 is not allowed"),
    ("http://127.0.0.1:6379/", "port 6379 is not allowed"),  # allow_private is on here
    ("http://93.184.215.14:8443/hook#frag", "must not contain a fragment"),
    ("http://93.184.215.14:8443/hook#", "must not contain a fragment"),
    ("http://user:pw@93.184.215.14:8443/hook", "must not contain a user name or password"),
]


def _refused(response: Any, says: str) -> None:
    (error,) = assert_invalid(response, "url")
    assert error["loc"] == ["url"], error
    assert says in error["msg"], error


def test_a_webhook_url_naming_a_port_not_allowed_a_fragment_or_userinfo_is_not_created(
    api: Api,
) -> None:
    acme = api.new_company()
    kept = acme.ok(
        "POST", "/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["issue.done"]}, status=201
    )
    before = acme.ok("GET", "/webhooks")["data"]
    assert [w["id"] for w in before] == [kept["id"]]
    for url, says in REFUSED_URLS:
        _refused(acme.call("POST", "/webhooks", {"url": url, "events": ["issue.done"]}), says)
    assert acme.ok("GET", "/webhooks")["data"] == before


def test_a_webhook_cannot_be_changed_to_a_url_naming_a_port_not_allowed(api: Api) -> None:
    acme = api.new_company()
    hook = acme.ok(
        "POST", "/webhooks", {"url": "http://127.0.0.1:9/x", "events": ["issue.done"]}, status=201
    )
    before = acme.ok("GET", f"/webhooks/{hook['id']}")
    for url, says in REFUSED_URLS:
        _refused(acme.call("PATCH", f"/webhooks/{hook['id']}", {"url": url}), says)
        # Nothing else of a refused change is applied either.
        both = {"url": url, "description": "changed"}
        _refused(acme.call("PATCH", f"/webhooks/{hook['id']}", both), says)
    assert acme.ok("GET", f"/webhooks/{hook['id']}") == before


def test_a_webhook_url_naming_an_allowed_port_of_a_public_address_is_accepted(api: Api) -> None:
    acme = api.new_company()
    # Events of a type this company never emits: nothing is sent to that address.
    body = {"url": "https://93.184.215.14:8443/hook", "events": ["issue.done"]}
    hook = acme.ok("POST", "/webhooks", body, status=201)
    assert hook["url"] == "https://93.184.215.14:8443/hook"
    for url in [
        "http://93.184.215.14:8080/hook",
        "http://93.184.215.14/hook",
        "https://93.184.215.14:443/",
    ]:
        assert acme.ok("PATCH", f"/webhooks/{hook['id']}", {"url": url})["url"] == url
    assert acme.ok("GET", f"/webhooks/{hook['id']}")["url"] == "https://93.184.215.14:443/"


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
