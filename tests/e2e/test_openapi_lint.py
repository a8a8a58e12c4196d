"""The served OpenAPI document lints clean, as the project's issue asks: Redocly's recommended
rules find no error; Spectral's ``spectral:oas`` finds no operation without tags, description
or operationId; ``openapi-python-client generate`` prints no warning.

The document is built in-process as ``create_app`` serves it (``tests/openapi_lint.py``,
which ``make openapi-lint`` runs for the figures). Redocly and Spectral come from
``package-lock.json`` through the Makefile's stamp. A missing tool skips locally and fails
under ``CI=true``.
"""

from __future__ import annotations

from pathlib import Path

import pytest

from tests import openapi_lint
from tests.conftest import IN_CI


def _listed(findings: list[openapi_lint.Finding], limit: int = 30) -> str:
    shown = [f"{f.severity} {f.rule} at {f.where}: {f.message}" for f in findings[:limit]]
    more = [f"... and {len(findings) - limit} more"] if len(findings) > limit else []
    return "\n".join(shown + more)


@pytest.fixture(scope="module")
def document(tmp_path_factory: pytest.TempPathFactory) -> Path:
    try:
        openapi_lint.node_tools()
    except openapi_lint.ToolMissing as missing:
        if IN_CI:
            pytest.fail(f"{missing} (CI=true: the linters are required)", pytrace=False)
        pytest.skip(f"{missing}; install it to run this test")
    path = tmp_path_factory.mktemp("openapi") / "openapi.json"
    openapi_lint.dump(path)
    return path


def test_redocly_recommended_finds_no_error(document: Path) -> None:
    errors = [f for f in openapi_lint.redocly(document) if f.severity == "error"]
    assert errors == [], f"{len(errors)} Redocly errors:\n{_listed(errors)}"


def test_spectral_finds_every_operation_tagged_described_and_named(document: Path) -> None:
    barred = [f for f in openapi_lint.spectral(document) if f.rule in openapi_lint.SPECTRAL_BARRED]
    assert barred == [], f"{len(barred)} Spectral findings:\n{_listed(barred)}"


def test_openapi_python_client_generates_a_client_without_a_warning(
    document: Path, tmp_path: Path
) -> None:
    try:
        code, warnings = openapi_lint.python_client(document, tmp_path / "client")
    except openapi_lint.ToolMissing as missing:
        pytest.fail(str(missing), pytrace=False)  # a dev dependency: never skipped
    assert (code, warnings) == (0, []), "\n".join(warnings[:30])
    assert (tmp_path / "client" / "client.py").is_file()
