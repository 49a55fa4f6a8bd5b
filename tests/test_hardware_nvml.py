from __future__ import annotations

from typing import Any

import pytest

from kgc_launch.errors import HardwareProbeError, KgcError, NoNvidiaDriver
from kgc_launch.hardware import nvml_node as nvml_module
from kgc_launch.hardware.fake_nvml import SURFACE, FakeNvml, _Handle
from kgc_launch.hardware.inventory import Device, Inventory
from kgc_launch.hardware.nvml_node import NvmlReading, format_cuda_version, read_nvml
from kgc_launch.hardware.probe import probe_library
from testing.nvml_scenarios import fake_nvml, scenario

MIB = 1024 * 1024
NUMERIC = ("memory_total_bytes", "memory_free_bytes", "memory_used_bytes", "sm_count", "compute_capability")
NEVER_ZERO = ("memory_total_bytes", "sm_count")  # sizes; 0 bytes used or free is a real reading


def read(description: str | dict[str, Any]) -> tuple[NvmlReading, FakeNvml]:
    fake = fake_nvml(description)
    return read_nvml(fake), fake


def test_single_gpu_fields() -> None:
    reading, fake = read("single_gpu")
    (gpu,) = reading.devices
    assert (reading.driver_version, reading.cuda_driver_version) == ("550.54.15", "12.4")
    assert reading.init_ms >= 0 and reading.warnings == [] and reading.unknown_fields == {}
    assert gpu.name == "NVIDIA GeForce RTX 4090" and gpu.index == 0
    assert gpu.uuid == "GPU-5e8c6f0a-1b2c-4d3e-8f90-000000000001"
    assert gpu.pci_bus_id == "00000000:01:00.0" and gpu.compute_capability == "8.9"
    assert gpu.memory_total_bytes == 24564 * MIB and gpu.memory_free_bytes == 24564 * MIB
    assert gpu.mig_enabled is False and gpu.mig is None and not gpu.lost
    assert gpu.sm_count is None and gpu.unknown_fields == {}  # NVML has no SM count: the probe adds it
    assert fake.calls[0] == ("nvmlInitWithFlags", (0,), {}) and fake.calls[-1][0] == "nvmlShutdown"
    assert fake.init_count == 0


def test_eight_h100_in_nvml_order() -> None:
    reading, _ = read("eight_h100")
    assert [device.index for device in reading.devices] == list(range(8))
    assert {device.memory_total_bytes for device in reading.devices} == {81559 * MIB}
    assert [device.pci_bus_id for device in reading.devices][:2] == ["00000000:18:00.0", "00000000:2a:00.0"]


def test_mig_slices_are_read_through_their_own_uuid_handle() -> None:
    reading, fake = read("mig")
    parent, *slices, other = reading.devices
    assert parent.mig_enabled is True and other.mig_enabled is False
    assert [s.mig.index for s in slices if s.mig] == [0, 1, 3]  # index 2 answered NotFound and was skipped
    three_g, one_g, _ = slices
    assert one_g.uuid == "MIG-5e8c6f0a-1b2c-4d3e-8f90-0000000000a1"
    assert one_g.memory_total_bytes == 9728 * MIB and one_g.sm_count == 14
    assert one_g.sm_count_source == "mig_attributes"
    assert one_g.compute_capability == parent.compute_capability == "8.0"
    assert one_g.pci_bus_id == parent.pci_bus_id and one_g.index == parent.index == 0
    assert one_g.mig is not None and one_g.mig.parent_uuid == parent.uuid
    assert (one_g.mig.gpu_instance_id, one_g.mig.compute_instance_id, one_g.mig.profile) == (9, 0, "1g.10gb")
    assert three_g.mig is not None and three_g.mig.profile == "3g.40gb" and three_g.memory_total_bytes == 40192 * MIB
    assert all(s.unknown_fields == {} for s in slices) and reading.warnings == []
    looked_up = [args[0] for name, args, _ in fake.calls if name == "nvmlDeviceGetHandleByUUID"]
    assert looked_up == [s.uuid for s in slices]


class _IndexOnlyHandle:
    """A MIG handle from the index lookup that only answers for its UUID: any other read through it fails."""

    def __init__(self, handle: _Handle) -> None:
        self.handle = handle


