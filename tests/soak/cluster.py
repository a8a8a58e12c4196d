"""A three-node RabbitMQ cluster of the test's own, as processes on this machine.

Each node is Debian's ``rabbitmq-server`` (``/usr/lib/rabbitmq/bin``: the ``/usr/sbin``
wrappers switch to the ``rabbitmq`` user and its cookie) run as ``aqcN@localhost`` on
AMQP port 570N and distribution port 2570N, with its configuration, data, logs, pid file,
plugins file and Erlang cookie (``HOME``) in a directory of its own. The machine's own
RabbitMQ (``rabbit@localhost`` on 5672) is never addressed: every ``rabbitmqctl`` names its
node with ``-n``. The shared epmd (4369) registers the nodes.
"""

from __future__ import annotations

import os
import secrets
import signal
import subprocess
import time
from dataclasses import dataclass
from pathlib import Path

__all__ = ["Node", "RabbitCluster"]

BIN = Path("/usr/lib/rabbitmq/bin")
#: A node boots in about 5 s here; allow for a loaded machine.
BOOT_TIMEOUT_S = 90


@dataclass
class Node:
    index: int
    home: Path
    popen: subprocess.Popen[bytes] | None = None

    @property
    def name(self) -> str:
        return f"aqc{self.index}@localhost"

    @property
    def port(self) -> int:
        return 5700 + self.index

    @property
    def dist_port(self) -> int:
        return 25700 + self.index

    @property
    def dir(self) -> Path:
        return self.home / f"aqc{self.index}"

    def url(self, vhost: str) -> str:
        return f"amqp://guest:guest@127.0.0.1:{self.port}/{vhost}"

    def beam_pid(self) -> int | None:
        """The Erlang VM's OS pid (the node writes it once booted)."""
        try:
            return int((self.dir / "pid").read_text().strip())
        except (OSError, ValueError):
            return None

    def env(self) -> dict[str, str]:
        d = self.dir
        return {
            "HOME": str(self.home),  # the cookie: self.home/.erlang.cookie
            "RABBITMQ_NODENAME": self.name,
            "RABBITMQ_NODE_PORT": str(self.port),
            "RABBITMQ_DIST_PORT": str(self.dist_port),
            "RABBITMQ_MNESIA_BASE": str(d / "mnesia"),
            "RABBITMQ_LOG_BASE": str(d / "log"),
            "RABBITMQ_PID_FILE": str(d / "pid"),
            "RABBITMQ_ENABLED_PLUGINS_FILE": str(d / "enabled_plugins"),
            # Not /etc/rabbitmq's: its rabbitmq.conf binds 5672, its env file names the node.
            "RABBITMQ_CONFIG_FILE": str(d / "rabbitmq.conf"),
            "RABBITMQ_CONF_ENV_FILE": str(d / "rabbitmq-env.conf"),
            "RABBITMQ_ADVANCED_CONFIG_FILE": str(d / "advanced.config"),
            "ERL_EPMD_ADDRESS": "127.0.0.1",
            "RABBITMQ_SERVER_START_ARGS": "-kernel inet_dist_use_interface {127,0,0,1}",
        }


