"""The node as NVML reports it: every GPU and MIG slice, each field read on its own through the funnel
(`kgc_launch.hardware.nvml.NvmlSession`). Above the funnel and the per-device readers, so nothing imports
back up into this module."""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any

from kgc_launch.errors import HardwareProbeError
from kgc_launch.hardware.inventory import Device
from kgc_launch.hardware.nvml import NvmlCallFailed, NvmlLibrary, NvmlSession, nvml_session
from kgc_launch.hardware.nvml_device import read_gpu

SLOW_INIT_MS = 1000.0


@dataclass
class NvmlReading:
    """What NVML said about the node, before CUDA's view (visibility, order) is applied."""

    driver_version: str | None
    cuda_driver_version: str | None
    init_ms: float
    devices: list[Device]
    """GPUs in NVML index order, each MIG slice right after its parent."""
    unknown_fields: dict[str, str] = field(default_factory=dict)
    warnings: list[str] = field(default_factory=list)


def read_nvml(library: NvmlLibrary) -> NvmlReading:
    """Every GPU and MIG slice NVML reports (`nvidia-smi -q`), each field read on its own."""
    with nvml_session(library) as (session, init_ms):
        reading = NvmlReading(None, None, init_ms, [])
        reading.driver_version = _system_field(session, reading, "driver_version", "nvmlSystemGetDriverVersion")
        cuda = _system_field(session, reading, "cuda_driver_version", "nvmlSystemGetCudaDriverVersion")
        reading.cuda_driver_version = None if cuda is None else format_cuda_version(int(cuda))
        try:
            count = int(session.call("nvmlDeviceGetCount"))
        except NvmlCallFailed as failed:
            raise HardwareProbeError(
                f"NVML started but could not count the GPUs: {failed.reason}",
                reason=failed.reason,
                hint="run 'nvidia-smi' to see the driver's own error",
            ) from None
        for index in range(count):
            devices, warnings = read_gpu(session, index)
            reading.devices += devices
            reading.warnings += warnings
    if init_ms > SLOW_INIT_MS:
        reading.warnings.append(
            f"NVML took {init_ms / 1000:.1f} s to start: persistence mode is probably off, and every "
            "probe (and every engine start) pays this; 'sudo nvidia-smi -pm 1' or nvidia-persistenced"
        )
    return reading


def _system_field(session: NvmlSession, reading: NvmlReading, field_name: str, function: str) -> Any:
    try:
        return session.call(function)
    except NvmlCallFailed as failed:
        reading.unknown_fields[field_name] = failed.reason
        return None


def format_cuda_version(version: int) -> str:
    """12040 -> `12.4` (the CUDA version the driver supports, as nvidia-smi's header shows it)."""
    major, minor, revision = version // 1000, (version % 1000) // 10, version % 10
    return f"{major}.{minor}" if revision == 0 else f"{major}.{minor}.{revision}"
