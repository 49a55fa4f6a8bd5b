"""`kgc-launch probe [--json] [--save FILE] [--hardware SPEC]`: the GPUs, and what an engine would use.

Shows every device NVML reports (a full GPU, or a MIG slice under its parent), which of them an engine
started here sees and in what order, each field NVML could not read and why, the warnings, the driver
and how long NVML took to start; then ferrum's hardware record for it (no compiled features declared).
On a machine without an NVIDIA GPU it says so and exits 0.
"""

from __future__ import annotations

import argparse
import json
import os
from typing import Any

from kgc_launch.atomic import write_atomic
from kgc_launch.errors import InputError
from kgc_launch.ferrum.hardware import ferrum_hardware_capabilities
from kgc_launch.hardware.inventory import Device, Inventory
from kgc_launch.hardware.presets import preset_names
from kgc_launch.hardware.select import select_hardware
from kgc_launch.records import CompiledKernelFeatures, HardwareCapabilities, to_plain
from kgc_launch.units import GIB

_SM_SOURCES = {
    "cuda_driver": "cuda",
    "mig_attributes": "mig",
    "table": "table",
    "preset": "preset",
    "file": "file",
}


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print the inventory and ferrum's record as JSON")
    parser.add_argument(
        "--save",
        metavar="FILE",
        help="also write the inventory to FILE (atomically); '--hardware FILE' reads it back",
    )
    parser.add_argument(
        "--hardware",
        metavar="NAME|NxNAME|FILE",
        help="show a preset (e.g. 8xH100-SXM) or a saved/HardwareCapabilities file instead of probing",
    )
    parser.add_argument(
        "--ray",
        nargs="?",
        const="",
        metavar="ADDRESS",
        help="probe the Ray cluster a launch would join (ADDRESS, else RAY_ADDRESS or this machine's head); "
        "needs kgc-launch[ray]",
    )


def run(args: argparse.Namespace) -> int:
    inventory = select_hardware(args.hardware, os.environ)
    if args.ray is not None:
        from kgc_launch.hardware.ray_cluster import probed_cluster

        inventory = probed_cluster(os.environ, args.ray or None, inventory)
    capabilities = ferrum_hardware_capabilities(inventory, CompiledKernelFeatures.default())
    if args.save:
        save_inventory(inventory, args.save)
    if args.json:
        document = {
            "inventory": inventory_json(inventory),
            "ferrum_hardware_capabilities": capabilities.to_plain(),
        }
        print(json.dumps(document, indent=2))
    else:
        text = render(inventory, capabilities)
        if args.hardware is not None:
            from kgc_launch.commands._settings import described

            headline, _, rest = text.partition("\n")
            text = f"{headline}\nhardware: {described(args, 'hardware')}\n{rest}"
        print(text)
    return 0


def inventory_json(inventory: Inventory) -> dict[str, Any]:
    plain: dict[str, Any] = to_plain(inventory)
    return plain


def save_inventory(inventory: Inventory, path: str) -> None:
    try:
        write_atomic(path, json.dumps(inventory_json(inventory), indent=2) + "\n")
    except OSError as error:
        raise InputError(f"cannot write the inventory: {error.strerror}", path=path) from None


# -- the readable report ------------------------------------------------------------------------------


def render(inventory: Inventory, capabilities: HardwareCapabilities) -> str:
    lines = [_headline(inventory)]
    if inventory.nodes:
        from kgc_launch.hardware.cluster import node_table

        lines += ["", *node_table(inventory)]
    if inventory.devices:
        lines += ["", *_device_table(inventory.devices)]
        lines += ["", *_visible_lines(inventory)]
    elif inventory.source == "none":
        gpus = [name for name in preset_names() if "G." not in name.upper()]  # MIG slices are `...-1g.10gb`
        lines.append(
            "To plan for GPUs this machine lacks, pass --hardware NAME or NxNAME "
            f"(presets: {', '.join(gpus)}, and MIG slices such as H100-SXM-1g.10gb) "
            "or a file written by 'kgc-launch probe --save'."
        )
    unknown = _unknown_lines(inventory)
    if unknown:
        lines += ["", "Unknown fields (never taken as 0):", *unknown]
    if inventory.warnings:
        lines += ["", "Warnings:", *(f"  - {warning}" for warning in inventory.warnings)]
    lines += ["", *_capability_lines(capabilities, given=inventory.hardware_capabilities is not None)]
    return "\n".join(lines)


