from __future__ import annotations

import dataclasses

import pytest
from pydantic import ValidationError

from kgc_launch.records import (
    GIB,
    CompiledKernelFeatures,
    HardwareCapabilities,
    ModelCapabilities,
    WorkloadPriority,
    WorkloadProfile,
    from_plain,
)


def test_records_serialize_in_serde_field_order() -> None:
    plain = ModelCapabilities.qwen3_30b_a3b_gptq_int4().to_plain()
    assert list(plain) == [
        "architecture", "quantization", "moe", "max_context_len", "num_hidden_layers", "head_dim",
        "kv_heads", "estimated_weight_bytes", "supported_dtypes", "graph_safe_moe",
    ]  # fmt: skip
    assert plain["moe"] == {"num_experts": 128, "experts_per_token": 8, "moe_intermediate_size": 768}
    assert plain["estimated_weight_bytes"] == 18 * GIB


def test_constructed_records_validate_as_their_own_json() -> None:
    hardware = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.m3_fast_path_with_source_fa2())
    again = from_plain(HardwareCapabilities, hardware.to_plain())
    assert again == hardware
    assert again.compiled_features.fa2_source is True
    assert CompiledKernelFeatures.default().to_plain() == CompiledKernelFeatures().to_plain()


def test_workload_enum_serializes_snake_case() -> None:
    profile = WorkloadProfile.m3_qwen3_30b_a3b_int4()
    assert profile.to_plain()["priority"] == "throughput"
    assert profile.priority is WorkloadPriority.THROUGHPUT
    assert profile.is_m3_preset()


@pytest.mark.parametrize(
    ("change", "field"),
    [
        ({"sm_count": "128"}, "sm_count"),  # a number as text: serde refuses, lax pydantic would convert
        ({"graph_support": "yes"}, "graph_support"),
        ({"vram_bytes": -1}, "vram_bytes"),
        ({"sm_count": 2**32}, "sm_count"),  # u32
        ({"vram_bytes": 1.5e10}, "vram_bytes"),
        ({"supported_dtypes": ["fp16", 16]}, "supported_dtypes"),
    ],
)
def test_records_validate_as_serde_reads_the_rust_types(change: dict[str, object], field: str) -> None:
    plain = HardwareCapabilities.rtx4090_cuda(CompiledKernelFeatures.default()).to_plain()
    with pytest.raises(ValidationError) as error:
        from_plain(HardwareCapabilities, {**plain, **change})
    assert error.value.errors()[0]["loc"][0] == field


def test_u64_sizes_up_to_the_rust_maximum_are_accepted() -> None:
    plain = ModelCapabilities.unknown().to_plain()
    model = from_plain(ModelCapabilities, {**plain, "estimated_weight_bytes": 2**64 - 1})
    assert model.estimated_weight_bytes == 2**64 - 1
    with pytest.raises(ValidationError):
        from_plain(ModelCapabilities, {**plain, "estimated_weight_bytes": 2**64})


def test_read_errors_keep_the_names_they_had_when_records_were_models() -> None:
    plain = HardwareCapabilities.unknown().to_plain()
    with pytest.raises(ValidationError) as error:
        from_plain(HardwareCapabilities, {**plain, "compiled_features": {"cuda": True, "tpu": True}})
    assert [(e["type"], e["loc"], e["msg"]) for e in error.value.errors()] == [
        ("extra_forbidden", ("compiled_features", "tpu"), "Extra inputs are not permitted")
    ]
    with pytest.raises(ValidationError) as error:
        from_plain(HardwareCapabilities, ["cuda"])
    assert error.value.errors()[0]["type"] == "model_type"
    assert error.value.errors()[0]["msg"] == "Input should be a valid dictionary or instance of HardwareCapabilities"


def test_records_are_frozen_slotted_dataclasses() -> None:
    hardware = HardwareCapabilities.unknown()
    assert not hasattr(hardware, "__dict__")
    with pytest.raises(dataclasses.FrozenInstanceError):
        hardware.backend = "cuda"  # type: ignore[misc]
    assert dataclasses.replace(hardware, backend="cuda").backend == "cuda" and hardware.backend == "unknown"
