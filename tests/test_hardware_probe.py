from __future__ import annotations

import json
import subprocess
import sys
from dataclasses import replace
from pathlib import Path

import pytest

from kgc_launch.errors import HardwareProbeError, InputError
from kgc_launch.hardware import fake_nvml, probe
from kgc_launch.hardware.probe import FAKE_NVML_ENV, probe_gpus
from kgc_launch.hardware.select import select_hardware
from kgc_launch.records import HardwareCapabilities, from_plain
from testing.nvml_scenarios import BENCHMARK_FILE, SCENARIOS, write_scenario


def fake_environ(tmp_path: Path, name: str, **extra: str) -> dict[str, str]:
    return {FAKE_NVML_ENV: str(write_scenario(name, tmp_path / f"{name}.json")), **extra}


def test_the_probe_and_the_fake_agree_on_the_variable_name() -> None:
    assert FAKE_NVML_ENV == fake_nvml.FAKE_NVML_ENV == "KGC_FAKE_NVML"


@pytest.mark.parametrize("name", [name for name in SCENARIOS if not SCENARIOS[name].get("errors")])
def test_every_readable_scenario_says_loudly_that_it_is_simulated(tmp_path: Path, name: str) -> None:
    inventory = probe_gpus(fake_environ(tmp_path, name))
    assert inventory.source == "nvml"
    assert inventory.source_detail.startswith("SIMULATED: fake NVML from KGC_FAKE_NVML=")
    assert inventory.warnings[0] == inventory.source_detail
    assert inventory.visible and all(device in inventory.devices for device in inventory.visible)


@pytest.mark.parametrize(
    ("name", "reason"),
    [
        ("no_library", "libnvidia-ml.so.1) was not found"),
        ("driver_not_loaded", "kernel driver is not loaded"),
    ],
)
def test_no_driver_is_source_none_with_a_plain_reason(tmp_path: Path, name: str, reason: str) -> None:
    inventory = probe_gpus(fake_environ(tmp_path, name))
    assert inventory.source == "none" and inventory.devices == [] and inventory.visible == []
    assert reason in inventory.source_detail and "SIMULATED" in inventory.source_detail


@pytest.mark.parametrize("name", ["driver_library_mismatch", "no_permission"])
def test_gpus_that_cannot_be_read_are_an_error(tmp_path: Path, name: str) -> None:
    with pytest.raises(HardwareProbeError):
        probe_gpus(fake_environ(tmp_path, name))


def test_sm_counts_from_the_driver_api_or_the_table(tmp_path: Path) -> None:
    environ = fake_environ(tmp_path, "eight_h100")
    assert {d.sm_count_source for d in probe_gpus(environ).devices} == {"cuda_driver"}
    assert {(d.sm_count, d.sm_count_source) for d in probe_gpus(environ, use_cuda_driver=False).devices} == {
        (132, "table")
    }


def test_the_inventory_records_driver_init_time_and_visible_order(tmp_path: Path) -> None:
    inventory = probe_gpus(fake_environ(tmp_path, "mixed_models", CUDA_VISIBLE_DEVICES="1"))
    assert (inventory.driver_version, inventory.cuda_driver_version) == ("550.54.15", "12.4")
    assert inventory.nvml_init_ms is not None and inventory.nvml_init_ms >= 0
    assert [device.name for device in inventory.visible] == ["NVIDIA L4"]  # CUDA's 1 is the slower L4
    assert any("CUDA_DEVICE_ORDER=PCI_BUS_ID" in warning for warning in inventory.warnings)


def test_a_missing_fake_description_names_the_variable(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="KGC_FAKE_NVML") as error:
        probe_gpus({FAKE_NVML_ENV: str(tmp_path / "missing.json")})
    assert error.value.path == str(tmp_path / "missing.json")


def test_select_hardware_probes_only_without_a_spec(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> None:
    environ = fake_environ(tmp_path, "single_gpu")
    assert select_hardware(None, environ).visible[0].sm_count_source == "cuda_driver"
    assert select_hardware(None, environ, use_cuda_driver=False).visible[0].sm_count_source == "table"
    monkeypatch.setattr(probe, "probe_gpus", lambda *args, **kwargs: pytest.fail("probed"))
    inventory = select_hardware("2xL4", environ)
    assert inventory.source == "preset" and inventory.source_detail == "2xL4"


def test_a_hardware_capabilities_file_is_kept_as_is(tmp_path: Path) -> None:
    record = {
        "backend": "cuda",
        "cuda_runtime": "12.8",
        "compute_capability": "8.9",
        "vram_bytes": 25757220864,
        "sm_count": None,
        "supported_dtypes": ["fp16", "fp32"],
        "supported_kv_dtypes": ["fp16", "int8"],
        "graph_support": True,
        "compiled_features": {"cuda": True, "cuda_graph": True},
    }
    path = tmp_path / "caps.json"
    path.write_text(json.dumps(record))
    inventory = select_hardware(str(path), {})
    assert inventory.source == "file" and "HardwareCapabilities" in inventory.source_detail
    assert inventory.hardware_capabilities == from_plain(HardwareCapabilities, record)
    (device,) = inventory.visible
    assert (device.compute_capability, device.memory_total_bytes, device.sm_count) == (
        "8.9",
        25757220864,
        None,
    )
    assert device.unknown_fields["sm_count"] == "not in the HardwareCapabilities file"


def test_a_cpu_hardware_capabilities_file_has_no_devices(tmp_path: Path) -> None:
    path = tmp_path / "cpu.json"
    path.write_text(json.dumps(replace(HardwareCapabilities.unknown(), backend="cpu").to_plain()))
    inventory = select_hardware(str(path), {})
    assert inventory.devices == [] and inventory.hardware_capabilities is not None


def test_a_bad_hardware_capabilities_file_names_the_field(tmp_path: Path) -> None:
    path = tmp_path / "caps.json"
    path.write_text(json.dumps({"backend": "cuda", "supported_dtypes": "fp16"}))
    with pytest.raises(InputError, match="not a HardwareCapabilities record") as error:
        select_hardware(str(path), {})
    assert error.value.field == "supported_dtypes"


def _imports_after(code: str, environ: dict[str, str]) -> set[str]:
    done = subprocess.run(
        [sys.executable, "-c", f"import sys\n{code}\nprint(' '.join(sorted(sys.modules)))"],
        capture_output=True,
        text=True,
        env=environ,
        check=True,
    )
    return set(done.stdout.split())


def test_the_probe_never_imports_torch_and_a_preset_never_loads_nvml(tmp_path: Path) -> None:
    import os

    environ = {**os.environ, FAKE_NVML_ENV: str(BENCHMARK_FILE)}
    probed = _imports_after(
        "import os; from kgc_launch.hardware.probe import probe_gpus; probe_gpus(os.environ)", environ
    )
    assert "torch" not in probed and "pynvml" not in probed  # the fake stands in for pynvml entirely
    preset = _imports_after(
        "from kgc_launch.hardware.select import select_hardware; select_hardware('H100', {})", environ
    )
    assert not {"pynvml", "kgc_launch.hardware.probe", "kgc_launch.hardware.nvml", "ctypes"} & preset