def _headline(inventory: Inventory) -> str:
    if inventory.source == "none":
        return f"No NVIDIA GPU: {inventory.source_detail}."
    gpus = sum(1 for device in inventory.devices if device.mig is None)
    slices = len(inventory.devices) - gpus
    counted = f"{gpus} GPU(s)" + (f" and {slices} MIG slice(s)" if slices else "")
    if inventory.source == "nvml":
        facts = [
            f"driver {inventory.driver_version or 'unknown'}",
            f"CUDA {inventory.cuda_driver_version or 'unknown'}",
        ]
        if inventory.nvml_init_ms is not None:
            facts.append(f"NVML started in {inventory.nvml_init_ms:.1f} ms")
        return f"{counted}, read by NVML ({'; '.join(facts)}): {inventory.source_detail}"
    if inventory.nodes:
        return f"{counted} on {sum(node.alive for node in inventory.nodes)} alive node(s): {inventory.source_detail}"
    return f"{counted}, from {inventory.source} {inventory.source_detail} (not probed)"


def _device_table(devices: list[Device]) -> list[str]:
    rows = [("id", "name", "memory", "cc", "SMs", "bus id", "uuid")]
    for device in devices:
        sms = "?" if device.sm_count is None else f"{device.sm_count} ({_SM_SOURCES.get(device.sm_count_source, '?')})"
        state = " [LOST]" if device.lost else (f" [unreadable: {device.unreadable}]" if device.unreadable else "")
        mig_on = " [MIG on]" if device.mig_enabled else ""
        rows.append(
            (
                _label(device),
                ("  " if device.mig else "") + device.name + mig_on + state,
                _gib(device.memory_total_bytes),
                device.compute_capability or "?",
                sms,
                device.pci_bus_id or "-",
                device.uuid or "-",
            )
        )
    widths = [max(len(row[column]) for row in rows) for column in range(len(rows[0]))]
    return ["  " + "  ".join(map(str.ljust, row, widths)).rstrip() for row in rows]


def _visible_lines(inventory: Inventory) -> list[str]:
    if not inventory.visible:
        return ["The engine will see no device."]
    lines = [f"The engine will use {len(inventory.visible)} device(s), in this order:"]
    for position, device in enumerate(inventory.visible):
        lines.append(f"  cuda:{position}  {_label(device):<6} {device.name}  {device.uuid or ''}".rstrip())
    return lines


def _unknown_lines(inventory: Inventory) -> list[str]:
    lines = [f"  node: {field} ({reason})" for field, reason in inventory.unknown_fields.items()]
    for device in inventory.devices:
        if device.unknown_fields:
            reasons = ", ".join(f"{field} ({reason})" for field, reason in device.unknown_fields.items())
            lines.append(f"  {_label(device)}: {reasons}")
    return lines


def _capability_lines(record: HardwareCapabilities, *, given: bool) -> list[str]:
    origin = "as given in the file" if given else "no compiled features declared"
    sms = "unknown" if record.sm_count is None else record.sm_count
    graphs = "yes" if record.graph_support else "no"
    return [
        f"ferrum hardware capabilities ({origin}):",
        f"  backend {record.backend}, compute capability {record.compute_capability or 'unknown'}, "
        f"vram {_gib(record.vram_bytes)}, SMs {sms}, cuda_runtime {record.cuda_runtime or 'unknown'}, "
        f"graph_support {graphs}",
        f"  dtypes {', '.join(record.supported_dtypes)}; KV dtypes {', '.join(record.supported_kv_dtypes)}",
    ]


def _label(device: Device) -> str:
    index = "-" if device.index is None else str(device.index)
    if device.mig is not None:
        return f"{index}:{'?' if device.mig.index is None else device.mig.index}"
    return index


def _gib(value: int | None) -> str:
    return "unknown" if value is None else f"{value / GIB:.1f} GiB"
