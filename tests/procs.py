"""Starting agentq's own processes for tests: the embedded API, or the distributed stack."""

from __future__ import annotations

import os
import random
import signal
import socket
import subprocess
import sys
import time
from dataclasses import dataclass, field
from pathlib import Path

import httpx

ROOT = Path(__file__).resolve().parents[1]
#: How long a process has to exit after SIGTERM before it is killed, in seconds (a worker
#: waits up to AGENTQ_STOP_TIMEOUT_S, 15 s by default, for its in-flight messages).
STOP_WAIT_S = 20
ADMIN_TOKEN = "aq_op_test_operator_token"
#: The stacks under test sweep every second, so expiry tests stay short.
SWEEP_INTERVAL_S = 1.0
#: Webhooks in tests: receivers on 127.0.0.1, a short retry schedule, a short timeout.
#: The test and benchmark stacks count every request against a limit no test reaches (a
#: test of the limit itself runs a stack of its own with a small one).
RATE_LIMIT_ENV = {"AGENTQ_RATE_LIMIT": "10000000"}
#: Retries in tests: at once, as before backoff existed (the tests of backoff give their issues
#: a retryPolicy, or run a stack of their own with AGENTQ_RETRY_BASE_S set).
RETRY_ENV = {"AGENTQ_RETRY_BASE_S": "0"}
#: Event streams in tests: a keep-alive comment every second, so a test sees one soon.
EVENTS_ENV = {"AGENTQ_EVENTS_KEEPALIVE_S": "1"}
WEBHOOK_ENV = {
    "AGENTQ_WEBHOOK_ALLOW_PRIVATE": "true",
    # Receivers bind port 0 (the kernel's ephemeral range); port 9 is the discard port
    # tests name for a receiver that is never there. Every other port is refused as usual.
    "AGENTQ_WEBHOOK_ALLOWED_PORTS": "80,443,8080,8443,9,32768-60999",
    "AGENTQ_WEBHOOK_RETRY_SCHEDULE_S": "0,1,1,1,1,1,1,1",
    "AGENTQ_WEBHOOK_TIMEOUT_S": "3",
}


@dataclass(frozen=True)
class ServiceUrls:
    """Where this test run's own database, vhost and Redis database are."""

    database_url: str
    broker_url: str
    redis_url: str

    def env(self) -> dict[str, str]:
        return {
            "AGENTQ_DATABASE_URL": self.database_url,
            "AGENTQ_BROKER_URL": self.broker_url,
            "AGENTQ_REDIS_URL": self.redis_url,
        }


#: Ports ``free_port`` has handed out in this test run: never handed out twice, since a
#: process may not have bound its port yet when the next one is chosen.
_HANDED: set[int] = set()
#: How many times a process whose port was taken after all is started again on another.
PORT_RETRIES = 3


def free_port() -> int:
    """A free port below the kernel's ephemeral range (32768+), so no outgoing connection
    can take it between this check and the server's bind; never one handed out before."""
    for _ in range(200):
        port = random.randint(20000, 32000)
        if port in _HANDED:
            continue
        with socket.socket() as s:
            try:
                s.bind(("127.0.0.1", port))
            except OSError:
                continue
            _HANDED.add(port)
            return port
    raise RuntimeError("no free port in 20000-32000")


@dataclass
class Process:
    """One agentq process with its log file."""

    name: str
    popen: subprocess.Popen[bytes]
    log: Path
    #: Where a worker or scheduler serves ``/metrics`` (None: the API process).
    metrics_port: int | None = None
    #: How it was started (``spawn``'s arguments), so it can be started again.
    args: list[str] = field(default_factory=list)
    env: dict[str, str] = field(default_factory=dict)

    def port_was_taken(self) -> bool:
        """It exited because another socket had its port (a race no check can close: the
        port was free when chosen)."""
        return self.popen.poll() is not None and "address already in use" in self.tail(80).lower()

    def stop(self, sig: int = signal.SIGTERM, timeout_s: float = STOP_WAIT_S) -> None:
        if self.popen.poll() is None:
            self.popen.send_signal(sig)
            try:
                self.popen.wait(timeout_s)
            except subprocess.TimeoutExpired:
                self.popen.kill()
                self.popen.wait(5)

    def tail(self, lines: int = 40) -> str:
        text = self.log.read_text(errors="replace") if self.log.exists() else ""
        return "\n".join(text.splitlines()[-lines:])


def spawn(
    name: str, args: list[str], env: dict[str, str], log_dir: Path, *, metrics: bool = False
) -> Process:
    """Start an agentq process; ``metrics``: on a free ``AGENTQ_METRICS_PORT`` of its own."""
    log = log_dir / f"{name}.log"
    full_env = {k: v for k, v in os.environ.items() if not k.startswith("AGENTQ_")}
    full_env.update(env)
    metrics_port = free_port() if metrics else None
    if metrics_port is not None:
        full_env["AGENTQ_METRICS_PORT"] = str(metrics_port)
    with log.open("wb") as handle:  # the child keeps its own descriptor
        popen = subprocess.Popen(
            [sys.executable, *args], cwd=ROOT, env=full_env, stdout=handle, stderr=subprocess.STDOUT
        )
    return Process(name, popen, log, metrics_port, args, env)


