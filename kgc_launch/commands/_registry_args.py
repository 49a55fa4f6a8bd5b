"""Options and plumbing shared by the registry commands (check, record, show, list, registry, gate)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from dataclasses import dataclass
from typing import Any

from kgc_launch.errors import KgcError, UsageError
from kgc_launch.knowngood.load import Location, find_registry, load_registry
from kgc_launch.knowngood.registry import Registry


def add_registry_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        metavar="PATH",
        help="the registry to use (default: $KNOWN_GOOD_CONFIG_REGISTRY, then registry/, configs/ or "
        "perf-tune-report/configs/known-good-configs.yaml up from here, then the shipped one)",
    )


def add_layer_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--no-recipes",
        action="store_true",
        help="do not read the recipes layer under the registry (also KGC_NO_RECIPES=1)",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_scope_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine-version", metavar="V", help="the engine's version, e.g. 0.22.1 (PEP 440)")
    parser.add_argument(
        "--hardware",
        metavar="NAME|NxNAME|FILE",
        help="the GPUs: a preset (8xB200), a file from 'kgc-launch probe --save', or a recipes hardware id "
        "(b300, gb200, mi355x)",
    )


def locate(explicit: str | None, origin: str | None = None) -> Location:
    """Which registry, and how it was found; `origin` names where an explicit path came from when that was
    not `--registry` itself (`from KGC_REGISTRY`, `from the --kgc-config file F`)."""
    location = find_registry(explicit, os.environ, os.getcwd())
    if explicit and origin and not origin.startswith("--"):
        location = dataclasses.replace(location, source=origin)
    return location


def open_registry(
    explicit: str | None, origin: str | None = None, *, no_recipes: bool | None = None
) -> tuple[Location, Registry]:
    """The registry; with `no_recipes` given (commands that read layers), over the recipes layer unless off."""
    location = locate(explicit, origin)
    registry = load_registry(location.path)
    if no_recipes is None:
        return location, registry
    from kgc_launch.knowngood.layers import with_layers

    return location, with_layers(registry, no_recipes=no_recipes, environ=os.environ)


def describe_layers(registry: Registry) -> list[str]:
    """`recipes layer: PATH (vllm-project/recipes@COMMIT)` per layer under the registry."""
    from kgc_launch.knowngood.layers import LayeredRegistry, layer_commit

    if not isinstance(registry, LayeredRegistry):
        return []
    lines = []
    for layer in registry.layers:
        commit = layer_commit(layer.path)
        lines.append(
            f"{layer.layer_name} layer: {layer.path}" + (f" (vllm-project/recipes@{commit[:12]})" if commit else "")
        )
    return lines


def engine_version(value: str | None) -> str | None:
    """A PEP 440 version, or a usage error (an unparsable version would silently decide nothing)."""
    if value is None:
        return None
    from packaging.version import InvalidVersion, Version

    try:
        Version(value)
    except InvalidVersion:
        raise UsageError(f"--engine-version {value!r} is not a version", hint="e.g. --engine-version 0.22.1") from None
    return value


@dataclass(frozen=True)
class HardwareScope:
    gpus: list[tuple[str, str | None]] | None
    """(name, compute capability) of the visible devices; None when `--hardware` was not given."""
    memory_bytes: int | None
    """Their total memory, when every device's is known."""
    label: str | None
    recipes_profile: str | None = None
    """The recipes hardware id it was given as (`b300`), if it was one."""


def hardware_scope(spec: str | None) -> HardwareScope:
    """`--hardware` as the registry check sees it: a preset or file, else a recipes hardware id (`mi355x`)."""
    if spec is None:
        return HardwareScope(None, None, None)
    from kgc_launch.hardware.select import hardware_from_spec

    try:
        inventory = hardware_from_spec(spec)
    except KgcError:
        from kgc_launch.knowngood.recipes.hardware import profile_for

        profile = profile_for(spec)
        if profile is None:
            raise
        gpus = [(profile.device, profile.compute_capability)] * profile.count
        total = int(profile.memory_gb * 1e9) * profile.count
        label = f"{profile.count}x {profile.device} (recipes hardware id {profile.id})"
        return HardwareScope(gpus, total, label, profile.id)
    visible = inventory.visible
    sizes = [device.memory_total_bytes for device in visible]
    memory = sum(size for size in sizes if size is not None) if visible and None not in sizes else None
    label = f"{len(visible)}x {visible[0].name}" if visible else "no GPU"
    return HardwareScope([(device.name, device.compute_capability) for device in visible], memory, label)


def gpus_from_hardware(spec: str | None) -> list[tuple[str, str | None]] | None:
    """(name, compute capability) of the visible devices of `--hardware`, or None when not given."""
    return hardware_scope(spec).gpus


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
