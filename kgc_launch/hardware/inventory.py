"""What the GPUs are: one record per device, and the inventory of a node (probed, preset or from a file).

This is the full picture kept next to the ferrum-shaped `HardwareCapabilities` record (which stays
exactly the seed's shape). A field NVML could not read is None and named in `unknown_fields` with the
reason: never 0, because 0 GiB of memory is a wrong fact, not a missing one.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import ClassVar, Literal

from kgc_launch.records import HardwareCapabilities

SmCountSource = Literal["cuda_driver", "mig_attributes", "table", "preset", "file", "unknown"]
InventorySource = Literal["nvml", "preset", "file", "ray", "lws", "none"]


class _Model:
    """Strict about unknown fields when read from a file (`records.from_plain`)."""

    __slots__ = ()
    __pydantic_config__: ClassVar[dict[str, str]] = {"extra": "forbid"}


@dataclass(slots=True, kw_only=True)  # the probe fills it in field by field
class MigSlice(_Model):
    """A MIG slice: a device of its own, carved out of a parent GPU."""

    parent_uuid: str | None = None
    """UUID of the physical GPU the slice lives on."""
    index: int | None = None
    """MIG device index under its parent (nvidia-smi's `MIG dev` column)."""
    gpu_instance_id: int | None = None
    compute_instance_id: int | None = None
    profile: str | None = None
    """Profile name such as `1g.10gb`, when known."""


@dataclass(slots=True, kw_only=True)  # the probe fills it in field by field
class Device(_Model):
    """One device as the engine would address it: a full GPU or a MIG slice."""

    index: int | None = None
    """NVML index (not CUDA's; None for presets)."""
    uuid: str | None = None
    """`GPU-...` or `MIG-...`."""
    name: str
    pci_bus_id: str | None = None
    compute_capability: str | None = None
    """`major.minor` (for a MIG slice, its parent's)."""
    memory_total_bytes: int | None = None
    memory_free_bytes: int | None = None
    memory_used_bytes: int | None = None
    sm_count: int | None = None
    sm_count_source: SmCountSource = "unknown"
    mig: MigSlice | None = None
    """Set when this device is a MIG slice."""
    mig_enabled: bool | None = None
    """For a full GPU: whether MIG mode is on (its slices are then the usable devices)."""
    lost: bool = False
    """NVML reported the GPU as lost (fallen off the bus); its other fields are not to be trusted."""
    unreadable: str | None = None
    """Why NVML gave no usable handle for the device (e.g. `NoPermission`); such a device is never visible."""
    unknown_fields: dict[str, str] = field(default_factory=dict)
    """Field name -> why it is unknown (e.g. `NotSupported`)."""
    node_id: str | None = None
    """A cluster inventory only (`Inventory.nodes`): the node the device lives on."""


@dataclass(slots=True, frozen=True, kw_only=True)
class ClusterNode(_Model):
    """One node of a multi-node cluster (a Ray cluster, or an LWS group): what a placement needs to know."""

    node_id: str
    address: str | None = None
    """The node's IP as the cluster knows it (Ray's `NodeManagerAddress`)."""
    alive: bool = True
    death_reason: str | None = None
    head: bool = False
    driver: bool = False
    """The node the launch runs on: vLLM's driver, which must hold the first GPU of the placement."""
    gpus: int = 0
    """GPUs the cluster schedules on this node (Ray's `GPU` resource)."""
    gpus_free: int | None = None
    """GPUs not reserved by other work when probed; None when unknown."""
    accelerator_type: str | None = None
    """Ray's `accelerator_type:*` resource or the `ray.io/accelerator-type` label (`H100`, `A100-80G`)."""
    labels: dict[str, str] = field(default_factory=dict)
    gpu_source: str = ""
    """Where the node's GPU names and memory came from (this node's NVML probe, a label, a preset)."""
    vllm_ip: str | None = None
    """The driver node only: the IP vLLM's `get_ip()` picks there (`VLLM_HOST_IP`, else the default route)."""


@dataclass(slots=True, frozen=True, kw_only=True)
class Inventory(_Model):
    """A node's GPUs and the devices an engine started here would use, in the engine's order."""

    source: InventorySource
    source_detail: str = ""
    """How the inventory was obtained: `NVML`, a preset name such as `8xH100-SXM`, or a file path."""
    driver_version: str | None = None
    cuda_driver_version: str | None = None
    """e.g. `12.4`."""
    nvml_init_ms: float | None = None
    unknown_fields: dict[str, str] = field(default_factory=dict)
    """Node-wide fields NVML could not read (`driver_version`, `cuda_driver_version`) -> why."""
    devices: list[Device] = field(default_factory=list)
    """Every device found, in NVML order."""
    visible: list[Device] = field(default_factory=list)
    """The devices the engine will see, in the engine's (CUDA's) order."""
    warnings: list[str] = field(default_factory=list)
    hardware_capabilities: HardwareCapabilities | None = None
    """Set only when the hardware came from a plain `HardwareCapabilities` file: ferrum uses it as is."""
    nodes: list[ClusterNode] = field(default_factory=list)
    """A cluster inventory (`source: ray`, `lws`, or a file saved from one): every node, dead ones too. Then
    `devices` are the GPUs of the alive nodes and `visible` those in the order vLLM ranks them (the
    driver's node first)."""


@dataclass(frozen=True)
class ClusterStatus:
    """What a launch found about the Ray cluster when its inventory is not a cluster (`Inventory.nodes` empty)."""

    kind: str
    """`absent`: no cluster is configured, and vLLM's ray.init() would start a one-node instance; `unread`: one
    is configured but could not be read; `named`: --hardware (or a deploy check) names the GPUs instead."""
    why: str
