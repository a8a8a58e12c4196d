"""The agent loop with threads: ``claim()`` one piece of work (a context manager), or
``serve()`` for ever; the work itself is ``_sync_work.py``'s ``Work``."""

from __future__ import annotations

import signal
import threading
from collections.abc import Callable
from typing import TYPE_CHECKING, Any

from agentq_client._sync_work import Work
from agentq_client._work_common import SHUTTING_DOWN, log
from agentq_client.errors import AtCapacity, RateLimited, TransportFailed, Unavailable

if TYPE_CHECKING:
    from agentq_client._sync_client import Client

__all__ = ["Agent", "Claim"]

Json = dict[str, Any]
#: After a failed claim (the API unreachable, the agent at capacity), wait this long, in s.
CLAIM_PAUSE_SECONDS = 1.0
#: How often ``serve`` looks whether its threads are done (so a signal is handled), in s.
JOIN_POLL_SECONDS = 0.2


class Claim:
    """``with agent.claim(...) as work``: the work (None when there is none), its heartbeat
    running while the block does."""

    def __init__(self, agent: Agent, wait_seconds: int, lease_seconds: int) -> None:
        self.agent, self.wait_seconds, self.lease_seconds = agent, wait_seconds, lease_seconds
        self.work: Work | None = None

    def __enter__(self) -> Work | None:
        self.work = self.agent.claim_next(
            wait_seconds=self.wait_seconds, lease_seconds=self.lease_seconds
        )
        if self.work is not None:
            self.work.start_heartbeat()
        return self.work

    def __exit__(self, _type: object, exc: BaseException | None, _tb: object) -> bool:
        return False if self.work is None else self.work.close(exc)


class Agent:
    """One agent's loop: ``claim()`` one piece of work, or ``serve()`` for ever."""

    def __init__(
        self, client: Client, agent_id: str, *, revoke: Callable[[], None] | None = None
    ) -> None:
        self.client = client
        self.agent_id = agent_id
        self.stopping = threading.Event()
        #: Revokes the agent token ``client.agent(aid)`` created for an admin, if it did.
        self._revoke = revoke

    def close(self) -> None:
        """Revoke the agent token created for this loop (an admin's ``client.agent(aid)``)."""
        revoke, self._revoke = self._revoke, None
        if revoke is not None:
            revoke()

    def __enter__(self) -> Agent:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def claim(self, *, wait_seconds: int = 30, lease_seconds: int = 60) -> Claim:
        return Claim(self, wait_seconds, lease_seconds)

    def claim_next(self, *, wait_seconds: int = 0, lease_seconds: int = 60) -> Work | None:
        """A run on the agent's next issue (heartbeat not started), or None."""
        body = {"waitSeconds": wait_seconds, "leaseSeconds": lease_seconds}
        claimed = self.client.agents_claim(self.agent_id, body)
        return None if claimed is None else Work(self.client, claimed, lease_seconds)

    def stop(self) -> None:
        """Stop claiming (``serve`` returns once running work is done)."""
        self.stopping.set()

    def serve(
        self,
        handler: Callable[[Work], Json | None],
        *,
        concurrency: int = 1,
        wait_seconds: int = 10,
        lease_seconds: int = 60,
        handle_signals: bool = True,
    ) -> None:
        """Claim, call ``handler(work)``, complete with what it returns; ``concurrency``
        threads at once (the agent's ``capacity`` should allow them). SIGINT/SIGTERM (or
        ``stop()``) end the claiming: running work finishes; work a pending claim brings
        after that is handed back (failed as retryable). Signals are handled only when
        ``serve`` runs in the main thread."""
        previous: dict[signal.Signals, Any] = {}
        if handle_signals and threading.current_thread() is threading.main_thread():
            for sig in (signal.SIGINT, signal.SIGTERM):
                previous[sig] = signal.signal(sig, lambda *_: self.stopping.set())
        threads = [
            threading.Thread(
                target=self._worker,
                args=(handler, wait_seconds, lease_seconds),
                name=f"agent {self.agent_id} #{n}",
                daemon=True,
            )
            for n in range(concurrency)
        ]
        try:
            for thread in threads:
                thread.start()
            while any(thread.is_alive() for thread in threads):
                for thread in threads:
                    thread.join(JOIN_POLL_SECONDS)
        finally:
            for sig, handler_before in previous.items():
                signal.signal(sig, handler_before)

    def _worker(
        self, handler: Callable[[Work], Json | None], wait_seconds: int, lease_seconds: int
    ) -> None:
        while not self.stopping.is_set():
            try:
                work = self.claim_next(wait_seconds=wait_seconds, lease_seconds=lease_seconds)
            except (AtCapacity, Unavailable, RateLimited, TransportFailed) as exc:
                log.warning("claim for %s failed: %s", self.agent_id, exc)
                self.stopping.wait(CLAIM_PAUSE_SECONDS)
                continue
            if work is None:
                continue
            if self.stopping.is_set():
                work.hand_back(SHUTTING_DOWN)
                return
            try:
                with work:
                    result = handler(work)
                    if work.ended is None and work.stopped is None:
                        work.complete(result)
            except Exception:
                log.exception("handler failed on %s (run failed as retryable)", work.issue.id)
