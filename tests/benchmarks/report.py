"""The targets each figure is held to (issue 16's table) and the readable table."""

from __future__ import annotations

from collections.abc import Callable
from typing import Any

from tests.benchmarks.stack import Figures

TARGETS: dict[str, Callable[[Figures], bool]] = {
    "e2e_transitions_per_s": lambda f: (
        f["e2e_transitions_per_s"] >= 1000
        and f["e2e_over_direct"] >= 0.5
        and f["e2e_transitions_per_s"] >= 0.5 * f["limit_transitions_per_s"]
    ),
    "create_latency_ms_p50": lambda f: f["create_latency_ms_p50"] <= 5,
    "create_latency_ms_p99": lambda f: f["create_latency_ms_p99"] <= 20,
    "claims_per_s": lambda f: f["claims_per_s"] >= 500,
    "claims_per_s_team_queue": lambda f: f["claims_per_s_team_queue"] >= 500,
    "double_claims": lambda f: f["double_claims"] == 0,
    "double_claims_team_queue": lambda f: f["double_claims_team_queue"] == 0,
    "bulk_10k_assign_s": lambda f: f["bulk_10k_assign_s"] <= 5,
    "webhook_burst_1000_s": lambda f: f["webhook_burst_1000_s"] <= 5,
    "list_p99_ms_first_page": lambda f: f["list_p99_ms_first_page"] <= 20,
    "list_p99_ms_deep_page": lambda f: f["list_p99_ms_deep_page"] <= 20,
    "list50_per_s": lambda f: f["list50_per_s"] >= 1000 and f["list50_p99_ms"] <= 50,
    "lease_expiry_lag_s": lambda f: f["lease_expiry_lag_s"] <= f["lease_ttl_plus_interval_s"] + 1,
    "rss_mb_api": lambda f: f["rss_mb_api"] <= 150,
    "rss_mb_worker": lambda f: f["rss_mb_worker"] <= 150,
}

#: The figures a target's check reads besides its own (all must have been measured).
_NEEDS = {
    "e2e_transitions_per_s": {"e2e_over_direct", "limit_transitions_per_s"},
    "list50_per_s": {"list50_p99_ms"},
    "lease_expiry_lag_s": {"lease_ttl_plus_interval_s"},
}

TABLE = [
    (
        "sync transitions/s (c=32)",
        "e2e_transitions_per_s",
        "direct_transitions_per_s",
        ">= 1000, >= 0.5 x direct and x limit",
    ),
    ("  limit: pgbench, same SQL", "limit_transitions_per_s", None, ""),
    ("create latency p50, ms", "create_latency_ms_p50", "direct_insert_latency_ms_p50", "<= 5"),
    ("create latency p99, ms", "create_latency_ms_p99", "direct_insert_latency_ms_p99", "<= 20"),
    ("claims/s, 50 agents", "claims_per_s", None, ">= 500"),
    ("claims/s, 50 agents, team queue", "claims_per_s_team_queue", None, ">= 500"),
    ("double claims", "double_claims", None, "0"),
    ("double claims, team queue", "double_claims_team_queue", None, "0"),
    ("  claims answered 202 (followed)", "claims_answered_202", None, ""),
    ("  same, team queue", "claims_answered_202_team_queue", None, ""),
    ("bulk assign 10k, s", "bulk_10k_assign_s", "single_10k_assigns_s", "<= 5"),
    ("webhook burst of 1000, s", "webhook_burst_1000_s", None, "<= 5"),
    ("list p99 page 1, ms", "list_p99_ms_first_page", None, "<= 20"),
    ("list p99 deep page, ms", "list_p99_ms_deep_page", None, "<= 20"),
    ("list 50/page, pages/s (c=16)", "list50_per_s", None, ">= 1000, p99 <= 50 ms"),
    ("  p99 of those pages, ms", "list50_p99_ms", None, ""),
    ("API CPU per page of 50, ms", "list50_cpu_ms_api", None, ""),
    ("CPU per transition, ms", "cpu_ms_per_transition", None, "agentq's processes"),
    ("  with services and loadgen", "cpu_ms_per_transition_all", None, ""),
    (
        "lease expiry lag, s",
        "lease_expiry_lag_s",
        "lease_ttl_plus_interval_s",
        "<= TTL + interval + 1",
    ),
    ("peak RSS api, MB", "rss_mb_api", None, "<= 150"),
    ("peak RSS commands worker, MB", "rss_mb_worker", None, "<= 150"),
]


def targets_met(figures: Figures) -> dict[str, bool]:
    """Each target whose figures were all measured, and whether it was met."""
    return {
        name: bool(check(figures))
        for name, check in TARGETS.items()
        if {name, *_NEEDS.get(name, set())} <= set(figures)
    }


def table(result: dict[str, Any]) -> str:
    lines = [f"{'figure':34} {'measured':>12} {'baseline':>12}  target (met?)"]
    for label, key, base, target in TABLE:
        if key not in result:
            continue
        baseline = "" if base is None else f"{result[base]:12.2f}"
        met = "yes" if result["targets_met"].get(key) else "NO"
        verdict = f"{target} ({met})" if key in TARGETS else target
        lines.append(f"{label:34} {result[key]:12.2f} {baseline:>12}  {verdict}")
    prefix = "cpu_ms_per_transition_"
    for key in sorted(k for k in result if k.startswith(prefix) and k != f"{prefix}all"):
        lines.append(f"{'  ' + key.removeprefix(prefix):34} {result[key]:12.2f}")
    lines.append(f"{'load generator CPU share':34} {result['loadgen_cpu_share']:12.2f}")
    return "\n".join(lines)
