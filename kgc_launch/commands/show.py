"""`kgc-launch show MODEL [--hardware H]`: a model's entry from the registry and the recipes layer under it,
each requirement's scope, layer and whether it applies here, the verified hardware, the minimum engine
version, the options (opt-in features), and the command to paste for that hardware. Exit 0 found, 1 not
registered."""

from __future__ import annotations

import argparse

from kgc_launch.commands._registry_args import (
    add_json_option,
    add_layer_option,
    add_registry_option,
    add_scope_options,
    describe_layers,
    engine_version,
    hardware_scope,
    open_registry,
    print_json,
)
from kgc_launch.commands._settings import described, origin_of
from kgc_launch.errors import EXIT_OK, EXIT_VERDICT_NO
from kgc_launch.knowngood.registry import Origin, engine_key
from kgc_launch.knowngood.report import minimum_engine_version, render_show_entry
from kgc_launch.knowngood.schema import entry_to_plain


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model id or alias")
    parser.add_argument("--engine", help="only the entry for this engine")
    add_scope_options(parser)
    add_registry_option(parser)
    add_layer_option(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    version = engine_version(args.engine_version)
    hardware = hardware_scope(args.hardware)
    location, registry = open_registry(args.registry, origin_of(args, "registry"), no_recipes=args.no_recipes)
    found = registry.find_all(args.model)
    if args.engine is not None:
        found = [item for item in found if engine_key(item.entry.engine) == engine_key(args.engine)]
    home = Origin(registry.layer_name, str(registry.path))
    shown = [
        render_show_entry(
            item, engine_version=version, gpus=hardware.gpus, home=home, memory_bytes=hardware.memory_bytes
        )
        for item in found
    ]
    layers = describe_layers(registry)
    if args.json:
        print_json(
            {
                "tool": "kgc-launch",
                "verb": "show",
                "registry": str(location.path),
                "layers_under_registry": layers,
                "hardware": hardware.label,
                "model": args.model,
                "registered": bool(found),
                "entries": [
                    {
                        **entry_to_plain(item.entry),
                        "matched_id": item.matched_id,
                        "layers": list(item.layers),
                        "minimum_engine_version": minimum_engine_version(item.entry),
                        "required_flags": result.flags,
                        "options": result.options,
                        "command": result.paste,
                    }
                    for item, result in zip(found, shown, strict=True)
                ],
            }
        )
    else:
        print(f"registry: {location.describe()}")
        for line in layers:
            print(f"  under it, the {line}")
        if hardware.label is not None:
            label = hardware.label if hardware.recipes_profile else described(args, "hardware")
            print(f"hardware: {label}")
        if not found:
            print(f"{args.model} is not registered" + (f" for {args.engine}" if args.engine else ""))
        for result in shown:
            print(result.text)
    return EXIT_OK if found else EXIT_VERDICT_NO
