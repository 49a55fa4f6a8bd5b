"""A real local Ray cluster for the tests: a head and worker nodes on this machine, each its own `ray start`.

Nodes get fake GPUs (`--num-gpus`), an accelerator type (`--resources '{"accelerator_type:H100": N}'`) and
labels, one CPU each, a private temp dir and free ports. `stop` ends exactly the processes the cluster
started (each node's process group and everything under it), never by name: `ray stop` would end every
Ray process of this machine. Used by tests/test_ray_cluster.py and scripts/bench_ray.py.
"""

from __future__ import annotations

import json
import os
import shutil
import signal
import socket
import subprocess
import sys
import tempfile
import time
from dataclasses import dataclass, field
from pathlib import Path

START_TIMEOUT_S = 90.0


@dataclass(frozen=True)
class NodeSpec:
    gpus: int
    accelerator: str | None = None
    labels: dict[str, str] = field(default_factory=dict)


@dataclass
class StartedNode:
    spec: NodeSpec
    pgid: int
    temp_dir: Path


def free_port() -> int:
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def ray_executable() -> str:
    return str(Path(sys.executable).with_name("ray"))


class LocalRayCluster:
    """`start()` the head, then the workers (in parallel); `address` is what RAY_ADDRESS takes."""

    def __init__(self, head: NodeSpec, workers: list[NodeSpec], *, root: Path | None = None) -> None:
        self.head_spec = head
        self.worker_specs = workers
        # Ray's socket paths must stay under 107 bytes: a short private directory.
        self.root = root or Path(tempfile.mkdtemp(prefix="kgcray-", dir="/tmp"))
        self.port = free_port()
        self.nodes: list[StartedNode] = []
        self.startup_s: dict[str, float] = {}

    @property
    def address(self) -> str:
        return f"127.0.0.1:{self.port}"

    def env(self) -> dict[str, str]:
        env = {key: value for key, value in os.environ.items() if not key.startswith("RAY_")}
        env.update(
            RAY_USAGE_STATS_ENABLED="0",
            # A dead node is noticed within seconds, not the default half minute.
            RAY_health_check_period_ms="500",
            RAY_health_check_failure_threshold="3",
            RAY_health_check_timeout_ms="500",
            RAY_health_check_initial_delay_ms="500",
        )
        return env

    def start(self) -> LocalRayCluster:
        begin = time.perf_counter()
        self._run([self._args(self.head_spec, "head", head=True)])
        self.startup_s["head"] = round(time.perf_counter() - begin, 2)
        workers = time.perf_counter()
        self._run([self._args(spec, f"w{index}") for index, spec in enumerate(self.worker_specs)])
        self.startup_s["workers"] = round(time.perf_counter() - workers, 2)
        self.startup_s["total"] = round(time.perf_counter() - begin, 2)
        return self

    def add_node(self, spec: NodeSpec, name: str) -> StartedNode:
        self._run([self._args(spec, name)])
        return self.nodes[-1]

    def _args(self, spec: NodeSpec, name: str, *, head: bool = False) -> tuple[NodeSpec, Path, list[str]]:
        temp = self.root / name
        temp.mkdir(parents=True, exist_ok=True)
        args = [
            ray_executable(),
            "start",
            "--num-cpus",
            "1",
            "--num-gpus",
            str(spec.gpus),
            "--temp-dir",
            str(temp),
            "--disable-usage-stats",
            "--dashboard-agent-listen-port",
            str(free_port()),
            "--dashboard-agent-grpc-port",
            str(free_port()),
            "--runtime-env-agent-port",
            str(free_port()),
            "--metrics-export-port",
            str(free_port()),
            "--object-store-memory",
            str(80 * 1024 * 1024),
        ]
        if spec.accelerator:
            args += ["--resources", json.dumps({f"accelerator_type:{spec.accelerator}": spec.gpus})]
        if spec.labels:
            args += ["--labels", ",".join(f"{key}={value}" for key, value in spec.labels.items())]
        if head:
            args += [
                "--head",
                "--port",
                str(self.port),
                "--include-dashboard",
                "false",
            ]
        else:
            args += ["--address", self.address]
        return spec, temp, args

    def _run(self, commands: list[tuple[NodeSpec, Path, list[str]]]) -> None:
        started = []
        for spec, temp, args in commands:
            process = subprocess.Popen(
                args,
                env=self.env(),
                stdout=subprocess.PIPE,
                stderr=subprocess.STDOUT,
                start_new_session=True,  # the node's daemons keep this process group: `stop` ends it
                text=True,
            )
            self.nodes.append(StartedNode(spec, process.pid, temp))
            started.append(process)
        for process in started:
            try:
                output, _ = process.communicate(timeout=START_TIMEOUT_S)
            except subprocess.TimeoutExpired:
                self.stop()
                raise RuntimeError(f"ray start did not finish within {START_TIMEOUT_S:.0f} s") from None
            if process.returncode != 0:
                self.stop()
                raise RuntimeError(f"ray start failed ({process.returncode}):\n{output[-3000:]}")

    def processes(self, nodes: list[StartedNode] | None = None) -> list[int]:
        """PIDs of the given nodes' process groups and of everything started under them."""
        import psutil

        groups = {node.pgid for node in (self.nodes if nodes is None else nodes)}
        found: dict[int, psutil.Process] = {}
        for process in psutil.process_iter(["pid"]):
            try:
                if os.getpgid(process.pid) in groups:
                    found[process.pid] = process
                    for child in process.children(recursive=True):
                        found[child.pid] = child
            except (ProcessLookupError, psutil.Error):
                continue
        return sorted(found)

    def kill(self, node: StartedNode) -> None:
        """End one node (its raylet and workers), as a crash would."""
        self._end(self.processes([node]), signal.SIGKILL)

    def stop(self) -> list[int]:
        """End every process the cluster started; returns those still running afterwards (none expected)."""
        pids = self.processes()
        self._end(pids, signal.SIGTERM)
        left = self.processes()
        shutil.rmtree(self.root, ignore_errors=True)
        return left

    @staticmethod
    def _end(pids: list[int], first: signal.Signals) -> None:
        import psutil

        processes = []
        for pid in pids:
            try:
                process = psutil.Process(pid)
                process.send_signal(first)
                processes.append(process)
            except psutil.Error:
                continue
        _, alive = psutil.wait_procs(processes, timeout=10)
        for process in alive:
            try:
                process.kill()
            except psutil.Error:
                continue
        psutil.wait_procs(alive, timeout=5)
