"""`kgc-launch list`: the registered models, one line each (model, engine, required flags, champion verdict,
and which layer each comes from: the registry, the recipes layer, or both)."""

from __future__ import annotations

import argparse
from typing import Any

from kgc_launch.commands._registry_args import (
    add_json_option,
    add_layer_option,
    add_registry_option,
    describe_layers,
    open_registry,
    print_json,
)
from kgc_launch.commands._settings import origin_of
from kgc_launch.errors import EXIT_OK
from kgc_launch.knowngood.layers import LayeredRegistry
from kgc_launch.knowngood.registry import Found


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_registry_option(parser)
    add_layer_option(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    location, registry = open_registry(args.registry, origin_of(args, "registry"), no_recipes=args.no_recipes)
    layered = isinstance(registry, LayeredRegistry)
    found = (
        list(registry.found_entries())
        if isinstance(registry, LayeredRegistry)
        else [Found(entry, entry.model, by_alias=False) for entry in registry.entries()]
    )
    rows: list[dict[str, Any]] = []
    for item in found:
        entry = item.entry
        row: dict[str, Any] = {
            "model": entry.model,
            "engine": entry.engine,
            "required_flags": len(entry.required_flags),
            "champion_verdict": entry.champion.verdict if entry.champion is not None else None,
        }
        if layered:
            row["layers"] = list(item.layers)
        rows.append(row)
    layers = describe_layers(registry)
    if args.json:
        document = {"tool": "kgc-launch", "verb": "list", "registry": str(location.path), "models": rows}
        if layered:
            document["layers_under_registry"] = layers
        print_json(document)
        return EXIT_OK
    print(f"registry: {location.describe()} ({len(rows)} model{'s' if len(rows) != 1 else ''})")
    for line in layers:
        print(f"  under it, the {line}")
    width = max((len(row["model"]) for row in rows), default=5)
    engine_width = max((len(row["engine"]) for row in rows), default=6)
    for row in rows:
        flags = f"{row['required_flags']} flag{'s' if row['required_flags'] != 1 else ''}"
        line = f"{row['model']:<{width}}  {row['engine']:<{engine_width}}  {flags:<9}  {row['champion_verdict'] or '-'}"
        if layered:
            line = f"{line:<{width + engine_width + 26}}  [{' + '.join(row['layers'])}]"
        print(line.rstrip())
    return EXIT_OK
