"""`--hardware NAME|NxNAME|FILE`, or a probe: the inventory every later step is planned against.

A FILE is either an inventory (`kgc-launch probe --save FILE`) or a plain ferrum-shaped
`HardwareCapabilities` record (the seed's shape, as other tools write it); the latter is kept as is in
`Inventory.hardware_capabilities` and ferrum uses it unchanged. The source is recorded in every case.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import replace
from pathlib import Path
from typing import TypeVar

from kgc_launch.errors import InputError
from kgc_launch.hardware.inventory import Device, Inventory
from kgc_launch.hardware.presets import inventory_from_preset, is_preset_spec
from kgc_launch.records import HardwareCapabilities, from_plain

_M = TypeVar("_M")


def select_hardware(spec: str | None, environ: Mapping[str, str], *, use_cuda_driver: bool = True) -> Inventory:
    """The named hardware (`--hardware`), or this machine's when `spec` is None.

    `use_cuda_driver=False` lets a launch skip libcuda's start-up and take SM counts from the table.
    """
    if spec is None:
        from kgc_launch.hardware.probe import probe_gpus  # a launch on a preset never loads the probe

        return probe_gpus(environ, use_cuda_driver=use_cuda_driver)
    return hardware_from_spec(spec)


def hardware_from_spec(spec: str) -> Inventory:
    """A preset (`H100`, `8xH100-SXM`), an inventory file, or a `HardwareCapabilities` file."""
    if is_preset_spec(spec):
        return inventory_from_preset(spec)
    path = Path(spec)
    if not path.exists() and not path.is_symlink():  # a link that leads nowhere is a file that cannot be read
        return inventory_from_preset(spec)  # not a file either: the preset error lists the known names
    return inventory_from_file(path)


def inventory_from_file(path: Path) -> Inventory:
    from kgc_launch.json_input import read_json_file

    document = read_json_file(path, what="hardware JSON file")
    if isinstance(document, dict) and "source" not in document and _CAPABILITY_FIELDS & set(document):
        record = _validated(HardwareCapabilities, document, path, "not a HardwareCapabilities record")
        return inventory_from_capabilities(record, path)
    inventory = _validated(Inventory, document, path, "not a hardware inventory")
    return replace(inventory, source="file", source_detail=str(path))


def inventory_from_capabilities(record: HardwareCapabilities, path: Path) -> Inventory:
    """One device standing for a `HardwareCapabilities` record (none unless its backend is cuda)."""
    devices = []
    if record.backend == "cuda":
        missing = "not in the HardwareCapabilities file"
        present = {
            "compute_capability": record.compute_capability is not None,
            "memory_total_bytes": record.vram_bytes is not None,
            "sm_count": record.sm_count is not None,
            "memory_free_bytes": False,
            "memory_used_bytes": False,
        }
        devices.append(
            Device(
                name=f"GPU described by {path.name}",
                compute_capability=record.compute_capability,
                memory_total_bytes=record.vram_bytes,
                sm_count=record.sm_count,
                sm_count_source="file" if record.sm_count is not None else "unknown",
                unknown_fields={field: missing for field, known in present.items() if not known},
            )
        )
    return Inventory(
        source="file",
        source_detail=f"{path} (a HardwareCapabilities record, used as is)",
        devices=devices,
        visible=list(devices),
        warnings=[],
        unknown_fields={},
        hardware_capabilities=record,
    )


# A document with any of these (and no inventory `source`) is read as a HardwareCapabilities record, so that
# a record missing its `backend` is told so, not that it is a bad inventory.
_CAPABILITY_FIELDS = frozenset(["backend", "compiled_features", "supported_dtypes", "supported_kv_dtypes"])


def _validated(model: type[_M], document: object, path: Path, what: str) -> _M:
    from pydantic import ValidationError

    try:
        return from_plain(model, document)
    except ValidationError as error:
        first = error.errors()[0]
        field = ".".join(str(part) for part in first["loc"]) or None
        message = "unknown field" if first["type"] == "extra_forbidden" else first["msg"]
        raise InputError(
            f"{what}: {message}",
            path=path,
            field=field,
            hint="write one with 'kgc-launch probe --save FILE', or use a preset name",
        ) from None
