"""Hardware presets: common GPUs and MIG slices that stand in for a probe (`--hardware 8xH100-SXM`).

The catalog is shipped JSON (`registry/hardware-presets.json`): read with the standard library, so a
launch on a preset pays no YAML import.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

from kgc_launch.data import shipped_file
from kgc_launch.errors import InputError, UsageError
from kgc_launch.filecache import load_json
from kgc_launch.hardware.inventory import Device, Inventory, MigSlice
from kgc_launch.units import MIB

PRESETS_FILE = "hardware-presets.json"
_COUNT_PREFIX = re.compile(r"^(?P<count>[1-9][0-9]*)\s*[xX]\s*(?P<name>.+)$")


@lru_cache(maxsize=1)
def load_catalog() -> dict[str, dict[str, Any]]:
    """Presets keyed by upper-cased name and alias."""
    path = shipped_file(PRESETS_FILE)
    try:
        document = load_json(path)
    except (OSError, ValueError) as error:
        raise InputError(f"cannot read the shipped hardware presets: {error}", path=path) from None
    catalog: dict[str, dict[str, Any]] = {}
    for preset in document["presets"]:
        for key in (preset["name"], *preset["aliases"]):
            catalog[_normalize(key)] = preset
    return catalog


@lru_cache(maxsize=1)
def _sm_counts_by_device_name() -> dict[str, int]:
    return {
        preset["device_name"].strip().upper(): int(preset["sm_count"])
        for preset in load_catalog().values()
        if not preset["mig_profile"] and preset.get("sm_count")
    }


def sm_count_by_device_name(name: str) -> int | None:
    """SMs of a full GPU named as NVML names it (`NVIDIA H100 80GB HBM3` -> 132), from the catalog."""
    return _sm_counts_by_device_name().get(name.strip().upper())


def preset_names() -> list[str]:
    return sorted({preset["name"] for preset in load_catalog().values()})


def is_preset_spec(spec: str) -> bool:
    """Whether `spec` names a preset (`H100`, `8xH100-SXM`) rather than a file."""
    match = _COUNT_PREFIX.match(spec.strip())
    name = match.group("name") if match else spec
    return _normalize(name) in load_catalog()


def inventory_from_preset(spec: str) -> Inventory:
    """`NAME` or `NxNAME` -> an inventory of N identical devices, all visible."""
    text = spec.strip()
    match = _COUNT_PREFIX.match(text)
    count, name = (int(match.group("count")), match.group("name")) if match else (1, text)
    preset = load_catalog().get(_normalize(name))
    if preset is None:
        raise UsageError(
            f"unknown hardware preset {name!r}",
            hint=f"known presets: {', '.join(preset_names())}; or pass a file written by 'kgc-launch probe --save'",
        )
    if count > 1024:
        raise UsageError(f"--hardware {spec!r}: {count} devices is not a node", hint="use at most 1024")
    devices = [_device(preset, index) for index in range(count)]
    return Inventory(
        source="preset",
        source_detail=f"{count}x{preset['name']}" if count > 1 else preset["name"],
        driver_version=None,
        cuda_driver_version=None,
        nvml_init_ms=None,
        devices=devices,
        visible=list(devices),
        warnings=[],
    )


def _device(preset: dict[str, Any], index: int) -> Device:
    mig = None
    if preset["mig_profile"]:
        mig = MigSlice(parent_uuid=None, gpu_instance_id=None, compute_instance_id=None, profile=preset["mig_profile"])
    return Device(
        index=index,
        uuid=None,
        name=preset["device_name"],
        pci_bus_id=None,
        compute_capability=preset["compute_capability"],
        memory_total_bytes=preset["memory_mib"] * MIB,
        memory_free_bytes=None,
        memory_used_bytes=None,
        sm_count=preset["sm_count"],
        sm_count_source="preset",
        mig=mig,
        mig_enabled=None,
        lost=False,
        unknown_fields={
            "memory_free_bytes": "a preset has no live reading",
            "memory_used_bytes": "a preset has no live reading",
        },
    )


def _normalize(name: str) -> str:
    return re.sub(r"[\s_]+", "-", name.strip()).upper()
