"""Comments on an issue: who may write them, their limits, and the list newest first."""

from __future__ import annotations

import pytest

from tests.e2e.client import Api, assert_invalid, assert_problem, walk


def test_a_user_comment_is_created_and_listed(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    comment = acme.ok(
        "POST",
        f"/issues/{issue['id']}/comments",
        {"text": "Switching this to Opus.", "author": "user:alice"},
        status=201,
    )
    assert comment["id"].startswith("cmt_")
    assert comment["issueId"] == issue["id"]
    assert comment["text"] == "Switching this to Opus."
    assert comment["author"] == "user:alice"
    assert comment["createdAt"].endswith("Z")
    listed = acme.ok("GET", f"/issues/{issue['id']}/comments")
    assert listed == {"data": [comment], "nextCursor": None, "hasMore": False}


def test_a_comment_does_not_change_the_issue_version(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    acme.ok(
        "POST", f"/issues/{issue['id']}/comments", {"text": "hi", "author": "user:bob"}, status=201
    )
    assert acme.ok("GET", f"/issues/{issue['id']}")["version"] == issue["version"]


def test_an_admin_may_post_as_an_agent_of_the_company(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    issue = acme.issue()
    body = {"text": "relayed", "author": f"agent:{agent['id']}"}
    comment = acme.ok("POST", f"/issues/{issue['id']}/comments", body, status=201)
    assert comment["author"] == f"agent:{agent['id']}"


def test_an_agent_token_posts_as_itself(api: Api) -> None:
    acme = api.new_company()
    agent = acme.agent()
    token = acme.agent_token(agent["id"])
    issue = acme.issue(assignedAgentId=agent["id"])
    response = acme.call(
        "POST",
        f"/issues/{issue['id']}/comments",
        {"text": "On it.", "author": f"agent:{agent['id']}"},
        token=token,
    )
    assert response.status_code == 201, response.text
    assert response.json()["author"] == f"agent:{agent['id']}"
    listed = acme.call("GET", f"/issues/{issue['id']}/comments", token=token)
    assert listed.status_code == 200
    assert [c["text"] for c in listed.json()["data"]] == ["On it."]


@pytest.mark.parametrize("as_who", ["user", "other-agent"])
def test_an_agent_token_may_not_post_as_anyone_else(api: Api, as_who: str) -> None:
    acme = api.new_company()
    agent, other = acme.agent("me"), acme.agent("other")
    token = acme.agent_token(agent["id"])
    issue = acme.issue()
    author = "user:alice" if as_who == "user" else f"agent:{other['id']}"
    response = acme.call(
        "POST", f"/issues/{issue['id']}/comments", {"text": "x", "author": author}, token=token
    )
    assert_problem(response, 403, "forbidden")
    assert acme.ok("GET", f"/issues/{issue['id']}/comments")["data"] == []


def test_comments_are_listed_newest_first_across_pages(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    path = f"/issues/{issue['id']}/comments"
    made = [
        acme.ok("POST", path, {"text": f"comment {i}", "author": "user:alice"}, status=201)["id"]
        for i in range(5)
    ]
    first = acme.ok("GET", path, params={"limit": 2})
    assert [c["id"] for c in first["data"]] == [made[4], made[3]]
    assert first["hasMore"] is True
    assert [c["id"] for c in walk(acme, path, limit=2)] == list(reversed(made))


def test_comments_belong_to_their_issue(api: Api) -> None:
    acme = api.new_company()
    one, two = acme.issue("one"), acme.issue("two")
    acme.ok("POST", f"/issues/{one['id']}/comments", {"text": "x", "author": "user:a"}, status=201)
    assert acme.ok("GET", f"/issues/{two['id']}/comments")["data"] == []


def test_comments_on_a_cancelled_issue_are_frozen(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    path = f"/issues/{issue['id']}/comments"
    acme.ok("POST", path, {"text": "before", "author": "user:alice"}, status=201)
    acme.ok("POST", f"/issues/{issue['id']}/cancel", {})
    response = acme.call("POST", path, {"text": "after", "author": "user:alice"})
    assert_problem(response, 409, "frozen")
    assert [c["text"] for c in acme.ok("GET", path)["data"]] == ["before"]


@pytest.mark.parametrize(
    ("body", "field"),
    [
        ({"text": "", "author": "user:alice"}, "text"),
        ({"text": "x" * 20_001, "author": "user:alice"}, "text"),
        ({"author": "user:alice"}, "text"),
        ({"text": "x"}, "author"),
        ({"text": "x", "author": "alice"}, "author"),
        ({"text": "x", "author": "user:"}, "author"),
        ({"text": "x", "author": "system:sweeper"}, "author"),
        ({"text": "x", "author": "agent:bob"}, "author"),
        ({"text": "x", "author": "user:a", "pinned": True}, "pinned"),
    ],
    ids=["empty", "too-long", "no-text", "no-author", "bare-name", "empty-user",
         "system-author", "not-an-agent-id", "unknown-field"],
)  # fmt: skip
def test_a_comment_outside_the_limits_is_invalid(
    api: Api, body: dict[str, object], field: str
) -> None:
    acme = api.new_company()
    issue = acme.issue()
    assert_invalid(acme.call("POST", f"/issues/{issue['id']}/comments", body), field)
    assert acme.ok("GET", f"/issues/{issue['id']}/comments")["data"] == []


def test_a_comment_of_exactly_20000_chars_is_accepted(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    body = {"text": "x" * 20_000, "author": "user:alice"}
    assert (
        len(acme.ok("POST", f"/issues/{issue['id']}/comments", body, status=201)["text"]) == 20_000
    )


def test_a_comment_as_an_unknown_agent_is_invalid(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    body = {"text": "x", "author": "agt_unknown0"}
    assert_invalid(acme.call("POST", f"/issues/{issue['id']}/comments", body), "author")
    body = {"text": "x", "author": "agent:agt_unknown0"}
    assert_invalid(acme.call("POST", f"/issues/{issue['id']}/comments", body), "author")


def test_comments_on_an_unknown_issue_are_not_found(api: Api) -> None:
    acme = api.new_company()
    body = {"text": "x", "author": "user:alice"}
    assert_problem(acme.call("POST", "/issues/iss_nope/comments", body), 404, "not_found")
    assert_problem(acme.call("GET", "/issues/iss_nope/comments"), 404, "not_found")


def test_the_comment_list_refuses_bad_paging(api: Api) -> None:
    acme = api.new_company()
    issue = acme.issue()
    path = f"/issues/{issue['id']}/comments"
    assert_invalid(acme.call("GET", path, params={"limit": 0}), "limit")
    assert_invalid(acme.call("GET", path, params={"cursor": "garbage"}), "cursor")
    assert_invalid(acme.call("GET", path, params={"author": "user:a"}), "author")
