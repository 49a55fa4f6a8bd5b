from __future__ import annotations

import json
from pathlib import Path

import pytest

from kgc_launch.errors import InputError, UsageError
from kgc_launch.hardware.presets import inventory_from_preset, preset_names
from kgc_launch.hardware.select import hardware_from_spec
from kgc_launch.records import to_plain

GIB = 1024**3


@pytest.mark.parametrize(
    ("spec", "count", "name", "cc", "sms"),
    [
        ("H100", 1, "NVIDIA H100 80GB HBM3", "9.0", 132),
        ("8xH100-SXM", 8, "NVIDIA H100 80GB HBM3", "9.0", 132),
        ("2 x a100_80gb", 2, "NVIDIA A100-SXM4-80GB", "8.0", 108),
        ("t4", 1, "Tesla T4", "7.5", 40),
        ("4xRTX4090", 4, "NVIDIA GeForce RTX 4090", "8.9", 128),
        ("H100-SXM-1g.10gb", 1, "NVIDIA H100 80GB HBM3 MIG 1g.10gb", "9.0", 16),
    ],
)
def test_presets_expand_to_identical_visible_devices(spec: str, count: int, name: str, cc: str, sms: int) -> None:
    inventory = hardware_from_spec(spec)
    assert inventory.source == "preset"
    assert len(inventory.devices) == count and len(inventory.visible) == count
    assert {(d.name, d.compute_capability, d.sm_count) for d in inventory.visible} == {(name, cc, sms)}
    assert all(d.memory_free_bytes is None and "memory_free_bytes" in d.unknown_fields for d in inventory.visible)


def test_reference_figures_are_in_the_catalog() -> None:
    for spec in ("T4", "V100", "A10G", "L4", "L40S", "A100-40GB", "A100-80GB", "H100-SXM", "H100-PCIE",
                 "H200", "B200", "RTX4090", "RTX5090"):  # fmt: skip
        assert hardware_from_spec(spec).visible[0].memory_total_bytes
    assert inventory_from_preset("H200").visible[0].memory_total_bytes == 143771 * 1024 * 1024
    slices = [n for n in preset_names() if "-1G." in n.upper() or "-7G." in n.upper()]
    assert len(slices) == 4  # 1g and 7g for both the A100 80GB and the H100


def test_unknown_preset_lists_the_known_ones() -> None:
    with pytest.raises(UsageError) as error:
        hardware_from_spec("8xH800")
    assert "unknown hardware preset 'H800'" in str(error.value)
    assert error.value.hint is not None and "H100-SXM" in error.value.hint


def test_inventory_file_round_trips(tmp_path: Path) -> None:
    saved = tmp_path / "node.json"
    saved.write_text(json.dumps(to_plain(inventory_from_preset("2xL4"))))
    loaded = hardware_from_spec(str(saved))
    assert loaded.source == "file" and loaded.source_detail == str(saved)
    assert [d.name for d in loaded.visible] == ["NVIDIA L4", "NVIDIA L4"]


@pytest.mark.parametrize(
    ("content", "message"),
    [("{", "invalid JSON"), ('{"source": "nvml", "devices": 3}', "not a hardware inventory")],
)
def test_bad_inventory_files_name_the_file(tmp_path: Path, content: str, message: str) -> None:
    bad = tmp_path / "bad.json"
    bad.write_text(content)
    with pytest.raises(InputError, match=message) as error:
        hardware_from_spec(str(bad))
    assert str(bad) in str(error.value)


def test_a_directory_is_not_a_hardware_file(tmp_path: Path) -> None:
    with pytest.raises(InputError, match="is a directory"):
        hardware_from_spec(str(tmp_path))


def test_a_hardware_file_nested_too_deeply_is_an_input_error(tmp_path: Path) -> None:
    deep = tmp_path / "deep.json"
    deep.write_text("[" * 100_000)  # json.loads raised RecursionError: exit 70
    with pytest.raises(InputError, match="nested too deeply"):
        hardware_from_spec(str(deep))


def test_a_hardware_file_link_that_leads_nowhere_is_a_file_not_a_preset(tmp_path: Path) -> None:
    loop = tmp_path / "loop.json"
    loop.symlink_to(loop.name)  # was taken for an unknown preset name
    with pytest.raises(InputError, match="symbolic links") as error:
        hardware_from_spec(str(loop))
    assert error.value.path == str(loop)