@dataclass
class Stack:
    """A running agentq: where its API is and how to stop it."""

    kind: str
    base_url: str
    admin_token: str
    env: dict[str, str]
    log_dir: Path
    processes: list[Process] = field(default_factory=list)

    def wait_healthy(self, timeout_s: float = 60) -> None:
        """Wait for ``/ready``; on failure stop every process started (no orphans)."""
        try:
            self._wait_healthy(timeout_s)
        except BaseException:
            self.stop()
            raise

    def _wait_healthy(self, timeout_s: float) -> None:
        deadline = time.monotonic() + timeout_s
        retries = PORT_RETRIES
        while time.monotonic() < deadline:
            for i, p in enumerate(self.processes):
                if p.popen.poll() is None:
                    continue
                if retries > 0 and p.port_was_taken() and self._can_move(p):
                    retries -= 1
                    self.processes[i] = self._respawn_elsewhere(p)
                    continue
                raise RuntimeError(f"{p.name} exited early:\n{p.tail()}")
            try:
                if httpx.get(self.base_url + "/ready", timeout=2).status_code == 200:
                    return
            except httpx.HTTPError:
                pass
            time.sleep(0.1)
        logs = "\n".join(f"--- {p.name}\n{p.tail()}" for p in self.processes)
        raise RuntimeError(f"{self.kind} stack not ready in {timeout_s}s\n{logs}")

    def _can_move(self, p: Process) -> bool:
        serves_api = p.args == ["-m", "api"] and p.env.get("AGENTQ_PORT") == self.env["AGENTQ_PORT"]
        return p.metrics_port is not None or serves_api

    def _respawn_elsewhere(self, p: Process) -> Process:
        """``p`` again on a new port: its metrics port, or the stack's API port (then every
        later process and the base URL follow)."""
        metrics = p.metrics_port is not None
        env = {k: v for k, v in p.env.items() if k != "AGENTQ_METRICS_PORT"}
        if not metrics:
            port = free_port()
            self.env["AGENTQ_PORT"] = env["AGENTQ_PORT"] = str(port)
            self.base_url = f"http://127.0.0.1:{port}"
        return spawn(p.name, p.args, env, self.log_dir, metrics=metrics)

    def stop(self) -> None:
        """SIGTERM to every process at once, then wait for each (as an orchestrator would)."""
        for p in self.processes:
            if p.popen.poll() is None:
                p.popen.send_signal(signal.SIGTERM)
        for p in reversed(self.processes):
            try:
                p.popen.wait(STOP_WAIT_S)
            except subprocess.TimeoutExpired:
                p.popen.kill()
                p.popen.wait(5)

    def start_worker(self, name: str = "worker-commands") -> Process:
        proc = spawn(name, ["-m", "workers", "commands"], self.env, self.log_dir, metrics=True)
        self.processes.append(proc)
        return proc

    def start_webhooks(self, name: str = "worker-webhooks") -> Process:
        proc = spawn(name, ["-m", "workers", "webhooks"], self.env, self.log_dir)
        self.processes.append(proc)
        return proc

    def start_bulk(self, name: str = "worker-bulk") -> Process:
        proc = spawn(name, ["-m", "workers", "bulk"], self.env, self.log_dir)
        self.processes.append(proc)
        return proc

    def start_scheduler(self, name: str = "scheduler") -> Process:
        proc = spawn(name, ["-m", "workers", "scheduler"], self.env, self.log_dir, metrics=True)
        self.processes.append(proc)
        return proc


def start_embedded(log_dir: Path, overrides: dict[str, str] | None = None) -> Stack:
    """The embedded API on a free port; ``overrides`` replace any of its settings."""
    port = free_port()
    env = {
        "AGENTQ_PORT": str(port),
        "AGENTQ_ADMIN_TOKEN": ADMIN_TOKEN,
        "AGENTQ_DATA_DIR": str(log_dir / "data"),
        "AGENTQ_LOG_LEVEL": "WARNING",
        "AGENTQ_SWEEP_INTERVAL_S": str(SWEEP_INTERVAL_S),
        **WEBHOOK_ENV,
        **RATE_LIMIT_ENV,
        **EVENTS_ENV,
        **RETRY_ENV,
        **(overrides or {}),
    }
    stack = Stack("embedded", f"http://127.0.0.1:{port}", ADMIN_TOKEN, env, log_dir)
    stack.processes.append(spawn("web", ["-m", "api"], env, log_dir))
    stack.wait_healthy()
    return stack


def start_distributed(
    service_env: dict[str, str],
    log_dir: Path,
    *,
    workers: int = 1,
    overrides: dict[str, str] | None = None,
) -> Stack:
    """Every process of the Procfile (``workers`` commands workers); ``overrides`` replace any
    of their settings."""
    port = free_port()
    env = {
        **service_env,
        "AGENTQ_PORT": str(port),
        "AGENTQ_ADMIN_TOKEN": ADMIN_TOKEN,
        "AGENTQ_LOG_LEVEL": "WARNING",
        "AGENTQ_SWEEP_INTERVAL_S": str(SWEEP_INTERVAL_S),
        **WEBHOOK_ENV,
        **RATE_LIMIT_ENV,
        **EVENTS_ENV,
        **RETRY_ENV,
        **(overrides or {}),
    }
    stack = Stack("distributed", f"http://127.0.0.1:{port}", ADMIN_TOKEN, env, log_dir)
    release = subprocess.run(
        [sys.executable, "-m", "service.migrate"],
        cwd=ROOT,
        env={**os.environ, **env},
        check=False,
        capture_output=True,
        timeout=120,
    )
    if release.returncode != 0:
        raise RuntimeError(release.stderr.decode(errors="replace"))
    stack.processes.append(spawn("web", ["-m", "api"], env, log_dir))
    for i in range(workers):
        stack.start_worker(f"worker-commands-{i}")
    stack.start_webhooks()
    stack.start_bulk()
    stack.start_scheduler()
    stack.wait_healthy()
    return stack
