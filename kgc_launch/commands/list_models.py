"""`kgc-launch list`: the registered models, one line each (model, engine, required flags, champion verdict)."""

from __future__ import annotations

import argparse
from typing import Any

from kgc_launch.commands._registry_args import add_json_option, add_registry_option, open_registry, print_json
from kgc_launch.commands._settings import origin_of
from kgc_launch.errors import EXIT_OK


def add_arguments(parser: argparse.ArgumentParser) -> None:
    add_registry_option(parser)
    add_json_option(parser)


def run(args: argparse.Namespace) -> int:
    location, registry = open_registry(args.registry, origin_of(args, "registry"))
    rows: list[dict[str, Any]] = [
        {
            "model": entry.model,
            "engine": entry.engine,
            "required_flags": len(entry.required_flags),
            "champion_verdict": entry.champion.verdict if entry.champion is not None else None,
        }
        for entry in registry.entries()
    ]
    if args.json:
        print_json({"tool": "kgc-launch", "verb": "list", "registry": str(location.path), "models": rows})
        return EXIT_OK
    print(f"registry: {location.describe()} ({len(rows)} model{'s' if len(rows) != 1 else ''})")
    width = max((len(row["model"]) for row in rows), default=5)
    engine_width = max((len(row["engine"]) for row in rows), default=6)
    for row in rows:
        flags = f"{row['required_flags']} flag{'s' if row['required_flags'] != 1 else ''}"
        print(f"{row['model']:<{width}}  {row['engine']:<{engine_width}}  {flags:<9}  {row['champion_verdict'] or '-'}")
    return EXIT_OK
