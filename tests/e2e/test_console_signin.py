"""The console's sign-in and its guards, over plain HTTP: the session cookie's attributes,
CSRF refusals that change nothing, tokens that may not sign in, a revoked token signing the
console out, the token in no log line, and no /ui route in the API's OpenAPI document."""

from __future__ import annotations

import re
from collections.abc import Iterator
from pathlib import Path

import httpx
import pytest

from tests.e2e.client import Api, Company
from tests.procs import Stack, start_embedded


@pytest.fixture(scope="module")
def logged() -> Iterator[Stack]:
    """An embedded stack of its own that logs every request (the suite's log warnings only)."""
    import tempfile

    with tempfile.TemporaryDirectory(prefix="console-signin-") as tmp:
        stack = start_embedded(Path(tmp), {"AGENTQ_LOG_LEVEL": "INFO"})
        try:
            yield stack
        finally:
            stack.stop()


@pytest.fixture
def acme(logged: Stack) -> Iterator[Company]:
    with Api(logged.base_url, logged.admin_token) as api:
        yield api.new_company("Console sign-in")


def _csrf(html: str) -> str:
    found = re.search(r'name="csrf" value="([^"]+)"', html)
    assert found is not None, html
    return found.group(1)


def _alert(html: str) -> str:
    found = re.search(r'role="alert"[^>]*>([^<]*)<', html)
    return "" if found is None else found.group(1)


def sign_in(http: httpx.Client, token: str) -> httpx.Response:
    form = http.get("/ui/login")
    return http.post("/ui/login", data={"csrf": _csrf(form.text), "token": token})


def test_pages_send_a_stranger_to_the_sign_in_form(logged: Stack) -> None:
    with httpx.Client(base_url=logged.base_url) as http:
        for path in ("/ui/board", "/ui/queues", "/ui/ops", "/ui/issues/iss_x", "/ui/events"):
            response = http.get(path)
            assert (response.status_code, response.headers["location"]) == (303, "/ui/login")
        htmx = http.get("/ui/board/columns", headers={"HX-Request": "true"})
        assert (htmx.status_code, htmx.headers["hx-redirect"]) == (204, "/ui/login")
        assert http.get("/ui/login").status_code == 200


def test_signing_in_sets_an_httponly_strict_cookie_on_ui_only(logged: Stack, acme: Company) -> None:
    with httpx.Client(base_url=logged.base_url) as http:
        response = sign_in(http, acme.token)
        assert (response.status_code, response.headers["location"]) == (303, "/ui/board")
        [session] = [c for c in response.headers.get_list("set-cookie") if "aq_session=" in c]
        attributes = {a.strip().split("=")[0].lower() for a in session.split(";")[1:]}
        assert {"httponly", "path", "samesite", "max-age"} <= attributes
        assert "Path=/ui" in session and "SameSite=strict" in session
        assert "secure" not in attributes  # plain http here: Secure only over https
        board = http.get("/ui/board")
        assert board.status_code == 200 and acme.id in board.text
        assert acme.token not in board.text  # the token never comes back in a page


def test_a_sign_in_without_the_forms_nonce_is_refused(logged: Stack, acme: Company) -> None:
    with httpx.Client(base_url=logged.base_url) as http:
        http.get("/ui/login")
        response = http.post("/ui/login", data={"csrf": "forged", "token": acme.token})
        assert response.status_code == 403 and "expired" in _alert(response.text)
        assert "aq_session" not in http.cookies


@pytest.mark.parametrize("who", ["agent", "operator", "unknown"])
def test_only_a_company_admin_token_signs_in(logged: Stack, acme: Company, who: str) -> None:
    token = {
        "agent": lambda: acme.agent_token(acme.agent()["id"]),
        "operator": lambda: logged.admin_token,
        "unknown": lambda: "aq_not_a_token",
    }[who]()
    with httpx.Client(base_url=logged.base_url) as http:
        response = sign_in(http, token)
        assert response.status_code == 401
        assert _alert(response.text).startswith("Unauthorized: ")
        assert "aq_session" not in http.cookies
        assert token not in response.text


