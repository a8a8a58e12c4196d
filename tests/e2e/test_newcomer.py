"""What a new user trips over first: the root, a wrong method, an empty query value."""

from __future__ import annotations

from tests.e2e.client import Api, assert_invalid, assert_problem


def test_the_root_points_to_the_interactive_docs_and_the_document(api: Api) -> None:
    root = api.http.get("/")
    assert root.status_code == 200, root.text
    body = root.json()
    assert body["docs"] == "/schema/swagger" and body["openapi"] == "/schema/openapi.json"
    assert api.http.get(body["openapi"]).status_code == 200
    assert api.http.get(body["docs"]).status_code == 200


def test_a_method_a_path_does_not_take_is_405_naming_those_it_takes(api: Api) -> None:
    acme = api.new_company("Methods")
    for method, path, allowed in [
        ("DELETE", "/issues", {"GET", "POST"}),
        ("PUT", "/teams", {"GET", "POST"}),
        ("DELETE", "/agents/agt_x", {"GET", "PATCH"}),
    ]:
        response = acme.call(method, path)
        body = assert_problem(response, 405, "method_not_allowed")
        allow = {m.strip() for m in response.headers["allow"].split(",")}
        assert allowed <= allow and method not in allow, (path, allow)
        assert all(m in body["detail"] for m in allowed), body


def test_an_empty_query_value_is_refused_rather_than_matching_nothing(api: Api) -> None:
    acme = api.new_company("Empty")
    acme.issue()
    for name in ["parent", "agent", "team", "label", "status", "since"]:
        assert_invalid(acme.call("GET", "/issues", params={name: ""}), name)
    assert_invalid(acme.call("GET", "/approvals", params={"issueId": ""}), "issueId")
    # An empty cursor is the first page.
    assert len(acme.ok("GET", "/issues", params={"cursor": ""})["data"]) == 1


def test_options_names_every_method_of_the_path_without_a_token(api: Api) -> None:
    acme = api.new_company("Options")
    base = f"/v1/companies/{acme.id}"
    for path, methods in [
        ("/issues", {"GET", "POST", "OPTIONS"}),
        ("/issues/iss_x", {"GET", "PATCH", "OPTIONS"}),
        ("/webhooks/whk_x", {"GET", "PATCH", "DELETE", "OPTIONS"}),
        ("/issues/iss_x/runs/run_x/checkpoint", {"POST", "OPTIONS"}),
    ]:
        response = api.http.options(base + path)
        assert response.status_code == 204, (path, response.text)
        assert {m.strip() for m in response.headers["allow"].split(",")} == methods, path


def test_a_201_names_the_new_resource_in_location_which_answers_it(api: Api) -> None:
    acme = api.new_company("Located")
    created = []
    for path, body in [
        ("/issues", {"title": "located"}),
        ("/teams", {"name": "t"}),
        ("/agents", {"name": "a"}),
    ]:
        response = acme.call("POST", path, body)
        assert response.status_code == 201, response.text
        location = response.headers["location"]
        assert location == f"/v1/companies/{acme.id}{path}/{response.json()['id']}"
        read = api.http.get(location, headers={"Authorization": f"Bearer {acme.token}"})
        assert read.status_code == 200 and read.json()["id"] == response.json()["id"]
        created.append(location)
    company = api.operator("POST", "/v1/companies", {"name": "Other"})
    assert company.headers["location"] == f"/v1/companies/{company.json()['id']}"
    assert len(set(created)) == 3
