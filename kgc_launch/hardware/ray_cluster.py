"""The cluster probe of a Ray launch: the only module that imports ray (`pip install kgc-launch[ray]`).

It connects to the cluster `ray.init()` would join (`--ray ADDRESS`, `RAY_ADDRESS`, or the latest head
started on this machine), reads every node (alive or dead, its GPU count, accelerator type and labels) and
the GPUs each has free, disconnects, and returns the cluster as an inventory (`cluster.inventory_from_ray`).
It never raises for a cluster it cannot read: the result then says why, and the checks that need the
cluster report that they were not evaluated.
"""

from __future__ import annotations

import importlib.util
import logging
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from kgc_launch.hardware.cluster import inventory_from_ray, ray_address, reachable, vllm_get_ip
from kgc_launch.hardware.inventory import Inventory

CONNECT_TIMEOUT_S = 2.0
"""How long the TCP check of the cluster's address may take before the probe gives up."""
PROBE_TIMEOUT_S = 20.0
"""How long connecting to Ray and reading its node table may take."""


@dataclass(frozen=True)
class RayProbe:
    """A cluster inventory, or why there is none (`not_evaluated`), or no cluster at all (`address` None)."""

    inventory: Inventory | None
    address: str | None
    address_source: str
    not_evaluated: str | None = None
    """Why the cluster could not be read although one is configured; None when it was read or none exists."""
    elapsed_ms: float = 0.0


def probe_ray_cluster(
    environ: Mapping[str, str],
    *,
    address: str | None = None,
    local: Inventory | None = None,
    timeout_s: float = PROBE_TIMEOUT_S,
) -> RayProbe:
    """Read the Ray cluster a launch would join. `local`: this node's own probe (its GPUs' names and memory)."""
    started = time.perf_counter()
    found, source = ray_address(address, environ)

    def done(inventory: Inventory | None, why: str | None) -> RayProbe:
        elapsed = (time.perf_counter() - started) * 1000
        return RayProbe(inventory, found, source, why, round(elapsed, 1))

    if found is None:
        return done(None, None)
    unreachable = reachable(found, min(CONNECT_TIMEOUT_S, timeout_s))
    if unreachable is not None:
        return done(None, f"no Ray cluster reachable ({source}): {unreachable}")
    if importlib.util.find_spec("ray") is None:
        return done(None, "Ray is not installed beside kgc-launch (pip install 'kgc-launch[ray]')")
    result: dict[str, Any] = {}
    worker = threading.Thread(target=_read_cluster, args=(found, result), daemon=True, name="kgc-ray-probe")
    worker.start()
    worker.join(timeout_s)
    if worker.is_alive():
        return done(None, f"the Ray cluster at {found} did not answer within {timeout_s:.0f} s")
    if "error" in result:
        return done(None, f"cannot read the Ray cluster at {found}: {result['error']}")
    elapsed = (time.perf_counter() - started) * 1000
    inventory = inventory_from_ray(
        result["nodes"],
        result["available"],
        driver_node_id=result["driver"],
        address=found,
        local=local,
        vllm_ip=vllm_get_ip(environ),
        probe_ms=elapsed,
    )
    return done(inventory, None)


def _read_cluster(address: str, result: dict[str, Any]) -> None:
    """Connect as a driver, copy the node table and the free resources, disconnect. Runs in its own thread."""
    try:
        import ray as ray_module
    except ImportError as error:  # installed but broken (a missing shared library)
        result["error"] = f"import ray failed: {error}"
        return
    ray: Any = ray_module  # Ray's API is partly untyped
    os.environ.setdefault("RAY_USAGE_STATS_ENABLED", "0")
    # Ray's own notes (e.g. that no SIGTERM handler is set off the main thread) are not the launch's output.
    logging.getLogger("ray").setLevel(logging.ERROR)
    try:
        ray.init(
            address=address,
            namespace="kgc-launch-probe",
            logging_level=logging.ERROR,
            log_to_driver=False,
            include_dashboard=False,
            configure_logging=False,
        )
        try:
            result["nodes"] = [dict(node) for node in ray.nodes()]
            result["available"] = _available_per_node()
            result["driver"] = _driver_node_id(ray)
        finally:
            ray.shutdown()
    except Exception as error:  # any failure of a foreign library is a reason, not a crash
        result["error"] = f"{type(error).__name__}: {error}".strip()


def _available_per_node() -> dict[str, dict[str, float]]:
    """Free resources per node id, read as vLLM reads them (vllm/v1/executor/ray_utils.py)."""
    import ray._private.state as ray_state

    module: Any = ray_state
    # Ray 2.9 has it only on the global state object.
    read = getattr(module, "available_resources_per_node", None) or module.state._available_resources_per_node
    return {str(node): dict(resources) for node, resources in read().items()}


def _driver_node_id(ray: Any) -> str | None:
    try:
        return str(ray.get_runtime_context().get_node_id())
    except Exception:  # a Ray Client session has no local node
        return None


def probed_cluster(environ: Mapping[str, str], address: str | None, local: Inventory) -> Inventory:
    """`probe --ray`: the cluster, or an InputError saying why it cannot be read."""
    from kgc_launch.errors import InputError

    probe = probe_ray_cluster(environ, address=address, local=local if local.source == "nvml" else None)
    if probe.inventory is not None:
        return probe.inventory
    if probe.not_evaluated:
        raise InputError(probe.not_evaluated, hint="start the cluster (ray start --head), or pass --ray HOST:PORT")
    raise InputError(f"no Ray cluster: {probe.address_source}", hint="pass --ray HOST:PORT or set RAY_ADDRESS")
