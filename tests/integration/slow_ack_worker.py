"""A commands worker that, once armed, stops for good between a batch's commit and its ack.

``python -m tests.integration.slow_ack_worker``: the commands pool as usual, except that the
first batch of two or more committed and published after the file ``$SLOW_ACK_ARM`` appears
writes its
command ids to ``$SLOW_ACK_MARKER`` and then sleeps instead of acking (the test kills the
process with SIGKILL during that sleep). Test-only: nothing of it is in the worker itself.
"""

from __future__ import annotations

import json
import os
import sys
import threading
import time
from collections.abc import Sequence
from pathlib import Path

from service.commands.batches import Result
from service.commands.envelope import Envelope
from workers import __main__ as pool
from workers.command_consumer import BatchConsumer

ARM = Path(os.environ["SLOW_ACK_ARM"])
MARKER = Path(os.environ["SLOW_ACK_MARKER"])
_taken = threading.Lock()
_applied: dict[int, list[str]] = {}


class SlowAckConsumer(BatchConsumer):
    def __init__(self, *args: object, **kwargs: object) -> None:
        super().__init__(*args, **kwargs)  # type: ignore[arg-type]
        inner = self.apply_batch

        def noted(envs: Sequence[Envelope]) -> list[Result]:
            armed = ARM.exists()
            results = inner(envs)
            if armed and len(envs) > 1:
                _applied[threading.get_ident()] = [env.command_id for env in envs]
            return results

        self.apply_batch = noted

    def _before_ack(self) -> None:
        ids = _applied.pop(threading.get_ident(), None)
        if ids is None or not _taken.acquire(blocking=False):
            return
        MARKER.write_text(json.dumps(ids))
        time.sleep(600)  # committed and published, never acked: SIGKILL comes here


if __name__ == "__main__":
    pool.BatchConsumer = SlowAckConsumer  # type: ignore[misc]
    sys.argv = ["workers", "commands"]
    pool.main()
