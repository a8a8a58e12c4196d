"""The event stream (issue 18): live entries, resume exactly, filters, who may watch, and
the keep-alive comment (the test stacks send one every second)."""

from __future__ import annotations

import json

from tests.e2e.client import Api, Company
from tests.sse import EventReader, stream


def _open(
    company: Company, path: str = "/events", token: str | None = None, **kw: object
) -> EventReader:
    reader = stream(company.api.base_url, company.prefix + path, token or company.token, **kw)
    assert reader.status == 200, reader.body
    return reader


def _comment(company: Company, issue_id: str, text: str) -> None:
    company.ok(
        "POST", f"/issues/{issue_id}/comments", {"text": text, "author": "user:x"}, status=201
    )


def test_entries_arrive_live_and_a_client_resumes_exactly(api: Api) -> None:
    company = api.new_company()
    live = _open(company)
    assert live.content_type.startswith("text/event-stream")
    issue = company.issue("Stream me")
    for n in range(3):
        _comment(company, issue["id"], f"note {n}")
    events = live.take(4)
    live.close()
    assert [e.event for e in events] == ["issue.created", *["issue.commented"] * 3]
    trail = company.ok("GET", "/activity")["data"]  # newest first
    assert [e.entry for e in events] == trail[::-1]
    assert all(e.id == e.entry["id"] for e in events)

    # Resume after the first: the three others, then live again; ?after= as well.
    again = _open(company, headers={"Last-Event-ID": events[0].id})
    assert [e.id for e in again.take(3)] == [e.id for e in events[1:]]
    _comment(company, issue["id"], "later")
    later = again.take(1)[0]
    assert later.event == "issue.commented"
    assert again.quiet(0.3) == []
    again.close()
    after = _open(company, params={"after": events[0].id})
    assert [e.id for e in after.take(4)] == [e.id for e in [*events[1:], later]]
    assert after.quiet(0.3) == []
    after.close()
    # The header wins over ?after=.
    both = _open(company, headers={"Last-Event-ID": events[2].id}, params={"after": events[0].id})
    assert [e.id for e in both.take(1)] == [events[3].id]
    both.close()


def test_filters_by_type_and_issue(api: Api) -> None:
    company = api.new_company()
    first, second = company.issue("one"), company.issue("two")
    start = company.ok("GET", "/activity")["data"][0]["id"]  # the newest: second's creation
    by_type = _open(company, params={"after": start, "type": "issue.commented"})
    by_issue = _open(company, params={"after": start, "issueId": first["id"]})
    on_issue = _open(company, f"/issues/{second['id']}/events", params={"after": start})
    _comment(company, first["id"], "a")
    _comment(company, second["id"], "b")
    company.ok("POST", f"/issues/{first['id']}/cancel", {"reason": "done"})
    assert [(e.event, e.entry["issueId"]) for e in by_type.take(2)] == [
        ("issue.commented", first["id"]),
        ("issue.commented", second["id"]),
    ]
    assert [e.event for e in by_issue.take(2)] == ["issue.commented", "issue.cancelled"]
    assert [e.entry["issueId"] for e in on_issue.take(1)] == [second["id"]]
    for reader in (by_type, by_issue, on_issue):
        assert reader.quiet(0.3) == []
        reader.close()


def test_who_may_watch(api: Api) -> None:
    company, other = api.new_company(), api.new_company("Other")
    aid, agent_token = company.agent_with_token("runner")
    _, bystander = company.agent_with_token("bystander")
    issue = company.issue("claimed", assignedAgentId=aid)
    company.claim(aid, agent_token)
    base, path = api.base_url, f"{company.prefix}/issues/{issue['id']}/events"

    def status(url: str, token: str, **kw: object) -> tuple[int | None, str]:
        reader = stream(base, url, token, **kw)  # type: ignore[arg-type]
        code = ""
        if reader.status != 200:
            code = json.loads(reader.body)["code"]
        reader.close()
        return reader.status, code

    assert status(company.prefix + "/events", agent_token) == (403, "forbidden")
    assert status(path, bystander) == (403, "forbidden")
    assert status(path, agent_token) == (200, "")
    assert status(path, company.token) == (200, "")
    assert status(company.prefix + "/events", other.token) == (404, "not_found")
    assert status(path, other.token) == (404, "not_found")
    assert status(f"{company.prefix}/issues/iss_nope/events", company.token)[0] == 404
    assert status(company.prefix + "/events", company.token, params={"after": "act_nope"}) == (
        422,
        "invalid_request",
    )
    unknown = {"headers": {"Last-Event-ID": "act_nope"}}
    assert status(company.prefix + "/events", company.token, **unknown)[0] == 422
    assert status(company.prefix + "/events", company.token, params={"type": "nope"})[0] == 422


def test_an_idle_stream_gets_a_comment_at_the_keepalive_interval(api: Api) -> None:
    company = api.new_company()
    reader = _open(company)
    comments = reader.take(2, timeout_s=5, comments=True)
    reader.close()
    assert [e.comment for e in comments] == ["keep-alive", "keep-alive"]
