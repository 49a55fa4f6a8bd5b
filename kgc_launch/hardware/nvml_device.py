"""One GPU as NVML reports it (`nvidia-smi -q -i N`), followed by its MIG slices when MIG is on."""

from __future__ import annotations

from kgc_launch.hardware import nvml_codes as codes
from kgc_launch.hardware.inventory import Device
from kgc_launch.hardware.nvml import NvmlCallFailed, NvmlSession
from kgc_launch.hardware.nvml_fields import FieldReads, read_memory
from kgc_launch.hardware.nvml_mig import read_mig_slices

UNKNOWN_NAME = "unknown GPU"
MIG_ENABLED = 1


def read_gpu(session: NvmlSession, index: int) -> tuple[list[Device], list[str]]:
    """The GPU at NVML index `index`, followed by its MIG slices when MIG is on; and warnings."""
    try:
        handle = session.call("nvmlDeviceGetHandleByIndex", index)
    except NvmlCallFailed as failed:
        return [_unreadable_gpu(index, failed)], [_handle_warning(index, failed)]
    fields = FieldReads(session, handle)
    uuid = fields.get("uuid", "nvmlDeviceGetUUID")
    name = fields.get("name", "nvmlDeviceGetName")
    pci = fields.get("pci_bus_id", "nvmlDeviceGetPciInfo")
    capability = fields.get("compute_capability", "nvmlDeviceGetCudaComputeCapability")
    total, free, used = read_memory(fields)
    mig_mode = _mig_mode(fields)
    device = Device(
        index=index,
        uuid=uuid,
        name=name or UNKNOWN_NAME,
        pci_bus_id=None if pci is None else bus_id_text(pci.busId),
        compute_capability=None if capability is None else f"{capability[0]}.{capability[1]}",
        memory_total_bytes=total,
        memory_free_bytes=free,
        memory_used_bytes=used,
        sm_count=None,
        sm_count_source="unknown",
        mig=None,
        mig_enabled=None if mig_mode is None else mig_mode[0] == MIG_ENABLED,
        lost=False,
        unreadable=None,
        unknown_fields=fields.unknown,
    )
    devices, warnings = [device], []
    if device.mig_enabled and not fields.lost:
        slices, slice_warnings, parent_lost = read_mig_slices(session, handle, device)
        devices += slices
        warnings += slice_warnings
        fields.lost = fields.lost or parent_lost
    if mig_mode is not None and mig_mode[0] != mig_mode[1]:
        state = "on" if mig_mode[1] == MIG_ENABLED else "off"
        warnings.append(f"GPU {index}: MIG mode is pending a change to {state}; it takes effect after a GPU reset")
    if fields.lost:
        device.lost = True
        warnings.append(
            f"GPU {index} ({device.uuid or device.name}) is lost: NVML says it has fallen off the bus "
            "(nvidia-smi: 'GPU is lost'); it is listed but no engine can use it until a reset or reboot"
        )
    return devices, warnings


def _mig_mode(fields: FieldReads) -> tuple[int, int] | None:
    """[current, pending] (`nvidia-smi --query-gpu=mig.mode.current,mig.mode.pending`).

    NotSupported means the GPU cannot do MIG, which is a fact (MIG off), not an unknown.
    """
    try:
        current, pending = fields.attempt("nvmlDeviceGetMigMode")
    except NvmlCallFailed as failed:
        if failed.code == codes.NOT_SUPPORTED:
            return (0, 0)
        fields.unknown["mig_enabled"] = failed.reason
        return None
    return int(current), int(pending)


def bus_id_text(raw: bytes | str) -> str:
    """PCI bus id as NVML spells it (`00000000:18:00.0`), from the binding's bytes or str."""
    return (raw.decode("ascii", "replace") if isinstance(raw, bytes) else raw).strip("\x00").strip()


def _unreadable_gpu(index: int, failed: NvmlCallFailed) -> Device:
    return Device(
        index=index,
        uuid=None,
        name=UNKNOWN_NAME,
        pci_bus_id=None,
        compute_capability=None,
        memory_total_bytes=None,
        memory_free_bytes=None,
        memory_used_bytes=None,
        sm_count=None,
        sm_count_source="unknown",
        mig=None,
        mig_enabled=None,
        lost=failed.lost,
        unreadable=None if failed.lost else failed.reason,
        unknown_fields={"handle": failed.reason},
    )


def _handle_warning(index: int, failed: NvmlCallFailed) -> str:
    if failed.lost:
        return f"GPU {index} is lost: NVML says it has fallen off the bus; no engine can use it until a reset"
    return f"GPU {index} cannot be read ({failed.reason}): it is listed but treated as not visible"
