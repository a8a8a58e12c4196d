"""The SDK's generated files: its pydantic models, and its sync modules.

``python -m api.sdk_models`` writes ``sdk/agentq_client/models.py`` from the OpenAPI
document the API serves (``api.reference.served_document``) with datamodel-code-generator,
and each ``_sync_*.py`` of ``SYNC_FROM`` from its hand-written ``_async_*.py`` (``async``
and ``await`` removed: the sync client is the async one, line for line), all ruff formatted.
``tests/unit/test_sdk_models.py`` fails when a committed file differs from what this would
write, so an SDK model never disagrees with the document's schema and the two clients never
drift apart. The SDK imports nothing from here: the files it ships are plain Python.
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import tempfile
from pathlib import Path

__all__ = ["MODELS", "SYNC_FROM", "generate", "unasync"]

ROOT = Path(__file__).resolve().parents[1]
PACKAGE = ROOT / "sdk" / "agentq_client"
MODELS = PACKAGE / "models.py"
#: The async modules the sync ones are written from (``_async_x.py`` -> ``_sync_x.py``).
SYNC_FROM = [
    "_async_transport.py",
    "_async_ops_org.py",
    "_async_ops_issues.py",
    "_async_ops_routines.py",
    "_async_ops_budgets.py",
    "_async_ops_events.py",
    "_async_client.py",
]

HEADER = (
    '"""The API\'s schemas as pydantic models (generated: do not edit).\n\n'
    "Written by ``python -m api.sdk_models`` from the served OpenAPI document with\n"
    "datamodel-code-generator; a test fails when this file differs from what it would write.\n"
    '"""'
)

#: Snake-case fields with the wire's camelCase as aliases (either populates a model); money
#: (the document's only JSON numbers) as exact ``Decimal``; constrained strings as type
#: aliases rather than root models, so a plain ``str`` is what a caller passes; each
#: inline type named after its model (``CancelBodyReason``), so no schema is renamed.
OPTIONS = [
    "--input-file-type=openapi",
    "--openapi-scopes=schemas",
    "--output-model-type=pydantic_v2.BaseModel",
    "--target-python-version=3.11",
    "--snake-case-field",
    "--allow-population-by-field-name",
    "--alias-generator=to_camel",
    "--use-annotated",
    "--field-constraints",
    "--use-standard-collections",
    "--use-union-operator",
    "--use-double-quotes",
    "--disable-timestamp",
    "--enum-field-as-literal=all",
    "--collapse-root-models",
    "--use-type-alias",
    "--parent-scoped-naming",
    "--use-schema-description",
    "--type-mappings=number+default=decimal",
    "--formatters=builtin",
]


def generate(document: dict[str, object]) -> str:
    """The models module for ``document``, as ruff formats it."""
    with tempfile.TemporaryDirectory() as tmp:
        source, target = Path(tmp) / "openapi.json", Path(tmp) / "models.py"
        source.write_text(json.dumps(document))
        subprocess.run(
            [
                sys.executable,
                "-m",
                "datamodel_code_generator",
                f"--input={source}",
                f"--output={target}",
                f"--custom-file-header={HEADER}",
                *OPTIONS,
            ],
            check=True,
            capture_output=True,
        )
        code = target.read_text()
    return _ruff(code, MODELS)


def _ruff(code: str, path: Path) -> str:
    """``code`` with ruff's fixes (imports sorted, unused ones gone), then formatted."""
    for fix in (["check", "--fix-only", "--quiet"], ["format"]):
        code = subprocess.run(
            [sys.executable, "-m", "ruff", *fix, f"--stdin-filename={path}", "-"],
            input=code,
            cwd=ROOT,
            check=True,
            capture_output=True,
            text=True,
        ).stdout
    return code


#: Textual rewrites from async to sync, in order (names: ``AsyncClient`` -> ``Client``).
_REWRITES = [
    (r"(?m)^# The sync twin.*\n", ""),
    # An async generator has no ``yield from``; a sync one has.
    (r"for (\w+) in ([\w.]+):  # each\n\s+yield \1\n", r"yield from \2\n"),
    (r"\bimport asyncio\n", ""),
    (r"\basyncio\.sleep\(", "time.sleep("),
    (r"\b_async_", "_sync_"),
    (r"\bAsync(?=[A-Z])", ""),
    (r"\basync (def|with|for) ", r"\1 "),
    (r"\bawait ", ""),
    (r"__aenter__", "__enter__"),
    (r"__aexit__", "__exit__"),
    (r"__aiter__", "__iter__"),
    (r"\baiter_lines\(", "iter_lines("),
    (r"\baread\(", "read("),
    (r"\baclose\(", "close("),
]


def _drop_awaitable(code: str) -> str:
    """``Awaitable[X]`` -> ``X`` (brackets matched)."""
    while (start := code.find("Awaitable[")) != -1:
        depth, end = 0, start + len("Awaitable")
        for end in range(start + len("Awaitable"), len(code)):
            depth += {"[": 1, "]": -1}.get(code[end], 0)
            if depth == 0:
                break
        code = code[:start] + code[start + len("Awaitable[") : end] + code[end + 1 :]
    return code


def unasync(name: str, code: str) -> str:
    """The sync module written from the async module ``name``'s ``code``."""
    for pattern, replacement in _REWRITES:
        code = re.sub(pattern, replacement, code)
    code = _drop_awaitable(code)
    note = f"# Written from {name} by `python -m api.sdk_models`: edit that file, not this one.\n"
    return _ruff(note + code, PACKAGE / name.replace("_async_", "_sync_"))


def main() -> None:
    from api.reference import served_document

    MODELS.write_text(generate(served_document()))
    print(f"wrote {MODELS.relative_to(ROOT)}", file=sys.stderr)
    for name in SYNC_FROM:
        target = PACKAGE / name.replace("_async_", "_sync_")
        target.write_text(unasync(name, (PACKAGE / name).read_text()))
        print(f"wrote {target.relative_to(ROOT)}", file=sys.stderr)


if __name__ == "__main__":
    main()