class _StrictMigFake(FakeNvml):
    def nvmlDeviceGetMigDeviceHandleByIndex(self, device: _Handle, index: int) -> Any:
        return _IndexOnlyHandle(super().nvmlDeviceGetMigDeviceHandleByIndex(device, index))

    def nvmlDeviceGetUUID(self, handle: Any) -> str:
        return super().nvmlDeviceGetUUID(handle.handle if isinstance(handle, _IndexOnlyHandle) else handle)


def test_no_slice_field_is_read_through_the_index_handle() -> None:
    strict = _StrictMigFake(fake_nvml("mig").description)
    reading = read_nvml(strict)
    slices = [device for device in reading.devices if device.mig]
    assert len(slices) == 3 and all(s.unknown_fields == {} for s in slices)


def test_a_slice_only_container_reads_the_slice_though_the_parent_refuses() -> None:
    reading, _ = read("mig_slice_container")
    parent, one = reading.devices
    assert parent.memory_total_bytes is None and parent.unknown_fields["memory_total_bytes"] == "NoPermission"
    assert one.memory_total_bytes == 9728 * MIB and one.unknown_fields == {}


@pytest.mark.parametrize("function", ["nvmlDeviceGetPciInfo", "nvmlDeviceGetCudaComputeCapability"])
def test_what_a_slice_inherits_from_a_parent_that_cannot_say_is_named_unknown(function: str) -> None:
    description = scenario("mig")
    description["devices"][0]["errors"] = {function: "Unknown"}
    reading = read_nvml(fake_nvml(description))
    parent, *slices, _ = reading.devices
    field = "pci_bus_id" if function == "nvmlDeviceGetPciInfo" else "compute_capability"
    assert getattr(parent, field) is None and parent.unknown_fields[field] == "Unknown"
    for mig_slice in slices:  # the bus id was None on each slice with no word why
        assert getattr(mig_slice, field) is None and mig_slice.unknown_fields[field] == "parent: Unknown"


def test_not_supported_memory_is_unknown_never_zero() -> None:
    reading, _ = read("unified_memory")
    (gb10,) = reading.devices
    assert gb10.memory_total_bytes is None and gb10.memory_free_bytes is None
    assert gb10.unknown_fields == {
        "memory_total_bytes": "NotSupported",
        "memory_free_bytes": "NotSupported",
        "memory_used_bytes": "NotSupported",
    }
    assert gb10.mig_enabled is False  # mig_mode null: the GPU cannot do MIG, which is a fact


def test_a_reported_total_of_zero_is_not_a_size() -> None:
    description = scenario("single_gpu")
    description["devices"][0]["memory_total_mib"] = 0
    reading, _ = read(description)
    assert reading.devices[0].memory_total_bytes is None
    assert reading.devices[0].unknown_fields["memory_total_bytes"] == "NVML reported 0 bytes"


def test_an_old_driver_without_the_v2_memory_call_falls_back_to_v1() -> None:
    reading, fake = read("old_driver")
    (gpu,) = reading.devices
    assert gpu.memory_total_bytes == 40960 * MIB and gpu.memory_used_bytes == 5 * MIB and gpu.unknown_fields == {}
    memory_calls = [kwargs for name, _, kwargs in fake.calls if name == "nvmlDeviceGetMemoryInfo"]
    assert memory_calls == [{"version": FakeNvml.nvmlMemory_v2}, {}]
    assert reading.cuda_driver_version == "11.4"


def test_an_old_binding_without_nvml_memory_v2_calls_v1_directly(monkeypatch: pytest.MonkeyPatch) -> None:
    fake = fake_nvml("single_gpu")
    monkeypatch.delattr(FakeNvml, "nvmlMemory_v2")
    read_nvml(fake)
    assert [kwargs for name, _, kwargs in fake.calls if name == "nvmlDeviceGetMemoryInfo"] == [{}]


def test_a_binding_without_a_function_reads_that_field_as_unknown() -> None:
    description = scenario("single_gpu")
    description["absent_functions"] = ["nvmlDeviceGetMigMode", "nvmlDeviceGetCudaComputeCapability"]
    reading, _ = read(description)
    gpu = reading.devices[0]
    assert gpu.unknown_fields == {"compute_capability": "FunctionNotFound", "mig_enabled": "FunctionNotFound"}
    assert gpu.memory_total_bytes == 24564 * MIB


