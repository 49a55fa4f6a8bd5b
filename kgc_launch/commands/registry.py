"""`kgc-launch registry validate [PATH]` and `kgc-launch registry import-recipes PATH`.

validate: every problem of the registry file, each at its line, and of the recipes layer under it (unless
`--no-recipes`). Exit 0 clean, 3 otherwise (the problems are listed on stdout, `file:line: field: message`).

import-recipes: read a checkout (or the models/ directory) of vllm-project/recipes and write a registry
layer in our format (`docs/recipes.md`): `--output FILE` (atomically), else the layer on stdout and the
summary on stderr. Exit 0 written, 3 a recipe file cannot be read (the message names the file and field).
"""

from __future__ import annotations

import argparse
import json
import os
import sys
from pathlib import Path

from kgc_launch.commands._registry_args import (
    add_json_option,
    add_layer_option,
    add_registry_option,
    locate,
    print_json,
)
from kgc_launch.commands._settings import origin_of
from kgc_launch.errors import EXIT_INPUT, EXIT_OK, InputError
from kgc_launch.knowngood.load import REGISTRY_MAX_BYTES
from kgc_launch.knowngood.locate import Location
from kgc_launch.knowngood.validate import Problem, check_text
from kgc_launch.yamlio import read_text_limited


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    validate = verbs.add_parser(
        "validate", help="report every problem of a registry file (and of the recipes layer under it), located"
    )
    validate.add_argument("path", nargs="?", metavar="PATH", help="the registry (default: as every command finds it)")
    add_registry_option(validate)
    add_layer_option(validate)
    add_json_option(validate)
    importer = verbs.add_parser(
        "import-recipes",
        help="write a registry layer from a checkout of vllm-project/recipes",
        description="Read models/**/*.yaml of a vllm-project/recipes checkout (or its models/ directory) and "
        "write a registry layer: one entry per served model id, every requirement with its recipe as evidence.",
    )
    importer.add_argument("source", metavar="PATH", help="a recipes checkout, or its models/ directory")
    importer.add_argument("--output", "-o", metavar="FILE", help="write the layer here (default: stdout)")
    importer.add_argument("--commit", metavar="SHA", help="the checkout's commit (default: read from its .git)")
    add_json_option(importer)


def run(args: argparse.Namespace) -> int:
    if args.verb == "import-recipes":
        return _import(args)
    return _validate(args)


def _validate(args: argparse.Namespace) -> int:
    from kgc_launch.knowngood.layers import layer_files

    location = Location(Path(args.path), "given") if args.path else locate(args.registry, origin_of(args, "registry"))
    files = [(location, "registry")]
    files += [(Location(layer.path, layer.source), f"{layer.name} layer") for layer in
              layer_files(location.path, no_recipes=args.no_recipes, environ=os.environ)]  # fmt: skip
    results = []
    for where, kind in files:
        text = read_text_limited(where.path, max_bytes=REGISTRY_MAX_BYTES, what=kind)
        document, problems = check_text(where.path, text)
        results.append((where, kind, document.models if document is not None else None, problems))
    all_problems: list[Problem] = [problem for *_, problems in results for problem in problems]
    if args.json:
        main, *layers = results
        print_json(
            {
                "tool": "kgc-launch",
                "verb": "registry validate",
                "registry": str(main[0].path),
                "valid": not all_problems,
                "models": len(main[2]) if main[2] is not None else None,
                "problems": [problem.to_json() for problem in main[3]],
                "layers": [
                    {
                        "layer": kind,
                        "path": str(where.path),
                        "valid": not problems,
                        "models": len(models) if models is not None else None,
                        "problems": [problem.to_json() for problem in problems],
                    }
                    for where, kind, models, problems in layers
                ],
            }
        )
        return EXIT_OK if not all_problems else EXIT_INPUT
    for where, kind, models, problems in results:
        label = "" if kind == "registry" else f"{kind} "
        if problems:
            for problem in problems:
                print(problem)
            print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {label}{where.describe()}")
        else:
            count = len(models) if models is not None else 0
            print(f"valid: {label}{where.describe()} ({count} model{'s' if count != 1 else ''})")
    return EXIT_OK if not all_problems else EXIT_INPUT


def _import(args: argparse.Namespace) -> int:
    from kgc_launch.atomic import write_atomic
    from kgc_launch.knowngood.recipes.importer import import_recipes
    from kgc_launch.knowngood.validate import validated_document

    result = import_recipes(Path(args.source), commit=args.commit)
    # The layer is validated as a whole, exactly as a launch will read it, before anything is written.
    validated_document(args.output or "<the imported layer>", result.text)
    summary = result.summary()
    if args.output:
        try:
            write_atomic(args.output, result.text)
        except OSError as error:
            raise InputError(f"cannot write the layer: {error.strerror or error}", path=args.output) from None
        out = sys.stdout
    else:
        sys.stdout.write(result.text)
        out = sys.stderr
    if args.json:
        json.dump({"tool": "kgc-launch", "verb": "registry import-recipes", "output": args.output, **summary},
                  out, indent=2, ensure_ascii=False)  # fmt: skip
        out.write("\n")
        return EXIT_OK
    print(_summary_text(summary, args.output), file=out)
    return EXIT_OK


def _summary_text(summary: dict[str, object], output: str | None) -> str:
    share = f"{summary['text_recipes_covered']}/{summary['text_recipes']}"
    lines = [
        f"imported {summary['recipes']} recipes from {summary['source']}"
        + (f"@{summary['commit']}" if summary["commit"] else " (commit unknown: pass --commit)")
        + f": {summary['entries']} model ids; text-generation recipes covered: {share}; "
        f"{summary['entries_with_boot_blocking_flags']} model ids with a boot-blocking flag",
    ]
    if output:
        lines.append(f"layer: {output}")
    for name in ("skipped", "boot_blockers_downgraded_by_guides"):
        items = summary[name]
        if isinstance(items, list) and items:
            title = (
                "skipped"
                if name == "skipped"
                else "boot-blockers imported as perf (the recipe's guide serves the model without them)"
            )
            lines.append(f"{title} ({len(items)}):")
            lines += [f"  {item}" for item in items]
    unknown = summary["flags_not_in_severity_table"]
    if isinstance(unknown, dict) and unknown:
        lines.append("flags not in the severity table (imported as perf): " + ", ".join(f"--{n}" for n in unknown))
    not_imported = summary["flags_not_imported"]
    if isinstance(not_imported, dict) and not_imported:
        lines.append("flags not imported: " + ", ".join(f"--{n} ({c})" for n, c in not_imported.items()))
    return "\n".join(lines)
