from __future__ import annotations

import pytest

from kgc_launch.hardware.capability import Capability, parse_capability
from kgc_launch.hardware.inventory import Device, Inventory
from kgc_launch.vllm.adapter import vllm_hardware_capabilities


@pytest.mark.parametrize(
    ("text", "expected"),
    [("8.9", (8, 9)), ("9", (9, 0)), (" 9.0a ", (9, 0)), ("10.0f", (10, 0)), ("12.1", (12, 1))],
)
def test_capabilities_as_nvml_presets_and_files_write_them(text: str, expected: tuple[int, int]) -> None:
    assert parse_capability(text) == expected and str(parse_capability(text)) == f"{expected[0]}.{expected[1]}"


@pytest.mark.parametrize("text", [None, "", "N/A", "8.9.1", "sm_90", "x.y", "9.", "-1.0", "9.0ab"])
def test_anything_else_is_unknown_not_zero(text: str | None) -> None:
    assert parse_capability(text) is None


def test_a_suffixed_capability_in_a_hardware_file_is_read_not_an_internal_error() -> None:
    device = Device(name="NVIDIA H100 80GB HBM3", compute_capability="9.0a", memory_total_bytes=80 * 1024**3)
    record = vllm_hardware_capabilities(Inventory(source="file", devices=[device], visible=[device]), "cuda")
    assert "bf16" in record.supported_dtypes and "fp8" in record.supported_kv_dtypes
    assert Capability(9, 0) > Capability(8, 9)
