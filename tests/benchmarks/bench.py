"""``make bench``: the distributed stack measured beside its own baselines, in one run.

Starts the Procfile processes on a fresh database and vhost of the machine's PostgreSQL,
RabbitMQ and Redis, measures every figure of issues #7 and #16 together with its baseline
(several rounds, medians), prints one JSON document and a table, and writes
``bench-results.json``. ``BENCH_SCALE`` (default 1) scales every size and duration down for
a quick run; ``BENCH_ONLY`` picks sections (``tests.benchmarks.stack.SECTIONS``).
"""

from __future__ import annotations

import json
import sys
import tempfile
import traceback
from collections.abc import Callable
from pathlib import Path
from typing import Any

from service.commands.pipeline import Applier
from service.settings import Settings
from service.store.engine import make_engine
from tests.benchmarks.bulk import bulk
from tests.benchmarks.claiming import claims, team_claims
from tests.benchmarks.leases import lease_expiry
from tests.benchmarks.limit import limit
from tests.benchmarks.loadgen import CpuMeter
from tests.benchmarks.reads import lists
from tests.benchmarks.report import table, targets_met
from tests.benchmarks.stack import (
    COMMAND_WORKERS,
    CONCURRENCY,
    ONLY,
    ROUNDS,
    SCALE,
    STACK_OVERRIDES,
    Bench,
    Figures,
    fresh_services,
    peak_rss_mb,
)
from tests.benchmarks.webhook_burst import webhook_burst
from tests.benchmarks.writes import create_latency, transitions
from tests.procs import ROOT, start_distributed

RESULTS = ROOT / "bench-results.json"


def run() -> dict[str, Any]:
    with fresh_services() as urls:
        log_dir = Path(tempfile.mkdtemp(prefix="agentq-bench-"))
        stack = start_distributed(
            urls.env(), log_dir, workers=COMMAND_WORKERS, overrides=STACK_OVERRIDES
        )
        settings = Settings(database_url=urls.database_url)
        engine = make_engine(settings, pool_size=CONCURRENCY)
        cpu = CpuMeter()
        try:
            bench = Bench(stack, engine, urls.database_url)
            failed: dict[str, str] = {}
            applier = Applier(engine, lambda _to, _outcome: None)
            figures: Figures = {
                "scale": SCALE,
                "rounds": ROUNDS,
                "concurrency": CONCURRENCY,
                "command_workers": COMMAND_WORKERS,
            }
            sections: dict[str, Callable[[], Figures]] = {
                "transitions": lambda: transitions(bench, applier, cpu),
                "limit": lambda: limit(bench),
                "create": lambda: create_latency(bench, applier, cpu),
                "claims": lambda: {**claims(bench, cpu), **team_claims(bench, cpu)},
                "bulk": lambda: bulk(bench, cpu),
                "webhooks": lambda: webhook_burst(bench, cpu),
                "lists": lambda: lists(bench, cpu),
                "leases": lambda: lease_expiry(bench),
            }
            for name, section in sections.items():
                if name in ONLY:
                    bench.vacuum_analyze()
                    figures |= _measured(name, section, figures, failed)
            web = next(p for p in stack.processes if p.name == "web")
            worker = next(p for p in stack.processes if p.name.startswith("worker-commands"))
            figures["rss_mb_api"] = peak_rss_mb(web.popen.pid)
            figures["rss_mb_worker"] = peak_rss_mb(worker.popen.pid)
            figures["loadgen_cpu_share"] = cpu.share
        finally:
            stack.stop()
            engine.dispose()
    result: dict[str, Any] = {**figures, "targets_met": targets_met(figures)}
    return {**result, "failed_sections": failed} if failed else result


def _measured(
    name: str, section: Callable[[], Figures], figures: Figures, failed: dict[str, str]
) -> Figures:
    """A section's figures; one that fails is named in ``failed`` (with its error) and the
    run goes on. The results so far are written after each section, so a run that dies
    later keeps them."""
    measured: Figures = {}
    try:
        measured = section()
    except Exception as exc:  # a failed section costs its own figures, not the whole run's
        traceback.print_exc()
        failed[name] = f"{type(exc).__name__}: {exc}"[:2000]
    _write({**figures, **measured, **({"failed_sections": failed} if failed else {})})
    return measured


def _write(result: dict[str, Any]) -> None:
    RESULTS.write_text(json.dumps(result, indent=2) + "\n")


def main() -> None:
    result = run()
    _write(result)
    print(json.dumps(result, indent=2))
    print(table(result), file=sys.stderr)
    if "failed_sections" in result:
        sys.exit(f"sections that failed: {', '.join(result['failed_sections'])}")


if __name__ == "__main__":
    main()
