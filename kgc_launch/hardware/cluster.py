"""A multi-node cluster as an inventory: Ray's node table turned into `ClusterNode`s and their GPUs. Pure.

`ray_cluster.py` reads the table from a live Ray cluster (the only module that imports ray); this module
makes the inventory from it, so that a saved probe, a test and a live launch share one conversion. Where
Ray does not say what a GPU is, the node's own probe does (the driver's node: this machine's NVML), else a
label the node was started with (`--labels kgc-launch/gpu-preset=A100-40GB`, or
`kgc-launch/gpu-memory-mib=81559`), else the preset that Ray's accelerator type names unambiguously;
otherwise the memory is unknown, never guessed.
"""

from __future__ import annotations

import re
from collections.abc import Mapping, Sequence
from dataclasses import replace
from pathlib import Path
from typing import Any

from kgc_launch.hardware.inventory import ClusterNode, Device, Inventory
from kgc_launch.units import MIB

GPU_MEMORY_LABEL = "kgc-launch/gpu-memory-mib"
"""Node label with the memory of one of the node's GPUs in MiB (NVML's total), for nodes Ray cannot say."""
GPU_PRESET_LABEL = "kgc-launch/gpu-preset"
"""Node label naming the hardware preset of the node's GPUs (`A100-40GB`): name, compute capability, SMs,
memory. Ray label values allow no spaces, so a preset name stands for NVML's name."""
ACCELERATOR_LABEL = "ray.io/accelerator-type"
HEAD_RESOURCE = "node:__internal_head__"


ACCELERATOR_PRESETS = {
    "T4": "T4",
    "A10G": "A10G",
    "L4": "L4",
    "L40S": "L40S",
    "A100-40G": "A100-40GB",
    "A100-80G": "A100-80GB",
    "H100": "H100-SXM",
    "H200": "H200",
    "B200": "B200",
}
"""Ray's accelerator types (ray/util/accelerators/accelerators.py) whose memory one preset gives. `A100` and
`V100` come in two memory sizes each and are left unknown unless a label says."""


def inventory_from_ray(
    nodes: Sequence[Mapping[str, Any]],
    available: Mapping[str, Mapping[str, float]],
    *,
    driver_node_id: str | None,
    address: str,
    local: Inventory | None = None,
    vllm_ip: str | None = None,
    probe_ms: float | None = None,
) -> Inventory:
    """An inventory of a Ray cluster from `ray.nodes()` and the free resources per node.

    `local` is the driver node's own probe: its GPUs stand for the driver node's (names, memory, free memory).
    """
    cluster = [_node(record, available, driver_node_id) for record in nodes]
    cluster.sort(key=lambda node: (not node.driver, not node.alive, node.address or "", node.node_id))
    if cluster and vllm_ip is not None and cluster[0].driver:
        cluster[0] = replace(cluster[0], vllm_ip=vllm_ip)
    devices: list[Device] = []
    for index, node in enumerate(cluster):
        if not node.alive:
            continue
        node_devices, source = _node_devices(node, local if node.driver else None)
        cluster[index] = replace(node, gpu_source=source)
        devices += node_devices
    warnings = [
        f"Ray node {node.node_id[:12]} ({node.address or 'no address'}) is dead"
        + (f": {node.death_reason}" if node.death_reason else "")
        + "; its GPUs are not counted"
        for node in cluster
        if not node.alive
    ]
    if driver_node_id is None:
        warnings.append("the node this probe ran on is not a node of the Ray cluster (no local raylet)")
    detail = f"Ray cluster at {address}: {sum(n.alive for n in cluster)} alive node(s)"
    if probe_ms is not None:
        detail += f", probed in {probe_ms:.0f} ms"
    return Inventory(
        source="ray",
        source_detail=detail,
        driver_version=local.driver_version if local else None,
        cuda_driver_version=local.cuda_driver_version if local else None,
        nvml_init_ms=None,
        unknown_fields={},
        devices=devices,
        visible=list(devices),
        warnings=warnings + (list(local.warnings) if local else []),
        hardware_capabilities=None,
        nodes=cluster,
    )


def _node(record: Mapping[str, Any], available: Mapping[str, Mapping[str, float]], driver: str | None) -> ClusterNode:
    node_id = str(record.get("NodeID", ""))
    resources: Mapping[str, float] = record.get("Resources") or {}
    labels = {str(k): str(v) for k, v in (record.get("Labels") or {}).items()}
    alive = bool(record.get("Alive", record.get("alive", False)))
    free = available.get(node_id, {}).get("GPU") if node_id in available else None
    reason = record.get("DeathReasonMessage") or None
    return ClusterNode(
        node_id=node_id,
        address=record.get("NodeManagerAddress") or None,
        alive=alive,
        death_reason=None if alive else (str(reason) if reason else None),
        head=HEAD_RESOURCE in resources,
        driver=node_id == driver,
        gpus=int(resources.get("GPU", 0)),
        gpus_free=None if free is None else int(free + 1e-9),
        accelerator_type=_accelerator_type(resources, labels),
        labels=labels,
        gpu_source="",
        vllm_ip=None,
    )


def _accelerator_type(resources: Mapping[str, float], labels: Mapping[str, str]) -> str | None:
    """The most specific `accelerator_type:X` resource (`A100-80G` over `A100`), else Ray's label."""
    types = [key.split(":", 1)[1] for key in resources if key.startswith("accelerator_type:")]
    if types:
        return max(types, key=len)
    return labels.get(ACCELERATOR_LABEL)


