"""SM counts of full GPUs from CUDA's driver API (libcuda.so.1) through ctypes; no context is created.

NVML has no SM count for a full GPU (nor has nvidia-smi). The driver API has one:
`cuDeviceGetAttribute(CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, dev)`, after `cuInit(0)`, which starts
the driver API in this process but creates no context (no GPU memory is taken, nothing shows in
nvidia-smi). What it costs: loading libcuda and the driver's start-up, tens of milliseconds with
persistence mode on and up to seconds on a big node without it (not measured here: no GPU was at hand
when this was written). It is therefore optional: `probe_gpus(..., use_cuda_driver=False)` takes the SM
count from the preset table by device name instead, and `sm_count_source` says which one answered.

cuInit honours this process's CUDA_VISIBLE_DEVICES: GPUs hidden from it get no answer (then the table).
Devices are matched to NVML's by UUID (PCI bus id when the UUID is missing).
"""

from __future__ import annotations

import time
from dataclasses import dataclass
from functools import lru_cache
from typing import Any

CUDA_LIBRARY = "libcuda.so.1"
CUDA_SUCCESS = 0
CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT = 16
_PCI_BUS_ID_LENGTH = 32


@dataclass(frozen=True)
class CudaDevice:
    uuid: str | None
    """Hex UUID without its `GPU-`/`MIG-` prefix, lower case (`cuDeviceGetUuid_v2`)."""
    pci_bus_id: str | None
    """`0000:18:00.0` (`cuDeviceGetPCIBusId`)."""
    sm_count: int


@dataclass(frozen=True)
class CudaReading:
    devices: list[CudaDevice] | None
    """None when libcuda is absent or failed (see `error`)."""
    error: str | None
    elapsed_ms: float


class _CudaFailed(Exception):
    pass


def read_cuda_devices(library: Any = None) -> CudaReading:
    """Every device CUDA enumerates in this process, with its SM count. `library` is for tests."""
    import ctypes  # here: a simulated node or a preset never loads libcuda, nor pays for ctypes

    started = time.perf_counter()
    if library is None:
        try:
            library = ctypes.CDLL(CUDA_LIBRARY)
        except OSError as error:
            return CudaReading(None, f"{CUDA_LIBRARY} not loadable: {error}", _since(started))
    try:
        _check(library.cuInit(0), "cuInit")
        count = ctypes.c_int(0)
        _check(library.cuDeviceGetCount(ctypes.pointer(count)), "cuDeviceGetCount")
        devices = [_read_device(library, ordinal) for ordinal in range(count.value)]
    except _CudaFailed as failed:
        return CudaReading(None, str(failed), _since(started))
    return CudaReading(devices, None, _since(started))


def _read_device(library: Any, ordinal: int) -> CudaDevice:
    import ctypes

    device = ctypes.c_int(0)
    _check(library.cuDeviceGet(ctypes.pointer(device), ordinal), "cuDeviceGet")
    sm_count = ctypes.c_int(0)
    _check(
        library.cuDeviceGetAttribute(ctypes.pointer(sm_count), CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT, device.value),
        "cuDeviceGetAttribute",
    )
    bus = ctypes.create_string_buffer(_PCI_BUS_ID_LENGTH)
    bus_ok = library.cuDeviceGetPCIBusId(bus, _PCI_BUS_ID_LENGTH, device.value) == CUDA_SUCCESS
    return CudaDevice(
        uuid=_uuid(library, device.value),
        pci_bus_id=bus.value.decode("ascii", "replace").lower() if bus_ok else None,
        sm_count=sm_count.value,
    )


def _uuid(library: Any, device: int) -> str | None:
    # _v2 gives a MIG device its own UUID (CUDA >= 11.4); the old call may answer the parent's.
    function = getattr(library, "cuDeviceGetUuid_v2", None) or getattr(library, "cuDeviceGetUuid", None)
    if function is None:
        return None
    import ctypes

    uuid = _uuid_type()()
    if function(ctypes.pointer(uuid), device) != CUDA_SUCCESS:
        return None
    return format_uuid(bytes(uuid.bytes))


@lru_cache(maxsize=1)
def _uuid_type() -> Any:
    """`CUuuid`, 16 bytes (a ctypes Structure, made on first use)."""
    import ctypes

    class CUuuid(ctypes.Structure):
        _fields_ = [("bytes", ctypes.c_ubyte * 16)]

    return CUuuid


def format_uuid(raw: bytes) -> str:
    """16 bytes -> `8932f937-d72c-4106-c12f-20bd9faed9f6` (NVML's UUID without its prefix)."""
    text = raw.hex()
    return f"{text[:8]}-{text[8:12]}-{text[12:16]}-{text[16:20]}-{text[20:32]}"


def _check(result: int, function: str) -> None:
    if result != CUDA_SUCCESS:
        raise _CudaFailed(f"{function} returned CUDA error {result}")


def _since(started: float) -> float:
    return (time.perf_counter() - started) * 1000.0
