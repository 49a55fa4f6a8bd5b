"""`kgc-launch show MODEL`: a registered model's entry, each flag's scope (and whether it applies here), and
the flags that apply as one paste-ready line. Exit 0 found, 1 not registered."""

from __future__ import annotations

import argparse

from kgc_launch.commands._registry_args import (
    add_json_option,
    add_registry_option,
    add_scope_options,
    engine_version,
    gpus_from_hardware,
    open_registry,
    print_json,
)
from kgc_launch.commands._settings import described, origin_of
from kgc_launch.errors import EXIT_OK, EXIT_VERDICT_NO
from kgc_launch.knowngood.registry import engine_key
from kgc_launch.knowngood.report import render_show_entry
from kgc_launch.knowngood.schema import entry_to_plain


def add_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("model", metavar="MODEL", help="a model id or alias")
    parser.add_argument("--engine", help="only the entry for this engine")
    add_scope_options(parser)
    add_registry_option(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    version = engine_version(args.engine_version)
    gpus = gpus_from_hardware(args.hardware)
    location, registry = open_registry(args.registry, origin_of(args, "registry"))
    found = registry.find_all(args.model)
    if args.engine is not None:
        found = [item for item in found if engine_key(item.entry.engine) == engine_key(args.engine)]
    rendered = [render_show_entry(item, engine_version=version, gpus=gpus) for item in found]
    if args.json:
        print_json(
            {
                "tool": "kgc-launch",
                "verb": "show",
                "registry": str(location.path),
                "model": args.model,
                "registered": bool(found),
                "entries": [
                    {**entry_to_plain(item.entry), "matched_id": item.matched_id, "required_flags": flags}
                    for item, (_, flags) in zip(found, rendered, strict=True)
                ],
            }
        )
    else:
        print(f"registry: {location.describe()}")
        if args.hardware is not None:
            print(f"hardware: {described(args, 'hardware')}")
        if not found:
            print(f"{args.model} is not registered" + (f" for {args.engine}" if args.engine else ""))
        for text, _ in rendered:
            print(text)
    return EXIT_OK if found else EXIT_VERDICT_NO
