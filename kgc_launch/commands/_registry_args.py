"""Options and plumbing shared by the registry commands (check, record, show, list, registry, gate)."""

from __future__ import annotations

import argparse
import dataclasses
import json
import os
import sys
from typing import Any

from kgc_launch.errors import UsageError
from kgc_launch.knowngood.load import Location, find_registry, load_registry
from kgc_launch.knowngood.registry import Registry


def add_registry_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--registry",
        metavar="PATH",
        help="the registry to use (default: $KNOWN_GOOD_CONFIG_REGISTRY, then registry/, configs/ or "
        "perf-tune-report/configs/known-good-configs.yaml up from here, then the shipped one)",
    )


def add_json_option(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--json", action="store_true", help="print JSON instead of text")


def add_scope_options(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--engine-version", metavar="V", help="the engine's version, e.g. 0.22.1 (PEP 440)")
    parser.add_argument(
        "--hardware",
        metavar="NAME|NxNAME|FILE",
        help="the GPUs: a preset (8xB200) or a file from 'kgc-launch probe --save'",
    )


def locate(explicit: str | None, origin: str | None = None) -> Location:
    """Which registry, and how it was found; `origin` names where an explicit path came from when that was
    not `--registry` itself (`from KGC_REGISTRY`, `from the --kgc-config file F`)."""
    location = find_registry(explicit, os.environ, os.getcwd())
    if explicit and origin and not origin.startswith("--"):
        location = dataclasses.replace(location, source=origin)
    return location


def open_registry(explicit: str | None, origin: str | None = None) -> tuple[Location, Registry]:
    location = locate(explicit, origin)
    return location, load_registry(location.path)


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


def gpus_from_hardware(spec: str | None) -> list[tuple[str, str | None]] | None:
    """(name, compute capability) of the visible devices of `--hardware`, or None when not given."""
    if spec is None:
        return None
    from kgc_launch.hardware.select import hardware_from_spec

    inventory = hardware_from_spec(spec)
    return [(device.name, device.compute_capability) for device in inventory.visible]


def print_json(data: Any) -> None:
    json.dump(data, sys.stdout, indent=2, ensure_ascii=False)
    sys.stdout.write("\n")
