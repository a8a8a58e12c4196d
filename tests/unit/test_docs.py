"""The documentation stays true: its links resolve inside the repository, and every route the
API serves is in the reference (docs/api.md)."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

from app_routes import served_routes

ROOT = Path(__file__).resolve().parents[2]
DOCUMENTS = [ROOT / "README.md", *sorted((ROOT / "docs").glob("*.md"))]
#: ``[text](target)``, not an image, not inside inline code.
LINK = re.compile(r"(?<!!)\[[^\]\n]*\]\(([^)\s]+)\)")


def _links(path: Path) -> list[str]:
    text = re.sub(r"```.*?```", "", path.read_text(), flags=re.DOTALL)  # code blocks
    return LINK.findall(re.sub(r"`[^`\n]*`", "", text))


def _template(path: str) -> str:
    """A path with each parameter written ``{}`` (the docs and the code name them apart)."""
    return re.sub(r"\{[^}]*\}", "{}", path)


def test_every_relative_link_in_the_readme_and_docs_names_a_file_in_the_repository() -> None:
    broken = []
    for document in DOCUMENTS:
        for target in _links(document):
            if re.match(r"[a-z]+:", target) or target.startswith("#"):
                continue  # a URL, or an anchor on the same page
            file = (document.parent / target.split("#")[0]).resolve()
            if not file.is_relative_to(ROOT) or not file.exists():
                broken.append(f"{document.relative_to(ROOT)}: {target}")
    assert not broken, broken
    assert len(DOCUMENTS) >= 4  # README, api, architecture, limits


def test_the_reference_lists_every_route_the_api_serves(tmp_path: Path) -> None:
    served = {
        (method, _template(path))
        for method, path in served_routes(tmp_path)
        if method in {"GET", "POST", "PUT", "PATCH", "DELETE"} and path.startswith("/v1/")
    }
    rows = re.findall(r"^\| (GET|POST|PUT|PATCH|DELETE) \| (/v1/[^ |]+) \|", _reference(), re.M)
    documented = {(method, _template(path)) for method, path in rows}
    assert sorted(served - documented) == [], "routes missing from docs/api.md"
    assert sorted(documented - served) == [], "docs/api.md lists routes the API does not serve"


def _reference() -> str:
    return (ROOT / "docs" / "api.md").read_text()


def test_the_generated_reference_is_what_the_code_would_write() -> None:
    # In a process of its own, as served_routes does: building the app configures this
    # process's logging.
    written = subprocess.run(
        [sys.executable, "-m", "api.reference"],
        cwd=ROOT,
        capture_output=True,
        text=True,
        check=True,
    ).stdout
    assert (ROOT / "docs" / "reference.md").read_text() == written, (
        "docs/reference.md is out of date: python -m api.reference > docs/reference.md"
    )


def test_every_setting_is_in_the_readme_and_in_env_example() -> None:
    from service.settings import Settings

    names = {f"AGENTQ_{name.upper()}" for name in Settings.model_fields}
    for document in ("README.md", ".env.example"):
        written = set(re.findall(r"AGENTQ_[A-Z_0-9]+", (ROOT / document).read_text()))
        assert sorted(names - written) == [], f"settings {document} does not name"