def test_a_lost_gpu_is_reported_and_the_others_are_still_read() -> None:
    reading, _ = read("lost_gpu")
    lost = reading.devices[2]
    assert lost.lost and lost.index == 2 and lost.memory_total_bytes is None
    assert set(lost.unknown_fields.values()) == {"GpuIsLost"}
    assert [d.memory_total_bytes for i, d in enumerate(reading.devices) if i != 2] == [40960 * MIB] * 3
    assert any("GPU 2" in warning and "lost" in warning for warning in reading.warnings)


def test_a_gpu_lost_midway_keeps_what_was_read_and_stops_asking() -> None:
    description = scenario("eight_h100")
    description["devices"][3]["errors"] = {"nvmlDeviceGetPciInfo": "GpuIsLost"}
    reading, fake = read(description)
    gpu = reading.devices[3]
    assert gpu.lost and gpu.uuid is not None and gpu.name == "NVIDIA H100 80GB HBM3"
    assert gpu.unknown_fields["memory_total_bytes"] == "GpuIsLost"
    handle = _Handle(3)
    assert not [name for name, args, _ in fake.calls if args[:1] == (handle,) and name == "nvmlDeviceGetMemoryInfo"]
    assert reading.devices[4].memory_total_bytes == 81559 * MIB


@pytest.mark.parametrize(
    ("reason", "lost", "unreadable"), [("GpuIsLost", True, None), ("NoPermission", False, "NoPermission")]
)
def test_a_gpu_without_a_handle_is_listed_and_the_others_read(reason: str, lost: bool, unreadable: str | None) -> None:
    description = scenario("eight_h100")
    description["devices"][1]["errors"] = {"nvmlDeviceGetHandleByIndex": reason}
    reading, _ = read(description)
    assert (reading.devices[1].lost, reading.devices[1].unreadable) == (lost, unreadable)
    assert len(reading.devices) == 8 and reading.devices[2].memory_total_bytes == 81559 * MIB


@pytest.mark.parametrize(
    ("reason", "error_type", "message", "hint"),
    [
        (
            "LibraryNotFound",
            NoNvidiaDriver,
            "NVML library (libnvidia-ml.so.1) was not found",
            "--hardware NAME",
        ),
        ("DriverNotLoaded", NoNvidiaDriver, "kernel driver is not loaded", "modprobe nvidia"),
        ("LibRmVersionMismatch", HardwareProbeError, "driver/library version mismatch", "reboot"),
        ("NoPermission", HardwareProbeError, "no permission to talk to the NVIDIA driver", "/dev/nvidiactl"),
        ("Unknown", HardwareProbeError, "NVML could not start: Unknown", "nvidia-smi"),
    ],
)
def test_each_init_failure_has_its_own_message_and_hint(
    reason: str, error_type: type[HardwareProbeError], message: str, hint: str
) -> None:
    description = scenario("single_gpu")
    description["errors"] = {"nvmlInitWithFlags": reason}
    with pytest.raises(error_type) as error:
        read(description)
    assert type(error.value) is error_type and error.value.reason == reason
    assert message in error.value.message and error.value.hint is not None and hint in error.value.hint


def test_shutdown_runs_even_when_the_read_fails() -> None:
    fake = fake_nvml("eight_h100")
    fake.description.errors["nvmlDeviceGetCount"] = "Unknown"
    with pytest.raises(HardwareProbeError, match="could not count the GPUs: Unknown"):
        read_nvml(fake)
    assert fake.calls[-1][0] == "nvmlShutdown" and fake.init_count == 0


def test_a_failed_shutdown_after_a_good_read_loses_nothing() -> None:
    description = scenario("single_gpu")
    description["errors"] = {"nvmlShutdown": "Unknown"}
    reading, _ = read(description)
    assert reading.devices[0].memory_total_bytes == 24564 * MIB


def test_a_shadowing_binding_is_refused() -> None:
    description = scenario("single_gpu")
    description["absent_functions"] = ["nvmlInitWithFlags"]
    with pytest.raises(HardwareProbeError, match="not NVIDIA's binding") as error:
        read(description)
    assert error.value.hint is not None and "nvidia-ml-py" in error.value.hint


