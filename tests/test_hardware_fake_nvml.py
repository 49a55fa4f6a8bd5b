from __future__ import annotations

import inspect
import json
from pathlib import Path
from typing import Any

import pynvml
import pytest

from kgc_launch.errors import InputError
from kgc_launch.hardware import fake_nvml, nvml_codes
from kgc_launch.hardware.fake_nvml import (
    SURFACE,
    DescriptionError,
    FakeNvml,
    load_description,
    nvml_error,
    read_description,
)
from testing.nvml_scenarios import BENCHMARK_FILE, SCENARIOS, scenario
from testing.nvml_scenarios import fake_nvml as make_fake


def test_every_fake_function_exists_in_pynvml_with_a_compatible_signature() -> None:
    for name in SURFACE:
        real = getattr(pynvml, name)
        fake_parameters = list(inspect.signature(getattr(FakeNvml, name)).parameters)[1:]  # minus self
        real_parameters = list(inspect.signature(real).parameters)
        assert len(fake_parameters) == len(real_parameters), name
        if name == "nvmlDeviceGetMemoryInfo":
            assert real_parameters[1] == fake_parameters[1] == "version"


def test_error_classes_mirror_pynvml() -> None:
    codes = {getattr(pynvml, name): name for name in dir(pynvml) if name.startswith("NVML_ERROR_")}
    assert codes.keys() == nvml_codes.ERROR_NAMES.keys()
    for code in codes:
        real, fake = pynvml.NVMLError(code), fake_nvml.NVMLError(code)
        assert type(real).__name__ == type(fake).__name__ == f"NVMLError_{nvml_codes.ERROR_NAMES[code]}"
        assert real.value == fake.value == code
        assert type(fake)().value == code  # subclasses are built with no argument, as pynvml's
        assert getattr(FakeNvml, type(fake).__name__) is type(fake)
    assert fake_nvml.NVMLError(3) == nvml_error("NotSupported")
    assert fake_nvml.NVMLError.__hash__ is None and pynvml.NVMLError.__hash__ is None
    assert FakeNvml.nvmlMemory_v2 == pynvml.nvmlMemory_v2


def test_calls_before_init_answer_uninitialized_like_nvml() -> None:
    fake = make_fake("single_gpu")
    with pytest.raises(fake_nvml.NVMLError) as error:
        fake.nvmlDeviceGetCount()
    assert type(error.value).__name__ == "NVMLError_Uninitialized"
    fake.nvmlInit()
    assert fake.nvmlDeviceGetCount() == 1
    fake.nvmlShutdown()
    assert [call[0] for call in fake.calls] == [
        "nvmlDeviceGetCount",
        "nvmlInitWithFlags",
        "nvmlDeviceGetCount",
        "nvmlShutdown",
    ]


def test_memory_v1_counts_the_reservation_as_used_and_v2_apart() -> None:
    description = scenario("single_gpu")
    description["devices"][0].update(memory_used_mib=100, memory_reserved_mib=300)
    fake = make_fake(description)
    fake.nvmlInit()
    handle = fake.nvmlDeviceGetHandleByIndex(0)
    v1, v2 = (
        fake.nvmlDeviceGetMemoryInfo(handle),
        fake.nvmlDeviceGetMemoryInfo(handle, version=fake.nvmlMemory_v2),
    )
    mib = 1024 * 1024
    assert (v1.total, v1.used, v1.free) == (24564 * mib, 400 * mib, 24164 * mib)
    assert (v2.total, v2.used, v2.reserved, v2.free) == (24564 * mib, 100 * mib, 300 * mib, 24164 * mib)


def test_missing_and_absent_functions() -> None:
    description = scenario("single_gpu")
    description.update(missing_functions=["nvmlDeviceGetMemoryInfo_v2"], absent_functions=["nvmlDeviceGetMigMode"])
    fake = make_fake(description)
    fake.nvmlInit()
    handle = fake.nvmlDeviceGetHandleByIndex(0)
    with pytest.raises(fake_nvml.ERROR_CLASSES["FunctionNotFound"]):
        fake.nvmlDeviceGetMemoryInfo(handle, version=fake.nvmlMemory_v2)
    assert fake.nvmlDeviceGetMemoryInfo(handle).total > 0
    assert not hasattr(fake, "nvmlDeviceGetMigMode")


