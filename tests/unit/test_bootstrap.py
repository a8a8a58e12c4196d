"""One bootstrap builds a process's objects; two processes in one interpreter share nothing."""

from __future__ import annotations

from pathlib import Path

import pytest

from service.settings import Settings
from workers.bootstrap import bootstrap


def test_each_process_answers_its_own_actors_and_only_for_the_pools_it_runs(
    tmp_path: Path,
) -> None:
    first = bootstrap(Settings(data_dir=tmp_path / "a"), pool_size=1)
    second = bootstrap(Settings(data_dir=tmp_path / "b"), pool_size=1)
    try:
        applier = first.apply_commands(lambda _reply_to, _outcome: None)
        assert first.handlers.the_applier() is applier
        with pytest.raises(RuntimeError, match="does not apply commands"):
            second.handlers.the_applier()
        with pytest.raises(RuntimeError, match="does not deliver webhooks"):
            first.handlers.the_deliverer()
        assert first.run_bulks() is first.handlers.the_runner()
        assert first.broker is not second.broker
        assert {a.queue_name for a in first.bus.actors} == {
            q
            for q in first.broker.get_declared_queues()
            if q.startswith("commands.") and not q.endswith(".DQ")
        }
    finally:
        first.close()
        second.close()