def test_node_fields_that_fail_are_unknown() -> None:
    description = scenario("single_gpu")
    description["errors"] = {"nvmlSystemGetCudaDriverVersion": "FunctionNotFound"}
    reading, _ = read(description)
    assert reading.cuda_driver_version is None
    assert reading.unknown_fields == {"cuda_driver_version": "FunctionNotFound"}


class _GarbledName(FakeNvml):
    def nvmlDeviceGetName(self, handle: _Handle) -> str:
        raise UnicodeDecodeError("utf-8", b"\xff", 0, 1, "invalid start byte")


def test_an_undecodable_string_is_unknown() -> None:
    reading = read_nvml(_GarbledName(fake_nvml("single_gpu").description))
    assert reading.devices[0].unknown_fields == {"name": "Unknown"} and reading.devices[0].name == "unknown GPU"


def test_a_slow_init_says_persistence_mode(monkeypatch: pytest.MonkeyPatch) -> None:
    monkeypatch.setattr(nvml_module, "SLOW_INIT_MS", -1.0)
    reading, _ = read("single_gpu")
    assert any("persistence mode" in warning for warning in reading.warnings)


@pytest.mark.parametrize(("value", "text"), [(12040, "12.4"), (11080, "11.8"), (13000, "13.0"), (12041, "12.4.1")])
def test_cuda_driver_version_text(value: int, text: str) -> None:
    assert format_cuda_version(value) == text


# -- faults at every call site: a clean result or one of our errors, nothing else ----------------------

FAULTS = (
    "NotSupported",
    "FunctionNotFound",
    "Unknown",
    "NoPermission",
    "GpuIsLost",
    "NotFound",
    "InvalidArgument",
    "Uninitialized",
    "Timeout",
    "InsufficientSize",
    "ArgumentVersionMismatch",
    "LibRmVersionMismatch",
    "DriverNotLoaded",
    "LibraryNotFound",
)


def _check_invariants(inventory: Inventory) -> None:
    for device in inventory.devices:
        _check_device(device)
    for device in inventory.visible:
        assert not device.lost and device.unreadable is None
        assert any(device is known for known in inventory.devices)


def _check_device(device: Device) -> None:
    for field in NUMERIC:
        value = getattr(device, field)
        if value is None:
            assert field in device.unknown_fields or device.unreadable or device.lost, (field, device)
        else:
            assert field not in NEVER_ZERO or value != 0, (field, device)


@pytest.mark.parametrize("target", ["node", "gpu", "slice"])
@pytest.mark.parametrize("fault", FAULTS)
@pytest.mark.parametrize("function", SURFACE)
def test_a_fault_anywhere_gives_a_clean_inventory_or_our_error(function: str, fault: str, target: str) -> None:
    description = scenario("mig")
    description["devices"].append(scenario("eight_h100")["devices"][0])
    errors = {function: fault}
    if target == "node":
        description["errors"] = errors
    elif target == "gpu":
        description["devices"][0]["errors"] = errors
        description["devices"][2]["errors"] = errors
    else:
        description["devices"][0]["mig_slices"][1]["errors"] = errors
    fake = fake_nvml(description)
    try:
        inventory = probe_library(fake, {}, cuda=fake.cuda_devices)
    except KgcError as error:
        assert error.message and error.hint
        assert target == "node" or function in ("nvmlInitWithFlags", "nvmlShutdown"), error
    else:
        _check_invariants(inventory)
        if target != "node":  # the MIG-off A100 carries no fault: it is read in full whatever the others do
            untouched = inventory.devices[-2]
            assert untouched.memory_total_bytes == 81920 * MIB and untouched.unknown_fields == {}
    # nvmlShutdown pairs every successful init (and is the last call, even when it fails itself)
    assert fake.init_count == 0 or fake.calls[-1][0] == "nvmlShutdown"


@pytest.mark.parametrize("function", [name for name in SURFACE if name not in ("nvmlInitWithFlags", "nvmlShutdown")])
def test_a_binding_lacking_any_query_function_still_probes(function: str) -> None:
    description = scenario("mig")
    description["absent_functions"] = [function]
    fake = fake_nvml(description)
    try:
        inventory = probe_library(fake, {}, cuda=None)
    except HardwareProbeError as error:
        assert function == "nvmlDeviceGetCount" and "count" in error.message
    else:
        _check_invariants(inventory)
