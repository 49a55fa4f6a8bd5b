from __future__ import annotations

from pathlib import Path

import pytest

from kgc_launch.ferrum.hardware import ferrum_hardware_capabilities
from kgc_launch.hardware.inventory import Device, Inventory
from kgc_launch.hardware.presets import inventory_from_preset
from kgc_launch.hardware.probe import probe_gpus
from kgc_launch.records import CompiledKernelFeatures, HardwareCapabilities, from_plain
from testing.nvml_scenarios import scenario, write_scenario

# ferrum's own record for an RTX 4090, from a real run: sizzlecar/ferrum-infer-rs, docs/bench/
# dev-loop-product-api-goal-progress-20260601/release-bin-cuda-qwen3-30b-a3b-9012ece-20260602/runner/
# fa2_source_c32_n1/effective_config.json (keys in ferrum's declaration order here).
FERRUM_RTX4090 = {
    "backend": "cuda",
    "cuda_runtime": "12.4",
    "compute_capability": "8.9",
    "vram_bytes": 25757220864,
    "sm_count": 128,
    "supported_dtypes": ["fp16", "fp32"],
    "supported_kv_dtypes": ["fp16", "bf16", "int8", "fp8"],
    "graph_support": True,
    "compiled_features": {
        "cuda": True,
        "vllm_paged_attn": True,
        "vllm_moe_marlin": True,
        "cuda_graph": True,
        "greedy_argmax": True,
        "fa2_source": True,
        "fa2_direct_ffi": True,
    },
}
FEATURES = from_plain(CompiledKernelFeatures, FERRUM_RTX4090["compiled_features"])


def test_an_rtx_4090_reproduces_what_ferrum_reports(tmp_path: Path) -> None:
    environ = {"KGC_FAKE_NVML": str(write_scenario("single_gpu", tmp_path / "4090.json"))}
    record = ferrum_hardware_capabilities(probe_gpus(environ), FEATURES)
    assert record.to_plain() == FERRUM_RTX4090


def test_the_rtx_4090_preset_gives_the_same_record_without_a_driver_version() -> None:
    record = ferrum_hardware_capabilities(inventory_from_preset("RTX4090"), FEATURES)
    assert record.to_plain() == {**FERRUM_RTX4090, "cuda_runtime": None}


def test_no_visible_device_is_ferrums_cpu_record() -> None:
    record = ferrum_hardware_capabilities(Inventory(source="none"), CompiledKernelFeatures.default())
    assert record.to_plain() == {
        **HardwareCapabilities.unknown().to_plain(),
        "backend": "cpu",
        "supported_dtypes": ["fp32"],
        "supported_kv_dtypes": ["fp16"],
    }


def test_no_compiled_features_means_no_graph_support(tmp_path: Path) -> None:
    record = ferrum_hardware_capabilities(inventory_from_preset("H100"), CompiledKernelFeatures.default())
    assert record.backend == "cuda" and record.graph_support is False


def _device(name: str, cc: str | None, memory: int | None, sms: int | None) -> Device:
    return Device(name=name, compute_capability=cc, memory_total_bytes=memory, sm_count=sms)


@pytest.mark.parametrize(
    ("visible", "cc", "vram", "sms"),
    [
        (
            [_device("H100", "9.0", 80, 132), _device("L4", "8.9", 22, 58)],
            "8.9",
            22,
            58,
        ),  # the smallest decides
        ([_device("H100", "9.0", 80, 132), _device("H100", "9.0", 80, 132)], "9.0", 80, 132),
        ([_device("GB10", "12.1", None, 48)], "12.1", None, 48),  # unknown memory stays unknown, never 0
        ([_device("H100", "9.0", 80, 132), _device("?", None, None, None)], None, None, None),
        (
            [_device("A", "8.6", 24, 80), _device("B", "10.0", 180, 148)],
            "8.6",
            24,
            80,
        ),  # 10.0 > 8.6 numerically
    ],
)
def test_sizing_follows_the_smallest_visible_device(
    visible: list[Device], cc: str | None, vram: int | None, sms: int | None
) -> None:
    inventory = Inventory(source="nvml", devices=visible, visible=visible)
    record = ferrum_hardware_capabilities(inventory, CompiledKernelFeatures.default())
    assert (record.compute_capability, record.vram_bytes, record.sm_count) == (cc, vram, sms)


def test_only_visible_devices_count(tmp_path: Path) -> None:
    path = write_scenario("mig", tmp_path / "mig.json")
    record = ferrum_hardware_capabilities(probe_gpus({"KGC_FAKE_NVML": str(path)}), CompiledKernelFeatures.default())
    slice_3g = scenario("mig")["devices"][0]["mig_slices"][0]
    assert (record.vram_bytes, record.sm_count) == (
        slice_3g["memory_total_mib"] * 1024 * 1024,
        slice_3g["sm_count"],
    )


def test_a_given_record_is_used_as_is() -> None:
    given = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_without_fa2())
    inventory = Inventory(source="file", hardware_capabilities=given)
    assert ferrum_hardware_capabilities(inventory, CompiledKernelFeatures.default()) is given
