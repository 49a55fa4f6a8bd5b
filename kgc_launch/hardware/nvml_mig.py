"""MIG slices of one GPU (`nvidia-smi -L` lists them as `MIG 1g.10gb Device 0: (UUID: MIG-...)`).

Each slice is read through its own handle, looked up by its UUID: the index handle only gives the UUID.
Addressing a slice through its parent (by the parent's index) reads the parent, so a 20 GB slice
shows 40 GB (vLLM PR #41776); and in a slice-only container the parent's queries are refused
(NoPermission), which only makes the parent's fields unknown. Compute capability and PCI bus id are the
parent's: a slice has no bus of its own, and NVML answers those for the physical GPU.
"""

from __future__ import annotations

import re
from typing import Any

from kgc_launch.hardware import nvml_codes as codes
from kgc_launch.hardware.inventory import Device, MigSlice
from kgc_launch.hardware.nvml import NvmlCallFailed, NvmlSession
from kgc_launch.hardware.nvml_fields import FieldReads, read_memory
from kgc_launch.units import MIB

_PROFILE = re.compile(r"\bMIG\s+(?P<profile>[0-9]+[cg]\.[0-9a-z.]+)\s*$", re.IGNORECASE)


def read_mig_slices(session: NvmlSession, parent_handle: Any, parent: Device) -> tuple[list[Device], list[str], bool]:
    """(slices, warnings, parent_lost) for a GPU whose MIG mode is on."""
    warnings: list[str] = []
    try:
        count = int(session.call("nvmlDeviceGetMaxMigDeviceCount", parent_handle))
    except NvmlCallFailed as failed:
        warnings.append(f"GPU {parent.index}: MIG is on but its slices cannot be listed ({failed.reason})")
        return [], warnings, failed.lost
    slices: list[Device] = []
    for mig_index in range(count):  # the maximum the GPU allows; unused positions answer NotFound
        try:
            index_handle = session.call("nvmlDeviceGetMigDeviceHandleByIndex", parent_handle, mig_index)
        except NvmlCallFailed as failed:
            if failed.lost:
                return slices, warnings, True
            if failed.code != codes.NOT_FOUND:
                warnings.append(f"GPU {parent.index}: MIG device {mig_index} cannot be read ({failed.reason})")
            continue
        slices.append(_read_slice(session, index_handle, mig_index, parent, warnings))
        if slices[-1].lost:  # a slice is lost only with its GPU
            return slices, warnings, True
    if not slices:
        warnings.append(
            f"GPU {parent.index}: MIG is on but has no usable slice (no compute instance): CUDA sees no "
            "device on it; create instances with 'nvidia-smi mig -cgi ... -C'"
        )
    return slices, warnings, False


def _read_slice(session: NvmlSession, index_handle: Any, mig_index: int, parent: Device, warnings: list[str]) -> Device:
    slice_info = MigSlice(
        parent_uuid=parent.uuid, index=mig_index, gpu_instance_id=None, compute_instance_id=None, profile=None
    )
    uuid: str | None = None
    try:
        uuid = str(session.call("nvmlDeviceGetUUID", index_handle))
        handle = session.call("nvmlDeviceGetHandleByUUID", uuid)
    except NvmlCallFailed as failed:
        if not failed.lost:
            warnings.append(
                f"GPU {parent.index}: MIG device {mig_index} has no handle of its own ({failed.reason}); "
                "it is listed but treated as not visible"
            )
        unreadable = FieldReads(session, None)
        unreadable.lost = failed.lost
        return _slice(parent, slice_info, uuid, unreadable, unreadable=None if failed.lost else failed.reason)
    fields = FieldReads(session, handle)
    name = fields.get("name", "nvmlDeviceGetName")
    total, free, used = read_memory(fields)
    attributes = fields.get("sm_count", "nvmlDeviceGetAttributes")
    sm_count = None if attributes is None else int(attributes.multiprocessorCount) or None
    if attributes is not None and sm_count is None:
        fields.unknown["sm_count"] = "NVML reported 0 SMs"
    if total is None and attributes is not None and int(attributes.memorySizeMB) > 0:
        total = int(attributes.memorySizeMB) * MIB  # the slice's size; free/used stay unknown
        fields.unknown.pop("memory_total_bytes", None)
    slice_info.gpu_instance_id = fields.get("mig.gpu_instance_id", "nvmlDeviceGetGpuInstanceId")
    slice_info.compute_instance_id = fields.get("mig.compute_instance_id", "nvmlDeviceGetComputeInstanceId")
    slice_info.profile = mig_profile(name)
    device = _slice(parent, slice_info, uuid, fields, unreadable=None)
    device.name = name or f"{parent.name} MIG {slice_info.profile or 'slice'}"
    device.memory_total_bytes, device.memory_free_bytes, device.memory_used_bytes = total, free, used
    device.sm_count = sm_count
    device.sm_count_source = "mig_attributes" if sm_count is not None else "unknown"
    return device


def _slice(parent: Device, info: MigSlice, uuid: str | None, fields: FieldReads, unreadable: str | None) -> Device:
    unknown = fields.unknown
    for inherited in ("compute_capability", "pci_bus_id"):  # a slice has its parent's
        if getattr(parent, inherited) is None:
            unknown[inherited] = f"parent: {parent.unknown_fields.get(inherited, 'unknown')}"
    return Device(
        index=parent.index,
        uuid=uuid,
        name=f"{parent.name} MIG slice",
        pci_bus_id=parent.pci_bus_id,
        compute_capability=parent.compute_capability,
        memory_total_bytes=None,
        memory_free_bytes=None,
        memory_used_bytes=None,
        sm_count=None,
        sm_count_source="unknown",
        mig=info,
        mig_enabled=None,
        lost=fields.lost,
        unreadable=unreadable,
        unknown_fields=unknown,
    )


def mig_profile(name: str | None) -> str | None:
    """`1g.10gb` from `NVIDIA H100 80GB HBM3 MIG 1g.10gb` (and `1c.3g.20gb` for a shared instance)."""
    match = _PROFILE.search(name or "")
    return match.group("profile") if match else None