def test_a_form_without_the_sessions_csrf_token_changes_nothing(
    logged: Stack, acme: Company
) -> None:
    agent = acme.agent()
    issue = acme.issue("Guarded")
    with httpx.Client(base_url=logged.base_url) as http:
        sign_in(http, acme.token)
        path = f"/ui/issues/{issue['id']}/assign"
        for headers, data in (({}, {"agent": agent["id"]}), ({"X-CSRF-Token": "x"}, {})):
            response = http.post(path, data={**data, "agent": agent["id"]}, headers=headers)
            assert response.status_code == 403, response.text
            assert "stale" in _alert(response.text)
        assert acme.ok("GET", f"/issues/{issue['id']}")["status"] == "queued"
        # The page's own token, as a field or as htmx's header, does the command.
        csrf = _csrf(http.get(f"/ui/issues/{issue['id']}").text)
        done = http.post(path, data={"agent": agent["id"]}, headers={"X-CSRF-Token": csrf})
        assert done.status_code == 303
        assert acme.ok("GET", f"/issues/{issue['id']}")["status"] == "assigned"


def test_a_revoked_token_signs_the_console_out(logged: Stack, acme: Company) -> None:
    minted = acme.ok("POST", "/tokens", {"role": "admin"}, status=201)
    with httpx.Client(base_url=logged.base_url) as http:
        sign_in(http, minted["token"])
        assert http.get("/ui/board").status_code == 200
        acme.ok("DELETE", f"/tokens/{minted['id']}", status=204)
        assert http.get("/ui/board").headers.get("location") == "/ui/login"


def test_signing_out_clears_the_cookie(logged: Stack, acme: Company) -> None:
    with httpx.Client(base_url=logged.base_url) as http:
        sign_in(http, acme.token)
        csrf = _csrf(http.get("/ui/board").text)
        response = http.post("/ui/logout", data={"csrf": csrf})
        assert (response.status_code, response.headers["location"]) == (303, "/ui/login")
        assert "aq_session" not in http.cookies
        assert http.get("/ui/board").status_code == 303


def test_the_token_is_in_no_log_line(logged: Stack, acme: Company) -> None:
    with httpx.Client(base_url=logged.base_url) as http:
        sign_in(http, acme.token)
        issue = acme.issue("Logged")
        csrf = _csrf(http.get(f"/ui/issues/{issue['id']}").text)
        http.post(f"/ui/issues/{issue['id']}/comment", data={"csrf": csrf, "text": "hello"})
    log = (logged.log_dir / "web.log").read_text()
    assert '"route":"/ui/login"' in log and '"route":"/ui/issues/{iid}/{action}"' in log
    assert acme.token not in log
    assert csrf not in log
    assert "aq_session" not in log


def test_the_openapi_document_has_no_ui_route(logged: Stack) -> None:
    document = httpx.get(logged.base_url + "/schema/openapi.json").json()
    assert [p for p in document["paths"] if p.startswith("/ui")] == []


def test_another_companys_ids_are_not_found_and_unchanged(logged: Stack, acme: Company) -> None:
    other = acme.api.new_company("Other")
    theirs = other.issue("Not yours")
    their_agent = other.agent()
    with httpx.Client(base_url=logged.base_url) as http:
        sign_in(http, acme.token)
        assert http.get(f"/ui/issues/{theirs['id']}").status_code == 404
        csrf = _csrf(http.get("/ui/board").text)
        assign = {"csrf": csrf, "agent": their_agent["id"]}
        refused = http.post(f"/ui/issues/{theirs['id']}/assign", data=assign)
        assert refused.status_code == 404 and "Not found" in _alert(refused.text)
        paused = http.post(f"/ui/agents/{their_agent['id']}/pause", data={"csrf": csrf})
        assert "Not found" in _alert(paused.text)
        assert theirs["id"] not in http.get("/ui/board").text
    assert other.ok("GET", f"/issues/{theirs['id']}")["status"] == "queued"
    assert other.ok("GET", f"/agents/{their_agent['id']}")["status"] == "active"
