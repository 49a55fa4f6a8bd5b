from __future__ import annotations

import ctypes
from typing import Any

import pytest

from kgc_launch.hardware import cuda_driver
from kgc_launch.hardware.cuda_driver import (
    CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT,
    CudaDevice,
    CudaReading,
    format_uuid,
    read_cuda_devices,
)
from kgc_launch.hardware.inventory import Device
from kgc_launch.hardware.sm_count import fill_sm_counts
from kgc_launch.records import from_plain

UUID = bytes.fromhex("8932f937d72c4106c12f20bd9faed9f6")


class FakeLibcuda:
    """libcuda's calls as ctypes makes them: out-parameters are ctypes pointers, CUresult 0 is success."""

    def __init__(self, devices: list[tuple[bytes, str, int]], init_result: int = 0, v2: bool = True) -> None:
        self.devices = devices
        self.init_result = init_result
        self.calls: list[str] = []
        if not v2:
            self.cuDeviceGetUuid_v2 = None

    def cuInit(self, flags: int) -> int:
        self.calls.append("cuInit")
        return self.init_result

    def cuDeviceGetCount(self, count: Any) -> int:
        count.contents.value = len(self.devices)
        return 0

    def cuDeviceGet(self, device: Any, ordinal: int) -> int:
        device.contents.value = ordinal
        return 0

    def cuDeviceGetAttribute(self, value: Any, attribute: int, device: int) -> int:
        assert attribute == CU_DEVICE_ATTRIBUTE_MULTIPROCESSOR_COUNT == 16
        value.contents.value = self.devices[device][2]
        return 0

    def cuDeviceGetPCIBusId(self, buffer: Any, length: int, device: int) -> int:
        buffer.value = self.devices[device][1].encode()
        return 0

    def cuDeviceGetUuid_v2(self, uuid: Any, device: int) -> int:
        self.calls.append("cuDeviceGetUuid_v2")
        uuid.contents.bytes[:] = list(self.devices[device][0])
        return 0

    def cuDeviceGetUuid(self, uuid: Any, device: int) -> int:
        self.calls.append("cuDeviceGetUuid")
        uuid.contents.bytes[:] = list(self.devices[device][0])
        return 0


def test_sm_counts_uuids_and_bus_ids_from_the_driver_api() -> None:
    library = FakeLibcuda([(UUID, "0000:18:00.0", 132), (bytes(16), "0000:2A:00.0", 114)])
    reading = read_cuda_devices(library)
    assert reading.error is None and reading.elapsed_ms >= 0
    assert reading.devices == [
        CudaDevice("8932f937-d72c-4106-c12f-20bd9faed9f6", "0000:18:00.0", 132),
        CudaDevice("00000000-0000-0000-0000-000000000000", "0000:2a:00.0", 114),
    ]
    assert "cuDeviceGetUuid_v2" in library.calls and "cuDeviceGetUuid" not in library.calls


def test_the_old_uuid_call_when_v2_is_missing() -> None:
    library = FakeLibcuda([(UUID, "0000:18:00.0", 132)], v2=False)
    assert read_cuda_devices(library).devices == [
        CudaDevice("8932f937-d72c-4106-c12f-20bd9faed9f6", "0000:18:00.0", 132)
    ]
    assert "cuDeviceGetUuid" in library.calls


def test_a_failing_cuinit_is_no_answer() -> None:
    reading = read_cuda_devices(FakeLibcuda([(UUID, "0000:18:00.0", 132)], init_result=100))
    assert reading.devices is None and reading.error == "cuInit returned CUDA error 100"


def test_no_libcuda_is_no_answer(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(cuda_driver, "CUDA_LIBRARY", "libcuda-that-does-not-exist.so.1")
    reading = read_cuda_devices()
    assert reading.devices is None and reading.error and "not loadable" in reading.error


def test_format_uuid() -> None:
    assert format_uuid(UUID) == "8932f937-d72c-4106-c12f-20bd9faed9f6"
    assert ctypes.sizeof(cuda_driver._uuid_type()) == 16


def _gpu(**fields: Any) -> Device:
    return from_plain(Device, {"index": 0, "name": "NVIDIA H100 80GB HBM3", **fields})


UUID_TEXT = "8932f937-d72c-4106-c12f-20bd9faed9f6"


@pytest.mark.parametrize(
    ("device", "cuda", "count", "source"),
    [
        (_gpu(uuid=f"GPU-{UUID_TEXT}"), [CudaDevice(UUID_TEXT, None, 130)], 130, "cuda_driver"),
        (_gpu(pci_bus_id="00000000:18:00.0"), [CudaDevice(None, "0000:18:00.0", 130)], 130, "cuda_driver"),
        (
            _gpu(uuid=f"GPU-{UUID_TEXT}"),
            [CudaDevice("ffff", None, 130)],
            132,
            "table",
        ),  # CUDA does not see it
        (_gpu(uuid=f"GPU-{UUID_TEXT}"), None, 132, "table"),  # no libcuda
        (_gpu(uuid=f"GPU-{UUID_TEXT}", mig_enabled=True), [CudaDevice(UUID_TEXT, None, 16)], 132, "table"),
    ],
)
def test_sm_count_sources(device: Device, cuda: list[CudaDevice] | None, count: int, source: str) -> None:
    fill_sm_counts([device], CudaReading(cuda, None if cuda is not None else "absent", 0.0))
    assert (device.sm_count, device.sm_count_source) == (count, source)


def test_no_answer_and_no_table_entry_is_unknown_with_the_reason() -> None:
    device = _gpu(name="NVIDIA GB10", uuid="GPU-1")
    fill_sm_counts([device], CudaReading(None, "libcuda.so.1 not loadable", 0.0))
    assert device.sm_count is None and device.sm_count_source == "unknown"
    assert device.unknown_fields["sm_count"] == (
        "the CUDA driver API gave no answer (libcuda.so.1 not loadable), and no table entry for 'NVIDIA GB10'"
    )
