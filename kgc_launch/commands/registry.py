"""`kgc-launch registry validate [PATH]`: every problem of a registry file, each at its line.

Exit 0 clean, 3 otherwise (the problems are listed on stdout, one per line, `file:line: field: message`).
"""

from __future__ import annotations

import argparse
from pathlib import Path

from kgc_launch.commands._registry_args import add_json_option, add_registry_option, locate, print_json
from kgc_launch.commands._settings import origin_of
from kgc_launch.errors import EXIT_INPUT, EXIT_OK
from kgc_launch.knowngood.load import REGISTRY_MAX_BYTES
from kgc_launch.knowngood.locate import Location
from kgc_launch.knowngood.validate import check_text
from kgc_launch.yamlio import read_text_limited


def add_arguments(parser: argparse.ArgumentParser) -> None:
    verbs = parser.add_subparsers(dest="verb", metavar="VERB", required=True)
    validate = verbs.add_parser("validate", help="report every problem of a registry file, located")
    validate.add_argument("path", nargs="?", metavar="PATH", help="the registry (default: as every command finds it)")
    add_registry_option(validate)
    add_json_option(validate)


def run(args: argparse.Namespace) -> int:
    given = Location(Path(args.path), "given") if args.path else None
    location = given or locate(args.registry, origin_of(args, "registry"))
    text = read_text_limited(location.path, max_bytes=REGISTRY_MAX_BYTES, what="registry")
    document, problems = check_text(location.path, text)
    if args.json:
        print_json(
            {
                "tool": "kgc-launch",
                "verb": "registry validate",
                "registry": str(location.path),
                "valid": not problems,
                "models": len(document.models) if document is not None else None,
                "problems": [problem.to_json() for problem in problems],
            }
        )
    elif problems:
        for problem in problems:
            print(problem)
        print(f"{len(problems)} problem{'s' if len(problems) != 1 else ''} in {location.describe()}")
    else:
        count = len(document.models) if document is not None else 0
        print(f"valid: {location.describe()} ({count} model{'s' if count != 1 else ''})")
    return EXIT_OK if not problems else EXIT_INPUT