def _node_devices(node: ClusterNode, local: Inventory | None) -> tuple[list[Device], str]:
    if local is not None and local.visible:
        own = [replace(device, node_id=node.node_id) for device in local.visible[: node.gpus]]
        if len(own) == node.gpus:
            return own, f"this node's probe ({local.source})"
    name, memory, preset, source = _described(node)
    devices = []
    for index in range(node.gpus):
        unknown = {
            "memory_free_bytes": "not reported by Ray",
            "memory_used_bytes": "not reported by Ray",
        }
        if memory is None:
            unknown["memory_total_bytes"] = "Ray reports no GPU memory; start the node with --labels " + (
                f"{GPU_MEMORY_LABEL}=<MiB>"
            )
        devices.append(
            Device(
                index=index,
                uuid=None,
                name=name,
                pci_bus_id=None,
                compute_capability=preset["compute_capability"] if preset else None,
                memory_total_bytes=memory,
                memory_free_bytes=None,
                memory_used_bytes=None,
                sm_count=preset["sm_count"] if preset else None,
                sm_count_source="preset" if preset else "unknown",
                mig=None,
                mig_enabled=None,
                lost=False,
                unreadable=None,
                unknown_fields=unknown,
                node_id=node.node_id,
            )
        )
    return devices, source


def _described(node: ClusterNode) -> tuple[str, int | None, dict[str, Any] | None, str]:
    """The name, memory, preset and their source for a node's GPUs, from its labels or its accelerator type."""
    from kgc_launch.hardware.presets import load_catalog

    catalog = load_catalog()
    accelerator = node.accelerator_type
    labelled = node.labels.get(GPU_PRESET_LABEL, "")
    preset = catalog.get(labelled.upper()) if labelled else None
    origin = f"label {GPU_PRESET_LABEL}={labelled}"
    if preset is None:
        preset_name = ACCELERATOR_PRESETS.get((accelerator or "").upper())
        preset = catalog.get(preset_name.upper()) if preset_name else None
        origin = f"accelerator_type:{accelerator}"
    name = preset["device_name"] if preset else (f"GPU ({accelerator})" if accelerator else "GPU (type unknown)")
    label = node.labels.get(GPU_MEMORY_LABEL, "")
    if re.fullmatch(r"[1-9][0-9]*", label):
        return name, int(label) * MIB, preset, f"label {GPU_MEMORY_LABEL}={label}"
    if preset is not None:
        return name, int(preset["memory_mib"]) * MIB, preset, f"preset {preset['name']} ({origin})"
    why = f"accelerator_type {accelerator} names no single memory size" if accelerator else "no accelerator_type"
    return name, None, None, f"unknown ({why})"


def vllm_get_ip(environ: Mapping[str, str]) -> str | None:
    """The IP vLLM's `get_ip()` (vllm/utils/network_utils.py) returns on this machine: `VLLM_HOST_IP`, else the
    address of the default route (a UDP socket `connect`ed to 8.8.8.8 sends nothing). None when neither works."""
    if environ.get("VLLM_HOST_IP"):
        return environ["VLLM_HOST_IP"]
    import socket  # here, not at the top: a one-node launch imports this module but opens no socket

    try:
        with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as probe:
            probe.connect(("8.8.8.8", 80))
            return str(probe.getsockname()[0])
    except OSError:
        return None


def ray_address(explicit: str | None, environ: Mapping[str, str]) -> tuple[str | None, str]:
    """The cluster `ray.init()` connects to, found as Ray finds it, and where it came from.

    Ray's order (`ray.init` docstring): a given address, `RAY_ADDRESS`, then the latest cluster started on this
    machine (`<temp dir>/ray/ray_current_cluster`). None: `ray.init()` would start a new one-node instance.
    """
    if explicit:
        return explicit, "given"
    if environ.get("RAY_ADDRESS"):
        return environ["RAY_ADDRESS"], "RAY_ADDRESS"
    temp = environ.get("RAY_TMPDIR") or environ.get("TMPDIR") or "/tmp"
    current = Path(temp) / "ray" / "ray_current_cluster"
    try:
        text = current.read_text(encoding="utf-8").strip()
    except OSError:
        return None, f"RAY_ADDRESS is unset and no local head ({current})"
    return (text, str(current)) if text else (None, f"{current} is empty")


def reachable(address: str, timeout_s: float) -> str | None:
    """None when a TCP connection to `host:port` opens within `timeout_s`, else why not. `ray://` and `auto`
    are left to Ray."""
    if address.startswith("ray://") or address == "auto" or ":" not in address:
        return None
    host, _, port = address.rpartition(":")
    import socket

    try:
        with socket.create_connection((host.strip("[]"), int(port)), timeout=timeout_s):
            return None
    except ValueError:
        return f"{address!r} is not HOST:PORT"
    except OSError as error:
        return f"cannot connect to {address}: {error.strerror or error}"


def is_cluster(inventory: Inventory) -> bool:
    return bool(inventory.nodes)


def driver_node(inventory: Inventory) -> ClusterNode | None:
    return next((node for node in inventory.nodes if node.driver), None)


def node_table(inventory: Inventory) -> list[str]:
    """The nodes of a cluster inventory as `probe` shows them."""
    rows = [("node", "address", "state", "GPUs", "free", "type", "GPU facts from")]
    for node in inventory.nodes:
        role = " (head)" if node.head else ""
        role += " (this node)" if node.driver else ""
        rows.append(
            (
                node.node_id[:12] + role,
                node.address or "-",
                "alive" if node.alive else "DEAD" + (f": {node.death_reason}" if node.death_reason else ""),
                str(node.gpus),
                "?" if node.gpus_free is None else str(node.gpus_free),
                node.accelerator_type or "-",
                node.gpu_source or "-",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  " + "  ".join(map(str.ljust, row, widths)).rstrip() for row in rows]
