"""The benchmark cannot rot: a tiny run in ``make test`` must produce every figure.

Timings are not asserted here (a shared CI machine is no place for them); ``make bench``
measures them at full size beside their baselines.
"""

from __future__ import annotations

import json
import math
import os
import subprocess
import sys

from tests.procs import ROOT, ServiceUrls

#: The keys issues #7 and #16 ask of the JSON document, each a number.
REQUIRED = {
    "e2e_transitions_per_s",
    "direct_transitions_per_s",
    "create_latency_ms_p50",
    "create_latency_ms_p99",
    "direct_insert_latency_ms_p50",
    "claims_per_s",
    "double_claims",
    "claims_per_s_team_queue",
    "double_claims_team_queue",
    "limit_transitions_per_s",
    "webhook_burst_1000_s",
    "list50_per_s",
    "list50_p99_ms",
    "cpu_ms_per_transition_postgresql",
    "bulk_10k_assign_s",
    "list_p99_ms_first_page",
    "list_p99_ms_deep_page",
    "lease_expiry_lag_s",
    "rss_mb_api",
    "rss_mb_worker",
    "loadgen_cpu_share",
}


def test_a_tiny_benchmark_run_prints_every_figure_as_a_number(service_urls: ServiceUrls) -> None:
    # ``service_urls`` only makes sure the services answer (and fails under CI if not).
    done = subprocess.run(
        [sys.executable, "-m", "tests.benchmarks.bench"],
        cwd=ROOT,
        env={**os.environ, "BENCH_SCALE": "0.002"},
        capture_output=True,
        text=True,
        timeout=240,
        check=False,
    )
    assert done.returncode == 0, done.stderr[-3000:]
    result = json.loads(done.stdout)
    missing = REQUIRED - set(result)
    assert not missing, missing
    for key in REQUIRED:
        value = result[key]
        assert isinstance(value, int | float) and not isinstance(value, bool), (key, value)
        assert math.isfinite(value), (key, value)
    assert result["double_claims"] == 0 and result["double_claims_team_queue"] == 0
    assert set(result["targets_met"]) >= {"e2e_transitions_per_s", "rss_mb_worker"}
    assert "sync transitions/s" in done.stderr  # the readable table
    assert json.loads((ROOT / "bench-results.json").read_text()) == result