class RabbitCluster:
    """``size`` nodes under ``home``, clustered with the first."""

    def __init__(self, home: Path, size: int = 3) -> None:
        self.home = home
        self.nodes = [Node(i, home) for i in range(1, size + 1)]

    # --- rabbitmqctl, always with -n ---------------------------------------------------

    def ctl(self, node: Node, *args: str, check: bool = True, timeout: float = 120) -> str:
        env = {**os.environ, **node.env()}
        done = subprocess.run(
            [str(BIN / "rabbitmqctl"), "-n", node.name, "-q", *args],
            env=env,
            capture_output=True,
            timeout=timeout,
            check=False,
        )
        if check and done.returncode != 0:
            raise RuntimeError(
                f"rabbitmqctl -n {node.name} {' '.join(args)}: {done.returncode}\n"
                f"{done.stdout.decode(errors='replace')}{done.stderr.decode(errors='replace')}"
            )
        return done.stdout.decode(errors="replace")

    def _pings(self, node: Node) -> bool:
        return not subprocess.run(
            [str(BIN / "rabbitmqctl"), "-n", node.name, "-q", "ping"],
            env={**os.environ, **node.env()},
            capture_output=True,
            timeout=30,
            check=False,
        ).returncode

    # --- starting, clustering, killing, stopping -----------------------------------------

    def _spawn(self, node: Node) -> None:
        d = node.dir
        d.mkdir(parents=True, exist_ok=True)
        (d / "rabbitmq.conf").write_text(
            f"listeners.tcp.default = 127.0.0.1:{node.port}\n"
            # Fast failover for the test: a dead peer is noticed within seconds.
            "net_ticktime = 10\n"
        )
        (d / "rabbitmq-env.conf").write_text("")
        (d / "advanced.config").write_text("[].\n")
        (d / "enabled_plugins").write_text("[].\n")
        (d / "pid").unlink(missing_ok=True)
        with (d / "stdout.log").open("ab") as out:
            node.popen = subprocess.Popen(
                [str(BIN / "rabbitmq-server")],
                env={**os.environ, **node.env()},
                stdout=out,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # pytest's Ctrl-C is not the node's
            )

    def _await(self, node: Node) -> None:
        deadline = time.monotonic() + BOOT_TIMEOUT_S
        while not self._pings(node):
            assert node.popen is not None
            if node.popen.poll() is not None or time.monotonic() > deadline:
                log = (node.dir / "stdout.log").read_text(errors="replace")[-3000:]
                raise RuntimeError(f"{node.name} did not start:\n{log}")
            time.sleep(0.5)
        self.ctl(node, "await_startup", "--timeout", str(BOOT_TIMEOUT_S))

    def start(self) -> None:
        self.home.mkdir(parents=True, exist_ok=True)
        cookie = self.home / ".erlang.cookie"
        if not cookie.exists():
            cookie.write_text(secrets.token_hex(16).upper())
            cookie.chmod(0o400)
        for node in self.nodes:
            if self._pings(node):
                raise RuntimeError(f"{node.name} is already running (a run left it behind?)")
        for node in self.nodes:
            self._spawn(node)
        for node in self.nodes:
            self._await(node)
        first = self.nodes[0]
        for node in self.nodes[1:]:
            self.ctl(node, "stop_app")
            self.ctl(node, "join_cluster", first.name)
            self.ctl(node, "start_app")
        running = self.running_nodes(first)
        assert running == {n.name for n in self.nodes}, running

    def running_nodes(self, via: Node) -> set[str]:
        import json

        status = json.loads(self.ctl(via, "cluster_status", "--formatter", "json"))
        return set(status["running_nodes"])

    def add_vhost(self, vhost: str) -> None:
        first = self.nodes[0]
        self.ctl(first, "add_vhost", vhost)
        self.ctl(first, "set_permissions", "-p", vhost, "guest", ".*", ".*", ".*")

    def leaders(self, via: Node, vhost: str) -> dict[str, str]:
        """Quorum queue name -> the node that leads it."""
        out = self.ctl(
            via, "list_queues", "-p", vhost, "name", "type", "leader", "--no-table-headers"
        )
        found = {}
        for line in out.splitlines():
            parts = line.split()
            if len(parts) == 3 and parts[1] == "quorum":
                found[parts[0]] = parts[2]
        return found

    def kill(self, node: Node) -> None:
        """SIGKILL the node's Erlang VM: no goodbye to its peers or its clients."""
        pid = node.beam_pid()
        assert pid is not None, f"{node.name} has no pid file"
        os.kill(pid, signal.SIGKILL)
        if node.popen is not None:
            node.popen.wait(30)  # the wrapper script exits with its VM

    def _is_ours(self, pid: int) -> bool:
        """``pid`` is still one of these nodes' VMs (not a process that took its number)."""
        try:
            cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
        except OSError:
            return False
        return b"beam" in cmdline and str(self.home).encode() in cmdline

    def stop(self) -> None:
        """Stop every node (``rabbitmqctl -n … stop``), then SIGKILL whatever is left of them."""
        for node in self.nodes:
            if node.popen is not None and node.popen.poll() is None:
                self.ctl(node, "stop", check=False, timeout=60)
        for node in self.nodes:
            pid = node.beam_pid()
            if pid is not None and self._is_ours(pid):
                os.kill(pid, signal.SIGKILL)
            if node.popen is not None and node.popen.poll() is None:
                os.killpg(node.popen.pid, signal.SIGKILL)
                node.popen.wait(10)
