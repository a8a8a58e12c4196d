"""The interactive docs work offline: the page at ``/schema/swagger`` loads nothing from another
host, and every script, stylesheet and icon it names is served by the API itself.

On the embedded stack, over HTTP (the docs are the same on the distributed one: same app).
"""

from __future__ import annotations

import re
from collections.abc import Iterator
from html.parser import HTMLParser
from pathlib import Path

import httpx
import pytest

from tests.procs import Stack, start_embedded

#: What a page can load, by the tag and attribute naming it.
LOADED = {("script", "src"), ("link", "href"), ("img", "src"), ("iframe", "src")}
#: An absolute URL (a scheme, or protocol-relative ``//host``).
ABSOLUTE = re.compile(r"^\s*([a-z][a-z0-9+.-]*:|//)", re.IGNORECASE)


class _References(HTMLParser):
    """Every URL the page loads: ``(tag, rel, url)``."""

    def __init__(self) -> None:
        super().__init__()
        self.found: list[tuple[str, str, str]] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = {name: value or "" for name, value in attrs}
        for name, value in values.items():
            if (tag, name) in LOADED:
                self.found.append((tag, values.get("rel", ""), value))


def _references(html: str) -> list[tuple[str, str, str]]:
    parser = _References()
    parser.feed(html)
    return parser.found


@pytest.fixture(scope="module")
def docs_stack(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Stack]:
    log_dir: Path = tmp_path_factory.mktemp("docs")
    running = start_embedded(log_dir)
    try:
        yield running
    finally:
        running.stop()


@pytest.fixture(scope="module")
def http(docs_stack: Stack) -> Iterator[httpx.Client]:
    with httpx.Client(base_url=docs_stack.base_url, timeout=30) as client:
        yield client


def test_the_swagger_page_names_no_other_host(http: httpx.Client) -> None:
    page = http.get("/schema/swagger")
    assert page.status_code == 200, page.text
    assert page.headers["content-type"].startswith("text/html")
    html = page.text
    references = _references(html)
    kinds = {(tag, rel) for tag, rel, _ in references}
    assert {("script", ""), ("link", "stylesheet")} <= kinds, references
    absolute = [url for _, _, url in references if ABSOLUTE.match(url)]
    assert absolute == [], absolute
    # Nor anywhere else on the page (an inline @import, a URL built in a script), but in the
    # document embedded in it, whose links (externalDocs, problem types) load nothing.
    before, spec_and_after = html.split("spec: ", 1)
    after = spec_and_after.split("dom_id:", 1)[1]
    assert re.findall(r"(?:https?:)?//[^\s'\"<>]+", before + after, re.IGNORECASE) == []


def test_every_script_stylesheet_and_icon_it_names_is_served(http: httpx.Client) -> None:
    expected = {"script": "text/javascript", "stylesheet": "text/css", "icon": "image/png"}
    references = _references(http.get("/schema/swagger").text)
    assert len(references) >= 3, references
    for tag, rel, url in references:
        kind = "script" if tag == "script" else rel
        answer = http.get(url)
        assert answer.status_code == 200, (url, answer.status_code)
        content_type = answer.headers["content-type"].split(";")[0].strip()
        assert content_type == expected[kind], (url, content_type)
        assert len(answer.content) > 100, url


def test_the_bundle_renders_the_openapi_version_the_api_serves(http: httpx.Client) -> None:
    """Swagger UI before 5.0 shows "Unable to render this definition" for OpenAPI 3.1 (it
    takes ``openapi: 3.0.n`` only): the served bundle must know 3.1 when the document is 3.1."""
    version = http.get("/schema/openapi.json").json()["openapi"]
    bundle = http.get("/schema/assets/swagger-ui-bundle.js").text
    assert "SwaggerUIBundle" in bundle
    if version.startswith("3.1"):
        assert "isOpenAPI31" in bundle, "this Swagger UI cannot render an OpenAPI 3.1 document"


def test_the_schema_root_is_swagger_and_only_offline_pages_are_offered(
    http: httpx.Client,
) -> None:
    root = http.get("/schema")
    assert root.status_code == 200
    assert root.text == http.get("/schema/swagger").text
    for document in ["/schema/openapi.json", "/schema/openapi.yaml"]:
        assert http.get(document).status_code == 200, document
    # These would load their code from a CDN: not offered (docs/api.md says so).
    for page in ["/schema/redoc", "/schema/elements", "/schema/rapidoc"]:
        assert http.get(page).status_code == 404, page
    assert http.get("/schema/assets/no-such-file.js").status_code == 404