def test_a_lost_gpu_gives_a_handle_and_then_answers_gpu_is_lost() -> None:
    fake = make_fake("lost_gpu")
    fake.nvmlInit()
    handle = fake.nvmlDeviceGetHandleByIndex(2)
    with pytest.raises(fake_nvml.ERROR_CLASSES["GpuIsLost"]):
        fake.nvmlDeviceGetName(handle)
    assert fake.nvmlDeviceGetName(fake.nvmlDeviceGetHandleByIndex(3)) == "NVIDIA A100-SXM4-40GB"


def test_mig_handles_by_index_and_by_uuid_name_the_same_slice() -> None:
    fake = make_fake("mig")
    fake.nvmlInit()
    parent = fake.nvmlDeviceGetHandleByIndex(0)
    assert fake.nvmlDeviceGetMaxMigDeviceCount(parent) == 7
    with pytest.raises(fake_nvml.ERROR_CLASSES["NotFound"]):
        fake.nvmlDeviceGetMigDeviceHandleByIndex(parent, 2)
    by_index = fake.nvmlDeviceGetMigDeviceHandleByIndex(parent, 1)
    by_uuid = fake.nvmlDeviceGetHandleByUUID(fake.nvmlDeviceGetUUID(by_index))
    assert fake.nvmlDeviceIsMigDeviceHandle(by_uuid)
    assert fake.nvmlDeviceGetDeviceHandleFromMigDeviceHandle(by_uuid) == parent
    assert fake.nvmlDeviceGetAttributes(by_uuid).multiprocessorCount == 14
    assert fake.nvmlDeviceGetName(by_uuid) == "NVIDIA A100-SXM4-80GB MIG 1g.10gb"


@pytest.mark.parametrize(
    ("content", "message", "field"),
    [
        ("{", "not valid JSON", None),
        ('{"devices": [{"name": "x"}]}', "not a fake NVML description", "devices.0.uuid"),
        ('{"errors": {"nvmlDeviceGetCount": "Broken"}}', "'Broken' is not an NVML error name", "errors"),
        ('{"colour": "green"}', "not a fake NVML description", "colour"),
        ("[" * 100_000, "nested too deeply", None),  # was a RecursionError: exit 70
        ('{"about": "caf\udce9"}', "not UTF-8", None),  # was a UnicodeDecodeError: exit 70
    ],
)
def test_bad_descriptions_name_the_file_and_field(
    tmp_path: Path, content: str, message: str, field: str | None
) -> None:
    path = tmp_path / "fake.json"
    path.write_bytes(content.encode("utf-8", "surrogateescape"))
    with pytest.raises(InputError, match=message) as error:
        load_description(path)
    assert error.value.path == str(path)
    assert error.value.field == field


def test_every_scenario_is_a_valid_description_and_the_benchmark_file_is_current() -> None:
    for name in SCENARIOS:
        make_fake(name)
    assert json.loads(BENCHMARK_FILE.read_text()) == SCENARIOS["eight_h100"], (
        "regenerate with: python -m testing.nvml_scenarios"
    )


_GPU = {
    "name": "NVIDIA H100 80GB HBM3",
    "uuid": "GPU-0",
    "pci_bus_id": "00000000:18:00.0",
    "compute_capability": "9.0",
    "memory_total_mib": 81559,
}


@pytest.mark.parametrize(
    ("change", "message", "field"),
    [
        ({"cuda_driver": 1}, "expected true or false, got 1", "cuda_driver"),
        ({"cuda_driver_version": True}, "expected an integer, got true", "cuda_driver_version"),
        ({"devices": {}}, "expected a list", "devices"),
        ({"devices": [{"colour": "green"}]}, "unknown field", "devices.0.colour"),
        ({"devices": [{**_GPU, "mig_mode": [1]}]}, "expected two integers", "devices.0.mig_mode"),
        ({"devices": [{**_GPU, "mig_slices": [{"index": 0}]}]}, "field required", "devices.0.mig_slices.0.uuid"),
    ],
)
def test_the_reader_is_strict_and_names_the_field(change: dict[str, Any], message: str, field: str) -> None:
    with pytest.raises(DescriptionError, match=message) as error:
        read_description(change)
    assert error.value.field == field


def test_the_reader_fills_defaults_and_reads_nested_records() -> None:
    description = read_description({"devices": [{**_GPU, "mig_mode": [1, 0], "mig_slices": []}]})
    gpu = description.devices[0]
    assert (gpu.mig_mode, gpu.max_mig_devices, gpu.sm_count, description.driver_version) == (
        (1, 0),
        7,
        None,
        "550.54.15",
    )
    assert read_description(json.loads(BENCHMARK_FILE.read_text())).devices[7].sm_count == 132
