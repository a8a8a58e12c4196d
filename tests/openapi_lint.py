"""The OpenAPI document the API serves, through the three checks the project's issue names.

- Redocly CLI, recommended rules (``redocly.yaml``): no error.
- Spectral, ``spectral:oas`` (``.spectral.yaml``): no ``operation-tags``,
  ``operation-description`` or ``operation-operationId`` finding.
- ``openapi-python-client generate``: no warning.

``python -m tests.openapi_lint build/openapi.json`` (``make openapi-lint``) writes the document
there and prints the figures by rule; ``tests/e2e/test_openapi_lint.py`` holds the bar. The
Node tools come from ``package-lock.json``, installed by the Makefile's stamp
(``make node_modules/.installed``), which ``node_tools()`` runs.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import tempfile
from collections import Counter
from dataclasses import dataclass
from pathlib import Path

ROOT = Path(__file__).resolve().parents[1]
REDOCLY_CONFIG = ROOT / "redocly.yaml"
SPECTRAL_RULESET = ROOT / ".spectral.yaml"
NODE_STAMP = "node_modules/.installed"
#: Spectral rules the issue allows no finding of.
SPECTRAL_BARRED = ("operation-tags", "operation-description", "operation-operationId")
#: Spectral's numeric severities.
SPECTRAL_SEVERITY = {0: "error", 1: "warn", 2: "info", 3: "hint"}
#: Each tool's run is bounded (they take seconds).
TIMEOUT_S = 300
#: Where openapi-python-client says it found something (then one block per warning).
OPC_MARKERS = ("Warning(s) encountered", "Error(s) encountered")
OPC_TRAILER = "If you believe this was a mistake"

#: The tools phone home unless told not to (the machines reach no such host anyway).
QUIET_ENV = {
    "REDOCLY_TELEMETRY": "off",
    "REDOCLY_SUPPRESS_UPDATE_NOTICE": "true",
    "SCARF_ANALYTICS": "false",
    "NO_UPDATE_NOTIFIER": "1",
}


class ToolMissing(RuntimeError):
    """A program the checks need is not on this machine (node, npx, make)."""


@dataclass(frozen=True)
class Finding:
    severity: str  # error, warn, info, hint
    rule: str
    message: str
    where: str


# --- the document ----------------------------------------------------------------------------


def _build(path: Path) -> None:
    """The document as ``create_app`` builds it (and serves it), embedded, nothing started."""
    from api.app import create_app
    from service.settings import Settings

    with tempfile.TemporaryDirectory() as data_dir:
        settings = Settings(
            data_dir=Path(data_dir), database_url=None, broker_url=None, redis_url=None
        )
        document = create_app(settings).openapi_schema.to_schema()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(json.dumps(document, indent=2) + "\n")


def dump(path: Path) -> dict[str, object]:
    """Writes the document to ``path`` from a process of its own (building the app configures
    logging, which a test process keeps), with no ``AGENTQ_*`` setting of the caller's."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTQ_")}
    env["AGENTQ_LOG_LEVEL"] = "WARNING"
    built = subprocess.run(
        [sys.executable, "-m", "tests.openapi_lint", "--dump-only", str(path)],
        cwd=ROOT,
        env=env,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if built.returncode != 0:
        raise RuntimeError(f"building the document failed:\n{built.stderr[-4000:]}")
    document: dict[str, object] = json.loads(path.read_text())
    return document


# --- the tools -------------------------------------------------------------------------------


def node_tools() -> None:
    """Redocly and Spectral installed from the lock file, by the Makefile's stamp (npm ci
    when package.json or package-lock.json changed, else nothing)."""
    missing = [tool for tool in ("node", "npx", "npm", "make") if shutil.which(tool) is None]
    if missing:
        raise ToolMissing(f"{', '.join(missing)} not found on PATH (Node 20.19+ is needed)")
    made = subprocess.run(
        ["make", "-s", NODE_STAMP],
        cwd=ROOT,
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )
    if made.returncode != 0:
        raise RuntimeError(f"make {NODE_STAMP} failed:\n{made.stdout}{made.stderr}")


def _run(argv: list[str], *, env: dict[str, str] | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        argv,
        cwd=ROOT,
        env={**os.environ, **QUIET_ENV, **(env or {})},
        capture_output=True,
        text=True,
        timeout=TIMEOUT_S,
        check=False,
    )


def _npx(*argv: str) -> subprocess.CompletedProcess[str]:
    """A tool of ``node_modules`` (``--no-install``: never one fetched on the fly)."""
    return _run(["npx", "--no-install", *argv])


def _json_out(done: subprocess.CompletedProcess[str], tool: str) -> object:
    try:
        return json.loads(done.stdout or "[]")
    except json.JSONDecodeError as error:
        raise RuntimeError(
            f"{tool} printed no JSON (exit {done.returncode}): {error}\n"
            f"{done.stdout[-2000:]}\n{done.stderr[-2000:]}"
        ) from error


def redocly(document: Path) -> list[Finding]:
    """``npx @redocly/cli lint`` with the recommended rules."""
    config = str(REDOCLY_CONFIG)
    done = _npx("redocly", "lint", "--config", config, "--format", "json", str(document))
    report = _json_out(done, "redocly")
    assert isinstance(report, dict), report
    return [
        Finding(
            severity=problem["severity"],
            rule=problem["ruleId"],
            message=problem["message"],
            where=(problem.get("location") or [{}])[0].get("pointer", ""),
        )
        for problem in report["problems"]
    ]


def spectral(document: Path) -> list[Finding]:
    """``spectral lint`` with ``spectral:oas``."""
    ruleset = str(SPECTRAL_RULESET)
    done = _npx(
        "spectral", "lint", "--ruleset", ruleset, "--format", "json", "--quiet", str(document)
    )
    results = _json_out(done, "spectral")
    assert isinstance(results, list), results
    return [
        Finding(
            severity=SPECTRAL_SEVERITY.get(result["severity"], str(result["severity"])),
            rule=result["code"],
            message=result["message"],
            where="/".join(str(part) for part in result.get("path", [])),
        )
        for result in results
    ]


def python_client(document: Path, output: Path) -> tuple[int, list[str]]:
    """``openapi-python-client generate``: its exit code (``--fail-on-warning``) and each
    warning it printed (its header, or its detail: one text block each, data dumps left
    out). Its ruff post-hooks run from this interpreter's bin directory."""
    bin_dir = Path(sys.executable).parent
    executable = bin_dir / "openapi-python-client"
    if not executable.exists():
        raise ToolMissing(f"{executable} not found (a dev dependency: make .venv/.dev-installed)")
    argv = ["generate", "--path", str(document), "--output-path", str(output), "--meta", "none"]
    done = _run(
        [str(executable), *argv, "--overwrite", "--fail-on-warning"],
        env={"PATH": f"{bin_dir}{os.pathsep}{os.environ.get('PATH', '')}"},
    )
    text = done.stdout + done.stderr
    warnings = []
    for marker in OPC_MARKERS:
        if marker in text:
            body = text.split(marker, 1)[1].split("\n", 1)[-1].split(OPC_TRAILER, 1)[0]
            for block in (b.strip() for b in body.split("\n\n")):
                if block and not block.startswith(("{", "[")):
                    warnings.append(" ".join(block.split()))
    if done.returncode != 0 and not warnings:
        warnings.append(f"exit {done.returncode}: {text.strip()[-2000:]}")
    return done.returncode, warnings


# --- the figures -----------------------------------------------------------------------------


def by_rule(findings: list[Finding]) -> Counter[tuple[str, str]]:
    return Counter((finding.severity, finding.rule) for finding in findings)


def _table(title: str, findings: list[Finding]) -> list[str]:
    severities = Counter(finding.severity for finding in findings)
    totals = ", ".join(f"{severities[s]} {s}" for s in ("error", "warn", "info", "hint"))
    lines = [f"{title}: {totals}"]
    for (severity, rule), count in sorted(by_rule(findings).items(), key=lambda x: (-x[1], x[0])):
        lines.append(f"  {severity:<6} {rule:<40} {count:>4}")
    return lines


def report(document: Path) -> tuple[bool, str]:
    """Every figure, and whether the document meets the issue's bar."""
    node_tools()
    doc = json.loads(document.read_text())
    operations = sum(
        method in {"get", "put", "post", "patch", "delete", "head", "options", "trace"}
        for item in doc.get("paths", {}).values()
        for method in item
    )
    red, spec = redocly(document), spectral(document)
    with tempfile.TemporaryDirectory() as out:
        code, warnings = python_client(document, Path(out) / "client")
    lines = [f"{document}: OpenAPI {doc.get('openapi')}, {operations} operations", ""]
    lines += [*_table("Redocly (recommended)", red), ""]
    lines += [*_table("Spectral (spectral:oas)", spec), ""]
    distinct = Counter(warnings)
    lines.append(f"openapi-python-client: exit {code}, {len(warnings)} warning blocks")
    lines += [f"  {n:>4} x {message[:160]}" for message, n in distinct.most_common(20)]
    if len(distinct) > 20:
        lines.append(f"  ... and {len(distinct) - 20} more distinct")
    failing = []
    if errors := sum(f.severity == "error" for f in red):
        failing.append(f"Redocly errors: {errors}")
    barred = {rule: n for (_, rule), n in by_rule(spec).items() if rule in SPECTRAL_BARRED}
    if barred:
        failing.append(f"Spectral {', '.join(f'{r} {n}' for r, n in sorted(barred.items()))}")
    if code != 0 or warnings:
        failing.append(f"openapi-python-client warnings: {len(warnings)}")
    lines += ["", "meets the bar" if not failing else "short of the bar: " + "; ".join(failing)]
    return not failing, "\n".join(lines)


def main(argv: list[str]) -> int:
    if len(argv) == 2 and argv[0] == "--dump-only":
        _build(Path(argv[1]))
        return 0
    if len(argv) != 1:
        print("usage: python -m tests.openapi_lint DOCUMENT.json", file=sys.stderr)
        return 2
    document = Path(argv[0])
    dump(document)
    _, text = report(document)
    print(text)
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
